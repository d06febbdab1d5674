"""VM::EC2's spellings that the port of its test suite needed (tests/vmec2), checked on their own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from provisioning import EC2, AWSError, CredentialsError, ParameterError
from provisioning.arguments import translate
from provisioning.conventions import disassociate_target, release_target
from provisioning.credentials_file import read_credentials_file
from provisioning.ec2._base import Setting
from provisioning.ec2.instance import Placement
from provisioning.ec2.security import SecurityGroup
from provisioning.naming import operation_model, service_model


def group(rules: list[dict[str, Any]]) -> SecurityGroup:
    """A security group of account 111122223333 over ``rules``, bound to no façade."""
    data = {"GroupId": "sg-1", "GroupName": "web", "OwnerId": "111122223333", "IpPermissions": rules}
    return SecurityGroup(data, None, service_model("ec2").shape_for("SecurityGroup"))


def test_rule_string_sorts_and_prefixes_other_accounts() -> None:
    """Group names sorted, another account's as account/name, a nameless group as its id; CIDRs sorted."""
    pairs = [
        {"UserId": "111122223333", "GroupId": "sg-2", "GroupName": "web"},
        {"UserId": "979382823631", "GroupId": "sg-3", "GroupName": "default"},
        {"UserId": "111122223333", "GroupId": "sg-4", "GroupName": "default"},
        {"UserId": "111122223333", "GroupId": "sg-5"},
    ]
    cidrs = [{"CidrIp": "192.168.1.0/24"}, {"CidrIp": "10.0.0.0/8"}]
    rules = group(
        [
            {"IpProtocol": "udp", "FromPort": 9, "ToPort": 9, "UserIdGroupPairs": pairs},
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": cidrs},
        ]
    ).ipPermissions
    assert str(rules[0]) == "udp(9..9) GRPNAME 979382823631/default,default,sg-5,web"
    assert str(rules[1]) == "tcp(22..22) FROM CIDR 10.0.0.0/8,192.168.1.0/24"
    assert [str(r) for r in rules[1].ipRanges] == ["192.168.1.0/24", "10.0.0.0/8"]
    other = rules[0].groups[1]
    assert other.security_group() is None  # AWS does not describe another account's groups


def test_authorize_returns_the_rule_and_takes_vmec2_names() -> None:
    """authorize_incoming(source=, groups=) records and returns the rule; giving both names is refused."""
    g = group([])
    rule = g.authorize_incoming(protocol="tcp", port=22, source="any")
    assert str(rule) == "tcp(22..22) FROM CIDR 0.0.0.0/0"
    rule = g.authorize_incoming(protocol="udp", port="discard", groups=["default", "979382823631/default"])
    assert str(rule) == "udp(9..9) GRPNAME 979382823631/default,default"
    assert len(g.pending_changes) == 2
    with pytest.raises(ParameterError):
        g.authorize_incoming(protocol="tcp", port=22, source="any", source_ip="10.0.0.0/8")


@pytest.mark.parametrize(
    ("value", "disassociate", "release"),
    [
        ("203.0.113.7", ("PublicIp", "203.0.113.7"), ("PublicIp", "203.0.113.7")),
        ("eipassoc-1", ("AssociationId", "eipassoc-1"), ("PublicIp", "eipassoc-1")),
        ("eipalloc-1", ("PublicIp", "eipalloc-1"), ("AllocationId", "eipalloc-1")),
    ],
)
def test_address_given_positionally(value: str, disassociate: Any, release: Any) -> None:
    """disassociate_address/release_address pick their member from the value, as VM::EC2 did."""
    assert disassociate_target(value) == disassociate
    assert release_target(value) == release
    params = translate("ec2", operation_model("ec2", "DisassociateAddress"), [value], {})
    assert params == {disassociate[0]: value}


