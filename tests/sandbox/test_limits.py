"""AWS limits that moto does not check are enforced by the sandbox, with AWS's error codes."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

pytestmark = [pytest.mark.root, pytest.mark.slow]


def error_code(call: Any, **kwargs: Any) -> str:
    """The error code ``call(**kwargs)`` fails with."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return str(info.value.response["Error"]["Code"])


def test_no_attach_across_zones(launcher: Any, track: Any, east: Any) -> None:
    """A volume in another availability zone cannot be attached."""
    key_name, _ = launcher.key_pair("us-east-1")
    instance = launcher.instance("us-east-1", key_name, zone="us-east-1a")
    volume_id = east.create_volume(Size=1, AvailabilityZone="us-east-1b")["VolumeId"]
    track.volumes.append(("us-east-1", volume_id))
    code = error_code(
        east.attach_volume, VolumeId=volume_id, InstanceId=instance["InstanceId"], Device="/dev/sdf"
    )
    assert code == "InvalidVolume.ZoneMismatch"


def test_no_double_attach_and_no_busy_device_name(launcher: Any, track: Any, east: Any) -> None:
    """An attached volume cannot be attached again, and a device name cannot be used twice."""
    key_name, _ = launcher.key_pair("us-east-1")
    instance = launcher.instance("us-east-1", key_name, zone="us-east-1a")
    other = launcher.instance("us-east-1", key_name, zone="us-east-1a")
    first, second = (east.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"] for _ in range(2))
    track.volumes += [("us-east-1", first), ("us-east-1", second)]
    east.attach_volume(VolumeId=first, InstanceId=instance["InstanceId"], Device="/dev/sdf")
    code = error_code(east.attach_volume, VolumeId=first, InstanceId=other["InstanceId"], Device="/dev/sdf")
    assert code == "VolumeInUse"
    code = error_code(
        east.attach_volume, VolumeId=second, InstanceId=instance["InstanceId"], Device="/dev/sdf"
    )
    assert code == "InvalidParameterValue"
    assert error_code(east.delete_volume, VolumeId=first) == "VolumeInUse"


def test_no_detach_from_another_instance(launcher: Any, track: Any, east: Any) -> None:
    """Detaching a volume from an instance it is not attached to fails and changes no attachment."""
    key_name, _ = launcher.key_pair("us-east-1")
    one, two = (launcher.instance("us-east-1", key_name, zone="us-east-1a")["InstanceId"] for _ in range(2))
    mine, theirs = (east.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"] for _ in range(2))
    track.volumes += [("us-east-1", mine), ("us-east-1", theirs)]
    east.attach_volume(VolumeId=mine, InstanceId=one, Device="/dev/sdf")
    east.attach_volume(VolumeId=theirs, InstanceId=two, Device="/dev/sdf")
    assert error_code(east.detach_volume, VolumeId=mine, InstanceId=two) == "InvalidAttachment.NotFound"
    assert error_code(east.detach_volume, VolumeId=mine, Device="/dev/sdg") == "InvalidAttachment.NotFound"
    volumes = east.describe_volumes(VolumeIds=[mine, theirs])["Volumes"]
    assert {v["VolumeId"]: v["Attachments"][0]["InstanceId"] for v in volumes} == {mine: one, theirs: two}


def test_no_volume_smaller_than_its_snapshot(track: Any, east: Any) -> None:
    """A volume made from a snapshot must be at least as large as the snapshot."""
    volume_id = east.create_volume(Size=3, AvailabilityZone="us-east-1a")["VolumeId"]
    track.volumes.append(("us-east-1", volume_id))
    snapshot_id = east.create_snapshot(VolumeId=volume_id)["SnapshotId"]
    track.snapshots.append(("us-east-1", snapshot_id))
    code = error_code(east.create_volume, SnapshotId=snapshot_id, Size=2, AvailabilityZone="us-east-1a")
    assert code == "InvalidParameterValue"


def test_no_start_of_a_terminated_instance(launcher: Any, east: Any) -> None:
    """A terminated instance cannot be started (or stopped) again."""
    key_name, _ = launcher.key_pair("us-east-1")
    iid = launcher.instance("us-east-1", key_name)["InstanceId"]
    east.terminate_instances(InstanceIds=[iid])
    assert error_code(east.start_instances, InstanceIds=[iid]) == "IncorrectInstanceState"
    assert error_code(east.stop_instances, InstanceIds=[iid]) == "IncorrectInstanceState"


def test_validation_is_on(east: Any, cloud: Any) -> None:
    """Unknown images, instance types and key pairs are refused, as on AWS."""
    image = cloud.images["us-east-1"]["debian-12-amd64-sandbox"]
    base = {"MinCount": 1, "MaxCount": 1}
    code = error_code(east.run_instances, ImageId="ami-12345678", InstanceType="t3.micro", **base)
    assert code == "InvalidAMIID.NotFound"
    code = error_code(east.run_instances, ImageId=image, InstanceType="t9.huge", **base)
    assert code.startswith("InvalidInstanceType")
    code = error_code(east.run_instances, ImageId=image, InstanceType="t3.micro", KeyName="nope", **base)
    assert code == "InvalidKeyPair.NotFound"


def test_invalid_device_names_are_refused(launcher: Any, track: Any, east: Any, cloud: Any) -> None:
    """Names EC2 refuses are refused before anything is made (in legacy mode a name becomes a /dev file)."""
    key_name, _ = launcher.key_pair("us-east-1")
    instance = launcher.instance("us-east-1", key_name, zone="us-east-1a")
    volume_id = east.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
    track.volumes.append(("us-east-1", volume_id))
    for device in ("/dev/../null", "/dev/null", "/etc/passwd", "/dev/sdf/.."):
        code = error_code(
            east.attach_volume, VolumeId=volume_id, InstanceId=instance["InstanceId"], Device=device
        )
        assert code == "InvalidParameterValue", device
    assert east.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["State"] == "available"
    hosts_before = set(cloud.status()["hosts"])
    code = error_code(
        east.run_instances,
        ImageId=cloud.images["us-east-1"]["debian-12-amd64-sandbox"],
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        BlockDeviceMappings=[{"DeviceName": "/dev/null", "Ebs": {"VolumeSize": 1}}],
    )
    assert code == "InvalidParameterValue"
    assert set(cloud.status()["hosts"]) == hosts_before


def test_register_image_with_a_bad_snapshot_leaves_no_image(east: Any) -> None:
    """An unknown snapshot in the mappings fails the call and registers nothing."""

    def own_images() -> list[str]:
        return [i["ImageId"] for i in east.describe_images(Owners=["self"])["Images"]]

    before = own_images()
    code = error_code(
        east.register_image,
        Name="bad-mapping",
        RootDeviceName="/dev/xvda",
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": "snap-0123456789abcdef0"}}],
    )
    assert code == "InvalidSnapshot.NotFound"
    assert own_images() == before


def test_a_failed_run_instances_leaves_no_instance(launcher: Any, track: Any, east: Any, cloud: Any) -> None:
    """A launch mapping smaller than its snapshot is refused and no instance is left running (moto made one,
    without a host, at an address off the sandbox network)."""
    key_name, _ = launcher.key_pair("us-east-1")
    volume_id = east.create_volume(Size=3, AvailabilityZone="us-east-1a")["VolumeId"]
    track.volumes.append(("us-east-1", volume_id))
    snapshot_id = east.create_snapshot(VolumeId=volume_id)["SnapshotId"]
    track.snapshots.append(("us-east-1", snapshot_id))

    def live() -> set[str]:
        reservations = east.describe_instances()["Reservations"]
        return {
            i["InstanceId"]
            for r in reservations
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        }

    before, hosts_before = live(), set(cloud.status()["hosts"])
    too_small = {"DeviceName": "/dev/sdg", "Ebs": {"SnapshotId": snapshot_id, "VolumeSize": 1}}
    unknown = {"DeviceName": "/dev/sdh", "Ebs": {"SnapshotId": "snap-0123456789abcdef0"}}  # moto fails late
    for mapping, expected in (
        (too_small, "InvalidBlockDeviceMapping"),
        (unknown, "InvalidSnapshot.NotFound"),
    ):
        code = error_code(
            east.run_instances,
            ImageId=cloud.images["us-east-1"]["debian-12-amd64-sandbox"],
            InstanceType="t3.micro",
            MinCount=1,
            MaxCount=1,
            KeyName=key_name,
            BlockDeviceMappings=[mapping],
        )
        assert code == expected
        assert live() == before
        assert set(cloud.status()["hosts"]) == hosts_before
