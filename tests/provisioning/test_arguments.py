"""The argument translator: VM::EC2's conventions become boto3 parameters (pure, no network)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from provisioning.arguments import primary_members, translate
from provisioning.conventions import parse_block_device, parse_network_interface
from provisioning.errors import ParameterError
from provisioning.naming import operation_model


def t(op: str, *args: Any, service: str = "ec2", **kwargs: Any) -> dict[str, Any]:
    return translate(service, operation_model(service, op), args, kwargs)


class FakeObject:
    """Anything exposing __vmec2_id__ stands for its id."""

    def __init__(self, oid: str) -> None:
        self.oid = oid

    def __vmec2_id__(self) -> str:
        return self.oid


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"instance_id": "i-1"}, {"InstanceIds": ["i-1"]}),
        ({"-instance_id": ["i-1", "i-2"]}, {"InstanceIds": ["i-1", "i-2"]}),
        ({"InstanceIds": ["i-1"]}, {"InstanceIds": ["i-1"]}),
        ({"InstanceId": "i-1"}, {"InstanceIds": ["i-1"]}),
        ({"instance_ids": ("i-1",)}, {"InstanceIds": ["i-1"]}),
        ({"max_results": "5"}, {"MaxResults": 5}),
        ({"dry_run": "true"}, {"DryRun": True}),
    ],
)
def test_keys_match_member_wire_and_singular_names(kwargs: dict[str, Any], expected: dict[str, Any]) -> None:
    """Keys match by boto3 name, VM::EC2 name, wire name or singular, with or without a dash."""
    assert t("DescribeInstances", **kwargs) == expected


def test_describe_images_owner_and_executable_by() -> None:
    """Wire names alias members: owner -> Owners, executable_by -> ExecutableUsers."""
    assert t("DescribeImages", owner="self", executable_by="all") == {
        "Owners": ["self"],
        "ExecutableUsers": ["all"],
    }


def test_filter_dict_becomes_filter_list_with_or_values() -> None:
    """A filter dict becomes Name/Values pairs; a list value is an OR of values."""
    got = t("DescribeInstances", filter={"tag:Role": "web", "instance-state-name": ["running", "pending"]})
    assert got == {
        "Filters": [
            {"Name": "tag:Role", "Values": ["web"]},
            {"Name": "instance-state-name", "Values": ["running", "pending"]},
        ]
    }


def test_filter_named_name_is_not_mistaken_for_a_structure() -> None:
    """A filter called "name" stays a filter (only Name+Values together is one structure)."""
    assert t("DescribeImages", filter={"name": "debian-*"}) == {
        "Filters": [{"Name": "name", "Values": ["debian-*"]}]
    }
    assert t("DescribeImages", filters={"Name": "name", "Values": ["x"]}) == {
        "Filters": [{"Name": "name", "Values": ["x"]}]
    }


def test_filter_strings_name_equals_value() -> None:
    """VM::EC2 also accepted "name=value" filter strings."""
    assert t("DescribeVolumes", filter=["status=available"]) == {
        "Filters": [{"Name": "status", "Values": ["available"]}]
    }


def test_positional_ids_fill_the_primary_list() -> None:
    """describe_instances('i-1', 'i-2') and describe_images('ami-1') use the id list."""
    assert t("DescribeInstances", "i-1", "i-2") == {"InstanceIds": ["i-1", "i-2"]}
    assert t("DescribeImages", "ami-12345") == {"ImageIds": ["ami-12345"]}
    assert t("DescribeInstances", ["i-1", "i-2"]) == {"InstanceIds": ["i-1", "i-2"]}


def test_positional_dict_is_a_filter() -> None:
    """A dict as the only positional argument is a filter."""
    assert t("DescribeInstances", {"tag:Role": "web"}) == {
        "Filters": [{"Name": "tag:Role", "Values": ["web"]}]
    }


def test_objects_stand_for_their_ids() -> None:
    """Our objects are accepted wherever an id is, positionally or by name."""
    vol, inst = FakeObject("vol-1"), FakeObject("i-1")
    assert t("AttachVolume", vol, inst, "/dev/sdf") == {
        "VolumeId": "vol-1",
        "InstanceId": "i-1",
        "Device": "/dev/sdf",
    }
    assert t("DescribeVolumes", vol) == {"VolumeIds": ["vol-1"]}
    assert t("CreateTags", [vol, inst], tags={"Name": "x"}) == {
        "Resources": ["vol-1", "i-1"],
        "Tags": [{"Key": "Name", "Value": "x"}],
    }


def test_tag_dict_and_delete_tags_without_value() -> None:
    """Tag dicts become Key/Value lists; None means "whatever the value" for delete_tags."""
    assert t("DeleteTags", "i-1", tag={"Name": None, "Role": "web"}) == {
        "Resources": ["i-1"],
        "Tags": [{"Key": "Name"}, {"Key": "Role", "Value": "web"}],
    }


def test_tag_specifications_get_the_operation_resource_type() -> None:
    """A tag dict for TagSpecifications is tagged with the resource type the operation creates."""
    assert t("CreateVolume", zone="us-east-1a", size=1, tag_specifications={"a": "b"})[
        "TagSpecifications"
    ] == [{"ResourceType": "volume", "Tags": [{"Key": "a", "Value": "b"}]}]
    got = t("CreateSecurityGroup", "g", "d", tag_specifications={"a": "b"})
    assert got["TagSpecifications"][0]["ResourceType"] == "security-group"
    multi = t("RunInstances", "ami-1", tag_specifications={"instance": {"a": "1"}, "volume": {"b": "2"}})
    assert [s["ResourceType"] for s in multi["TagSpecifications"]] == ["instance", "volume"]


def test_run_instances_abbreviations_and_defaults() -> None:
    """run_instances: zone/placement_zone, counts default to 1, block-device strings, iam_name."""
    got = t(
        "RunInstances",
        "ami-1",
        placement_zone="us-east-1b",
        security_group="web",
        block_devices=["/dev/sdb=snap-1:20:true:gp3", "/dev/sdc=ephemeral0"],
        iam_name="role",
        monitoring=True,
    )
    assert got == {
        "ImageId": "ami-1",
        "MinCount": 1,
        "MaxCount": 1,
        "Placement": {"AvailabilityZone": "us-east-1b"},
        "SecurityGroups": ["web"],
        "BlockDeviceMappings": [
            {
                "DeviceName": "/dev/sdb",
                "Ebs": {
                    "SnapshotId": "snap-1",
                    "VolumeSize": 20,
                    "DeleteOnTermination": True,
                    "VolumeType": "gp3",
                },
            },
            {"DeviceName": "/dev/sdc", "VirtualName": "ephemeral0"},
        ],
        "IamInstanceProfile": {"Name": "role"},
        "Monitoring": {"Enabled": True},
    }
    assert t("RunInstances", "ami-1", min_count=3)["MaxCount"] == 3


def test_flattened_nested_member() -> None:
    """iam_instance_profile_arn reaches IamInstanceProfile.Arn without a table entry."""
    assert t("RunInstances", "ami-1", iam_instance_profile_arn="arn:x")["IamInstanceProfile"] == {
        "Arn": "arn:x"
    }


def test_scalar_for_value_structures() -> None:
    """EC2's AttributeValue shapes take a scalar: modify_instance_attribute(id, instance_type=...)."""
    assert t("ModifyInstanceAttribute", "i-1", instance_type="m5.large") == {
        "InstanceId": "i-1",
        "InstanceType": {"Value": "m5.large"},
    }


