"""Benchmark the sandbox cloud: start time, run_instances -> sshd answering, rsync of 1 GiB vs plain sshd.

Run as root: ``python3 bench/bench_sandbox.py [--write]``. With ``--write`` the results go to
``bench/results/sandbox.md``. The rsync comparison copies the same 1 GiB mixed tree (200 x 5 MiB random files
+ 5000 small files) with the same ssh options into (a) a sandbox host over its bridge address and (b) a plain
sshd on 127.0.0.1 started with :class:`transfer.testing.SshdServer`, alternating runs in one process; each run
ends with ``sync`` on the receiving side.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

from staging.sandbox import Sandbox
from transfer.testing import SshdServer

RESULTS = Path(__file__).parent / "results" / "sandbox.md"


def make_tree(root: Path) -> int:
    """Write the 1 GiB mixed tree; returns its size in bytes."""
    rng = random.Random(1)
    total = 0
    big = root / "big"
    big.mkdir(parents=True)
    for i in range(200):
        data = os.urandom(5 * 1024 * 1024)
        (big / f"f{i:03}.bin").write_bytes(data)
        total += len(data)
    for i in range(5000):
        d = root / "small" / f"d{i // 100:02}"
        d.mkdir(parents=True, exist_ok=True)
        data = rng.randbytes(rng.randint(64, 16384))
        (d / f"s{i:04}.txt").write_bytes(data)
        total += len(data)
    return total


def publish(lines: list[str], results: Path, write: bool) -> None:
    """Print the results table; with ``write`` (``--write``) also write it to ``results``."""
    text = "\n".join(lines)
    print(text)
    if write:
        results.write_text(text)
        print(f"written to {results}")


def ssh_options(key: Path) -> list[str]:
    """Identical ssh options for both targets (no host key check: both are ours and fresh)."""
    return [
        *("-F", "/dev/null", "-i", str(key), "-o", "BatchMode=yes"),
        *("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"),
    ]


def timed_rsync(tree: Path, user: str, host: str, port: int, dest: str, key: Path) -> float:
    """Seconds for a full rsync of ``tree`` plus ``sync`` on the receiver (destination emptied first)."""
    ssh = ["ssh", *ssh_options(key), "-p", str(port)]
    subprocess.run([*ssh, f"{user}@{host}", f"rm -rf {dest} && mkdir -p {dest}"], check=True)
    start = time.perf_counter()
    subprocess.run(["rsync", "-a", "-e", " ".join(ssh), f"{tree}/", f"{user}@{host}:{dest}/"], check=True)
    subprocess.run([*ssh, f"{user}@{host}", "sync"], check=True)
    return time.perf_counter() - start


def wait_banner(address: str, port: int = 22, timeout: float = 60.0) -> float:
    """Poll until sshd at ``address`` sends its banner; returns the monotonic time it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=1) as s:
                if s.recv(8).startswith(b"SSH-"):
                    return time.monotonic()
        except OSError:
            time.sleep(0.005)
    raise TimeoutError(f"no sshd at {address}:{port}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (and optionally write) a markdown report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS}")
    parser.add_argument("--runs", type=int, default=3, help="rsync runs per target")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-sandbox-", dir="/var/tmp"))
    rows: list[str] = []
    try:
        starts = []
        for i in range(3):
            t0 = time.perf_counter()
            with Sandbox(work / f"start{i}", regions=["us-east-1"]):
                starts.append(time.perf_counter() - t0)
        rows.append(f"| sandbox start (`Sandbox.start()`, 1 region), 3 runs | {fmt(starts)} s |")

        tree = work / "tree"
        size = make_tree(tree)
        with Sandbox(work / "cloud", regions=["us-east-1"]) as cloud:
            env = cloud.env()
            ec2: Any = boto3.client(
                "ec2",
                endpoint_url=env["AWS_ENDPOINT_URL"],
                region_name=cloud.region,
                aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            )
            key = work / "key.pem"
            key.write_text(ec2.create_key_pair(KeyName="bench", KeyType="ed25519")["KeyMaterial"])
            key.chmod(0o600)
            image = cloud.images[cloud.region]["debian-12-amd64-sandbox"]
            # Security groups are enforced: let this machine (the caller address) in on ssh.
            group = ec2.create_security_group(GroupName="bench", Description="ssh from here")["GroupId"]
            ec2.authorize_security_group_ingress(
                GroupId=group, IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp=f"{cloud.caller_address}/32"
            )
            boots, calls, addresses = [], [], []
            for _ in range(5):
                t0 = time.monotonic()
                inst = ec2.run_instances(
                    ImageId=image,
                    MinCount=1,
                    MaxCount=1,
                    InstanceType="t3.micro",
                    KeyName="bench",
                    SecurityGroupIds=[group],
                )["Instances"][0]
                calls.append(time.monotonic() - t0)
                boots.append(wait_banner(inst["PublicIpAddress"]) - t0)
                addresses.append((inst["InstanceId"], inst["PublicIpAddress"]))
            rows.append(f"| `run_instances` call, 5 runs | {fmt(calls)} s |")
            rows.append(f"| `run_instances` -> sshd banner, 5 runs | {fmt(boots)} s |")

            address = addresses[0][1]
            pub = subprocess.run(
                ["ssh-keygen", "-y", "-f", str(key)], capture_output=True, text=True, check=True
            )
            with SshdServer(
                work / "plain-sshd", authorized_keys=[pub.stdout.strip()], allow_users=["root"]
            ) as plain:
                sandbox_runs, plain_runs = [], []
                for _ in range(args.runs):
                    plain_runs.append(
                        timed_rsync(tree, "root", "127.0.0.1", plain.port, str(work / "plain"), key)
                    )
                    sandbox_runs.append(timed_rsync(tree, cloud.login_user, address, 22, "dest", key))
            mb = size / 1e6
            rows.append(
                f"| rsync {mb:.0f} MB to plain loopback sshd, {args.runs} runs | {fmt(plain_runs)} s "
                f"({mb / statistics.median(plain_runs):.0f} MB/s median) |"
            )
            rows.append(
                f"| rsync {mb:.0f} MB to a sandbox host, {args.runs} runs | {fmt(sandbox_runs)} s "
                f"({mb / statistics.median(sandbox_runs):.0f} MB/s median) |"
            )
            ratio = statistics.median(sandbox_runs) / statistics.median(plain_runs)
            rows.append(f"| sandbox / plain (median) | {ratio:.3f} (target <= 1.10) |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = render(rows)
    print(report)
    if args.write:
        RESULTS.write_text(report)
    return 0


def fmt(values: list[float]) -> str:
    """``median (min-max)`` with two decimals."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def render(rows: list[str]) -> str:
    """The markdown report."""
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        "?",
    )
    rsync_version = subprocess.run(["rsync", "--version"], capture_output=True, text=True).stdout.split("\n")[
        0
    ]
    ssh_version = subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip()
    return "\n".join(
        [
            "# Sandbox benchmark",
            "",
            f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
            " with `python3 bench/bench_sandbox.py --write`"
            f" on {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()},"
            f" Python {sys.version.split()[0]}, {rsync_version}, {ssh_version}.",
            "Values are median (min-max). rsync: `rsync -a -e ssh`, default cipher, `sync` on the receiver"
            " included; the sandbox host and the plain sshd alternate run by run;"
            " both write to the root file system.",
            "",
            "| measurement | result |",
            "|---|---|",
            *rows,
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
