"""t/05.spot_instance.t of VM::EC2, assertion by assertion: request, describe and cancel spot requests."""

from __future__ import annotations

from typing import Any

import pytest

from provisioning import EC2

from .conftest import Natty, moto_limit


@pytest.fixture
def requests(ec2: EC2, natty: Natty) -> list[Any]:
    """use_ok and four one-time requests at a price too low ever to be met (ok 1-2)."""
    import provisioning

    assert provisioning.EC2  # ok 1: use_ok
    made: list[Any] = ec2.request_spot_instances(
        spot_price=0.001,  # too low - will never be satisfied
        instance_type="t1.micro",
        image_id=natty.image_id,
        instance_count=4,
        type="one-time",
        security_group="default",
    )
    assert made, ec2.error_str
    assert len(made) == 4  # ok 2
    return made


@moto_limit("spot requests are fulfilled at once whatever the price (state active, never open)")
def test_requests_stay_open(requests: list[Any]) -> None:
    """The underpriced requests are all open."""
    state = {r.current_state() for r in requests}
    assert " ".join(state) == "open"  # ok 3


def test_describe_and_cancel(ec2: EC2, requests: list[Any]) -> None:
    """describe_spot_instance_requests by object, and cancel all (ok 4-5)."""
    r = ec2.describe_spot_instance_requests(requests[0])[0]
    assert r == requests[0]  # ok 4
    c = ec2.cancel_spot_instance_requests(*requests)
    assert len(c) == len(requests)  # ok 5


@moto_limit("cancelled spot requests vanish from DescribeSpotInstanceRequests (AWS lists them as cancelled)")
def test_cancelled_state(ec2: EC2, requests: list[Any]) -> None:
    """After cancelling, every request reports the cancelled state (ok 6)."""
    ec2.consistency.grace = 0  # moto drops cancelled requests: their NotFound is not lag, don't ride it out
    ec2.cancel_spot_instance_requests(*requests)
    state = {r.current_state() for r in requests}
    assert " ".join(map(str, state)) == "cancelled"  # ok 6
