"""Fixtures for VM::EC2's own test suite, ported: a façade on a fresh moto in VM::EC2's default error mode.

VM::EC2's tests run against a live account that already holds an Ubuntu "natty" image (``TEST_IMAGE``), key
pairs and a default security group. moto starts empty, so :func:`natty` registers an image that stands for
``ami-4a936a23`` (same name, description, architecture, location and root device) and :func:`ec2` creates one
key pair, the way ``docs/examples/synopsis.py`` prepares what the SYNOPSIS takes for granted.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from provisioning import EC2

#: The manifest location of VM::EC2's TEST_IMAGE (``ami-4a936a23``, Nano natty).
NATTY_LOCATION = "755060610258/ebs/ubuntu-images/ubuntu-natty-11.04-i386-server-20110426-nano"


def moto_limit(reason: str) -> pytest.MarkDecorator:
    """An expected failure that names a limit of moto checked with plain boto3 (see each use)."""
    return pytest.mark.xfail(strict=True, reason=f"moto: {reason}")


@pytest.fixture
def ec2(moto_endpoint: str) -> EC2:
    """``VM::EC2->new(-print_error=>1, -region=>'us-east-1')``: VM::EC2's default mode returns undef on
    failure, i.e. ``raise_error=False``; an existing key pair stands for the account's own."""
    ec2 = EC2(endpoint=moto_endpoint, region="us-east-1", raise_error=False, print_error=True)
    ec2.create_key_pair("an-existing-key")
    return ec2


class Natty(NamedTuple):
    """The stand-in for VM::EC2's TEST_IMAGE: the image id and the root snapshot it was registered with."""

    image_id: str
    snapshot_id: str


@pytest.fixture
def natty(ec2: EC2) -> Natty:
    """An image standing for VM::EC2's TEST_IMAGE (a 1 GiB EBS-backed i386 image)."""
    volume = ec2.create_volume(zone="us-east-1a", size=1)
    snapshot = ec2.create_snapshot(volume)
    image_id: str = ec2.register_image(
        name="ubuntu-natty-11.04-i386-server-20110426-nano",
        description="http://nolar.info/nano-ami/ Ubuntu 11.04 Natty nano",
        architecture="i386",
        image_location=NATTY_LOCATION,
        root_device_name="/dev/sda1",
        block_device_mapping=[f"/dev/sda1={snapshot}:1:true:standard"],
    )
    return Natty(image_id, str(snapshot))
