"""Benchmark the snapshot copies of an image migration on the sandbox cloud.

An image with 8 EBS snapshots (1 GiB volumes) in us-east-1 is copied to us-west-2 by snapshot copies +
RegisterImage (``copy_image`` with an extra ephemeral mapping), with every snapshot copy held ``pending`` for
``--latency`` seconds (the sandbox fault ``snapshot_pending_for``). Measured:

* one snapshot copied alone (``copy_snapshot``): the slowest single copy;
* the image's 8 copies (all at once): goal at most 1.3x the single copy, not the sum;
* the same with the destination allowing only 3 concurrent copies (fault ``snapshot_copy_limit=3``): the
  copies must still finish with no error (``ResourceLimitExceeded`` backs off and retries).

Run as root: ``python3 bench/bench_migrate.py [--latency S] [--write]``. With ``--write`` the results go to
``bench/results/migrate.md`` (otherwise they are only printed).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from provisioning import EC2
from staging import StagingManager
from staging.sandbox import ACCESS_KEY, SECRET_KEY, Faults, Sandbox

RESULTS = Path(__file__).parent / "results" / "migrate.md"
SNAPSHOTS = 8


def make_image(ec2: Any) -> str:
    """An image whose 8 mappings are snapshots of empty 1 GiB volumes."""
    snapshots = []
    for _ in range(SNAPSHOTS):
        volume = ec2.create_volume(zone="us-east-1a", size=1)
        snapshots.append(str(ec2.create_snapshot(volume, description="bench")))
        ec2.delete_volume(volume)
    devices = ["/dev/xvda", *[f"/dev/sd{c}" for c in "fghijklm"][: SNAPSHOTS - 1]]
    mappings = [{"DeviceName": d, "Ebs": {"SnapshotId": s}} for d, s in zip(devices, snapshots, strict=True)]
    return str(
        ec2.register_image(
            name="bench-migrate", root_device_name="/dev/xvda", architecture="x86_64",
            block_device_mappings=mappings,
        )
    )  # fmt: skip


def remove_image(ec2: Any, image_id: str) -> None:
    image = ec2.describe_images(image_id)[0]
    snapshots = [str(m.ebs.snapshotId) for m in image.blockDeviceMapping if m.ebs]
    ec2.deregister_image(image_id)
    for snapshot in snapshots:
        ec2.delete_snapshot(snapshot)


def timed_image_copy(east: Any, west: Any, image_id: str, dotdir: Path) -> float:
    with StagingManager(east, dotdir=dotdir) as manager:
        start = time.perf_counter()
        copy = manager.copy_image(image_id, "us-west-2", block_devices=["/dev/sdy=ephemeral0"])
        seconds = time.perf_counter() - start
    remove_image(west, str(copy))
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=4.0, help="seconds each snapshot copy stays pending")
    parser.add_argument("--write", action="store_true", help=f"write the results to {RESULTS}")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-migrate-") as tmp:
        work = Path(tmp)
        sandbox = Sandbox(work / "cloud")
        sandbox.start()
        try:
            east, west = (
                EC2(endpoint=sandbox.endpoint, region=r, access_key=ACCESS_KEY, secret_key=SECRET_KEY)
                for r in ("us-east-1", "us-west-2")
            )
            image_id = make_image(east)
            one = str(east.describe_images(image_id)[0].blockDeviceMapping[0].ebs.snapshotId)
            sandbox.set_faults(Faults(snapshot_pending_for=args.latency))
            with StagingManager(east, dotdir=work / "dot") as manager:
                start = time.perf_counter()
                single = manager.copy_snapshot(one, "us-west-2")
                t_single = time.perf_counter() - start
            west.delete_snapshot(single)
            t_all = timed_image_copy(east, west, image_id, work / "dot")
            sandbox.set_faults(Faults(snapshot_pending_for=args.latency, snapshot_copy_limit=3))
            t_limited = timed_image_copy(east, west, image_id, work / "dot")
        finally:
            sandbox.stop(force=True)
    ratio = t_all / t_single
    lines = [
        "# Image migration: concurrent snapshot copies",
        "",
        f"Command: `python3 bench/bench_migrate.py --latency {args.latency:g}`  ",
        f"Machine: {platform.machine()}, Python {platform.python_version()}; sandbox cloud, us-east-1 →"
        f" us-west-2, each snapshot copy pending {args.latency:g} s (fault `snapshot_pending_for`).",
        "",
        "| run | copies | seconds |",
        "|---|---|---|",
        f"| one snapshot (`copy_snapshot`) | 1 | {t_single:.2f} |",
        f"| image (`copy_image`, register path) | {SNAPSHOTS} | {t_all:.2f} |",
        f"| image, destination limit 3 concurrent copies | {SNAPSHOTS} | {t_limited:.2f} |",
        "",
        f"**{SNAPSHOTS} copies / one copy: {ratio:.2f}x** (goal: at most 1.3x). With the limit at 3 the"
        f" copies finished with no error in {t_limited:.2f} s (about ceil(8/3) = 3 rounds of the latency).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        RESULTS.write_text(text)
        print(f"written to {RESULTS}")
    return 0 if ratio <= 1.3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
