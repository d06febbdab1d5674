"""Benchmark the façade under faults: a user's workload on a sandbox that throttles, lags and hides new ids.

Run as root: ``python3 bench/bench_workload.py [--write]``. With ``--write`` the results go to
``bench/results/workload.md``. The workload is written as a user would write it, with no retry of its own
(the calls of one step run side by side through the façade's ``_async`` forms): 5 instances and 5 volumes,
each volume attached and filled with 8 MiB of random data over ssh, snapshotted, each snapshot copied to
another region, waiting until each step is done. The sandbox runs with 30 % throttling, 0.2 s latency per
call, ids NotFound for 5 s after creation, instances pending 10 s, attachments attaching 5 s and snapshots
pending 10 s (:data:`FAULTS`); the façade alone rides that out (botocore's retries for throttling,
:mod:`provisioning.consistency` for NotFound). Afterwards, with the faults off, the copies are restored as
volumes in the other region and read back (the check; not counted in the workload's time).
``tests/sandbox/test_workload.py`` runs :func:`run_workload` as a test.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from provisioning import EC2
from staging.sandbox import Faults, Sandbox, by_id_path

RESULTS = Path(__file__).parent / "results" / "workload.md"

#: The faults of issue 11's "Done when".
FAULTS = Faults(
    throttle_rate=0.3,
    latency=0.2,
    not_found_for=5,
    pending_for=10,
    attaching_for=5,
    snapshot_pending_for=10,
    seed=11,
)
COUNT = 5
DATA_BYTES = 8 * 1024 * 1024
SOURCE, DEST = "us-east-1", "us-west-2"
DEVICES = [f"/dev/sd{letter}" for letter in "fghij"]


@dataclass
class WorkloadResult:
    """What one run measured."""

    #: Seconds of the workload under faults (the check after it is not counted).
    seconds: float
    #: Seconds per phase, in order.
    phases: dict[str, float] = field(default_factory=dict)
    #: botocore's retries (throttling, 5xx), from the ``aws.retry`` events.
    throttle_retries: int = 0
    #: Calls the façade retried because they named an id it had just created.
    consistency_retries: int = 0
    #: Whether every volume's copy in the other region read back the bytes written.
    intact: bool = False


class _RetryCounter(logging.Handler):
    """Counts ``aws.retry`` events (one per botocore retry) on the provisioning loggers."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "aws.retry" in record.getMessage():
            self.count += 1


def together(futures: Iterable[Any]) -> list[Any]:
    """The results of calls started with the façade's ``_async`` forms (run side by side), in order."""
    return [future.result() for future in list(futures)]


def _facade(cloud: Sandbox, region: str) -> EC2:
    return EC2(endpoint=cloud.endpoint, region=region, access_key="sandbox", secret_key="sandbox")


