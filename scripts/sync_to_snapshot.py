"""``sync_to_snapshot``: copy local files or directories into a named, versioned EBS snapshot.

Each run makes the next version: the newest snapshot of that name is the starting point, so only the changes
travel; the new snapshot is tagged ``Name`` and ``Version``. Prints the snapshot id (``--json``: a summary).
See :func:`staging.sync_to_snapshot` for the steps.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import TextIO

from scripts._cli import (
    TerminalReporter,
    add_common_options,
    add_direct_options,
    add_server_options,
    add_transfer_options,
    connect,
    run_main,
)
from staging import SyncPlan, sync_to_snapshot
from staging.snapshots import FILESYSTEMS

__all__ = ["build_parser", "main"]

PROG = "sync_to_snapshot"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line (VM::EC2's options, underscores and dashes both accepted)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Rsync local files or directories into a named EBS snapshot. The newest snapshot of that "
        "name is the starting point and the new one gets Version = previous + 1. A temporary staging "
        "server, volume, key pair and security group are made for the run and removed at its end.",
    )
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="local files or directories (paths kept as given)"
    )
    parser.add_argument(
        "-s", "--snapshot", required=True, metavar="NAME", help="the snapshot's name (tag Name)"
    )
    parser.add_argument("--size", type=int, metavar="GIB", help="volume size (default: from the data + 15%%)")
    parser.add_argument("--filesystem", "-f", default="ext4", choices=FILESYSTEMS,
                        help="file system of a first version (default: %(default)s)")  # fmt: skip
    parser.add_argument(
        "--dry-run", "-n", action="store_true", help="check everything, print the plan, create nothing"
    )
    parser.add_argument(
        "--lock-timeout", type=float, metavar="SECONDS",
        help="wait at most this long for another sync_to_snapshot of NAME on this machine to finish "
        "(default: as long as it takes)",
    )  # fmt: skip
    add_transfer_options(parser, delete_help="delete files on the snapshot that are gone from the PATHs")
    add_direct_options(
        parser,
        what="no staging server: build the file-system image here (mke2fs -d, no root needed) and "
        "write only its changed blocks with the EBS direct APIs (the version holds exactly the PATHs)",
    )
    add_server_options(parser)
    add_common_options(parser)
    return parser


def _work(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The command itself, on parsed arguments."""
    cloud = connect(args, err)
    reporter = TerminalReporter(err, quiet=args.quiet or args.json)
    result = sync_to_snapshot(
        args.paths, args.snapshot, ec2=cloud.ec2, zone=args.zone, size=args.size,
        filesystem=args.filesystem, image=args.image, instance_type=args.instance_type,
        username=args.username, owner=args.owner, excludes=args.exclude, delete=args.delete,
        acls=args.acls, xattrs=args.xattrs, ssh_cidr=args.ssh_cidr or cloud.ssh_cidr, dotdir=args.dotdir,
        reporter=reporter, dry_run=args.dry_run, direct=args.direct, concurrency=args.concurrency,
        lock_timeout=args.lock_timeout,
    )  # fmt: skip
    if args.json:
        kind = "plan" if isinstance(result, SyncPlan) else "snapshot"
        print(json.dumps({kind: dataclasses.asdict(result)}, indent=2), file=out)
    elif isinstance(result, SyncPlan):
        print(f"would make {result.describe()}", file=out)
    else:
        sent = f"{result.bytes_sent} bytes sent for {result.bytes_total} bytes of data"
        reporter.step(f"{args.snapshot!r} version {result.version}: {sent}")
        print(result.snapshot_id, file=out)
    return 0


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the command; returns the exit code (0 done, 1 failed, 2 bad input, 130 interrupted)."""
    return run_main(PROG, build_parser(), argv, stdout, stderr, _work)


if __name__ == "__main__":
    raise SystemExit(main())
