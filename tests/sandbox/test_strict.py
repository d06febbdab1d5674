"""Input AWS refuses is refused with AWS's codes (4xx) before anything is recorded, and answers where moto is
more lenient than AWS (status checks, snapshot owners, pending copies, crashes) are AWS's."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from staging.sandbox import Faults, Sandbox

pytestmark = [pytest.mark.root, pytest.mark.slow]


def refusal(call: Any, **kwargs: Any) -> tuple[str, int]:
    """The error code and HTTP status ``call(**kwargs)`` fails with."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    response = info.value.response
    return str(response["Error"]["Code"]), int(response["ResponseMetadata"]["HTTPStatusCode"])


def recorded(east: Any, cloud: Sandbox) -> dict[str, Any]:
    """What the API and the machine hold: volumes, live instances, tags, volume files, hosts."""
    reservations = east.describe_instances()["Reservations"]
    return {
        "volumes": sorted(v["VolumeId"] for v in east.describe_volumes()["Volumes"]),
        "instances": sorted(
            i["InstanceId"]
            for r in reservations
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ),
        "tags": east.describe_tags()["Tags"],
        "files": sorted(p.name for p in (cloud.state_dir / "data" / "volumes").iterdir()),
        "hosts": sorted(cloud.status()["hosts"]),
    }


def test_volume_sizes_are_checked_per_type(east: Any, cloud: Sandbox, track: Any) -> None:
    """Sizes outside a type's range, unknown types and zones: 400 with AWS's code, nothing recorded."""
    before = recorded(east, cloud)
    zone = {"AvailabilityZone": "us-east-1a"}
    for kwargs, code in (
        ({"Size": 0, **zone}, "InvalidParameterValue"),
        ({"Size": -1, **zone}, "InvalidParameterValue"),
        ({"Size": 16385, "VolumeType": "gp3", **zone}, "InvalidParameterValue"),
        ({"Size": 100000, **zone}, "InvalidParameterValue"),
        ({"Size": 3, "VolumeType": "io1", "Iops": 100, **zone}, "InvalidParameterValue"),
        ({"Size": 100, "VolumeType": "st1", **zone}, "InvalidParameterValue"),
        ({"Size": 1, "VolumeType": "gp9", **zone}, "InvalidParameterValue"),
        ({"Size": 1, "AvailabilityZone": "us-east-1z"}, "InvalidZone.NotFound"),
        (zone, "MissingParameter"),
    ):
        assert refusal(east.create_volume, **kwargs) == (code, 400), kwargs
    assert recorded(east, cloud) == before

    # The largest valid size is backed (sparse) or refused as a capacity problem, never half made.
    try:
        big = east.create_volume(Size=16384, VolumeType="gp3", **zone)["VolumeId"]
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "InsufficientVolumeCapacity"
        assert recorded(east, cloud) == before
    else:
        track.volumes.append(("us-east-1", big))
        assert east.describe_volumes(VolumeIds=[big])["Volumes"][0]["Size"] == 16384

    volume_id = east.create_volume(Size=1, **zone)["VolumeId"]
    track.volumes.append(("us-east-1", volume_id))
    assert refusal(east.modify_volume, VolumeId=volume_id, Size=100000) == ("InvalidParameterValue", 400)
    try:
        east.modify_volume(VolumeId=volume_id, Size=16384)
    except ClientError as exc:  # refused by the machine: the API keeps the old size
        assert exc.response["Error"]["Code"] == "InsufficientVolumeCapacity"
        assert east.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["Size"] == 1
    volume_file = cloud.state_dir / "data" / "volumes" / f"{volume_id}.img"
    assert volume_file.stat().st_size in (1024**3, 16384 * 1024**3)


def test_bad_launches_are_refused_before_anything_exists(east: Any, cloud: Sandbox, track: Any) -> None:
    """Huge mappings, unknown zones, user data over 16 KB and more instances than addresses: refused, with
    no instance, volume or host left."""
    before = recorded(east, cloud)
    base = {
        "ImageId": cloud.images["us-east-1"]["debian-12-amd64-sandbox"],
        "InstanceType": "t3.micro",
        "MinCount": 1,
        "MaxCount": 1,
    }
    huge = [{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 100000}}]
    for kwargs, code in (
        ({"BlockDeviceMappings": huge}, "InvalidBlockDeviceMapping"),
        ({"Placement": {"AvailabilityZone": "us-east-1z"}}, "InvalidParameterValue"),
        ({"UserData": "x" * 16385}, "InvalidParameterValue"),
        ({"MinCount": 254, "MaxCount": 254}, "InsufficientFreeAddressesInSubnet"),
    ):
        assert refusal(east.run_instances, **{**base, **kwargs}) == (code, 400), list(kwargs)
    assert recorded(east, cloud) == before
    # 16 KB of user data is fine (the limit is on the raw bytes, before base64).
    iid = east.run_instances(**base, UserData="x" * 16384)["Instances"][0]["InstanceId"]
    track.instances.append(("us-east-1", iid))


