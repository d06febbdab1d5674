"""Benchmark ``sync_to_snapshot`` on the sandbox cloud: total time, time outside the transfer, the same tree
copied by a plain ``rsync -a -e ssh`` into the same kind of staging volume, and an incremental second run.

Run as root: ``python3 bench/bench_sync.py [--rounds N] [--write]``. With ``--write`` the results go to
``bench/results/sync.md`` (otherwise they are only printed). The tree is the 1 GiB mixed tree of
``bench_sandbox.py`` (200 x 5 MiB random files + 5000 small files). Each round: a plain rsync of the tree into
an empty ext4 volume mounted on a staging server (receiver ``sudo rsync``, ``sync`` included), then a first
``sync_to_snapshot`` (version 1), then 20 big files get 1 MiB rewritten in place and 20 small files are added,
and a second ``sync_to_snapshot`` (version 2) measures what the increment sends.

Goals (issue 9): time outside the transfer at most 5 s; the increment's bytes sent at most 1.2x the bytes
changed.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import platform
import random
import statistics
import subprocess
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

RESULTS = Path(__file__).parent / "results" / "sync.md"


def plain_rsync(ec2: Any, cidr: str, tree: Path, dotdir: Path) -> float:
    """Seconds for plain ``rsync -a -e ssh`` of ``tree`` into a fresh ext4 staging volume (+ ``sync``)."""
    with staging.StagingManager(ec2, ssh_cidr=cidr, dotdir=dotdir) as manager:
        volume = manager.provision_volume("plain", size=2, temporary=True)
        server = volume.server
        assert server is not None
        with server.connection.openssh_target() as target:
            ssh = " ".join([
                "ssh", "-F", "/dev/null", "-i", str(target.key_file), "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={target.known_hosts_file}",
                "-o", f"HostKeyAlias={target.host_key_alias}",
            ])  # fmt: skip
            start = time.perf_counter()
            subprocess.run(
                ["rsync", "-aH", "--rsync-path=sudo -n rsync", "-e", ssh, f"{tree}/",
                 f"{server.username}@{server.address}:{volume.mtpt}/"],
                check=True,
            )  # fmt: skip
            server.run(["sync"], sudo=True)
            return time.perf_counter() - start


def change(tree: Path, rng: random.Random) -> int:
    """Rewrite 1 MiB inside 20 big files and add 20 small files; returns the bytes changed."""
    changed = 0
    for path in sorted((tree / "big").iterdir())[:20]:
        with path.open("r+b") as f:
            f.seek(2 * 1024 * 1024)
            f.write(os.urandom(1024 * 1024))
        changed += 1024 * 1024
    for i in range(20):
        data = rng.randbytes(4096)
        (tree / "small" / f"new{i:02}.txt").write_bytes(data)
        changed += len(data)
    return changed


def one_round(ec2: Any, cidr: str, work: Path, n: int) -> dict[str, float]:
    tree = work / f"tree{n}"
    make_tree(tree)
    dotdir = work / "dot"
    plain = plain_rsync(ec2, cidr, tree, dotdir)
    os.chdir(work)
    start = time.perf_counter()
    first = staging.sync_to_snapshot([tree.name], f"bench-{n}", ec2=ec2, ssh_cidr=cidr, dotdir=dotdir)
    total1 = time.perf_counter() - start
    assert isinstance(first, staging.SyncResult)
    changed = change(tree, random.Random(n))
    start = time.perf_counter()
    second = staging.sync_to_snapshot([tree.name], f"bench-{n}", ec2=ec2, ssh_cidr=cidr, dotdir=dotdir)
    total2 = time.perf_counter() - start
    assert isinstance(second, staging.SyncResult) and second.version == 2
    for snap in ec2.describe_snapshots(owner="self", filter={"tag:Name": f"bench-{n}"}):
        ec2.delete_snapshot(snap)
    return {
        "plain": plain,
        "total1": total1,
        "transfer1": first.timings["transfer"],
        "outside1": total1 - first.timings["transfer"],
        "total2": total2,
        "outside2": total2 - second.timings["transfer"],
        "changed": changed,
        "sent2": second.bytes_sent,
        "literal2": second.literal_bytes,
        "ratio2": second.bytes_sent / changed,
        "bytes": first.bytes_total,
        **{f"phase_{k}": v for k, v in first.timings.items()},
        **{f"phase2_{k}": v for k, v in second.timings.items()},
    }


def fmt(values: list[float], unit: str = "s", digits: int = 2) -> str:
    med = statistics.median(values)
    return f"{med:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f}) {unit}".rstrip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds (default: %(default)s)")
    parser.add_argument("--write", action="store_true", help=f"write the results to {RESULTS}")
    args = parser.parse_args()
    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-sync-", dir="/var/tmp") as tmp, \
            Sandbox(Path(tmp) / "cloud", regions=["us-east-1"]) as cloud:  # fmt: skip
        ec2 = EC2(endpoint=cloud.endpoint, region="us-east-1", access_key=ACCESS_KEY, secret_key=SECRET_KEY)
        cidr = f"{next(ipaddress.ip_network(cloud.network).hosts())}/32"
        for n in range(args.rounds):
            rounds.append(one_round(ec2, cidr, Path(tmp), n))
            print(f"round {n + 1}: " + ", ".join(f"{k}={v:.3f}" for k, v in rounds[-1].items()), flush=True)
    col = {k: [r[k] for r in rounds] for k in rounds[0]}
    mb = rounds[0]["bytes"] / 1e6
    version = subprocess.run(["rsync", "--version"], capture_output=True, text=True)
    rsync_version = version.stdout.splitlines()[0]
    speedup = [t / p for t, p in zip(col["transfer1"], col["plain"], strict=True)]
    phases, phases2 = (
        " / ".join(
            f"{statistics.median(col[p + k]):.2f}" for k in ("check", "prepare", "snapshot", "cleanup")
        )
        for p in ("phase_", "phase2_")
    )
    machine = f"{os.cpu_count()} cores, Linux {platform.release()}, Python {platform.python_version()}"
    lines = [
        "# sync_to_snapshot benchmark",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with "
        f"`python3 bench/bench_sync.py --rounds {args.rounds} --write` on {machine}, "
        f"{rsync_version}. Sandbox cloud, one region; tree: {mb:.0f} MB "
        "(200 x 5 MiB random + 5000 small files). Values are median (min-max) over the rounds.",
        "",
        "| measurement | result |",
        "|---|---|",
        f"| plain `rsync -aH -e ssh` into an ext4 staging volume (+ sync) | {fmt(col['plain'])} |",
        f"| `sync_to_snapshot` version 1, total | {fmt(col['total1'])} |",
        f"| of which the transfer (rsync + sync) | {fmt(col['transfer1'])} |",
        f"| **outside the transfer** (goal <= 5 s) | {fmt(col['outside1'])} |",
        f"| transfer / plain rsync | {fmt(speedup, '')} |",
        f"| phases of version 1: check / prepare / snapshot / cleanup | {phases} s |",
        f"| `sync_to_snapshot` version 2 (increment), total | {fmt(col['total2'])} |",
        f"| outside the transfer, version 2 | {fmt(col['outside2'])} |",
        f"| phases of version 2: check / prepare / snapshot / cleanup | {phases2} s |",
        f"| bytes changed | {int(col['changed'][0])} |",
        f"| bytes sent by version 2 | {fmt(col['sent2'], 'B', 0)} |",
        f"| **sent / changed** (goal <= 1.2) | {fmt(col['ratio2'], '', 3)} |",
        "",
    ]  # fmt: skip
    publish(lines, RESULTS, args.write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
