"""``spot_launch``: keep N spot instances of an image running in the cheapest zone, and report on them.

The original's third script (VM::EC2 ``bin/spot_launch.pl``), for cron: requests tagged ``--tag`` (a tag key)
are the managed ones; when fewer than ``--count`` are open or active, one-time requests for the rest go to the
zone with the lowest 30-day mean spot price (then the lowest *current* price: the newest sample, where the
original took the oldest). ``--status`` prints one line per managed request; ``--wait`` waits until the new
requests are fulfilled and their instances run, then reports.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from dataclasses import dataclass
from typing import Any, TextIO

from scripts._cli import add_common_options, connect, run_main
from staging import StagingError, StagingParameterError

__all__ = ["ZonePrice", "best_zone", "build_parser", "main"]

PROG = "spot_launch"


@dataclass(frozen=True)
class ZonePrice:
    """Spot price statistics of one zone over the last 30 days."""

    zone: str
    mean: float
    median: float
    low: float
    high: float
    current: float


def best_zone(history: list[tuple[str, dt.datetime, float]]) -> ZonePrice | None:
    """The zone with the lowest mean price, then the lowest current (newest) price (a pure function)."""
    by_zone: dict[str, list[tuple[dt.datetime, float]]] = {}
    for zone, when, price in history:
        by_zone.setdefault(zone, []).append((when, price))
    stats = []
    for zone, samples in by_zone.items():
        prices = [p for _, p in samples]
        current = max(samples)[1]
        stats.append(ZonePrice(zone, statistics.fmean(prices), statistics.median(prices), min(prices),
                               max(prices), current))  # fmt: skip
    return min(stats, key=lambda s: (s.mean, s.current, s.zone), default=None)


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line (the original's options, underscores and dashes both accepted)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Keep COUNT spot instances of an image running in the zone with the cheapest 30-day "
        "average spot price; --status reports on the managed (tagged) requests.",
    )
    parser.add_argument("--image", "--ami", metavar="AMI", help="image to launch (required unless --status)")
    parser.add_argument("--instance_type", "--instance-type", "-t", default="t3.micro", metavar="TYPE",
                        help="instance type (default: %(default)s)")  # fmt: skip
    parser.add_argument("--count", type=int, default=1, help="requests to keep open or active (default: 1)")
    parser.add_argument("--tag", default="my_spot_instance", metavar="KEY",
                        help="tag key marking the managed requests (default: %(default)s)")  # fmt: skip
    parser.add_argument("--key_name", "--key-name", metavar="NAME", help="ssh key pair")
    parser.add_argument("--security_group", "--security-group", metavar="GROUP",
                        help="security group id (sg-...) or name")  # fmt: skip
    parser.add_argument(
        "--price", type=float, metavar="USD", help="maximum price per hour (required to launch)"
    )
    parser.add_argument("--status", action="store_true", help="print the status of the managed requests")
    parser.add_argument("--wait", action="store_true", help="wait until new requests run, then report")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds --wait waits (default: 600)")
    add_common_options(parser)
    return parser


def _check(args: argparse.Namespace) -> None:
    if not args.status and not args.image:
        raise StagingParameterError("give --image AMI to launch, or --status")
    if args.image and (args.price is None or args.price <= 0):
        raise StagingParameterError("give the maximum price with --price (a positive number)")
    if args.count < 0:
        raise StagingParameterError(f"--count must not be negative, not {args.count}")
    if not args.tag or args.tag.lower().startswith("aws:"):
        raise StagingParameterError(f"bad --tag {args.tag!r}")


def _managed(ec2: Any, tag: str, states: list[str] | None = None) -> list[Any]:
    flt: dict[str, Any] = {"tag-key": tag}
    if states:
        flt["state"] = states
    return list(ec2.describe_spot_instance_requests(filter=flt))


def _platform(ec2: Any, image: str) -> str:
    found = ec2.describe_images(image)
    if not found:
        raise StagingParameterError(f"image {image} not found in {ec2.region}")
    return "Windows" if "windows" in str(found[0].platform or "").lower() else "Linux/UNIX"


def _zone(ec2: Any, args: argparse.Namespace, platform: str, err: TextIO) -> str:
    now = dt.datetime.now(dt.UTC)
    samples = ec2.describe_spot_price_history(
        start_time=now - dt.timedelta(days=30),
        end_time=now,
        instance_types=[args.instance_type],
        product_descriptions=[platform],
    )
    history = [
        (str(p.availabilityZone), p.timestamp, float(p.spotPrice))
        for p in samples
        if p.spotPrice is not None and p.availabilityZone
    ]
    best = best_zone(history)
    if best is None:  # no price history (a new type, or a cloud without it): the first zone
        zones = sorted(str(z) for z in ec2.describe_availability_zones({"state": "available"}))
        if not zones:
            raise StagingError(f"no available zone in {ec2.region}")
        return zones[0]
    if best.low > args.price:
        print(f"{PROG}: warning: the lowest price in {best.zone} over 30 days ({best.low}) is above --price "
              f"{args.price}", file=err)  # fmt: skip
    return best.zone


def _request(ec2: Any, args: argparse.Namespace, needed: int, err: TextIO) -> list[Any]:
    zone = _zone(ec2, args, _platform(ec2, args.image), err)
    groups: dict[str, Any] = {}
    if args.security_group:
        key = "security_group_ids" if args.security_group.startswith("sg-") else "security_groups"
        groups[key] = [args.security_group]
    requests = ec2.request_spot_instances(
        spot_price=str(args.price), instance_count=needed, image_id=args.image, type="one-time",
        instance_type=args.instance_type, zone=zone, key_name=args.key_name, **groups,
    )  # fmt: skip
    if not requests:
        raise StagingError(f"no spot request was made: {ec2.error}")
    ec2.create_tags([str(r) for r in requests], {args.tag: ""})
    print(f"{PROG}: requested {needed} spot instance(s) in {zone}: {', '.join(map(str, requests))}", file=err)
    return list(requests)


def _wait(ec2: Any, requests: list[Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    ids = [str(r) for r in requests]
    while True:
        found = list(ec2.describe_spot_instance_requests(ids))
        failed = [r for r in found if r.state in ("failed", "cancelled", "closed")]
        if failed:
            raise StagingError(f"spot request {failed[0]} is {failed[0].state}")
        instances = [r.instance() for r in found if r.state == "active"]
        if len(instances) == len(ids) and all(i is not None and i.instanceState.name == "running"
                                              for i in instances):  # fmt: skip
            return
        if time.monotonic() > deadline:
            raise StagingError(f"spot requests not running after {timeout:.0f} s")
        time.sleep(1.0)


def _report(ec2: Any, tag: str, out: TextIO) -> None:
    lines = 0
    for request in _managed(ec2, tag):
        instance = request.instance()
        if instance is not None and instance.instanceState.name == "terminated":
            continue
        status = request.field("Status")
        code = str(status.Code) if status is not None else "-"
        line = f"{request}: state={request.state} status={code} bid={request.spotPrice}"
        fault = request.field("Fault")
        if fault is not None:
            line += f" fault={fault.Code}"
        if instance is not None:
            address = instance.publicIpAddress or "-"
            line += (f" instanceId={instance} instance_status={instance.instanceState.name}"
                     f" created={request.createTime} public_ip={address}")  # fmt: skip
        print(line, file=out)
        lines += 1
    if not lines:
        print("No tagged spot requests are pending.", file=out)


def _work(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The command itself, on parsed arguments."""
    _check(args)
    ec2 = connect(args, err).ec2
    if args.image:
        live = _managed(ec2, args.tag, ["open", "active"])
        needed = args.count - len(live)
        if needed <= 0:
            print(f"{PROG}: {len(live)} request(s) open or active; sufficient", file=err)
        else:
            requests = _request(ec2, args, needed, err)
            if args.wait:
                _wait(ec2, requests, args.timeout)
    if args.status or args.wait:
        _report(ec2, args.tag, out)
    return 0


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the command; returns the exit code (0 done, 1 failed, 2 bad input, 130 interrupted)."""
    return run_main(PROG, build_parser(), argv, stdout, stderr, _work)


if __name__ == "__main__":
    raise SystemExit(main())