def test_elb_member_lists_and_one_member_structures() -> None:
    """ELB: a bare instance id becomes [{"InstanceId": id}]; lb_name abbreviation."""
    got = t("RegisterInstancesWithLoadBalancer", "lb", ["i-1", "i-2"], service="elb")
    assert got == {"LoadBalancerName": "lb", "Instances": [{"InstanceId": "i-1"}, {"InstanceId": "i-2"}]}
    assert t("CreateLoadBalancer", lb_name="lb", zones="us-east-1a", listeners=[], service="elb")[
        "AvailabilityZones"
    ] == ["us-east-1a"]


def test_rds_member_hash_parameters() -> None:
    """RDS: a {name: value} dict becomes Parameter structures."""
    got = t("ModifyDBParameterGroup", "pg", parameters={"max_connections": "100"}, service="rds")
    assert got == {
        "DBParameterGroupName": "pg",
        "Parameters": [{"ParameterName": "max_connections", "ParameterValue": "100"}],
    }


def test_unknown_argument_lists_valid_names() -> None:
    """An unknown key raises ParameterError naming the valid arguments."""
    with pytest.raises(ParameterError, match=r"unknown argument 'bogus'.*instance_ids"):
        t("DescribeInstances", bogus=1)


def test_bad_values_and_too_many_positionals() -> None:
    """Values that fit no rule and surplus positionals are refused before any request."""
    with pytest.raises(ParameterError, match="whole number"):
        t("DescribeInstances", max_results="many")
    with pytest.raises(ParameterError, match="at most 3 positional"):
        t("AttachVolume", "v", "i", "d", "extra")
    with pytest.raises(ParameterError, match=r"twice|both"):
        t("DescribeInstances", "i-1", instance_id="i-2")
    with pytest.raises(ParameterError, match=r"no arguments|no positional"):
        t("GetCallerIdentity", "x", service="sts")


