"""Volume, Attachment and Snapshot methods against moto's server, in both error modes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from provisioning import EC2, AWSError, NotFoundError
from provisioning.ec2.image import Image
from provisioning.ec2.instance import Instance
from provisioning.ec2.snapshot import Snapshot
from provisioning.ec2.volume import Attachment, Volume
from provisioning.naming import service_model


@pytest.fixture
def volume(ec2: EC2) -> Volume:
    """A 10 GiB volume in us-east-1a."""
    vol: Volume = ec2.create_volume(availability_zone="us-east-1a", size=10)
    return vol


@pytest.fixture
def instance(ec2: EC2) -> Instance:
    """A running instance in us-east-1a."""
    image_id = ec2.register_image(name="vol-image", root_device_name="/dev/sda1")
    found: Instance = ec2.run_instances(image_id, zone="us-east-1a")[0]
    return found


def ghost(ec2: EC2, cls: type[Any], shape: str, **data: str) -> Any:
    """An object of ``cls`` for an id that does not exist."""
    return cls(data, ec2, service_model("ec2").shape_for(shape))


def test_volume_fields_and_status(ec2: EC2, volume: Volume) -> None:
    """A new volume prints as its id and has zone, size and status without calls."""
    assert isinstance(volume, Volume) and str(volume).startswith("vol-")
    assert volume.zone == volume.availabilityZone == "us-east-1a" and volume.size == 10
    assert volume.recorded_status() == "available" and volume.current_status() == "available"
    assert volume.attachment is None


def test_volume_status_of_unknown_fails(mode: EC2, fails: Callable[..., None]) -> None:
    """current_status() of an unknown volume fails in both modes."""
    vol = ghost(mode, Volume, "Volume", VolumeId="vol-0123456789abcdef0")
    fails(mode, vol.current_status, NotFoundError)


def test_attach_detach_and_attachment_status(ec2: EC2, volume: Volume, instance: Instance) -> None:
    """attach() gives an Attachment whose status, volume and instance can be asked for; detach() undoes it."""
    att = volume.attach(instance, "/dev/sdf")
    assert isinstance(att, Attachment) and att.current_status() == "attached"
    assert str(att.volume()) == str(volume) and str(att.instance()) == str(instance)
    assert att.refresh() and att.state == "attached"
    assert volume.current_status() == "in-use" and volume.attachment.instanceId == str(instance)
    assert volume.detach().state == "detaching"
    assert att.current_status() == "detached" and att.refresh() is False


def test_attach_and_detach_failures(mode: EC2, volume: Volume, fails: Callable[..., None]) -> None:
    """Attaching to an unknown instance and detaching an unattached volume fail in both modes."""
    fails(mode, lambda: volume.attach("i-0123456789abcdef0", "/dev/sdf"), NotFoundError)
    fails(mode, volume.detach, NotFoundError)


def test_delete_attached_volume_fails_then_works(
    mode: EC2, volume: Volume, instance: Instance, fails: Callable[..., None]
) -> None:
    """delete() refuses an attached volume (VolumeInUse) and succeeds once it is detached."""
    volume.attach(instance, "/dev/sdf")
    fails(mode, volume.delete, AWSError, False)
    assert mode.error is None or mode.error.code == "VolumeInUse"  # type: ignore[attr-defined]
    volume.refresh()
    volume.detach()
    assert volume.delete() is True
    fails(mode, volume.delete, NotFoundError, False)


def test_create_snapshot_and_snapshot_fields(ec2: EC2, volume: Volume) -> None:
    """create_snapshot(description) (alias snapshot()) returns a Snapshot with progress and size."""
    snap = volume.create_snapshot("nightly")
    assert isinstance(snap, Snapshot) and snap.description == "nightly" and snap.volumeId == str(volume)
    assert snap.progress == "100%" and snap.size == 10 and snap.current_status() == "completed"
    assert isinstance(volume.snapshot("again"), Snapshot)


def test_create_snapshot_of_unknown_volume_fails(mode: EC2, fails: Callable[..., None]) -> None:
    """Snapshotting an unknown volume fails in both modes."""
    vol = ghost(mode, Volume, "Volume", VolumeId="vol-0123456789abcdef0")
    fails(mode, vol.create_snapshot, NotFoundError)


def test_snapshot_create_volume(ec2: EC2, volume: Volume) -> None:
    """Snapshot.create_volume(zone, size) makes a volume from the snapshot."""
    snap = volume.create_snapshot()
    new = snap.create_volume("us-east-1b", 20)
    assert (
        isinstance(new, Volume)
        and new.snapshotId == str(snap)
        and new.size == 20
        and new.zone == "us-east-1b"
    )
    assert snap.create_volume("us-east-1a").size == 10


def test_snapshot_copy_to_other_region(ec2: EC2, volume: Volume) -> None:
    """copy(region=, description=) returns the copy, described in the destination region."""
    snap = volume.create_snapshot("source")
    copy = snap.copy(region="eu-west-1", description="copied", wait=True)
    assert isinstance(copy, Snapshot) and str(copy) != str(snap)
    assert copy.ec2 is not None and copy.ec2.region == "eu-west-1" and copy.current_status() == "completed"
    assert ec2.clone(region="eu-west-1").describe_snapshots(str(copy))[0].description == "copied"
    assert snap.copy().ec2 is ec2


def test_snapshot_register_image(ec2: EC2, volume: Volume) -> None:
    """register_image(name) makes an EBS image whose root device is the snapshot."""
    snap = volume.create_snapshot()
    image = snap.register_image("from-snapshot", root_size=12, architecture="x86_64")
    assert isinstance(image, Image) and image.name == "from-snapshot" and image.rootDeviceName == "/dev/sda1"


def test_snapshot_delete_and_failures(mode: EC2, volume: Volume, fails: Callable[..., None]) -> None:
    """delete() removes a snapshot; deleting or copying an unknown one fails in both modes."""
    snap = volume.create_snapshot()
    assert snap.delete() is True
    fails(mode, snap.delete, NotFoundError, False)
    fails(mode, snap.current_status, NotFoundError)
    fails(mode, lambda: snap.create_volume("us-east-1a"), NotFoundError)
    fails(mode, lambda: snap.copy(region="eu-west-1"), NotFoundError)


def test_snapshot_sharing(ec2: EC2, volume: Volume) -> None:
    """make_public and add/remove_authorized_users change createVolumePermission."""
    snap = volume.create_snapshot()
    assert snap.make_public() and snap.add_authorized_users("111122223333")
    perms = {(p.group, p.userId) for p in snap.authorized_users()}
    assert perms == {("all", None), (None, "111122223333")}
    assert snap.make_public(False) and snap.remove_authorized_users("111122223333")
    assert snap.authorized_users() == []


def test_volume_and_snapshot_lineage(ec2: EC2, volume: Volume) -> None:
    """from_snapshot/to_snapshots and from_volume/to_volumes follow lineage with describe calls."""
    snap = volume.create_snapshot("lineage")
    new = snap.create_volume("us-east-1a")
    assert [str(s) for s in volume.to_snapshots()] == [str(snap)]
    assert str(new.from_snapshot()) == str(snap) and volume.from_snapshot() is None
    assert str(snap.from_volume()) == str(volume) and [str(v) for v in snap.to_volumes()] == [str(new)]


def test_attachment_and_sharing_failures(
    mode: EC2, volume: Volume, instance: Instance, fails: Callable[..., None]
) -> None:
    """Attachment queries of a deleted volume and sharing a deleted snapshot fail in both modes."""
    att = volume.attach(instance, "/dev/sdf")
    snap = volume.create_snapshot()
    mode.detach_volume(volume, instance)
    volume.delete()
    fails(mode, att.current_status, NotFoundError)
    fails(mode, att.volume, NotFoundError)
    assert snap.delete()
    fails(mode, snap.make_public, NotFoundError, False)
    fails(mode, lambda: snap.add_authorized_users("111122223333"), NotFoundError, False)
    fails(mode, snap.authorized_users, NotFoundError, [])


def test_list_defaults_are_fresh_on_every_failure(ec2: EC2) -> None:
    """A failed list method in no-raise mode returns a new [] each time, never one shared list."""
    snapshot = ec2.create_volume(availability_zone="us-east-1a", size=1).create_snapshot("gone")
    snapshot.delete()
    ec2.raise_error = False
    first = snapshot.authorized_users()
    assert first == [] and isinstance(ec2.error, NotFoundError)
    first.append("caller's own item")
    assert snapshot.authorized_users() == []
