"""``staging gc``: list (by default) or remove what crashed staging runs left behind, in every region.

See :mod:`staging.gc` for what counts as a leftover. Nothing is removed without ``--delete``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import TextIO

from scripts._cli import add_common_options, connect, run_main
from staging.gc import find_leftovers, remove_leftovers

__all__ = ["build_parser", "main"]

PROG = "staging"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line: ``staging gc [--delete] [--run RUN] [--all] [--region R ...]``."""
    parser = argparse.ArgumentParser(prog=prog, description="Staging maintenance commands.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    gc = sub.add_parser(
        "gc",
        help="list or remove what crashed staging runs left behind",
        description="List (the default: a dry run) or remove (--delete) the temporary resources that "
        "crashed or killed staging runs left: expired ones, those of runs whose process is gone, or of the "
        "runs you name. Resources you keep (snapshots made by sync_to_snapshot) are never touched.",
    )
    gc.add_argument("--delete", action="store_true", help="remove what is listed (default: only list it)")
    gc.add_argument("--run", action="append", default=[], metavar="RUN", help="also this run's (repeatable)")
    gc.add_argument("--all", action="store_true", help="every temporary staging resource, live runs excepted")
    gc.add_argument("--regions", action="append", default=[], metavar="REGION",
                    help="look only here (repeatable; default: every region)")  # fmt: skip
    gc.add_argument("--dotdir", metavar="DIR", help="keys and run journals (default: ~/.vm-ec2-staging)")
    add_common_options(gc)
    return parser


def _work(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The command itself, on parsed arguments."""
    dotdir = Path(args.dotdir).expanduser() if args.dotdir else Path.home() / ".vm-ec2-staging"
    ec2 = connect(args, err).ec2
    regions = args.regions or sorted(str(r) for r in ec2.describe_regions())
    found = find_leftovers(ec2, regions, dotdir=dotdir, runs=args.run, all_temporary=args.all)
    if args.json:
        print(json.dumps({"leftovers": [dataclasses.asdict(x) for x in found], "deleted": args.delete}),
              file=out)  # fmt: skip
    else:
        for item in found:
            print(f"{item.region}\t{item.kind}\t{item.id}\t{item.reason}", file=out)
        if not args.quiet:
            verb = "removing" if args.delete else "would remove (run with --delete)"
            summary = f"{len(found)} leftover(s); {verb}" if found else "nothing left over"
            print(f"{PROG} gc: {summary}", file=err)
    if not args.delete or not found:
        return 0
    failures = remove_leftovers(ec2, found, dotdir=dotdir)
    for failure in failures:
        print(f"{PROG} gc: could not remove {failure}", file=err)
    return 1 if failures else 0


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the command; returns the exit code (0 done or nothing left, 1 something could not be removed)."""
    return run_main(f"{PROG} gc", build_parser(), argv, stdout, stderr, _work)


if __name__ == "__main__":
    raise SystemExit(main())