def _ssh(key_file: Path, address: str, user: str, script: str, data: bytes | None = None) -> bytes:
    """Run ``script`` on a host with plain ssh (stdin ``data``); its stdout."""
    argv = ["ssh", "-F", "/dev/null", "-i", str(key_file), "-o", "BatchMode=yes", "-o", "ConnectTimeout=20"]
    argv += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
    done = subprocess.run([*argv, f"{user}@{address}", script], input=data, capture_output=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"ssh {address} {script!r}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def _access(ec2: EC2, cloud: Sandbox, workdir: Path, name: str) -> tuple[str, Path, str]:
    """A key pair (its file) and a security group letting this machine in on tcp/22, in ec2's region."""
    key = ec2.create_key_pair(name)
    key_file = workdir / f"{name}-{ec2.region}.pem"
    key_file.write_text(str(key.KeyMaterial))
    key_file.chmod(0o600)
    group = ec2.create_security_group(name, "ssh from the workload's machine")
    ec2.authorize_security_group_ingress(
        group_id=str(group), ip_protocol="tcp", from_port=22, to_port=22, cidr_ip=f"{cloud.caller_address}/32"
    )
    return name, key_file, str(group)


def run_workload(cloud: Sandbox, workdir: Path) -> WorkloadResult:
    """The user's workload on ``cloud`` under :data:`FAULTS` (set here, left set); see the module."""
    counter = _RetryCounter()
    clients_log = logging.getLogger("provisioning.clients")
    old_level = clients_log.level
    clients_log.addHandler(counter)
    clients_log.setLevel(logging.INFO)
    try:
        return _run(cloud, workdir, counter)
    finally:
        clients_log.removeHandler(counter)
        clients_log.setLevel(old_level)


def _run(cloud: Sandbox, workdir: Path, counter: _RetryCounter) -> WorkloadResult:
    cloud.set_faults(FAULTS)
    user = cloud.login_user
    phases: dict[str, float] = {}
    start = mark = time.monotonic()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.monotonic()
        phases[name] = round(now - mark, 1)
        mark = now

    ec2 = _facade(cloud, SOURCE)
    key, key_file, group = _access(ec2, cloud, workdir, "workload")
    image = cloud.images[SOURCE]["debian-12-amd64-sandbox"]
    instances = ec2.run_instances(
        image,
        min_count=COUNT,
        max_count=COUNT,
        key_name=key,
        security_group_ids=[group],
        instance_type="t3.micro",
        placement_zone=f"{SOURCE}a",
    )
    volumes = together(ec2.create_volume_async(availability_zone=f"{SOURCE}a", size=1) for _ in range(COUNT))
    ec2.wait_for_instances(instances, state="running")
    ec2.wait_for_volumes(volumes, state="available")
    phase("launch 5 instances, 5 volumes")

    pairs = zip(instances, volumes, strict=True)
    attachments = together(i.attach_volume_async(v, "/dev/sdf") for i, v in pairs)
    ec2.wait_for_attachments(attachments, state="attached")
    phase("attach")

    def fill(instance: Any, volume: Any) -> str:
        data = os.urandom(DATA_BYTES)
        device = by_id_path(str(volume))
        _ssh(key_file, str(instance.ipAddress), user, f"sudo dd of={device} bs=1M status=none && sync", data)
        return hashlib.sha256(data).hexdigest()

    with ThreadPoolExecutor(COUNT) as pool:
        sums = list(pool.map(fill, instances, volumes))
    phase("write 8 MiB per volume over ssh")

    snapshots = together(v.create_snapshot_async("workload") for v in volumes)
    ec2.wait_for_snapshots(snapshots, state="completed")
    phase("snapshot")

    copies = together(s.copy_async(region=DEST, description="workload copy") for s in snapshots)
    ec2.wait_for_snapshots(copies, state="completed")
    phase("copy to another region")
    seconds = round(time.monotonic() - start, 1)
    throttled, lagged = counter.count, ec2.consistency.retries

    # The check, not part of the workload: without faults, restore each copy and read its bytes back.
    cloud.set_faults(Faults())
    intact = _read_back(cloud, workdir, copies) == sums
    phase("check (no faults): restore the copies and read them back")
    return WorkloadResult(seconds, phases, throttled, lagged, intact)


def _read_back(cloud: Sandbox, workdir: Path, copies: list[Any]) -> list[str]:
    """The SHA-256 of the first :data:`DATA_BYTES` of a volume made from each snapshot copy in DEST."""
    west = _facade(cloud, DEST)
    key, key_file, group = _access(west, cloud, workdir, "workload-check")
    reader = west.run_instances(
        cloud.images[DEST]["debian-12-amd64-sandbox"],
        key_name=key,
        security_group_ids=[group],
        instance_type="t3.micro",
        placement_zone=f"{DEST}a",
    )[0]
    restored = [west.create_volume(snapshot_id=c, availability_zone=f"{DEST}a") for c in copies]
    west.wait_for_instances(reader, state="running")
    west.wait_for_volumes(restored, state="available")
    on_reader = [reader.attach_volume(v, d) for v, d in zip(restored, DEVICES, strict=True)]
    west.wait_for_attachments(on_reader, state="attached")
    return [
        hashlib.sha256(
            _ssh(
                key_file,
                str(reader.ipAddress),
                cloud.login_user,
                f"sudo head -c {DATA_BYTES} {by_id_path(str(v))}",
            )
        ).hexdigest()
        for v in restored
    ]


def report(result: WorkloadResult) -> str:
    """The results as Markdown."""
    lines = [
        "# Workload under faults (issue 11)",
        "",
        f"Machine: {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}.",
        f"Faults: {FAULTS.to_dict()}.",
        "",
        "5 instances + 5 volumes, attach, 8 MiB written per volume over ssh, snapshot, copy each snapshot to"
        f" {DEST}; no retry in the workload itself. Then, faults off, the copies are restored and read.",
        "",
        "| phase | seconds |",
        "|---|---|",
        *(f"| {name} | {seconds} |" for name, seconds in result.phases.items()),
        f"| **workload under faults (without the check)** | **{result.seconds}** |",
        "",
        f"botocore retries (throttling): {result.throttle_retries}; façade retries of NotFound for new ids:"
        f" {result.consistency_retries}; every byte intact: {'yes' if result.intact else 'NO'}.",
        "",
        "Measured with `python3 bench/bench_workload.py --write` (one run). The faults set the floor: 10 s"
        " pending, 5 s attaching, 10 s per snapshot round, ids hidden 5 s, 0.2 s per call.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Start a sandbox, run the workload once, print (and with --write record) the results, remove it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS}")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-workload-") as tmp, Sandbox(Path(tmp) / "cloud") as cloud:
        result = run_workload(cloud, Path(tmp))
    text = report(result)
    print(text, end="")
    if args.write:
        RESULTS.write_text(text)
    return 0 if result.intact else 1


if __name__ == "__main__":
    sys.exit(main())
