"""Every module that defines object classes, imported by name: the one place where they are registered.

Each object module registers its classes (:func:`~provisioning.objects.register_class`) and its answer
handlers (:meth:`~provisioning.dispatch.Dispatch.register`) when it is imported. The façade imports this
module, so whenever a façade can make a call, every class and handler is in place. A new object module is
added to the list below.
"""

from __future__ import annotations

from . import autoscaling, elb, rds, sts
from .ec2 import (
    address,
    image,
    instance,
    network,
    placement,
    reserved,
    security,
    snapshot,
    spot,
    volume,
    vpc_acl,
    vpc_eni,
    vpc_gateways,
    vpc_parts,
    zones,
)

__all__ = [
    "address",
    "autoscaling",
    "elb",
    "image",
    "instance",
    "network",
    "placement",
    "rds",
    "reserved",
    "security",
    "snapshot",
    "spot",
    "sts",
    "volume",
    "vpc_acl",
    "vpc_eni",
    "vpc_gateways",
    "vpc_parts",
    "zones",
]
