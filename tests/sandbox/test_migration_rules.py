"""What image migration meets on AWS, modelled by the sandbox.

RegisterImage keeps every mapping kind and image attribute and refuses duplicate names; CopyImage keeps the
root device type, encryption and tags and stays pending with its snapshots; kernels and ramdisks exist; image
filters answer; concurrent copies are limited.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from staging.sandbox import Faults

pytestmark = [pytest.mark.root, pytest.mark.slow]


def _snapshot(client: Any, track: Any, region: str, size: int = 1) -> str:
    volume_id = client.create_volume(Size=size, AvailabilityZone=f"{region}a")["VolumeId"]
    track.volumes.append((region, volume_id))
    snapshot_id: str = client.create_snapshot(VolumeId=volume_id)["SnapshotId"]
    track.snapshots.append((region, snapshot_id))
    return snapshot_id


def _kernel(client: Any, kind: str) -> dict[str, Any]:
    images = client.describe_images(Owners=["amazon"], Filters=[{"Name": "image-type", "Values": [kind]}])
    (image,) = images["Images"]
    return image  # type: ignore[no-any-return]


def test_kernels_and_ramdisks_exist_and_filters_answer(cloud: Any, east: Any) -> None:
    """Each region has an aki- kernel and an ari- ramdisk; the filters moto lacked answer (no HTTP 500)."""
    kernel, ramdisk = _kernel(east, "kernel"), _kernel(east, "ramdisk")
    assert kernel["ImageId"].startswith("aki-") and ramdisk["ImageId"].startswith("ari-")
    assert east.describe_images(ImageIds=[kernel["ImageId"]])["Images"][0]["Name"] == kernel["Name"]
    manifest = kernel["ImageLocation"]
    found = east.describe_images(Filters=[{"Name": "manifest-location", "Values": [manifest]}])["Images"]
    assert [i["ImageId"] for i in found] == [kernel["ImageId"]]
    for name in ("block-device-mapping.snapshot-id", "block-device-mapping.device-name", "hypervisor",
                 "ramdisk-id"):  # fmt: skip
        east.describe_images(Filters=[{"Name": name, "Values": ["x"]}])


def test_register_image_keeps_mappings_and_attributes_and_refuses_duplicates(
    cloud: Any, east: Any, track: Any
) -> None:
    """Ephemeral and NoDevice mappings, Iops, Encrypted, kernel, ramdisk, ENA, SR-IOV and boot mode stay."""
    snap = _snapshot(east, track, "us-east-1", size=4)
    kernel, ramdisk = _kernel(east, "kernel")["ImageId"], _kernel(east, "ramdisk")["ImageId"]
    image_id = east.register_image(
        Name="rules-register", RootDeviceName="/dev/sda1", KernelId=kernel, RamdiskId=ramdisk,
        EnaSupport=True, SriovNetSupport="simple", BootMode="legacy-bios", VirtualizationType="paravirtual",
        TagSpecifications=[{"ResourceType": "image", "Tags": [{"Key": "Kind", "Value": "test"}]}],
        BlockDeviceMappings=[
            {"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": snap, "VolumeType": "io1", "Iops": 200}},
            {"DeviceName": "/dev/sdy", "VirtualName": "ephemeral0"},
            {"DeviceName": "/dev/sdz", "NoDevice": ""},
        ],
    )["ImageId"]  # fmt: skip
    track.images.append(("us-east-1", image_id))
    image = east.describe_images(ImageIds=[image_id])["Images"][0]
    by_device = {m["DeviceName"]: m for m in image["BlockDeviceMappings"]}
    assert by_device["/dev/sdy"]["VirtualName"] == "ephemeral0" and "NoDevice" in by_device["/dev/sdz"]
    assert (
        by_device["/dev/sda1"]["Ebs"]["Iops"] == 200 and by_device["/dev/sda1"]["Ebs"]["Encrypted"] is False
    )
    assert (image["KernelId"], image["RamdiskId"]) == (kernel, ramdisk)
    assert image["EnaSupport"] is True and image["SriovNetSupport"] == "simple"
    assert image["BootMode"] == "legacy-bios" and image["RootDeviceType"] == "ebs"
    assert {"Key": "Kind", "Value": "test"} in image["Tags"]
    found = east.describe_images(Filters=[{"Name": "block-device-mapping.snapshot-id", "Values": [snap]}])
    assert [i["ImageId"] for i in found["Images"]] == [image_id]
    root = [{"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": snap}}]
    with pytest.raises(ClientError) as refused:
        east.register_image(Name="rules-register", RootDeviceName="/dev/sda1", BlockDeviceMappings=root)
    assert refused.value.response["Error"]["Code"] == "InvalidAMIName.Duplicate"
    with pytest.raises(ClientError) as bad_kernel:
        east.register_image(
            Name="rules-bad-kernel", RootDeviceName="/dev/sda1", KernelId=image_id, BlockDeviceMappings=root
        )
    assert bad_kernel.value.response["Error"]["Code"] == "InvalidAMIID.NotFound"


def test_copy_image_keeps_root_type_encryption_tags_and_waits_for_snapshots(
    faulty: Any, east: Any, west: Any, track: Any
) -> None:
    """A copy is EBS-backed, encrypted when asked, tagged (CopyImageTags, snapshot tag specifications), no
    ephemeral mapping, and pending until its snapshots complete."""
    snap = _snapshot(east, track, "us-east-1")
    image_id = east.register_image(
        Name="rules-copy", RootDeviceName="/dev/sda1",
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"SnapshotId": snap}},
                             {"DeviceName": "/dev/sdy", "VirtualName": "ephemeral0"}],
    )["ImageId"]  # fmt: skip
    track.images.append(("us-east-1", image_id))
    east.create_tags(Resources=[image_id], Tags=[{"Key": "Team", "Value": "data"}])
    faulty.set_faults(Faults(snapshot_pending_for=1.5))
    copy_id = west.copy_image(
        SourceImageId=image_id, SourceRegion="us-east-1", Name="rules-copy", Encrypted=True,
        KmsKeyId="alias/aws/ebs", CopyImageTags=True,
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": [{"Key": "Kind", "Value": "copy"}]}],
    )["ImageId"]  # fmt: skip
    track.images.append(("us-west-2", copy_id))
    copy = west.describe_images(ImageIds=[copy_id])["Images"][0]
    assert copy["State"] == "pending" and copy["RootDeviceType"] == "ebs"
    assert [m["DeviceName"] for m in copy["BlockDeviceMappings"]] == ["/dev/sda1"]
    ebs = copy["BlockDeviceMappings"][0]["Ebs"]
    track.snapshots.append(("us-west-2", ebs["SnapshotId"]))
    assert ebs["Encrypted"] is True and {"Key": "Team", "Value": "data"} in copy["Tags"]
    snapshot = west.describe_snapshots(SnapshotIds=[ebs["SnapshotId"]])["Snapshots"][0]
    assert {"Key": "Kind", "Value": "copy"} in snapshot["Tags"] and snapshot["Encrypted"] is True
    west.get_waiter("image_available").wait(ImageIds=[copy_id], WaiterConfig={"Delay": 1})
    assert west.describe_snapshots(SnapshotIds=[ebs["SnapshotId"]])["Snapshots"][0]["State"] == "completed"


def test_concurrent_snapshot_copies_are_limited(faulty: Any, east: Any, west: Any, track: Any) -> None:
    """With a limit of 2, a third pending copy into one region answers ResourceLimitExceeded."""
    snap = _snapshot(east, track, "us-east-1")
    faulty.set_faults(Faults(snapshot_pending_for=30, snapshot_copy_limit=2))
    for _ in range(2):
        copied = west.copy_snapshot(SourceSnapshotId=snap, SourceRegion="us-east-1")["SnapshotId"]
        track.snapshots.append(("us-west-2", copied))
    with pytest.raises(ClientError) as refused:
        west.copy_snapshot(SourceSnapshotId=snap, SourceRegion="us-east-1")
    assert refused.value.response["Error"]["Code"] == "ResourceLimitExceeded"
    east_copy = east.copy_snapshot(SourceSnapshotId=snap, SourceRegion="us-east-1")["SnapshotId"]
    track.snapshots.append(("us-east-1", east_copy))  # another region has its own limit