def test_bad_device_names_and_tags_are_refused(east: Any, cloud: Sandbox, track: Any, launcher: Any) -> None:
    """A device name with a trailing newline, 'aws:' tag keys and over-long tags: 400, nothing recorded."""
    key_name, _ = launcher.key_pair("us-east-1")
    iid = launcher.instance("us-east-1", key_name, zone="us-east-1a")["InstanceId"]
    volume_id = east.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
    track.volumes.append(("us-east-1", volume_id))
    before = recorded(east, cloud)
    code = refusal(east.attach_volume, VolumeId=volume_id, InstanceId=iid, Device="/dev/sdf\n")
    assert code == ("InvalidParameterValue", 400)
    for tag in ({"Key": "aws:owner", "Value": "x"}, {"Key": "k", "Value": "v" * 257}, {"Key": "k" * 129}):
        assert refusal(east.create_tags, Resources=[volume_id], Tags=[tag]) == ("InvalidParameterValue", 400)
        spec = [{"ResourceType": "volume", "Tags": [{"Value": "", **tag}]}]
        code = refusal(east.create_volume, Size=1, AvailabilityZone="us-east-1a", TagSpecifications=spec)
        assert code == ("InvalidParameterValue", 400)
    assert recorded(east, cloud) == before
    assert not list(Path("/dev").glob("*\n"))
    east.create_tags(Resources=[volume_id], Tags=[{"Key": "k" * 128, "Value": "v" * 256}])


def control(cloud: Sandbox, name: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """POST raw bytes to a control call; returns the HTTP status and the JSON answer."""
    request = urllib.request.Request(f"{cloud.endpoint}/_sandbox/{name}", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_control_api_refuses_bad_json(faulty: Sandbox) -> None:
    """A body that is not JSON, not an object or has an unbounded duration is a 400; faults stay as set."""
    faulty.set_faults(Faults(latency=0.001))
    for body in (b"{not json", b"[]", b'"x"', json.dumps({"pending_for": 1e12}).encode()):
        status, answer = control(faulty, "faults", body)
        assert status == 400, body
        assert answer["error"]
    assert faulty.status()["faults"]["latency"] == 0.001


def test_status_checks_wait_for_sshd(faulty: Sandbox, launcher: Any, east: Any) -> None:
    """Status checks are 'initializing' while sshd is not up yet (boot_delay), 'ok' once it answers."""
    key_name, _ = launcher.key_pair("us-east-1")
    ready = launcher.instance("us-east-1", key_name)["InstanceId"]
    faulty.set_faults(Faults(boot_delay=600))
    booting = launcher.instance("us-east-1", key_name)["InstanceId"]
    statuses = {
        s["InstanceId"]: (s["InstanceStatus"]["Status"], s["SystemStatus"]["Status"])
        for s in east.describe_instance_status(InstanceIds=[ready, booting])["InstanceStatuses"]
    }
    assert statuses == {ready: ("ok", "ok"), booting: ("initializing", "initializing")}


def test_snapshots_owner_and_pending_copies(faulty: Sandbox, east: Any, west: Any, track: Any) -> None:
    """OwnerIds=self lists only the caller's snapshots (not the images' root snapshots); a snapshot still
    pending cannot be copied (IncorrectState)."""
    own = east.describe_snapshots(OwnerIds=["self"])["Snapshots"]
    account = {s["OwnerId"] for s in own}
    assert "136693071363" not in account and "099720109477" not in account
    listed = {s["SnapshotId"] for s in east.describe_snapshots()["Snapshots"]}
    roots = {
        m["Ebs"]["SnapshotId"]
        for i in east.describe_images(Owners=["136693071363", "099720109477"])["Images"]
        for m in i["BlockDeviceMappings"]
    }
    assert not roots & listed
    assert {s["OwnerId"] for s in east.describe_snapshots(OwnerIds=["099720109477"])["Snapshots"]} == {
        "099720109477"
    }

    faulty.set_faults(Faults(snapshot_pending_for=600))
    volume_id = east.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
    track.volumes.append(("us-east-1", volume_id))
    snapshot_id = east.create_snapshot(VolumeId=volume_id)["SnapshotId"]
    track.snapshots.append(("us-east-1", snapshot_id))
    code = refusal(west.copy_snapshot, SourceSnapshotId=snapshot_id, SourceRegion="us-east-1")
    assert code == ("IncorrectState", 400)


def test_a_moto_crash_is_an_ec2_error(east: Any) -> None:
    """A request moto fails on (an image filter it does not implement) answers an EC2 InternalError (500),
    not an HTML page."""
    with pytest.raises(ClientError) as info:
        east.describe_images(Filters=[{"Name": "imds-support", "Values": ["v2.0"]}])
    assert info.value.response["Error"]["Code"] == "InternalError"


def test_user_data_limit_counts_raw_bytes() -> None:
    """The 16 KB limit applies to the raw user data, before base64 (pure check)."""
    from staging.sandbox.daemon.limits import user_data_problem

    def params(raw: bytes) -> dict[str, list[str]]:
        return {"Action": ["RunInstances"], "UserData": [base64.b64encode(raw).decode()]}

    assert user_data_problem(params(b"x" * 16384)) is None
    assert user_data_problem(params(b"x" * 16385)) is not None
