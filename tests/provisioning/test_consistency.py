"""Eventual consistency: a NotFound naming an id the façade created moments ago is retried, on every call.

The AWS side is moto's server; the NotFound answers AWS gives right after a create (and moto does not) are
injected with botocore's Stubber. The same policy against the sandbox's ``not_found_for`` fault is in
``tests/sandbox/test_facade_consistency.py``.
"""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from provisioning import EC2, NotFoundError
from provisioning.consistency import Consistency, ids_in
from provisioning.ec2.instance import Instance
from provisioning.naming import service_model

from .conftest import FakeTime

VOL = "vol-0123456789abcdef0"
AMI = "ami-0123456789abcdef0"


@pytest.fixture
def ec2(moto_endpoint: str, clock: FakeTime) -> EC2:
    """A raising façade on a fresh moto whose consistency policy runs on the fake clock."""
    facade = EC2(endpoint=moto_endpoint, region="us-east-1")
    facade.consistency.clock, facade.consistency.sleep = clock.clock, clock.sleep
    return facade


def volume(state: str = "available") -> dict[str, object]:
    """A DescribeVolumes answer for VOL."""
    return {"Volumes": [{"VolumeId": VOL, "State": state, "Size": 1}]}


def not_found(stub: Stubber, operation: str = "describe_volumes") -> None:
    """One NotFound answer naming VOL, as AWS words it."""
    stub.add_client_error(operation, "InvalidVolume.NotFound", f"The volume '{VOL}' does not exist.")


def test_ids_in_walks_requests_and_answers() -> None:
    """Ids are found at any depth; other strings (names, account numbers, states) are not ids."""
    item = {"InstanceId": "i-0123456789abcdef0", "OwnerId": "123456789012", "Name": "web-1"}
    answer = {"Instances": [item]}
    assert list(ids_in(answer)) == ["i-0123456789abcdef0"]
    assert list(ids_in({"Resources": [VOL, "eipalloc-12345678"], "Tag": "x-y"})) == [VOL, "eipalloc-12345678"]


@pytest.mark.parametrize("raise_error", [True, False])
def test_not_found_of_a_new_id_is_retried(
    ec2: EC2, clock: FakeTime, stub: Stubber, raise_error: bool
) -> None:
    """Right after CreateVolume, calls naming the new id ride out NotFound with backoff, in both modes."""
    ec2.raise_error = raise_error
    stub.add_response("create_volume", {"VolumeId": VOL, "State": "creating", "Size": 1})
    not_found(stub)
    not_found(stub)
    stub.add_response("describe_volumes", volume())
    not_found(stub, "create_tags")
    stub.add_response("create_tags", {})
    vol = ec2.create_volume(availability_zone="us-east-1a", size=1)
    assert [str(v) for v in ec2.describe_volumes(VOL)] == [VOL]
    assert ec2.create_tags(vol, {"Name": "data"})
    stub.assert_no_pending_responses()
    assert clock.sleeps == [0.25, 0.5, 0.25] and ec2.consistency.retries == 3
    assert not ec2.is_error


@pytest.mark.parametrize("raise_error", [True, False])
def test_not_found_of_another_id_returns_at_once(
    ec2: EC2, clock: FakeTime, stub: Stubber, raise_error: bool
) -> None:
    """A NotFound for an id the façade did not create is the answer: no retry, no sleep."""
    ec2.raise_error = raise_error
    not_found(stub)
    if raise_error:
        with pytest.raises(NotFoundError):
            ec2.describe_volumes(VOL)
    else:
        assert ec2.describe_volumes(VOL) == [] and isinstance(ec2.error, NotFoundError)
    assert clock.sleeps == []


def test_retries_end_with_the_grace_window(ec2: EC2, clock: FakeTime, stub: Stubber) -> None:
    """Past ``grace`` seconds after the creation the NotFound is raised as AWS gave it."""
    ec2.consistency.grace = 5
    stub.add_response("create_volume", {"VolumeId": VOL, "State": "creating", "Size": 1})
    for _ in range(6):
        not_found(stub)
    ec2.create_volume(availability_zone="us-east-1a", size=1)
    with pytest.raises(NotFoundError, match=VOL):
        ec2.describe_volumes(VOL)
    stub.assert_no_pending_responses()
    assert clock.sleeps == [0.25, 0.5, 1.0, 2.0, 2.0]  # the last attempt comes after the window closed


def test_describe_leaving_out_a_new_id_is_retried(ec2: EC2, clock: FakeTime, stub: Stubber) -> None:
    """create_image's describe of the new image: NotFound, then an empty answer, then the image."""
    stub.add_response("create_image", {"ImageId": AMI})
    message = f"The image id '[{AMI}]' does not exist"
    stub.add_client_error("describe_images", "InvalidAMIID.NotFound", message)
    stub.add_response("describe_images", {"Images": []})
    stub.add_response("describe_images", {"Images": [{"ImageId": AMI, "State": "pending"}]})
    shape = service_model("ec2").shape_for("Instance")
    instance = Instance({"InstanceId": "i-0123456789abcdef0"}, ec2, shape)
    image = instance.create_image("consistent-image")
    assert str(image) == AMI and clock.sleeps == [0.25, 0.5]


def test_deleted_ids_are_forgotten(ec2: EC2, clock: FakeTime, stub: Stubber) -> None:
    """After DeleteVolume a NotFound for the volume is final at once."""
    stub.add_response("create_volume", {"VolumeId": VOL, "State": "creating", "Size": 1})
    stub.add_response("delete_volume", {})
    not_found(stub)
    ec2.create_volume(availability_zone="us-east-1a", size=1)
    ec2.delete_volume(VOL)
    with pytest.raises(NotFoundError):
        ec2.describe_volumes(VOL)
    assert clock.sleeps == []


def test_created_ids_on_moto(moto_endpoint: str) -> None:
    """On moto's server: RunInstances records the instances (not the image it named), clones share the
    registry, and a NotFound for an unknown id comes back without a retry."""
    ec2 = EC2(endpoint=moto_endpoint, region="us-east-1")
    image_id = ec2.register_image(name="consistency", root_device_name="/dev/sda1")
    instances = ec2.run_instances(image_id, min_count=2)
    policy: Consistency = ec2.consistency
    assert all(policy.created(str(i)) is not None for i in instances)
    assert policy.created(str(image_id)) is not None  # RegisterImage made it
    vol = ec2.create_volume(availability_zone="us-east-1a", size=1)
    west = ec2.clone(region="us-west-2")
    snap = vol.create_snapshot("s").copy(region="us-west-2")
    assert west.consistency is policy and policy.created(str(snap)) is not None
    with pytest.raises(NotFoundError):
        ec2.describe_volumes(VOL)
    assert policy.retries == 0


def test_not_found_of_a_relation_is_never_lag(ec2: EC2, clock: FakeTime, stub: Stubber) -> None:
    """InvalidAttachment.NotFound names a volume the façade created, but it is about the attachment: the
    answer comes back at once (it took the whole grace window before)."""
    ec2.consistency.remember([VOL])
    message = f"The volume '{VOL}' is not attached to any instance."
    stub.add_client_error("detach_volume", "InvalidAttachment.NotFound", message)
    with pytest.raises(NotFoundError, match="not attached"):
        ec2.detach_volume(VOL)
    assert clock.sleeps == []
