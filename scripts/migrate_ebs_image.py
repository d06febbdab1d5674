"""``migrate-ebs-image``: copy an EBS-backed AMI and its snapshots from one region to another.

Prints the new AMI's id (``--json``: a summary). Without changes the copy is AWS's CopyImage; extra block
device mappings (``-b /dev/sdy=ephemeral0``), another kernel or ramdisk make it snapshot copies (all at once,
within the destination's limit) and a RegisterImage there. Tags, description, the public flag and launch
permissions are carried. See :meth:`staging.StagingManager.copy_image`.
"""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from scripts._cli import TerminalReporter, add_common_options, connect, run_main
from staging import StagingManager, StagingParameterError
from staging.interrupts import signals_raise
from staging.migrate_image import plan, run

__all__ = ["build_parser", "main"]

PROG = "migrate-ebs-image"


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line (VM::EC2's options; ``--kernel``/``--ramdisk`` take the id the original could not)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Copy an EBS-backed image (AMI) and all its snapshots from one region to another; prints "
        "the new image's id. Anything made in the destination is removed again on failure or Ctrl-C.",
    )
    parser.add_argument("ami", nargs="?", metavar="AMI", help="the image to copy (ami-...)")
    parser.add_argument("--from", dest="source", metavar="REGION", help="source region (default: --region)")
    parser.add_argument("--to", dest="dest", metavar="REGION", help="destination region (required)")
    parser.add_argument("-b", "--block-device-mapping", "--block_device_mapping", dest="block_devices",
                        action="append", default=[], metavar="MAP",
                        help="extra mapping, e.g. /dev/sdy=ephemeral0 (repeatable)")  # fmt: skip
    parser.add_argument("--kernel", metavar="ID", help="kernel (aki-...) of the new image in the destination")
    parser.add_argument(
        "--ramdisk", metavar="ID", help="ramdisk (ari-...) of the new image in the destination"
    )
    parser.add_argument("--name", help="name of the new image (default: the source's)")
    parser.add_argument("--no-rename", action="store_true",
                        help="refuse a name taken there (default: rename NAME-xxxxxxxx)")  # fmt: skip
    parser.add_argument("--encrypt", action="store_true", help="encrypt the copied snapshots")
    parser.add_argument("--kms-key", "--kms_key", dest="kms_key", metavar="KEY",
                        help="KMS key of the destination (default: the EBS default key)")  # fmt: skip
    parser.add_argument("--limit", type=int, default=20, metavar="N",
                        help="concurrent snapshot copies (default: %(default)s, AWS's limit)")  # fmt: skip
    parser.add_argument("-l", "--list-regions", "--list_regions", action="store_true",
                        help="print the regions and exit")  # fmt: skip
    parser.add_argument(
        "-n", "--dry-run", action="store_true", help="check and print the plan, create nothing"
    )
    parser.add_argument("--dotdir", metavar="DIR", help="run journals (default: ~/.vm-ec2-staging)")
    add_common_options(parser)
    return parser


def _work(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The command itself, on parsed arguments."""
    if args.source:
        args.region = args.source
    cloud = connect(args, err)
    if args.list_regions:
        for region in sorted(str(r) for r in cloud.ec2.describe_regions()):
            print(region, file=out)
        return 0
    if not args.ami:
        raise StagingParameterError("give the AMI to copy (ami-...)")
    if not args.dest:
        raise StagingParameterError("give the destination region with --to")
    if args.limit < 1:
        raise StagingParameterError(f"--limit must be at least 1, not {args.limit}")
    reporter = TerminalReporter(err, quiet=args.quiet or args.json)
    manager = StagingManager(cloud.ec2, dotdir=args.dotdir, ssh_cidr=cloud.ssh_cidr, reporter=reporter)
    with signals_raise(), manager:
        decided = plan(
            manager, args.ami, args.dest, block_devices=args.block_devices, kernel_id=args.kernel,
            ramdisk_id=args.ramdisk, name=args.name, encrypted=args.encrypt, kms_key_id=args.kms_key,
            on_name_clash="refuse" if args.no_rename else "rename",
        )  # fmt: skip
        if args.dry_run:
            if args.json:
                print(json.dumps({"plan": decided.to_dict()}, indent=2), file=out)
            else:
                print(f"would {decided.describe()}", file=out)
            return 0
        image = run(decided, limit=args.limit)
    if args.json:
        print(json.dumps({"image": {**decided.to_dict(), "image_id": str(image)}}, indent=2), file=out)
    else:
        if not args.quiet:
            print(f"==> {args.ami} is now {image} in {decided.peer.region} ({decided.name!r})", file=err)
        print(str(image), file=out)
    return 0


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the command; returns the exit code (0 done, 1 failed, 2 bad input, 130 interrupted)."""
    return run_main(PROG, build_parser(), argv, stdout, stderr, _work)


if __name__ == "__main__":
    raise SystemExit(main())
