"""Elastic addresses, regions, zones, tags, spot requests, reserved instances and placement groups."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from botocore.stub import Stubber

from provisioning import EC2, AWSError, NotFoundError
from provisioning.ec2.address import ElasticAddress
from provisioning.ec2.instance import Instance
from provisioning.ec2.placement import PlacementGroup
from provisioning.ec2.reserved import ReservedInstance, ReservedInstancesOffering
from provisioning.ec2.spot import SpotInstanceRequest
from provisioning.ec2.zones import AvailabilityZone, Region, Tag


@pytest.fixture
def stub(ec2: EC2) -> Iterator[Stubber]:
    """A Stubber on the façade's ec2 client, for operations moto lacks."""
    with Stubber(ec2._pool.client("ec2")) as stubber:
        yield stubber


@pytest.fixture
def image_id(ec2: EC2) -> str:
    """A registered image's id."""
    return str(ec2.register_image(name="misc-image", root_device_name="/dev/sda1"))


def test_elastic_address_lifecycle(ec2: EC2, image_id: str) -> None:
    """allocate_address gives an ElasticAddress printing as its IP; associate/disassociate/release work."""
    instance: Instance = ec2.run_instances(image_id)[0]
    address = ec2.allocate_address()
    assert isinstance(address, ElasticAddress) and str(address) == address.publicIp
    assert address.associate(instance).startswith("eipassoc-")
    assert address.instanceId == str(instance) and address.associationId
    assert address.disassociate() is True and not address.instanceId
    assert address.release() is True
    assert ec2.describe_addresses() == []


def test_elastic_address_failures(mode: EC2, fails: Callable[..., None]) -> None:
    """Associating with an unknown instance and releasing twice fail in both modes."""
    address = mode.allocate_address()
    fails(mode, lambda: address.associate("i-0123456789abcdef0"), NotFoundError)
    assert address.release() is True
    fails(mode, address.release, AWSError, False)


def test_regions_and_zones(ec2: EC2) -> None:
    """Regions print as names and list their zones; zones know their region and messages."""
    regions = {str(r): r for r in ec2.describe_regions()}
    assert isinstance(regions["eu-west-1"], Region)
    zones = regions["eu-west-1"].zones()
    assert zones and all(isinstance(z, AvailabilityZone) and str(z).startswith("eu-west-1") for z in zones)
    zone = ec2.describe_availability_zones("us-east-1a")[0]
    assert str(zone) == "us-east-1a" and zone.zoneState == "available" and zone.messages == []
    assert str(zone.region()) == "us-east-1"


def test_zone_region_failure(mode: EC2, stub: Stubber, fails: Callable[..., None]) -> None:
    """A failing DescribeRegions behind zone.region() shows in both modes (moto never fails it: Stubber)."""
    stub.add_response(
        "describe_availability_zones",
        {"AvailabilityZones": [{"ZoneName": "us-east-1a", "RegionName": "us-east-1"}]},
    )
    stub.add_client_error("describe_regions", "UnauthorizedOperation", "not allowed")
    zone = mode.describe_availability_zones("us-east-1a")[0]
    fails(mode, zone.region, AWSError)


def test_tags_as_objects(ec2: EC2) -> None:
    """describe_tags gives Tag objects printing as key=value; Tag.delete removes one."""
    vol = ec2.create_volume(availability_zone="us-east-1a", size=1)
    vol.add_tags(Name="data", Role="db")
    tags = sorted(ec2.describe_tags({"resource-id": str(vol)}), key=str)
    assert all(isinstance(t, Tag) for t in tags) and [str(t) for t in tags] == ["Name=data", "Role=db"]
    assert tags[0].resourceId == str(vol) and tags[0].resource_type == "volume"
    assert tags[0] == ec2.describe_tags({"key": "Name"})[0] and tags[0] != tags[1]
    assert tags[1].delete() is True
    assert [str(t) for t in ec2.describe_tags({"resource-id": str(vol)})] == ["Name=data"]


def test_spot_requests(ec2: EC2, image_id: str) -> None:
    """Spot requests come back as objects with state, status, their instance, and cancel()."""
    requests = ec2.request_spot_instances(
        spot_price="0.05", instance_count=1, image_id=image_id, instance_type="t1.micro"
    )
    req = requests[0]
    assert isinstance(req, SpotInstanceRequest) and str(req).startswith("sir-")
    assert req.current_state() in ("open", "active") and req.current_status()
    inst = req.instance()
    assert inst is None or isinstance(inst, Instance)
    assert req.cancel()[0].state == "cancelled"  # moto then forgets the request; AWS keeps it for a while


def test_spot_failures(mode: EC2, fails: Callable[..., None]) -> None:
    """An unknown spot request's state and instance cannot be read, in both modes."""
    req = SpotInstanceRequest(
        {"SpotInstanceRequestId": "sir-12345678", "InstanceId": "i-0123456789abcdef0"},
        mode,
        __import__("provisioning.naming").naming.service_model("ec2").shape_for("SpotInstanceRequest"),
    )
    fails(mode, req.instance, NotFoundError)


def test_reserved_offering_purchase(ec2: EC2, stub: Stubber) -> None:
    """Offerings come from moto; purchase(n) buys n (moto lacks the purchase: Stubber)."""
    stub.deactivate()
    offering = ec2.describe_reserved_instances_offerings()[0]
    assert isinstance(offering, ReservedInstancesOffering)
    stub.activate()
    stub.add_response(
        "purchase_reserved_instances_offering",
        {"ReservedInstancesId": "ri-1"},
        {"ReservedInstancesOfferingId": str(offering), "InstanceCount": 5},
    )
    assert offering.purchase(5) == "ri-1"


def test_reserved_offering_purchase_fails(mode: EC2, stub: Stubber, fails: Callable[..., None]) -> None:
    """A refused purchase fails in both modes."""
    stub.deactivate()
    offering = mode.describe_reserved_instances_offerings()[0]
    stub.activate()
    stub.add_client_error("purchase_reserved_instances_offering", "InvalidParameterValue", "sold out")
    fails(mode, offering.purchase, AWSError)


def test_reserved_instance_status(ec2: EC2, stub: Stubber) -> None:
    """ReservedInstance.current_status() re-describes it (moto lacks the call: Stubber)."""
    ri = {"ReservedInstancesId": "ri-1", "State": "payment-pending", "Start": dt.datetime(2026, 1, 1)}
    stub.add_response("describe_reserved_instances", {"ReservedInstances": [ri]})
    stub.add_response("describe_reserved_instances", {"ReservedInstances": [{**ri, "State": "active"}]})
    found = ec2.describe_reserved_instances()[0]
    assert isinstance(found, ReservedInstance) and found.recorded_status() == "payment-pending"
    assert found.current_status() == "active"


def test_placement_group_delete(mode: EC2, stub: Stubber, fails: Callable[..., None]) -> None:
    """PlacementGroup prints as its name; delete() deletes it, a failure shows in both modes."""
    stub.add_response(
        "describe_placement_groups", {"PlacementGroups": [{"GroupName": "pg1", "State": "available"}]}
    )
    stub.add_response("delete_placement_group", {}, {"GroupName": "pg1"})
    stub.add_client_error("delete_placement_group", "InvalidPlacementGroup.Unknown", "no pg1")
    group = mode.describe_placement_groups()[0]
    assert isinstance(group, PlacementGroup) and str(group) == "pg1"
    assert group.delete() is True
    fails(mode, group.delete, AWSError, False)
