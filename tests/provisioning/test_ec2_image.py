"""Image and BlockDevice methods against moto's server, in both error modes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from provisioning import EC2, AWSError, NotFoundError
from provisioning.conventions import parse_block_device
from provisioning.ec2.image import BlockDevice, Image
from provisioning.ec2.instance import Instance
from provisioning.naming import service_model
from provisioning.waiters import UnexpectedState


@pytest.fixture
def image(ec2: EC2) -> Image:
    """A registered image."""
    image_id = ec2.register_image(
        name="image-test",
        description="an image",
        root_device_name="/dev/sda1",
        block_devices=["/dev/sda1=:8"],
    )
    found: Image = ec2.describe_images(image_id)[0]
    return found


def bd(data: dict[str, Any]) -> BlockDevice:
    """A BlockDevice over a BlockDeviceMapping structure."""
    return BlockDevice(data, None, service_model("ec2").shape_for("BlockDeviceMapping"))


def test_image_fields_and_block_devices(ec2: EC2, image: Image) -> None:
    """Fields read without calls; block devices are objects with deviceName, snapshotId, volumeSize."""
    assert str(image).startswith("ami-") and image.description == "an image" and image.name == "image-test"
    assert image.imageState == "available" and image.current_status() == "available"
    devices = image.blockDeviceMapping
    assert devices and isinstance(devices[0], BlockDevice)
    d = devices[0]
    assert d.deviceName == "/dev/sda1" and d.snapshotId.startswith("snap-") and d.volumeSize > 0
    assert d.snapshot_id == d.snapshotId and str(d).startswith(f"/dev/sda1={d.snapshotId}:")


@pytest.mark.parametrize(
    "spec",
    [
        "/dev/sdf=snap-1:20:true:gp3",
        "/dev/sdb=ephemeral0",
        "/dev/sdc=none",
        "/dev/sdg=snap-2:5:false:io1:300",
    ],
)
def test_block_device_prints_in_the_syntax_run_instances_accepts(spec: str) -> None:
    """str(BlockDevice) round-trips VM::EC2's block-device syntax."""
    assert str(bd(parse_block_device(spec))) == spec


def test_run_instances_from_image(ec2: EC2, image: Image) -> None:
    """run_instances(...) launches instances of the image."""
    instances = image.run_instances(min_count=2, instance_type="t1.micro")
    assert len(instances) == 2 and all(isinstance(i, Instance) and i.imageId == str(image) for i in instances)


def test_run_instances_of_unavailable_image_fails(
    mode: EC2, image: Image, fails: Callable[..., None]
) -> None:
    """An image whose snapshot says it is not available refuses to launch, in both modes."""
    pending = Image({**image.payload, "State": "failed"}, mode, service_model("ec2").shape_for("Image"))
    fails(mode, pending.run_instances, UnexpectedState, [])


def test_launch_permissions(ec2: EC2, image: Image) -> None:
    """make_public and add/remove_authorized_users change the launch permissions."""
    assert image.make_public() and image.add_authorized_users("111122223333", "444455556666")
    perms = {(p.group, p.userId) for p in image.launch_permissions()}
    assert perms == {("all", None), (None, "111122223333"), (None, "444455556666")}
    assert image.make_public(False) and image.remove_authorized_users("444455556666")
    assert [p.userId for p in image.authorized_users()] == ["111122223333"]
    image.refresh()
    assert image.public is False


def test_reset_authorized_users(ec2: EC2, image: Image) -> None:
    """reset_authorized_users() sends ResetImageAttribute launchPermission (moto lacks it: Stubber)."""
    with Stubber(ec2._pool.client("ec2")) as stub:
        stub.add_response(
            "reset_image_attribute", {}, {"ImageId": str(image), "Attribute": "launchPermission"}
        )
        assert image.reset_authorized_users() is True


def test_add_tags_and_deregister(ec2: EC2, image: Image) -> None:
    """add_tags tags the image; deregister removes it, after which current_status fails."""
    assert image.add_tags(Name="web", Role="Server")
    assert ec2.describe_images(str(image))[0].tags == {"Name": "web", "Role": "Server"}
    assert image.deregister() is True
    with pytest.raises(NotFoundError):
        image.current_status()


def test_image_failures(mode: EC2, image: Image, fails: Callable[..., None]) -> None:
    """Deregistering twice and changing permissions of a gone image fail in both modes."""
    image.deregister()
    fails(mode, image.deregister, AWSError, False)
    fails(mode, image.current_status, NotFoundError)


def test_launch_permission_failures(
    mode: EC2, image: Image, stub: Stubber, fails: Callable[..., None]
) -> None:
    """Permission calls on a missing image fail in both modes (moto answers 500 there: Stubber)."""
    mode.consistency.grace = 0  # the image was made just now: no eventual-consistency retries here
    for method in ("modify_image_attribute", "modify_image_attribute", "describe_image_attribute"):
        stub.add_client_error(method, "InvalidAMIID.NotFound", "no such image")
    fails(mode, image.make_public, NotFoundError, False)
    fails(mode, lambda: image.add_authorized_users("111122223333"), NotFoundError, False)
    fails(mode, image.launch_permissions, NotFoundError, [])


@pytest.fixture
def stub(ec2: EC2) -> Iterator[Stubber]:
    """A Stubber on the façade's ec2 client."""
    with Stubber(ec2._pool.client("ec2")) as stubber:
        yield stubber


def test_image_copy_to_other_region(ec2: EC2, image: Image) -> None:
    """copy(region=, name=, description=) returns the copy, described in the destination region."""
    copy = image.copy(region="eu-west-1", description="copied", wait=True)
    assert isinstance(copy, Image) and str(copy) != str(image) and copy.name == image.name
    assert copy.ec2 is not None and copy.ec2.region == "eu-west-1" and copy.current_status() == "available"


def test_image_copy_failure(mode: EC2, image: Image, stub: Stubber, fails: Callable[..., None]) -> None:
    """A refused copy fails in both modes (moto answers 500 for a gone image: Stubber)."""
    mode.consistency.grace = 0  # the image was made just now: no eventual-consistency retries here
    stub.add_client_error("copy_image", "InvalidAMIID.NotFound", "no such image")
    fails(mode, image.copy, NotFoundError)
