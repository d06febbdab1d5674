"""The SYNOPSIS sections of VM::EC2's object classes (lib/VM/EC2/*.pm), line by line, against moto.

Each statement of a SYNOPSIS is one assertion: the accessor exists and answers what the POD says. Where
the POD itself is wrong, the port says so: ``describe_instance``/``describe_security_group`` (singular) and
``$ec2->attachment`` are not VM::EC2 methods (its AUTOLOAD croaks), so the port uses what they stand for.
VM::EC2's own SYNOPSIS (lib/VM/EC2.pm) is docs/examples/synopsis.py, run by tests/provisioning.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest

from provisioning import EC2
from provisioning.sts import Policy

from .conftest import Natty


@dataclass
class World:
    """A running instance with a key pair and an attached volume, and the image it came from."""

    ec2: EC2
    image_id: str
    instance: Any
    volume: Any


@pytest.fixture
def world(ec2: EC2, natty: Natty) -> World:
    """What the SYNOPSIS sections take for granted: instances, volumes and snapshots that exist."""
    instance = ec2.run_instances(
        natty.image_id, key_name="an-existing-key", instance_type="t1.micro", security_group="default"
    )[0]
    ec2.wait_for_instances(instance)
    volume = ec2.create_volume(availability_zone=instance.placement, size=2)
    instance.attach_volume(volume, "/dev/sdh")
    volume.refresh()
    return World(ec2, natty.image_id, instance, volume)


def test_instance(world: World) -> None:
    """VM::EC2::Instance."""
    ec2 = world.ec2
    instance = ec2.describe_instances(instance_id=str(world.instance))[0]
    assert instance.instanceId == str(world.instance)
    assert instance.ownerId == ec2.account_id
    assert instance.reservationId.startswith("r-")
    assert instance.imageId == world.image_id
    state = instance.instanceState
    assert str(state) == "running"
    groups = instance.groups
    assert [g.groupName for g in groups] == ["default"]
    assert instance.privateIpAddress
    assert instance.ipAddress
    assert instance.privateDnsName
    assert instance.dnsName
    assert isinstance(instance.launchTime, dt.datetime)
    assert instance.current_status() == "running"
    assert instance.tags == {}
    assert str(instance.stop().currentState) in ("stopping", "stopped")
    assert str(instance.start().currentState) in ("pending", "running")
    assert instance.reboot()
    assert str(instance.terminate().currentState) in ("shutting-down", "terminated")
    assert instance.up_time >= 0


def test_volume(world: World) -> None:
    """VM::EC2::Volume."""
    ec2 = world.ec2
    vols = ec2.describe_volumes()
    vol = next(v for v in vols if v == world.volume)
    assert vol.volumeId == str(world.volume)
    assert vol.size == 2
    assert vol.snapshotId in (None, "")
    assert vol.availabilityZone == str(world.instance.placement)
    assert vol.status == "in-use"
    assert isinstance(vol.createTime, dt.datetime)
    assert [a.instanceId for a in vol.attachments] == [str(world.instance)]
    assert vol.attachment.instanceId == str(world.instance)
    assert vol.from_snapshot() is None
    assert vol.to_snapshots() == []
    free = ec2.create_volume(availability_zone=world.instance.placement, size=1)
    assert free.attach(str(world.instance), "/dev/sdg1")
    assert free.deleteOnTermination("true")
    assert free.deleteOnTermination
    assert free.detach()
    assert free.create_snapshot("automatic snapshot")


def test_snapshot(world: World) -> None:
    """VM::EC2::Snapshot."""
    ec2 = world.ec2
    world.volume.create_snapshot("for the synopsis")
    snapshots = ec2.describe_snapshots({"volume-id": str(world.volume)})
    snap = snapshots[0]
    assert snap.snapshotId.startswith("snap-")
    assert snap.volumeId == str(world.volume)
    assert snap.status == "completed"
    assert isinstance(snap.startTime, dt.datetime)
    assert snap.progress == "100%"
    assert snap.volumeSize == 2
    assert snap.description == "for the synopsis"
    assert snap.tags == {}
    ami = snap.register_image(name="My new image", kernel_id="aki-407d9529", architecture="i386")
    assert ami and str(ami).startswith("ami-")
    vol = snap.create_volume(zone="us-east-1a")
    assert vol.snapshotId == snap


def test_security_group() -> None:
    """VM::EC2::SecurityGroup (its own moto: the default group of a fresh account)."""
    from provisioning.testing import moto_server

    with moto_server() as endpoint:
        ec2 = EC2(endpoint=endpoint, region="us-east-1", raise_error=False)
        sg = ec2.describe_security_groups()
        for group in sg:
            assert group.groupName == "default"
            assert group.groupId.startswith("sg-")
            assert group.groupDescription
            assert group.tags == {}
            inbound = group.ipPermissions
            outbound = group.ipPermissionsEgress
            assert len(inbound) + len(outbound) > 0
            for i in outbound:
                assert i.ipProtocol == "-1"
                assert i.fromPort is None and i.toPort is None
                assert [str(r) for r in i.ipRanges] == ["0.0.0.0/0"]
        g = sg[0]
        # Add a new security rule (the POD's second CIDR, 192.168.2.1/24, is the same network as the first)
        assert g.authorize_incoming(protocol="tcp", port=80, source_ip=["192.168.2.0/24", "192.168.3.0/24"])
        assert g.update()
        assert "tcp(80..80) FROM CIDR 192.168.2.0/24,192.168.3.0/24" in [str(p) for p in g.ipPermissions]


def test_block_device_mapping(world: World) -> None:
    """VM::EC2::BlockDevice::Mapping."""
    instance = world.ec2.describe_instances(instance_id=str(world.instance))[0]
    devices = instance.blockDeviceMapping
    dev = next(d for d in devices if d == "/dev/sdh")
    assert dev.deviceName == "/dev/sdh"
    assert dev.volumeId == str(world.volume)
    assert dev.status == "attached"
    assert isinstance(dev.attachmentTime, dt.datetime)
    assert not dev.deleteOnTermination
    assert dev.volume() == world.volume


def test_block_device_attachment(world: World) -> None:
    """VM::EC2::BlockDevice::Attachment (the POD's ``$ec2->attachment`` is ``$volume->attachment``)."""
    volume = world.ec2.describe_volumes(volume_id=str(world.volume))[0]
    attachment = volume.attachment
    assert attachment.volumeId == str(world.volume)
    assert attachment.device == "/dev/sdh"
    assert attachment.instanceId == str(world.instance)
    assert attachment.status == "attached"
    assert isinstance(attachment.attachTime, dt.datetime)
    assert not attachment.deleteOnTermination
    assert attachment.deleteOnTermination(1)
    assert attachment.deleteOnTermination


def test_instance_status(world: World) -> None:
    """VM::EC2::Instance::Status and ::StatusItem."""
    status_items = world.ec2.describe_instance_status()
    assert status_items
    for i in status_items:
        line = f"{i.instance_id}: instance check={i.instance_status}, system check={i.system_status}"
        assert line == f"{world.instance}: instance check=ok, system check=ok"
        if i.instance_status != "ok":
            assert i.instance_status.details
        assert not i.events


def test_policy() -> None:
    """VM::EC2::Security::Policy."""
    policy = Policy()
    policy.allow("Describe*", "CreateVolume", "delete_volume")
    policy.deny("DescribeVolumes")
    assert json.loads(policy.as_string()) == {
        "Statement": [
            {
                "Action": ["ec2:Describe*", "ec2:CreateVolume", "ec2:DeleteVolume"],
                "Effect": "Allow",
                "Resource": "*",
            },
            {"Action": ["ec2:DescribeVolumes"], "Effect": "Deny", "Resource": "*"},
        ]
    }


def test_key_pair(ec2: EC2) -> None:
    """VM::EC2::KeyPair."""
    pairs = ec2.describe_key_pairs()
    for pair in pairs:
        assert pair.keyFingerprint
        assert pair.keyName == "an-existing-key"
    newkey = ec2.create_key_pair("fred's key")
    assert newkey.privateKey.startswith("-----BEGIN")


def test_image(world: World) -> None:
    """VM::EC2::Image."""
    image = world.ec2.describe_images(image_id=world.image_id)[0]
    assert image.imageState == "available"
    assert image.imageOwnerId == world.ec2.account_id
    assert image.rootDeviceName == "/dev/sda1"
    assert image.blockDeviceMapping
    assert image.tags == {}
    instances = image.run_instances(min_count=10)
    assert len(instances) == 10


def test_group(world: World) -> None:
    """VM::EC2::Group (VM::EC2 has no ``describe_security_group``: its plural is what the POD means)."""
    instance = world.ec2.describe_instances(instance_id=str(world.instance))[0]
    groups = instance.groups
    for g in groups:
        assert g.groupId.startswith("sg-")
        assert g.groupName == "default"
        sg = world.ec2.describe_security_groups(g)[0]
        assert sg.ipPermissions is not None
        assert g.security_group() == sg


def test_create_volume_permission(world: World) -> None:
    """VM::EC2::Snapshot::CreateVolumePermission (the POD's ``$image`` is the snapshot)."""
    snap = world.volume.create_snapshot("shared")
    snap.add_authorized_users("111122223333")
    snap.make_public(True)
    snapshot = world.ec2.describe_snapshots(str(snap))[0]
    users = snapshot.createVolumePermissions()
    assert {(u.group, u.userId) for u in users} == {("all", None), (None, "111122223333")}
    assert sorted(str(u) for u in users) == ["111122223333", "all"]


def test_console_output(world: World) -> None:
    """VM::EC2::Instance::ConsoleOutput (``describe_instance`` is the plural in VM::EC2)."""
    instance = world.ec2.describe_instances(instance_id=str(world.instance))[0]
    out = instance.console_output()
    assert str(out)
    assert isinstance(out.timestamp, dt.datetime)
    assert out.instanceId == str(instance)


def test_password_data(world: World) -> None:
    """VM::EC2::Instance::PasswordData."""
    instance = world.ec2.describe_instances(instance_id=str(world.instance))[0]
    pw = instance.password_data()
    assert pw is not None, world.ec2.error_str
    assert pw.password == str(pw)
    assert isinstance(pw.timestamp, dt.datetime)
