"""``sync_from_snapshot``: bring a named EBS snapshot's tree (the newest version, or ``--version N``) back
into a local directory, through a temporary staging server. See :func:`staging.sync_from_snapshot`."""

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
from staging import sync_from_snapshot

__all__ = ["build_parser", "main"]

PROG = "sync_from_snapshot"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Copy the tree of a named EBS snapshot (made by sync_to_snapshot) into a local "
        "directory, keeping owners, modes, times, hard links and symlinks.",
    )
    parser.add_argument("dest", metavar="DEST", help="local directory (created if missing)")
    parser.add_argument(
        "-s", "--snapshot", required=True, metavar="NAME", help="the snapshot's name (tag Name)"
    )
    parser.add_argument(
        "--version", type=int, metavar="N", help="the version to restore (default: the newest)"
    )
    add_transfer_options(parser, delete_help="delete local files that are not in the snapshot")
    add_direct_options(
        parser,
        what="no staging server: read the blocks with the EBS direct APIs into a local image and copy "
        "the tree out of its read-only loop mount (root only)",
    )
    add_server_options(parser)
    add_common_options(parser)
    return parser


def _work(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The command itself, on parsed arguments."""
    cloud = connect(args, err)
    reporter = TerminalReporter(err, quiet=args.quiet or args.json)
    result = sync_from_snapshot(
        args.dest, args.snapshot, version=args.version, ec2=cloud.ec2, zone=args.zone, image=args.image,
        instance_type=args.instance_type, username=args.username, owner=args.owner,
        excludes=args.exclude, delete=args.delete, acls=args.acls, xattrs=args.xattrs,
        ssh_cidr=args.ssh_cidr or cloud.ssh_cidr, dotdir=args.dotdir,
        reporter=reporter, direct=args.direct, concurrency=args.concurrency,
    )  # fmt: skip
    reporter.step(f"{result.bytes_total} bytes of {args.snapshot!r} version {result.version} in {args.dest}")
    if args.json:
        print(json.dumps({"restored": dataclasses.asdict(result), "dest": args.dest}, indent=2), file=out)
    else:
        print(f"{result.snapshot_id} version {result.version} -> {args.dest}", file=out)
    return 0


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the command; returns the exit code (0 done, 1 failed, 2 bad input, 130 interrupted)."""
    return run_main(PROG, build_parser(), argv, stdout, stderr, _work)


if __name__ == "__main__":
    raise SystemExit(main())
