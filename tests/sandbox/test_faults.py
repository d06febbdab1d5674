"""Faults on demand: throttling, ids unknown for a while after a create, slow states, dropped SSH sessions."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from staging.sandbox import Faults, Sandbox, SandboxError

pytestmark = [pytest.mark.root, pytest.mark.slow]


def test_throttling_answers_request_limit_exceeded(faulty: Sandbox, client_for: Callable[..., Any]) -> None:
    """With throttle_rate=1 every call fails with RequestLimitExceeded (HTTP 503); with 0 none does."""
    ec2 = client_for("us-east-1", retries=1)
    faulty.set_faults(Faults(throttle_rate=1.0))
    with pytest.raises(ClientError) as info:
        ec2.describe_instances()
    assert info.value.response["Error"]["Code"] == "RequestLimitExceeded"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    faulty.set_faults(Faults(throttle_rate=0.0))
    ec2.describe_instances()


def test_new_ids_are_not_found_for_a_while(faulty: Sandbox, east: Any, track: Any, launcher: Any) -> None:
    """With not_found_for set, a new volume is InvalidVolume.NotFound to describe and tag calls at first,
    and describes without ids do not list it (nor a new instance beside an older one)."""
    key_name, _ = launcher.key_pair("us-east-1")
    older = launcher.instance("us-east-1", key_name)["InstanceId"]
    faulty.set_faults(Faults(not_found_for=600))
    newer = launcher.instance("us-east-1", key_name)["InstanceId"]
    listed = {i["InstanceId"] for r in east.describe_instances()["Reservations"] for i in r["Instances"]}
    assert older in listed and newer not in listed
    volume_id = east.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
    track.volumes.append(("us-east-1", volume_id))
    for call in (
        lambda: east.describe_volumes(VolumeIds=[volume_id]),
        lambda: east.create_tags(Resources=[volume_id], Tags=[{"Key": "k", "Value": "v"}]),
    ):
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == "InvalidVolume.NotFound"
    # Images too, also those registered without block device mappings.
    image_id = east.register_image(Name="young", RootDeviceName="/dev/xvda")["ImageId"]
    track.images.append(("us-east-1", image_id))
    with pytest.raises(ClientError) as info:
        east.describe_images(ImageIds=[image_id])
    assert info.value.response["Error"]["Code"] == "InvalidAMIID.NotFound"
    # Describes without ids do not list them yet either (filtered or not).
    available = [{"Name": "status", "Values": ["available"]}]
    for listing in (east.describe_volumes()["Volumes"], east.describe_volumes(Filters=available)["Volumes"]):
        assert volume_id not in [v["VolumeId"] for v in listing]
    assert image_id not in [i["ImageId"] for i in east.describe_images(Owners=["self"])["Images"]]
    # The sandbox's own images were published before it started: never too new (a run right after up).
    sandbox_image = faulty.images["us-east-1"]["debian-12-amd64-sandbox"]
    assert east.describe_images(ImageIds=[sandbox_image])["Images"][0]["ImageId"] == sandbox_image
    faulty.set_faults(Faults())
    assert east.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["State"] == "available"
    assert volume_id in [v["VolumeId"] for v in east.describe_volumes(Filters=available)["Volumes"]]


def test_pending_states_and_late_sshd(faulty: Sandbox, launcher: Any, east: Any, track: Any) -> None:
    """Instances stay pending, snapshots pending and sshd silent while the configured delays last."""
    faulty.set_faults(Faults(pending_for=600, snapshot_pending_for=600, attaching_for=600))
    key_name, _ = launcher.key_pair("us-east-1")
    instance = launcher.instance("us-east-1", key_name, zone="us-east-1a")
    described = east.describe_instances(InstanceIds=[instance["InstanceId"]])["Reservations"][0]["Instances"][
        0
    ]
    assert described["State"]["Name"] == "pending"
    console = east.get_console_output(InstanceId=instance["InstanceId"])["Output"]
    assert "BEGIN SSH HOST KEY" not in console  # sshd has no keys yet: it has not started
    assert instance["InstanceId"] in faulty.status()["hosts"]
    assert faulty.status()["hosts"][instance["InstanceId"]]["sshd_pid"] is None
    volume_id = east.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
    track.volumes.append(("us-east-1", volume_id))
    east.attach_volume(VolumeId=volume_id, InstanceId=instance["InstanceId"], Device="/dev/sdf")
    attachment = east.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["Attachments"][0]
    assert attachment["State"] == "attaching"
    snapshot_id = east.create_snapshot(VolumeId=volume_id)["SnapshotId"]
    track.snapshots.append(("us-east-1", snapshot_id))
    snapshot = east.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"][0]
    assert snapshot["State"] == "pending"
    assert snapshot["Progress"] != "100%"


def test_attaching_ends(faulty: Sandbox, launcher: Any, east: Any, track: Any) -> None:
    """With attaching_for set, an attachment is 'attaching' at first and becomes 'attached' afterwards."""
    faulty.set_faults(Faults(attaching_for=0.3))
    key_name, _ = launcher.key_pair("us-east-1")
    iid = launcher.instance("us-east-1", key_name, zone="us-east-1a")["InstanceId"]
    volume_id = east.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
    track.volumes.append(("us-east-1", volume_id))
    assert east.attach_volume(VolumeId=volume_id, InstanceId=iid, Device="/dev/sdf")["State"] == "attaching"

    def state() -> str:
        return str(east.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["Attachments"][0]["State"])

    assert state() == "attaching"
    while state() == "attaching":  # polls; no time limit is asserted
        time.sleep(0.05)
    assert state() == "attached"


def test_sshd_comes_up_late(faulty: Sandbox, launcher: Any, east: Any) -> None:
    """With boot_delay the instance is running at once but its sshd does not answer yet."""
    faulty.set_faults(Faults(boot_delay=600))
    key_name, key_file = launcher.key_pair("us-east-1")
    instance = launcher.instance("us-east-1", key_name)
    described = east.describe_instances(InstanceIds=[instance["InstanceId"]])["Reservations"][0]["Instances"][
        0
    ]
    assert described["State"]["Name"] == "running"
    assert faulty.status()["hosts"][instance["InstanceId"]]["sshd_pid"] is None
    probe = subprocess.run(
        [
            "ssh",
            "-F",
            "/dev/null",
            "-i",
            str(key_file),
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=5",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            f"admin@{instance['PublicIpAddress']}",
            "true",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 255


def test_ssh_connection_dropped_mid_transfer(faulty: Sandbox, launcher: Any, tmp_path: Path) -> None:
    """drop_ssh_connections cuts a running rsync (it fails) while sshd keeps accepting new sessions."""
    key_name, key_file = launcher.key_pair("us-east-1")
    instance = launcher.instance("us-east-1", key_name)
    login = launcher.login("us-east-1", instance, key_file)
    source = tmp_path / "src"
    source.mkdir()
    (source / "big.bin").write_bytes(os.urandom(8 * 1024 * 1024))
    ssh = " ".join(login.ssh_argv())
    rsync = subprocess.Popen(
        ["rsync", "-a", "--bwlimit=256", "-e", ssh, f"{source}/", f"{login.user}@{login.address}:dst/"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Wait until data is arriving (rsync's temporary file exists), then cut the connection.
        for _ in range(600):
            if rsync.poll() is not None or login.run("ls -A ~/dst 2>/dev/null", check=False).stdout.strip():
                break
            time.sleep(0.1)
        assert rsync.poll() is None, "rsync finished before the fault could be injected"
        assert faulty.drop_ssh_connections(instance["InstanceId"]) >= 1
        assert rsync.wait(timeout=60) != 0
    finally:
        rsync.kill()
        rsync.wait()
    assert login.run("echo again").stdout.strip() == "again"


def test_control_errors_are_sandbox_errors(faulty: Sandbox, tmp_path: Path) -> None:
    """A refused control call and a daemon that does not answer raise SandboxError with the reason."""
    with pytest.raises(SandboxError, match="throttle_rate must be between 0 and 1"):
        faulty.set_faults(Faults(throttle_rate=2.0))
    gone = Sandbox(tmp_path / "gone")
    gone._state = {"endpoint": "http://127.0.0.1:9"}
    with pytest.raises(SandboxError, match="does not answer"):
        gone.status()
    with pytest.raises(SandboxError, match="not running"):
        Sandbox(tmp_path / "never").status()


def test_pending_instances_stop_like_on_aws(faulty: Sandbox, launcher: Any, east: Any) -> None:
    """A first pending cannot be stopped; a pending timer of an earlier start never skips a later boot."""
    key_name, _ = launcher.key_pair("us-east-1")
    faulty.set_faults(Faults(pending_for=0.3))
    iid = launcher.instance("us-east-1", key_name)["InstanceId"]
    with pytest.raises(ClientError) as info:
        east.stop_instances(InstanceIds=[iid])
    assert info.value.response["Error"]["Code"] == "IncorrectInstanceState"

    def wait_running() -> None:  # polls state; no time limit is asserted
        while True:
            reservations = east.describe_instances(InstanceIds=[iid])["Reservations"]
            if reservations[0]["Instances"][0]["State"]["Name"] == "running":
                return
            time.sleep(0.05)

    wait_running()
    east.stop_instances(InstanceIds=[iid])
    east.start_instances(InstanceIds=[iid])  # pending again: its timer must not boot the next start
    east.stop_instances(InstanceIds=[iid])
    east.start_instances(InstanceIds=[iid])
    wait_running()
    assert faulty.status()["hosts"][iid]["sshd_pid"] is not None
