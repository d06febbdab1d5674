"""t/07.instance.t of VM::EC2, assertion by assertion: an instance's life, addresses, volumes and images.

Split where moto cannot answer: each part is its own test so an expected failure covers only the
assertions moto cannot serve.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from provisioning import EC2
from provisioning.ec2.instance import Instance

from .conftest import Natty, moto_limit

IMG_NAME = "Test_Image_from_libVM_EC2"


@dataclass
class Launched:
    """What the start of t/07 leaves: the façade, the running instance and its key."""

    ec2: EC2
    instance: Instance
    key: object


@pytest.fixture
def launched(ec2: EC2, natty: Natty) -> Iterator[Launched]:
    """use_ok, run_instances with user data, and the wait for running (ok 1-3); END terminates it."""
    import provisioning

    assert provisioning.EC2  # ok 1: use_ok
    image = ec2.describe_images(natty.image_id)[0]
    key = ec2.create_key_pair("MyTestKey1234")
    assert key, "could not create test key"
    assert key.fingerprint
    instance = image.run_instances(max_count=1, user_data="xyzzy", key_name=key, instance_type="t1.micro")[0]
    assert instance  # ok 2
    instance.add_tags(Name="test instance created by VM::EC2")
    ec2.wait_for_instances(instance)
    assert instance.current_status() == "running"  # ok 3
    yield Launched(ec2, instance, key)
    ec2.print_error = False
    instance.terminate()
    ec2.delete_key_pair(key)


def test_user_data_and_address(launched: Launched) -> None:
    """User data set at launch, and elastic address association and disassociation."""
    ec2, instance = launched.ec2, launched.instance
    assert instance.userData() == "xyzzy"  # ok 4
    addresses = [a for a in ec2.describe_addresses() if not a.instanceId]
    address = addresses[0] if addresses else ec2.allocate_address()
    assert instance.associate_address(address)  # ok 5
    instance.refresh()
    assert instance.disassociate_address(address)  # ok 6
    assert ec2.release_address(address)


def test_volume_management(launched: Launched) -> None:
    """A volume in the instance's zone, attached, its delete-on-termination flags, detached and deleted."""
    ec2, instance = launched.ec2, launched.instance
    zone = instance.placement
    volume = ec2.create_volume(size=1, availability_zone=zone)
    volume.add_tag(Name="Test volume created by VM::EC2")
    assert volume  # ok 7
    assert volume.availabilityZone == instance.placement.availabilityZone  # the zone really was given
    ec2.wait_for_volumes(volume)
    assert volume.current_status() == "available"
    a = instance.attach_volume(volume, "/dev/sdg1")
    assert a  # ok 8
    ec2.wait_for_attachments(a)
    assert a.current_status() == "attached"  # ok 9
    assert not a.deleteOnTermination  # ok 10
    a.deleteOnTermination(1)
    a.refresh()
    assert a.deleteOnTermination  # ok 11
    assert volume.current_status() == "in-use"  # ok 12
    mapping = instance.blockDeviceMapping
    b = next((m for m in mapping if m == "/dev/sdg1"), None)
    assert b  # ok 13
    assert b.deleteOnTermination  # ok 14
    b.deleteOnTermination(0)
    b = next(m for m in instance.blockDeviceMapping if m == "/dev/sdg1")
    assert not b.deleteOnTermination  # ok 15
    assert volume.deleteOnTermination == b.deleteOnTermination  # ok 16
    d = volume.detach()
    assert d  # ok 17
    ec2.wait_for_attachments(d)
    assert volume.current_status() == "available"  # ok 18
    assert ec2.delete_volume(volume)  # ok 19


def test_user_data_refused_while_running(launched: Launched) -> None:
    """userData('abcdefg') on a running instance changes nothing and answers false. (moto refuses it for
    its user-data encoding, AWS for the instance's state: the assertion holds on both, for different
    reasons; the state check is the sandbox's to model.)"""
    ec2, instance = launched.ec2, launched.instance
    ec2.print_error = False  # avoid deliberate error message
    assert not instance.userData("abcdefg")  # ok 20
    ec2.print_error = True
    assert instance.userData() == "xyzzy"


def test_stop(launched: Launched) -> None:
    """stop('wait') and the stopped state."""
    instance = launched.instance
    assert instance.stop("wait")  # ok 21
    assert instance.current_status() == "stopped"  # ok 22


@moto_limit(
    "ModifyInstanceAttribute wants UserData base64-encoded twice (InvalidUserData.Malformed); AWS and "
    "VM::EC2 encode it once. The sandbox takes AWS's encoding: the same steps pass there in "
    "tests/sandbox/test_facade_on_sandbox.py::test_set_user_data_end_to_end"
)
def test_user_data_changed_while_stopped(launched: Launched) -> None:
    """userData('abcdefg') on the stopped instance, read back."""
    instance = launched.instance
    assert instance.stop("wait")
    assert instance.userData("abcdefg")  # ok 23
    assert instance.userData() == "abcdefg"  # ok 24


def test_console_output(launched: Launched) -> None:
    """The console output of the stopped instance."""
    instance = launched.instance
    assert instance.stop("wait")
    assert instance.console_output()  # ok 25
    assert "Linux version" in str(instance.console_output())  # ok 26


def test_image(launched: Launched) -> None:
    """create_image, its state, make_public and is_public, its block devices, deregister."""
    ec2, instance = launched.ec2, launched.instance
    assert instance.stop("wait")
    image = instance.create_image(name=IMG_NAME, description="Delete me!")
    assert image, ec2.error_str  # ok 27
    assert image.current_status() == "available"  # ok 28
    assert not image.is_public  # ok 29
    assert image.make_public(1)  # ok 30
    assert image.is_public  # ok 31
    block_devices = image.blockDeviceMapping
    assert len(block_devices) > 0  # ok 32
    snapshots = [b.snapshotId for b in block_devices]
    assert ec2.deregister_image(image)  # ok 33
    for snapshot in snapshots:
        if snapshot:
            ec2.delete_snapshot(snapshot)
