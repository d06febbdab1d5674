"""Volume copies to another zone (blocks) and to another region (files, larger), migrate-ebs-image
interrupted with SIGINT, and spot_launch on the sandbox."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from provisioning import EC2
from scripts.spot_launch import best_zone
from staging import StagingManager
from staging.sandbox import Faults

pytestmark = [pytest.mark.root, pytest.mark.slow]


def test_volume_copies_to_another_zone_and_region(
    east: EC2, west: EC2, caller_cidr: str, dotdir: Path, tmp_path: Path, helpers: Any
) -> None:
    """A block copy to us-east-1b and a file copy to us-west-2 at twice the size hold the same tree; the
    destination's extra ssh rule for the source server is gone afterwards."""
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "sub" / "blob").write_bytes(os.urandom(500_000))
    (tmp_path / "tree" / "top.txt").write_text("top\n")
    with StagingManager(east, ssh_cidr=caller_cidr, dotdir=dotdir, reuse_volumes=False) as manager:
        source = manager.provision_volume("copysrc", size=1, temporary=True)
        source.put(f"{tmp_path / 'tree'}/")
        expected = helpers.checksums(source)
        zone_copy = manager.volume_class  # the type, for the assertion below
        in_b = source.copy(availability_zone="us-east-1b")
        try:
            assert isinstance(in_b, zone_copy) and in_b.zone == "us-east-1b" and in_b.server is None
            in_b.mount()
            assert helpers.checksums(in_b) == expected
        finally:
            in_b.delete()
        in_west = source.copy(dest="us-west-2", size=2)
        try:
            assert in_west.manager.region == "us-west-2" and in_west.size == 2 and in_west.mounted
            assert helpers.checksums(in_west) == expected
            group = west.describe_security_groups(in_west.manager.security_group())[0]
            cidrs = [r.cidrIp for p in group.ipPermissions for r in p.ipRanges or []]
            assert cidrs == [caller_cidr]
        finally:
            in_west.delete()
    assert helpers.census(west) == []
    assert [v for v in east.describe_volumes()] == []


def _migration_waiting_on_copies(cloud: Any, image_id: str, west: EC2, dotdir: Path) -> subprocess.Popen[str]:
    """migrate-ebs-image as its own process, returned once its 3 snapshot copies exist (pending 60 s)."""
    cloud.set_faults(Faults(snapshot_pending_for=60))
    env = {**os.environ, "VMEC2_SANDBOX_DIR": str(cloud.state_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.migrate_ebs_image", image_id, "--from", "us-east-1",
         "--to", "us-west-2", "-b", "/dev/sdy=ephemeral0", "--sandbox", "--dotdir", str(dotdir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(west.describe_snapshots(owner="self")) < 3 and time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.communicate())
        time.sleep(0.2)
    return process


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL then staging gc"])
def test_interrupted_migration_leaves_nothing_in_the_destination(
    migration_cloud: Any, source_image: Any, west: EC2, dotdir: Path, helpers: Any, command: Any, how: str
) -> None:
    """Ctrl-C while the snapshot copies are pending: exit 130 and no copy left in us-west-2. A killed run's
    copies are tagged and journaled: ``staging gc --delete`` removes them."""
    try:
        process = _migration_waiting_on_copies(migration_cloud, source_image.image_id, west, dotdir)
        process.send_signal(signal.SIGINT if how == "SIGINT" else signal.SIGKILL)
        out, err = process.communicate(timeout=120)
    finally:
        migration_cloud.set_faults(Faults())
    if how == "SIGINT":
        assert process.returncode == 130, err
        assert out == "" and "interrupted" in err
    else:
        assert process.returncode == -signal.SIGKILL and len(helpers.census(west)) == 3
        code, listed, err = command.run(
            "gc", "gc", "--delete", "--regions", "us-west-2", "--dotdir", str(dotdir)
        )
        assert code == 0, err
        assert listed.count("snapshot") == 3 and "crashed" in listed
    assert helpers.census(west) == []


def test_spot_launch_launches_waits_and_reports(command: Any, east: EC2, helpers: Any) -> None:
    """One spot instance of the sandbox's Debian image: requested, tagged, running, reported; a second run
    finds it sufficient."""
    image = str(east.describe_images(owner="136693071363")[0])
    argv = ["--region", "us-east-1", "--image", image, "--price", "0.05", "--tag", "spot-test"]
    try:
        code, out, err = command.run("spot_launch", *argv, "--wait")
        assert code == 0, err
        (line,) = out.splitlines()
        assert line.startswith("sir-") and "state=active" in line and "instance_status=running" in line
        code, out, err = command.run("spot_launch", *argv, "--status")
        assert code == 0 and "sufficient" in err and out.startswith("sir-")
    finally:
        requests = east.describe_spot_instance_requests(filter={"tag-key": "spot-test"})
        instances = [str(r.InstanceId) for r in requests if r.field("InstanceId")]
        if requests:
            east.cancel_spot_instance_requests([str(r) for r in requests])
        if instances:
            east.terminate_instances(instances)
            east.wait_for_terminal_state(east.describe_instances(instances), "terminated")


def test_spot_launch_refuses_bad_input(command: Any) -> None:
    """No image and no --status, or no price: exit 2 with one line."""
    assert command.run("spot_launch")[0] == 2
    code, _, err = command.run("spot_launch", "--image", "ami-12345678")
    assert code == 2 and "--price" in err


def test_best_zone_takes_the_lowest_mean_then_the_newest_price() -> None:
    """The zone with the lowest mean wins; on a tie the lower *current* (newest) price."""
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    later = t0 + dt.timedelta(hours=1)
    history = [("a", t0, 0.01), ("a", later, 0.03), ("b", t0, 0.03), ("b", later, 0.01), ("c", t0, 0.5)]
    best = best_zone(history)
    assert best is not None and best.zone == "b" and best.current == 0.01 and best.mean == 0.02
    assert best_zone([]) is None
