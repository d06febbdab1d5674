"""Pure name translation between VM::EC2's spellings, boto3's and the AWS wire names.

VM::EC2 accepted ``describe_instances``, ``DescribeInstances`` and ``-instance_id``/``-InstanceId`` alike.
All of them reduce to one *normalised key*: leading dashes dropped, underscores and dots removed, lower case.
Measured over the six services we expose (ec2, elb, autoscaling, rds, sts, ebs) the normalised operation names
never collide inside a service, and aliasing input members with their wire names never collides inside a
shape; :func:`operation_index` still checks and raises if a future botocore model breaks that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache

import botocore.session
from botocore import xform_name
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape

__all__ = [
    "SERVICES",
    "VMEC2_RENAMED",
    "member_keys",
    "normalize",
    "operation_index",
    "service_model",
    "snake",
]

#: Our short service names, in the order the EC2 façade resolves a name that several services share.
SERVICES: tuple[str, ...] = ("ec2", "elb", "autoscaling", "rds", "sts", "ebs")

#: VM::EC2 method names that are not just the operation's name in another case (methods.tsv):
#: ``name -> (service, OperationName)``.
VMEC2_RENAMED: Mapping[str, tuple[str, str]] = {
    "add_tags": ("ec2", "CreateTags"),
    "add_load_balancer_tags": ("elb", "AddTags"),
    "describe_load_balancer_tags": ("elb", "DescribeTags"),
    "remove_load_balancer_tags": ("elb", "RemoveTags"),
    "delete_db_event_subscription": ("rds", "DeleteEventSubscription"),
    "enable_vgw_route_propogation": ("ec2", "EnableVgwRoutePropagation"),
    "disable_vgw_route_propogation": ("ec2", "DisableVgwRoutePropagation"),
    # The POD spellings of two renamed methods.
    "tag_load_balancer": ("elb", "AddTags"),
    "dissociate_route_table": ("ec2", "DisassociateRouteTable"),
}

_STRIP = re.compile(r"[_.\-\s]")


def normalize(name: str) -> str:
    """The key every spelling of a name reduces to: ``-Instance_Id`` -> ``instanceid``."""
    return _STRIP.sub("", name).lower()


def snake(name: str) -> str:
    """boto3's snake_case of a CamelCase AWS name (``DescribeInstances`` -> ``describe_instances``)."""
    return str(xform_name(name))


@cache
def _botocore_session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def service_model(service: str) -> ServiceModel:
    """botocore's model of one of :data:`SERVICES` (loaded once per process)."""
    return _botocore_session().get_service_model(service)


@cache
def operation_index(service: str) -> Mapping[str, str]:
    """``{normalised name: OperationName}`` for every operation of ``service``.

    Raises:
        RuntimeError: if two operations normalise to the same key (a botocore model change we must handle).
    """
    index: dict[str, str] = {}
    for op in service_model(service).operation_names:
        key = normalize(op)
        if key in index:
            raise RuntimeError(f"{service}: operations {index[key]} and {op} collide as {key!r}")
        index[key] = op
    return index


def operation_model(service: str, operation: str) -> OperationModel:
    """botocore's model of one operation."""
    return service_model(service).operation_model(operation)


def wire_name(shape: Shape, member: str) -> str:
    """The member's name on the wire (VM::EC2's parameter or XML tag name), or the member name."""
    assert isinstance(shape, StructureShape)
    return str(shape.members[member].serialization.get("name", member))


def _singular(key: str) -> Iterable[str]:
    if key.endswith("ies"):
        yield key[:-3] + "y"
    if key.endswith(("sses", "xes")):
        yield key[:-2]
    elif key.endswith("s"):
        yield key[:-1]


@cache
def member_keys(shape: StructureShape) -> Mapping[str, str]:
    """``{normalised spelling: member}`` for a structure: member names, wire names and their singulars.

    The member's own name always wins over another member's wire name or singular, so ``fields`` never
    shadow each other.
    """
    exact: dict[str, str] = {}
    loose: dict[str, str] = {}
    for member, mshape in shape.members.items():
        exact.setdefault(normalize(member), member)
        wire = mshape.serialization.get("name")
        names = [member, wire] if wire else [member]
        for name in names:
            loose.setdefault(normalize(name), member)
            for single in _singular(normalize(name)):
                loose.setdefault(single, member)
    return {**loose, **exact}