def test_none_values_are_dropped() -> None:
    """None means "not given" (VM::EC2 dropped undef)."""
    assert t("DescribeInstances", instance_id=None) == {}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("/dev/sdf=snap-1", {"DeviceName": "/dev/sdf", "Ebs": {"SnapshotId": "snap-1"}}),
        ("/dev/sdf=:50", {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 50}}),
        (
            "/dev/sdf=snap-1:10:false:io1:500",
            {
                "DeviceName": "/dev/sdf",
                "Ebs": {
                    "SnapshotId": "snap-1",
                    "VolumeSize": 10,
                    "DeleteOnTermination": False,
                    "VolumeType": "io1",
                    "Iops": 500,
                },
            },
        ),
        ("/dev/sdg=ephemeral1", {"DeviceName": "/dev/sdg", "VirtualName": "ephemeral1"}),
        ("/dev/sdh=none", {"DeviceName": "/dev/sdh", "NoDevice": ""}),
        ("/dev/sdf=vol-1", {"DeviceName": "/dev/sdf", "Ebs": {"VolumeId": "vol-1"}}),
        (
            "/dev/sdf=vol-1:true",
            {"DeviceName": "/dev/sdf", "Ebs": {"VolumeId": "vol-1", "DeleteOnTermination": True}},
        ),
    ],
)
def test_parse_block_device(spec: str, expected: dict[str, Any]) -> None:
    """VM::EC2 block-device strings in every form."""
    assert parse_block_device(spec) == expected


@pytest.mark.parametrize(
    "spec", ["/dev/sdf", "=snap-1", "/dev/sdf=snap:x", "/dev/sdf=s:1:maybe", "/dev/sdf=", "/dev/sdf=vol-1:x"]
)
def test_parse_block_device_rejects_garbage(spec: str) -> None:
    """Malformed block-device strings give a clear ParameterError."""
    with pytest.raises(ParameterError, match="block device"):
        parse_block_device(spec)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("eth0=eni-1", {"DeviceIndex": 0, "NetworkInterfaceId": "eni-1"}),
        (
            "eth1=10.0.1.5,10.0.1.6,2:subnet-1:sg-1,sg-2:true:My Weird Network:false",
            {
                "DeviceIndex": 1,
                "PrivateIpAddresses": [
                    {"PrivateIpAddress": "10.0.1.5", "Primary": True},
                    {"PrivateIpAddress": "10.0.1.6", "Primary": False},
                ],
                "SecondaryPrivateIpAddressCount": 2,
                "SubnetId": "subnet-1",
                "Groups": ["sg-1", "sg-2"],
                "DeleteOnTermination": True,
                "Description": "My Weird Network",
                "AssociatePublicIpAddress": False,
            },
        ),
        ("eth0=:subnet-1", {"DeviceIndex": 0, "SubnetId": "subnet-1"}),
    ],
)
def test_parse_network_interface(spec: str, expected: dict[str, Any]) -> None:
    """VM::EC2 network-interface strings (ethN=eni-id, ethN=addresses:subnet:groups:delete:description)."""
    assert parse_network_interface(spec) == expected


