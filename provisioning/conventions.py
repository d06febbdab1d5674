"""VM::EC2's per-operation argument tables: abbreviations, positional orders, defaults, value formats.

Everything here is data or a pure function. The general translator (:mod:`provisioning.arguments`) derives
almost all behaviour from botocore's input shapes; these tables hold only what a shape cannot say: VM::EC2's
abbreviations (``-zone`` for ``Placement.AvailabilityZone``), the positional order of calls such as
``attach_volume($vol, $instance, $device)``, RunInstances' counts defaulting to 1, and the block-device
string format ``/dev/sdf=snap-id:size:delete_on_termination:type:iops``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import ParameterError

__all__ = [
    "ALIASES",
    "BASE64_MEMBERS",
    "DEFAULTS",
    "KEYWORD_ENTRIES",
    "POSITIONAL",
    "POSITIONAL_BY_VALUE",
    "STRING_FORMS",
    "disassociate_target",
    "encode_base64",
    "parse_block_device",
    "parse_network_interface",
    "release_target",
]

Key = tuple[str, str]

#: VM::EC2's names for an Auto Scaling group and its launch configuration (create/update_autoscaling_group).
_ASG_NAMES = {"name": "AutoScalingGroupName", "launch_config": "LaunchConfigurationName"}

#: ``(service, Operation) -> {alias: dotted member path}``; aliases are spelled as in the manual.
ALIASES: Mapping[Key, Mapping[str, str]] = {
    ("ec2", "RunInstances"): {
        "zone": "Placement.AvailabilityZone",
        "availability_zone": "Placement.AvailabilityZone",
        "placement_zone": "Placement.AvailabilityZone",
        "placement_group": "Placement.GroupName",
        "tenancy": "Placement.Tenancy",
        "block_devices": "BlockDeviceMappings",
        "block_device_mapping": "BlockDeviceMappings",
        "security_group": "SecurityGroups",
        "security_group_id": "SecurityGroupIds",
        "iam_arn": "IamInstanceProfile.Arn",
        "iam_name": "IamInstanceProfile.Name",
        "shutdown_behavior": "InstanceInitiatedShutdownBehavior",
        "monitoring": "Monitoring.Enabled",
    },
    ("ec2", "RequestSpotInstances"): {
        "zone": "LaunchSpecification.Placement.AvailabilityZone",
        "availability_zone": "LaunchSpecification.Placement.AvailabilityZone",
        "image_id": "LaunchSpecification.ImageId",
        "instance_type": "LaunchSpecification.InstanceType",
        "key_name": "LaunchSpecification.KeyName",
        "security_group": "LaunchSpecification.SecurityGroups",
        "security_group_id": "LaunchSpecification.SecurityGroupIds",
        "subnet_id": "LaunchSpecification.SubnetId",
        "user_data": "LaunchSpecification.UserData",
        "block_devices": "LaunchSpecification.BlockDeviceMappings",
        "block_device_mapping": "LaunchSpecification.BlockDeviceMappings",
        "kernel_id": "LaunchSpecification.KernelId",
        "ramdisk_id": "LaunchSpecification.RamdiskId",
        "placement_group": "LaunchSpecification.Placement.GroupName",
        "ebs_optimized": "LaunchSpecification.EbsOptimized",
        "iam_arn": "LaunchSpecification.IamInstanceProfile.Arn",
        "iam_name": "LaunchSpecification.IamInstanceProfile.Name",
        "network_interfaces": "LaunchSpecification.NetworkInterfaces",
        "monitoring": "LaunchSpecification.Monitoring.Enabled",
    },
    ("ec2", "CreateImage"): {
        "block_devices": "BlockDeviceMappings",
        "block_device_mapping": "BlockDeviceMappings",
    },
    ("ec2", "RegisterImage"): {
        "block_devices": "BlockDeviceMappings",
        "block_device_mapping": "BlockDeviceMappings",
    },
    ("ec2", "CopyImage"): {"region": "SourceRegion", "image_id": "SourceImageId", "desc": "Description"},
    ("ec2", "CopySnapshot"): {
        "region": "SourceRegion",
        "snapshot_id": "SourceSnapshotId",
        "desc": "Description",
    },
    ("ec2", "CreateVolume"): {"zone": "AvailabilityZone", "snapshot": "SnapshotId"},
    ("ec2", "CreateCustomerGateway"): {"ip": "PublicIp"},
    ("ec2", "ImportKeyPair"): {"name": "KeyName", "public_key": "PublicKeyMaterial"},
    ("ec2", "CreateKeyPair"): {"name": "KeyName"},
    ("ec2", "CreateNetworkAclEntry"): {"port_from": "PortRange.From", "port_to": "PortRange.To"},
    ("ec2", "ReplaceNetworkAclEntry"): {"port_from": "PortRange.From", "port_to": "PortRange.To"},
    ("ec2", "PurchaseReservedInstancesOffering"): {
        "id": "ReservedInstancesOfferingId",
        "count": "InstanceCount",
    },
    ("ec2", "ModifyReservedInstances"): {"id": "ReservedInstancesIds"},
    ("ec2", "DescribeSecurityGroups"): {"name": "GroupNames"},
    ("ec2", "CreateSecurityGroup"): {"name": "GroupName"},
    ("ec2", "DeleteSecurityGroup"): {"name": "GroupName"},
    ("ec2", "DeleteKeyPair"): {"name": "KeyName"},
    ("ec2", "DescribeImages"): {"owner_id": "Owners", "image_owner_id": "Owners"},
    ("ec2", "ModifyInstanceAttribute"): {
        "termination_protection": "DisableApiTermination",
        "kernel": "Kernel",
        "block_devices": "BlockDeviceMappings",
        "block_device_mapping": "BlockDeviceMappings",
    },
    ("autoscaling", "DescribeLaunchConfigurations"): {"names": "LaunchConfigurationNames"},
    ("autoscaling", "CreateLaunchConfiguration"): {"name": "LaunchConfigurationName"},
    ("autoscaling", "DeleteLaunchConfiguration"): {"name": "LaunchConfigurationName"},
    ("autoscaling", "DescribeAutoScalingGroups"): {"names": "AutoScalingGroupNames"},
    ("autoscaling", "CreateAutoScalingGroup"): _ASG_NAMES,
    ("autoscaling", "UpdateAutoScalingGroup"): _ASG_NAMES,
    ("autoscaling", "DeleteAutoScalingGroup"): {"name": "AutoScalingGroupName"},
    ("autoscaling", "SuspendProcesses"): {"name": "AutoScalingGroupName"},
    ("autoscaling", "ResumeProcesses"): {"name": "AutoScalingGroupName"},
    ("autoscaling", "DescribePolicies"): {"name": "AutoScalingGroupName"},
    ("autoscaling", "PutScalingPolicy"): {"name": "PolicyName"},
    ("autoscaling", "DeletePolicy"): {"name": "PolicyName"},
    ("autoscaling", "ExecutePolicy"): {"name": "PolicyName"},
    ("elb", "AddTags"): {"lb_name": "LoadBalancerNames"},
    ("elb", "CreateLoadBalancer"): {"lb_name": "LoadBalancerName", "zones": "AvailabilityZones"},
    ("elb", "RegisterInstancesWithLoadBalancer"): {"instance_id": "Instances"},
    ("elb", "DeregisterInstancesFromLoadBalancer"): {"instance_id": "Instances"},
    ("sts", "GetFederationToken"): {"duration": "DurationSeconds"},
    ("sts", "GetSessionToken"): {"duration": "DurationSeconds"},
}

#: ``(service, Operation) -> members filled by positional arguments, in order`` where the shape cannot
#: tell (several required members, or several id lists). A single list member takes all positionals.
POSITIONAL: Mapping[Key, tuple[str, ...]] = {
    ("ec2", "AttachVolume"): ("VolumeId", "InstanceId", "Device"),
    ("ec2", "DetachVolume"): ("VolumeId", "InstanceId", "Device"),
    ("ec2", "AssociateAddress"): ("PublicIp", "InstanceId"),
    ("ec2", "DescribeImageAttribute"): ("ImageId", "Attribute"),
    ("ec2", "DescribeInstanceAttribute"): ("InstanceId", "Attribute"),
    ("ec2", "DescribeSnapshotAttribute"): ("SnapshotId", "Attribute"),
    ("ec2", "DescribeVolumeAttribute"): ("VolumeId", "Attribute"),
    ("ec2", "ResetImageAttribute"): ("ImageId", "Attribute"),
    ("ec2", "ResetInstanceAttribute"): ("InstanceId", "Attribute"),
    ("ec2", "ResetSnapshotAttribute"): ("SnapshotId", "Attribute"),
    ("ec2", "DetachNetworkInterface"): ("AttachmentId", "Force"),
    ("ec2", "CreateSpotDatafeedSubscription"): ("Bucket", "Prefix"),
    ("ec2", "CreateRoute"): ("RouteTableId", "DestinationCidrBlock", "GatewayId"),
    ("ec2", "ImportKeyPair"): ("KeyName", "PublicKeyMaterial"),
    ("ec2", "CreateKeyPair"): ("KeyName",),
    ("ec2", "DeleteKeyPair"): ("KeyName",),
    ("ec2", "CreateSecurityGroup"): ("GroupName", "Description"),
    ("ec2", "CreateVolume"): ("AvailabilityZone", "Size"),
    ("ec2", "CreateSnapshot"): ("VolumeId", "Description"),
    ("ec2", "CreateImage"): ("InstanceId", "Name", "Description"),
    ("ec2", "RunInstances"): ("ImageId",),
    ("ec2", "CreateTags"): ("Resources", "Tags"),
    ("ec2", "DeleteTags"): ("Resources", "Tags"),
    ("ec2", "DescribeSecurityGroups"): ("GroupIds",),
    ("ec2", "DescribeKeyPairs"): ("KeyNames",),
    ("ec2", "DescribeAvailabilityZones"): ("ZoneNames",),
    ("ec2", "DescribeAddresses"): ("PublicIps",),
    ("ec2", "AttachInternetGateway"): ("InternetGatewayId", "VpcId"),
    ("ec2", "DetachInternetGateway"): ("InternetGatewayId", "VpcId"),
    ("ec2", "AssociateRouteTable"): ("RouteTableId", "SubnetId"),
    ("ec2", "CreateSubnet"): ("VpcId", "CidrBlock"),
    ("ec2", "CreateVpc"): ("CidrBlock",),
    ("ec2", "AttachNetworkInterface"): ("NetworkInterfaceId", "InstanceId", "DeviceIndex"),
    ("elb", "DescribeLoadBalancers"): ("LoadBalancerNames",),
    ("elb", "DescribeInstanceHealth"): ("LoadBalancerName", "Instances"),
    ("elb", "RegisterInstancesWithLoadBalancer"): ("LoadBalancerName", "Instances"),
    ("elb", "DeregisterInstancesFromLoadBalancer"): ("LoadBalancerName", "Instances"),
}


def _address_target(value: Any, field: str, prefix: str) -> tuple[str, Any]:
    payload = getattr(value, "payload", None)
    known = payload.get(field) if isinstance(payload, Mapping) else None
    if known:  # an address object: its current association or allocation, as AWS wants for VPC addresses
        return field, known
    return (field, value) if str(value).startswith(prefix) else ("PublicIp", value)


def disassociate_target(value: Any) -> tuple[str, Any]:
    """What ``disassociate_address(x)`` sends: an ``eipassoc-`` id (or an address object's association)
    as AssociationId, else the public IP, as VM::EC2 did."""
    return _address_target(value, "AssociationId", "eipassoc-")


def release_target(value: Any) -> tuple[str, Any]:
    """What ``release_address(x)`` sends: an ``eipalloc-`` id (or an address object's allocation) as
    AllocationId, else the public IP."""
    return _address_target(value, "AllocationId", "eipalloc-")


#: ``(service, Operation) -> rule`` for calls whose one positional argument fills a member chosen by its
#: value, as VM::EC2 did: ``disassociate_address("203.0.113.7")`` sends PublicIp, ``("eipassoc-1")``
#: AssociationId. A rule answers ``(member, value)``.
POSITIONAL_BY_VALUE: Mapping[Key, Callable[[Any], tuple[str, Any]]] = {
    ("ec2", "DisassociateAddress"): disassociate_target,
    ("ec2", "ReleaseAddress"): release_target,
}

#: ``(service, Operation) -> (member, {keyword: key})``: keywords VM::EC2 accepted that are really entries of
#: one key/value list member, e.g. ``create_dhcp_options(domain_name="x", domain_name_servers=[...])``.
KEYWORD_ENTRIES: Mapping[Key, tuple[str, Mapping[str, str]]] = {
    ("ec2", "CreateDhcpOptions"): (
        "DhcpConfigurations",
        {
            "domain_name": "domain-name",
            "domain_name_servers": "domain-name-servers",
            "ntp_servers": "ntp-servers",
            "netbios_name_servers": "netbios-name-servers",
            "netbios_node_type": "netbios-node-type",
        },
    ),
}

#: ``(service, Operation) -> {member: default}`` applied when the caller gives none.
DEFAULTS: Mapping[Key, Mapping[str, Any]] = {
    ("ec2", "RunInstances"): {"MinCount": 1},
}

#: ``(service, Operation) -> member paths`` AWS wants base64-encoded that botocore sends as given (it encodes
#: RunInstances' and CreateLaunchConfiguration's ``UserData`` itself). VM::EC2 encoded them for the caller.
BASE64_MEMBERS: Mapping[Key, tuple[tuple[str, ...], ...]] = {
    ("ec2", "RequestSpotInstances"): (("LaunchSpecification", "UserData"),),
}

_BOOL = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def parse_block_device(spec: str) -> dict[str, Any]:
    """One VM::EC2 block-device string as a ``BlockDeviceMapping`` structure.

    Forms: ``/dev/sdf=snap-id[:size[:delete_on_termination[:volume_type[:iops]]]]``, ``/dev/sdf=:size``
    (a new empty volume), ``/dev/sdf=ephemeral0``, ``/dev/sdf=none``, and for an attached volume of a
    running instance (ModifyInstanceAttribute) ``/dev/sdf=vol-id[:delete_on_termination]``.

    Raises:
        ParameterError: if the string is not of one of those forms.
    """
    device, sep, rest = spec.partition("=")
    if not sep or not device:
        raise ParameterError(f"block device {spec!r}: expected DEVICE=SNAPSHOT[:SIZE[:DELETE[:TYPE[:IOPS]]]]")
    if rest.startswith("ephemeral"):
        return {"DeviceName": device, "VirtualName": rest}
    if rest == "none":
        return {"DeviceName": device, "NoDevice": ""}
    if rest.startswith("vol-"):
        volume, _, delete = rest.partition(":")
        ebs: dict[str, Any] = {"VolumeId": volume}
        if delete:
            if delete.lower() not in _BOOL:
                raise ParameterError(f"block device {spec!r}: delete_on_termination must be true or false")
            ebs["DeleteOnTermination"] = _BOOL[delete.lower()]
        return {"DeviceName": device, "Ebs": ebs}
    parts = rest.split(":")
    if len(parts) > 5:
        raise ParameterError(f"block device {spec!r}: too many ':' fields")
    snapshot, size, delete, vtype, iops = (parts + [""] * 5)[:5]
    ebs = {}
    if snapshot:
        ebs["SnapshotId"] = snapshot
    try:
        if size:
            ebs["VolumeSize"] = int(size)
        if iops:
            ebs["Iops"] = int(iops)
    except ValueError as exc:
        raise ParameterError(f"block device {spec!r}: size and iops must be whole numbers") from exc
    if delete:
        if delete.lower() not in _BOOL:
            raise ParameterError(f"block device {spec!r}: delete_on_termination must be true or false")
        ebs["DeleteOnTermination"] = _BOOL[delete.lower()]
    if vtype:
        ebs["VolumeType"] = vtype
    if not ebs:
        raise ParameterError(f"block device {spec!r}: give a snapshot id or a size")
    return {"DeviceName": device, "Ebs": ebs}


_IPV4 = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_ETH = re.compile(r"^eth(\d+)\s*=\s*([^=]+)$")


def parse_network_interface(spec: str) -> dict[str, Any]:
    """One VM::EC2 network-interface string as an ``InstanceNetworkInterfaceSpecification``.

    Forms: ``ethN=eni-id`` (attach an existing interface as device N), and
    ``ethN=ADDRESSES:SUBNET:GROUPS:DELETE_ON_TERMINATION:DESCRIPTION[:ASSOCIATE_PUBLIC_IP]`` where
    ADDRESSES is a comma list whose first IPv4 address is the primary one, later addresses are secondary,
    and a plain number (after the first item) is a count of secondary addresses AWS picks; GROUPS is a
    comma list of security group ids. Empty fields are left out (``eth0=:subnet-1``).

    Raises:
        ParameterError: if the string is not of one of those forms.
    """
    match = _ETH.match(spec.strip())
    if match is None:
        raise ParameterError(f"network interface {spec!r}: expected ethN=ENI-ID or ethN=ADDRESSES:SUBNET:...")
    device, options = int(match.group(1)), match.group(2).split(":")
    if len(options) == 1:
        return {"DeviceIndex": device, "NetworkInterfaceId": options[0].strip()}
    if len(options) > 6:
        raise ParameterError(f"network interface {spec!r}: too many ':' fields")
    addresses, subnet, groups, delete, description, public = (options + [""] * 6)[:6]
    out: dict[str, Any] = {"DeviceIndex": device}
    private: list[dict[str, Any]] = []
    for i, item in enumerate(a.strip() for a in addresses.split(",")):
        if _IPV4.match(item):
            private.append({"PrivateIpAddress": item, "Primary": i == 0})
        elif item.isdigit() and i > 0:
            out["SecondaryPrivateIpAddressCount"] = int(item)
        elif item:
            raise ParameterError(
                f"network interface {spec!r}: {item!r} is neither an IPv4 address nor a count"
            )
    if private:
        out["PrivateIpAddresses"] = private
    if subnet:
        out["SubnetId"] = subnet
    if groups:
        out["Groups"] = [g.strip() for g in groups.split(",") if g.strip()]
    for member, flag in (("DeleteOnTermination", delete), ("AssociatePublicIpAddress", public)):
        if flag:
            if flag.lower() not in _BOOL:
                raise ParameterError(f"network interface {spec!r}: {member} must be true or false")
            out[member] = _BOOL[flag.lower()]
    if description:
        out["Description"] = description
    return out


#: Structure shape name -> parser of VM::EC2's one-string form of it.
STRING_FORMS: Mapping[str, Callable[[str], dict[str, Any]]] = {
    "BlockDeviceMapping": parse_block_device,
    "InstanceBlockDeviceMappingSpecification": parse_block_device,
    "InstanceNetworkInterfaceSpecification": parse_network_interface,
}


def encode_base64(params: dict[str, Any], path: tuple[str, ...]) -> None:
    """Base64-encode the text or bytes at ``path`` in place, if given (user data for spot requests)."""
    *parents, last = path
    target: Any = params
    for part in parents:
        target = target.get(part) if isinstance(target, dict) else None
    if isinstance(target, dict) and isinstance(target.get(last), str | bytes):
        raw = target[last]
        target[last] = base64.b64encode(raw.encode() if isinstance(raw, str) else raw).decode("ascii")
