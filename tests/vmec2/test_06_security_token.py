"""t/06.security_token.t of VM::EC2, assertion by assertion: the policy builder and federation tokens."""

from __future__ import annotations

import json

import pytest

from provisioning import EC2
from provisioning.sts import Credentials, Policy

from .conftest import Natty, moto_limit


def canonical(document: object) -> str:
    """``JSON->new->canonical(1)->encode``: sorted keys, no spaces."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def test_policy() -> None:
    """use_ok, require_ok, the default deny-all policy, and merged allow/deny statements."""
    import provisioning
    import provisioning.sts

    assert provisioning.EC2  # ok 1: use_ok
    assert provisioning.sts.Policy  # ok 2: require_ok
    policy = Policy()
    assert policy  # ok 3
    default = {"Statement": [{"Action": ["ec2:*"], "Effect": "Deny", "Resource": "*"}]}
    assert str(policy) == canonical(default)  # ok 4
    policy.allow("Describe*")  # allow describing everything
    policy.deny("DescribeImages")  # except images
    policy.allow("Describe*", "RunInstances")  # adding the same thing twice doesn't make it appear twice
    exp = {
        "Statement": [
            {"Action": ["ec2:Describe*", "ec2:RunInstances"], "Effect": "Allow", "Resource": "*"},
            {"Action": ["ec2:DescribeImages"], "Effect": "Deny", "Resource": "*"},
        ]
    }
    assert str(policy) == canonical(exp)  # ok 5


@pytest.fixture
def policy() -> Policy:
    """The policy t/06 builds: Describe* and RunInstances allowed, DescribeImages denied."""
    return Policy().allow("Describe*").deny("DescribeImages").allow("Describe*", "RunInstances")


def test_federation_token(ec2: EC2, policy: Policy) -> None:
    """get_federation_token, its credentials and user, and serialization round trips."""
    token = ec2.get_federation_token(name="TestUser", policy=policy, duration=60 * 60)
    assert token  # ok 6
    assert token.packedPolicySize > 0  # ok 7
    credentials = token.credentials
    assert credentials  # ok 8
    user = token.federatedUser
    assert user  # ok 9
    assert "TestUser" in str(user)  # ok 10
    serialized = credentials.serialize()
    assert serialized  # ok 11
    new_credentials = Credentials.new_from_serialized(serialized)
    for field in ("sessionToken", "accessKeyId", "secretAccessKey", "expiration"):  # ok 12-15
        assert getattr(credentials, field) == getattr(new_credentials, field), field
    new_ec2 = EC2(security_token=token, region="us-east-1", endpoint=ec2.endpoint, raise_error=False)
    zones = new_ec2.describe_availability_zones()  # this should work
    assert len(zones) > 0  # ok 16


@moto_limit("STS federation policies are not enforced on EC2 calls (DescribeImages succeeds)")
def test_policy_forbids_describe_images(ec2: EC2, natty: Natty, policy: Policy) -> None:
    """describe_images under the token's policy returns nothing and sets UnauthorizedOperation (the
    account has an image, as the original's had, so an empty answer means something)."""
    token = ec2.get_federation_token(name="TestUser", policy=policy, duration=60 * 60)
    new_ec2 = EC2(security_token=token, region="us-east-1", endpoint=ec2.endpoint, raise_error=False)
    images = new_ec2.describe_images()  # this should be forbidden
    assert len(images) == 0  # ok 17
    assert "UnauthorizedOperation" in new_ec2.error_str  # ok 18
