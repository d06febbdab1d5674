"""provisioning: the EC2 API (and ELB, Auto Scaling, RDS, STS) with VM::EC2's names, arguments and objects.

Quick start::

    from provisioning import EC2
    ec2 = EC2(region="us-east-1")                       # credentials: args, EC2_*, then boto3's chain
    image = ec2.describe_images("ami-12345")[0]
    instances = ec2.run_instances(image, instance_type="t3.micro", key_name="mykey")
    print(instances[0], instances[0].instanceState)     # objects print as their ids
"""

from __future__ import annotations

import logging

from . import ec2 as _ec2_classes  # noqa: F401  (registers the EC2 object classes with dispatch)
from .dispatch import Dispatch, dispatch
from .errors import (
    AWSError,
    CredentialsError,
    DryRunOperation,
    EndpointError,
    NotFoundError,
    ParameterError,
    ThrottledError,
    UnauthorizedError,
    VMEC2Error,
    WaitTimeout,
)
from .facade import EC2, ELB, RDS, STS, AutoScaling, Facade
from .objects import AWSObject
from .settings import AwsSettings

__all__ = [
    "EC2",
    "ELB",
    "RDS",
    "STS",
    "AWSError",
    "AWSObject",
    "AutoScaling",
    "AwsSettings",
    "CredentialsError",
    "Dispatch",
    "DryRunOperation",
    "EndpointError",
    "Facade",
    "NotFoundError",
    "ParameterError",
    "ThrottledError",
    "UnauthorizedError",
    "VMEC2Error",
    "WaitTimeout",
    "dispatch",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
