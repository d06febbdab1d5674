"""Images carry their block device mappings: create, copy across regions, launch with the data volumes."""

from __future__ import annotations

from typing import Any

import pytest

from staging.sandbox import by_id_path

pytestmark = [pytest.mark.root, pytest.mark.slow]


def test_sandbox_images_are_registered_in_every_region(cloud: Any, east: Any, west: Any) -> None:
    """debian-12-amd64-sandbox is found as on AWS (Debian's owner id, a name filter) with a root snapshot."""
    for ec2 in (east, west):
        images = ec2.describe_images(
            Owners=["136693071363"], Filters=[{"Name": "name", "Values": ["debian-12-amd64-*"]}]
        )["Images"]
        assert [i["Name"] for i in images] == ["debian-12-amd64-sandbox"]
        root = images[0]["BlockDeviceMappings"][0]
        assert root["DeviceName"] == images[0]["RootDeviceName"] == "/dev/xvda"
        ec2.describe_snapshots(SnapshotIds=[root["Ebs"]["SnapshotId"]])


def test_create_copy_and_launch_an_image_with_a_data_volume(
    launcher: Any, track: Any, east: Any, west: Any
) -> None:
    """An image made from an instance keeps its data volume; a copy in another region launches with it."""
    key_name, key_file = launcher.key_pair("us-east-1")
    source = launcher.instance("us-east-1", key_name, zone="us-east-1a")
    volume_id = east.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
    track.volumes.append(("us-east-1", volume_id))
    east.attach_volume(VolumeId=volume_id, InstanceId=source["InstanceId"], Device="/dev/sdf")
    login = launcher.login("us-east-1", source, key_file)
    device = by_id_path(volume_id)
    login.run(f"sudo mkfs.ext4 -q {device} && mkdir ~/v && sudo mount {device} ~/v")
    login.run("echo payload | sudo tee ~/v/file >/dev/null && sudo umount ~/v")

    image_id = east.create_image(InstanceId=source["InstanceId"], Name="with-data")["ImageId"]
    track.images.append(("us-east-1", image_id))
    mappings = {
        m["DeviceName"]: m["Ebs"]
        for m in east.describe_images(ImageIds=[image_id])["Images"][0]["BlockDeviceMappings"]
    }
    assert set(mappings) == {"/dev/xvda", "/dev/sdf"}
    track.snapshots += [("us-east-1", m["SnapshotId"]) for m in mappings.values()]

    copy_id = west.copy_image(SourceImageId=image_id, SourceRegion="us-east-1", Name="with-data")["ImageId"]
    track.images.append(("us-west-2", copy_id))
    west.get_waiter("image_available").wait(ImageIds=[copy_id])
    copied = {
        m["DeviceName"]: m["Ebs"]
        for m in west.describe_images(ImageIds=[copy_id])["Images"][0]["BlockDeviceMappings"]
    }
    assert set(copied) == {"/dev/xvda", "/dev/sdf"}
    track.snapshots += [("us-west-2", m["SnapshotId"]) for m in copied.values()]
    west.describe_snapshots(SnapshotIds=[m["SnapshotId"] for m in copied.values()])

    west_key, west_key_file = launcher.key_pair("us-west-2")
    instance = launcher.instance("us-west-2", west_key, ImageId=copy_id)
    data = {m["DeviceName"]: m["Ebs"]["VolumeId"] for m in instance["BlockDeviceMappings"]}
    track.volumes += [("us-west-2", v) for v in data.values()]
    assert set(data) == {"/dev/xvda", "/dev/sdf"}
    west_login = launcher.login("us-west-2", instance, west_key_file)
    west_login.run(f"mkdir ~/v && sudo mount {by_id_path(data['/dev/sdf'])} ~/v")
    assert west_login.run("cat ~/v/file").stdout == "payload\n"