@pytest.mark.parametrize(
    "spec", ["eni-1", "eth=eni-1", "eth0=a:b:c:d:e:f:g", "eth0=10.0.0.1:s:g:maybe", "eth0=web:subnet-1"]
)
def test_parse_network_interface_rejects_garbage(spec: str) -> None:
    """Malformed network-interface strings give a clear ParameterError."""
    with pytest.raises(ParameterError, match="network interface"):
        parse_network_interface(spec)


def test_network_interface_strings_for_run_and_spot_requests() -> None:
    """-network_interfaces strings fill RunInstances' and a spot request's NetworkInterfaces."""
    want = [{"DeviceIndex": 0, "NetworkInterfaceId": "eni-1"}]
    assert t("RunInstances", "ami-1", network_interfaces="eth0=eni-1")["NetworkInterfaces"] == want
    spot = t("RequestSpotInstances", spot_price="0.1", image_id="ami-1", network_interfaces=["eth0=eni-1"])
    assert spot["LaunchSpecification"]["NetworkInterfaces"] == want


def test_spot_request_user_data_is_base64_encoded() -> None:
    """botocore encodes RunInstances' user data, not a spot request's: the translator does, as VM::EC2 did."""
    spot = t("RequestSpotInstances", spot_price="0.1", image_id="ami-1", user_data="#!/bin/sh\necho hi\n")
    assert base64.b64decode(spot["LaunchSpecification"]["UserData"]) == b"#!/bin/sh\necho hi\n"
    raw = t("RequestSpotInstances", spot_price="0.1", image_id="ami-1", user_data=b"\x00\x01")
    assert raw["LaunchSpecification"]["UserData"] == "AAE="
    assert t("RunInstances", "ami-1", user_data="plain")["UserData"] == "plain"  # botocore encodes this one


def test_primary_member_rules() -> None:
    """Overrides, single required member, and the only ...Ids list pick the positional member."""
    assert primary_members("ec2", operation_model("ec2", "DescribeSecurityGroups")) == ("GroupIds",)
    assert primary_members("ec2", operation_model("ec2", "DeleteVolume")) == ("VolumeId",)
    assert primary_members("ec2", operation_model("ec2", "DescribeSnapshots")) == ("SnapshotIds",)
    assert primary_members("rds", operation_model("rds", "DescribeDBInstances")) == ("DBInstanceIdentifier",)


def test_rds_member_hash_parameters_vmec2_form() -> None:
    """VM::EC2's member_hash_parms form: a dict or list of dicts with the structure's own keys."""
    one = {"ParameterName": "max_user_connections", "ParameterValue": "24", "ApplyMethod": "pending-reboot"}
    two = {"ParameterName": "max_allowed_packet", "ParameterValue": "1024", "ApplyMethod": "immediate"}
    assert t("ModifyDBParameterGroup", "pg", parameters=one, service="rds")["Parameters"] == [one]
    assert t("ModifyDBParameterGroup", "pg", parameters=[one, two], service="rds")["Parameters"] == [one, two]


def test_positionals_for_named_creates() -> None:
    """create_db_instance('orders', ...) and create_auto_scaling_group('web', ...) name the resource."""
    assert (
        t("CreateDBInstance", "orders", db_instance_class="db.t3.micro", engine="mysql", service="rds")[
            "DBInstanceIdentifier"
        ]
        == "orders"
    )
    got = t("CreateAutoScalingGroup", "web", min_size=1, max_size=2, service="autoscaling")
    assert got["AutoScalingGroupName"] == "web"


def test_dhcp_option_keywords_become_configurations() -> None:
    """VM::EC2's create_dhcp_options(domain_name=..., domain_name_servers=[...])."""
    got = t("CreateDhcpOptions", domain_name="example.com", domain_name_servers=["10.0.0.2", "10.0.0.3"])
    assert got == {
        "DhcpConfigurations": [
            {"Key": "domain-name", "Values": ["example.com"]},
            {"Key": "domain-name-servers", "Values": ["10.0.0.2", "10.0.0.3"]},
        ]
    }
    with pytest.raises(ParameterError, match="given twice"):
        t("CreateDhcpOptions", domain_name="x", dhcp_configurations=[])
