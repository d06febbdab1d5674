"""t/01.describe.t of VM::EC2, assertion by assertion: describe calls, tags, regions, zones, errors."""

from __future__ import annotations

import pytest

from provisioning import EC2

from .conftest import NATTY_LOCATION, Natty, moto_limit


def test_new_and_describe_image_by_id(ec2: EC2, natty: Natty) -> None:
    """use_ok, VM::EC2->new, describe image by id, and the image's fields (moto-proof ones)."""
    import provisioning  # use_ok('VM::EC2')

    assert provisioning.EC2  # ok 1
    assert ec2  # ok 2
    image = ec2.describe_images(natty.image_id)[0]
    assert image  # ok 3
    assert "http://nolar.info/nano-ami/" in image.description  # ok 5
    assert image.imageState == "available"  # ok 8


@moto_limit("RegisterImage does not keep Architecture (DescribeImages answers none)")
def test_image_architecture(ec2: EC2, natty: Natty) -> None:
    """is($natty->architecture, 'i386')."""
    assert ec2.describe_images(natty.image_id)[0].architecture == "i386"  # ok 6


@moto_limit("RegisterImage does not keep ImageLocation (DescribeImages answers none)")
def test_image_location(ec2: EC2, natty: Natty) -> None:
    """is($natty->imageLocation, ...)."""
    image = ec2.describe_images(natty.image_id)[0]
    assert image.imageLocation == NATTY_LOCATION  # ok 4


@moto_limit("RegisterImage ignores BlockDeviceMappings (every image gets one fake 15 GiB snapshot)")
def test_block_device_mapping_string(ec2: EC2, natty: Natty) -> None:
    """is(($natty->blockDeviceMapping)[0], '/dev/sda1=snap-...:1:true:standard')."""
    image = ec2.describe_images(natty.image_id)[0]
    assert str(image.blockDeviceMapping[0]) == f"/dev/sda1={natty.snapshot_id}:1:true:standard"  # ok 7


@moto_limit("the DescribeImages filter manifest-location answers HTTP 500 (FilterNotImplementedError)")
def test_describe_images_with_multiple_filters(ec2: EC2, natty: Natty) -> None:
    """describe_images(-ownerId=>..., -filter=>{description=>..., 'manifest-location'=>...})."""
    image = ec2.describe_images(natty.image_id)[0]
    found = ec2.describe_images(
        owner_id=image.imageOwnerId,
        filter={"description": image.description, "manifest-location": image.imageLocation},
    )
    assert len(found) == 1  # ok 9
    assert found[0] == image  # ok 10


def test_owner_id_and_description_filter(ec2: EC2, natty: Natty) -> None:
    """The same call without the filter moto lacks: -ownerId is accepted and the result is the image."""
    image = ec2.describe_images(natty.image_id)[0]
    found = ec2.describe_images(owner_id=image.imageOwnerId, filter={"description": image.description})
    assert found == [image]


def test_tags(ec2: EC2, natty: Natty) -> None:
    """Tag addition, retrieval, search by tags, replacement and deletion by a list of keys."""
    image = ec2.describe_images(natty.image_id)[0]
    assert image.add_tags(Name="MyFavoriteImage", Description="Test tag added by VM::EC2")  # ok 11
    image.refresh()
    tags = image.tags
    assert tags["Name"] == "MyFavoriteImage"  # ok 12
    found = ec2.describe_images(filter={"tag:Name": "MyFavoriteImage", "tag:Description": "*VM::EC2"})
    assert found[0] == image  # ok 13
    assert image.add_tags(Name="MyLeastFavoriteImage")  # ok 14
    image.refresh()
    assert image.tags["Name"] == "MyLeastFavoriteImage"  # ok 15
    assert image.delete_tags(["Name", "Description"])  # ok 16
    image.refresh()
    tags = image.tags  # should be no tags now
    assert len(tags) == 0  # ok 17


def test_regions_and_zones(ec2: EC2) -> None:
    """describe_regions/describe_availability_zones, by name, and every region's zones."""
    regions = ec2.describe_regions()
    assert len(regions)  # ok 18
    r = ec2.describe_regions(regions[0])[0]
    assert r == regions[0]  # ok 19
    zones = ec2.describe_availability_zones()
    assert len(zones)  # ok 20
    z = ec2.describe_availability_zones(zones[0])[0]
    assert z == zones[0]  # ok 21
    cnt = sum(1 for region in regions if region.zones())
    assert cnt == len(regions)  # ok 22


def test_keys_and_security_groups(ec2: EC2) -> None:
    """describe_key_pairs and describe_security_groups, with the default group present."""
    keys = ec2.describe_key_pairs()
    assert len(keys)  # ok 23
    sg = ec2.describe_security_groups()
    assert len(sg) > 0  # ok 24
    assert [g for g in sg if "default" in g.name]  # ok 25


def test_error_handling(ec2: EC2) -> None:
    """call() of an unknown action and with an unknown parameter: undef and ec2.error, or an exception."""
    ec2.print_error = False
    assert ec2.call("IncorrectAction") is None  # ok 26
    error = ec2.error
    assert error is not None and error.code == "InvalidAction"  # ok 27
    assert ec2.call("RunInstances", {"Foo": "bar"}) is None  # ok 28
    assert ec2.error is not None and ec2.error.code == "UnknownParameter"  # ok 29
    msg = ec2.error.message
    assert "UnknownParameter" in ec2.error_str  # ok 30
    assert msg in ec2.error_str  # ok 31
    e = ec2.error
    assert ec2.error_str == str(e)  # ok 32
    ec2.raise_error = True
    with pytest.raises(Exception, match="UnknownParameter"):  # ok 33
        ec2.call("RunInstances", {"Foo": "bar"})
    ec2.raise_error = False
