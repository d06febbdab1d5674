"""provisioning: the EC2 API (and ELB, Auto Scaling, RDS, STS, EBS direct) with VM::EC2's names and objects.

Quick start::

    from provisioning import EC2
    ec2 = EC2(region="us-east-1")                       # credentials: args, EC2_*, then boto3's chain
    image = ec2.describe_images("ami-12345")[0]
    instances = ec2.run_instances(image, instance_type="t3.micro", key_name="mykey")
    print(instances[0], instances[0].instanceState)     # objects print as their ids
"""

from __future__ import annotations

import logging

from .asynccalls import Future, async_mode
from .autoscaling import AutoScalingGroup, LaunchConfiguration, ScalingPolicy
from .dispatch import Dispatch, dispatch
from .ec2.address import ElasticAddress
from .ec2.image import BlockDevice, Image
from .ec2.instance import Instance, InstanceStateChange
from .ec2.network import InternetGateway, RouteTable, Subnet, Vpc
from .ec2.placement import PlacementGroup
from .ec2.reserved import ReservedInstance, ReservedInstancesOffering
from .ec2.security import IpPermission, KeyPair, SecurityGroup, permission
from .ec2.snapshot import Snapshot
from .ec2.spot import SpotInstanceRequest
from .ec2.volume import Attachment, Volume
from .ec2.vpc_acl import NetworkAcl
from .ec2.vpc_eni import NetworkInterface
from .ec2.vpc_gateways import CustomerGateway, DhcpOptions, VpnConnection, VpnGateway
from .ec2.vpc_parts import VpcPeeringConnection
from .ec2.zones import AvailabilityZone, Region, Tag
from .elb import LoadBalancer
from .errors import (
    AWSError,
    CredentialsError,
    DryRunOperation,
    EndpointError,
    NotFoundError,
    ParameterError,
    ThrottledError,
    UnauthorizedError,
    UnexpectedState,
    VMEC2Error,
    WaitTimeout,
)
from .facade import EBS, EC2, ELB, RDS, STS, AutoScaling, Facade
from .metadata import InstanceMetadata, MetadataError
from .objects import AWSObject
from .rds import DBInstance, DBParameterGroup, DBSnapshot
from .settings import AwsSettings
from .sts import Credentials, FederatedUser, Policy, SecurityToken
from .waiters import WaitProgress

__all__ = [
    "EBS",
    "EC2",
    "ELB",
    "RDS",
    "STS",
    "AWSError",
    "AWSObject",
    "Attachment",
    "AutoScaling",
    "AutoScalingGroup",
    "AvailabilityZone",
    "AwsSettings",
    "BlockDevice",
    "Credentials",
    "CredentialsError",
    "CustomerGateway",
    "DBInstance",
    "DBParameterGroup",
    "DBSnapshot",
    "DhcpOptions",
    "Dispatch",
    "DryRunOperation",
    "ElasticAddress",
    "EndpointError",
    "Facade",
    "FederatedUser",
    "Future",
    "Image",
    "Instance",
    "InstanceMetadata",
    "InstanceStateChange",
    "InternetGateway",
    "IpPermission",
    "KeyPair",
    "LaunchConfiguration",
    "LoadBalancer",
    "MetadataError",
    "NetworkAcl",
    "NetworkInterface",
    "NotFoundError",
    "ParameterError",
    "PlacementGroup",
    "Policy",
    "Region",
    "ReservedInstance",
    "ReservedInstancesOffering",
    "RouteTable",
    "ScalingPolicy",
    "SecurityGroup",
    "SecurityToken",
    "Snapshot",
    "SpotInstanceRequest",
    "Subnet",
    "Tag",
    "ThrottledError",
    "UnauthorizedError",
    "UnexpectedState",
    "VMEC2Error",
    "Volume",
    "Vpc",
    "VpcPeeringConnection",
    "VpnConnection",
    "VpnGateway",
    "WaitProgress",
    "WaitTimeout",
    "async_mode",
    "dispatch",
    "permission",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
