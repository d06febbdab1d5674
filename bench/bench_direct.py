"""Benchmark the server-less path (``sync_to_snapshot(direct=True)``) against the server path on the sandbox.

Run as root from the worktree root: ``PYTHONPATH=. python3 bench/bench_direct.py [--concurrency N] [--write]``
(without ``PYTHONPATH`` the installed ``staging`` is imported). With ``--write`` the results go to
``bench/results/direct.md`` (otherwise they are only printed). In one run on one sandbox: the 1 GiB mixed tree
of ``bench_sandbox.py`` (200 x 5 MiB random files + 5000 small files) as version 1 by the server path and by
the direct path (total time, and time outside data movement: everything but rsync for the server path,
everything but the block writes for the direct path); then two direct increments: one small file rewritten,
and 1 MiB rewritten inside one big file (blocks written, goal at most 4, and time); the upload throughput of
version 1's block writes with the chosen concurrency.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_sandbox import make_tree, publish

import staging
from provisioning import EC2
from staging.sandbox import ACCESS_KEY, SECRET_KEY, Sandbox

RESULTS = Path(__file__).parent / "results" / "direct.md"


def timed(name: str, dotdir: Path, **options: Any) -> tuple[float, staging.SyncResult]:
    """Seconds and result of one ``sync_to_snapshot`` of ``tree`` (run from its parent directory)."""
    start = time.perf_counter()
    result = staging.sync_to_snapshot(["tree"], name, dotdir=dotdir, delete=True, **options)
    assert isinstance(result, staging.SyncResult)
    return time.perf_counter() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--concurrency", type=int, default=8, help="parallel block writes (default: %(default)s)"
    )
    parser.add_argument("--write", action="store_true", help=f"write the results to {RESULTS}")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-direct-", dir="/var/tmp") as tmp, \
            Sandbox(Path(tmp) / "cloud", regions=["us-east-1"]) as cloud:  # fmt: skip
        ec2 = EC2(endpoint=cloud.endpoint, region="us-east-1", access_key=ACCESS_KEY, secret_key=SECRET_KEY)
        work, dot = Path(tmp), Path(tmp) / "dot"
        size = make_tree(work / "tree")
        os.chdir(work)
        server_s, server = timed("bench-server", dot, ec2=ec2)
        direct_s, direct = timed("bench-direct", dot, ec2=ec2, direct=True, concurrency=args.concurrency)
        small = sorted((work / "tree" / "small" / "d07").iterdir())[3]
        small.write_bytes(random.Random(7).randbytes(small.stat().st_size))
        small_s, small_r = timed("bench-direct", dot, ec2=ec2, direct=True, concurrency=args.concurrency)
        with (work / "tree" / "big" / "f100.bin").open("r+b") as f:
            f.seek(2 * 1024 * 1024)
            f.write(os.urandom(1024 * 1024))
        big_s, big_r = timed("bench-direct", dot, ec2=ec2, direct=True, concurrency=args.concurrency)
        for name in ("bench-server", "bench-direct"):
            for snap in ec2.describe_snapshots(owner="self", filter={"tag:Name": name}):
                ec2.delete_snapshot(snap)
    server_out = server_s - server.timings["transfer"]
    direct_out = direct_s - direct.timings["transfer"]
    rate = (direct.bytes_sent / 1e6) / max(direct.timings["transfer"], 1e-6)
    machine = f"{os.cpu_count()} cores, Linux {platform.release()}, Python {platform.python_version()}"
    phases = " / ".join(
        f"{direct.timings.get(k, 0.0):.2f}" for k in ("check", "prepare", "transfer", "snapshot")
    )
    lines = [
        "# sync_to_snapshot --direct benchmark",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with "
        f"`python3 bench/bench_direct.py --concurrency {args.concurrency} --write` on {machine}. "
        f"Sandbox cloud, one region; tree: {size / 1e6:.0f} MB (200 x 5 MiB random + 5000 small files). "
        "One run (single values).",
        "",
        "| measurement | server path | direct path |",
        "|---|---|---|",
        f"| version 1, total | {server_s:.2f} s | {direct_s:.2f} s |",
        f"| of which data movement (rsync / block writes) | {server.timings['transfer']:.2f} s | "
        f"{direct.timings['transfer']:.2f} s |",
        f"| **outside data movement** | {server_out:.2f} s | {direct_out:.2f} s |",
        f"| direct phases: check / prepare (image) / transfer / snapshot | | {phases} s |",
        f"| version 1 blocks written (of non-zero blocks) | | {direct.blocks_put} ({direct.bytes_sent} B) |",
        f"| **upload throughput**, {args.concurrency} parallel writes | | {rate:.0f} MB/s |",
        f"| one small file rewritten: blocks written (goal <= 4) | | **{small_r.blocks_put}** |",
        f"| one small file rewritten: total | | {small_s:.2f} s |",
        f"| 1 MiB rewritten in one big file: blocks written | | **{big_r.blocks_put}** |",
        f"| 1 MiB rewritten in one big file: total | | {big_s:.2f} s |",
        "",
    ]  # fmt: skip
    publish(lines, RESULTS, args.write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