def test_object_without_id_is_refused_not_sent_as_none() -> None:
    """An object with no id (an empty placement) is a ParameterError, never the text 'None'."""
    empty = Placement({}, None, service_model("ec2").shape_for("Placement"))
    with pytest.raises(ParameterError, match="no id"):
        translate("ec2", operation_model("ec2", "CreateVolume"), [], {"availability_zone": empty, "size": 1})
    zone = Placement({"AvailabilityZone": "us-east-1b"}, None, service_model("ec2").shape_for("Placement"))
    params = translate("ec2", operation_model("ec2", "CreateVolume"), [], {"availability_zone": zone})
    assert params == {"AvailabilityZone": "us-east-1b"} and str(zone) == "us-east-1b"


def test_setting_is_its_value_and_its_setter() -> None:
    """A Setting compares, tests and prints as its value; calling it runs the setter."""
    seen: list[Any] = []
    flag = Setting(False, lambda v: seen.append(v) or True)
    assert not flag and flag == False and flag == Setting(False, print) and str(flag) == "False"  # noqa: E712
    assert flag(1) is True and seen == [1]


def test_credentials_file_errors(tmp_path: Path) -> None:
    """A missing file or profile is a CredentialsError; a profile without a file is a ParameterError."""
    path = tmp_path / "config"
    path.write_text("[profile foo]\naws_access_key_id = K\naws_secret_access_key = S\n")
    assert read_credentials_file(path, "profile foo") == ("K", "S")
    with pytest.raises(CredentialsError, match="no profile 'bar'"):
        read_credentials_file(path, "bar")
    with pytest.raises(CredentialsError, match="cannot read"):
        read_credentials_file(tmp_path / "missing")
    with pytest.raises(ParameterError):
        EC2(credentials_profile="foo", region="us-east-1")


def test_secret_and_request_id(ec2: EC2) -> None:
    """ec2.secret comes from boto3's chain when not given; objects carry their call's request id."""
    assert ec2.secret == "testing"
    assert ec2.describe_regions()[0].requestId
    assert ec2.describe_availability_zones()[0].request_id


def test_call_forms(ec2: EC2) -> None:
    """call('ec2', 'Op') always raises; call('Op', {...}) follows the error mode."""
    assert ec2.call("ec2", "DescribeRegions", region_names=["us-east-1"])[0] == "us-east-1"
    assert ec2.call("DescribeRegions", {"RegionNames": ["us-east-1"]})[0] == "us-east-1"
    with pytest.raises(AWSError, match=r"\[InvalidAction\]"):
        ec2.call("NoSuchAction")
    with pytest.raises(ParameterError):
        ec2.call("DescribeRegions", {"RegionNames": ["x"]}, {"More": 1})
    with pytest.raises(ParameterError, match="ec2 has no operation 'NoSuchOp'"):
        ec2.call("ec2", "NoSuchOp")  # library form: a usage error of ours, not botocore's
    ec2.raise_error = False
    assert ec2.call("DescribeRegions", Foo="bar") is None
    assert ec2.error is not None and ec2.error.code == "UnknownParameter"
    with ec2.async_mode():  # the future reports what the synchronous call does
        future = ec2.call("DescribeRegions", {"Bogus": 1})
        invalid = ec2.call("NoSuchAction")
    assert future.result() is None and future.error().code == "UnknownParameter"
    assert invalid.result() is None and invalid.error().code == "InvalidAction"


def test_created_group_survives_a_lagging_describe() -> None:
    """Fault injection: the new group is not describable yet; create_security_group still answers it."""
    from provisioning.ec2.security import _created_group
    from provisioning.errors import NotFoundError

    class Lagging:
        def call(self, *args: Any, **kwargs: Any) -> Any:
            raise NotFoundError("InvalidGroup.NotFound", "not yet", operation="DescribeSecurityGroups")

    made = _created_group({"GroupId": "sg-9"}, Lagging(), None)
    assert isinstance(made, SecurityGroup) and made == "sg-9"
