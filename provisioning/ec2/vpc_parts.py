"""VPC peering connections, and the small parts of VPC objects that point at other resources.

Associations and attachments are read from their parent's snapshot; their ``route_table()``, ``subnet()``,
``vpc()``... methods each make one describe call for the object they name (VM::EC2's query accessors).
"""

from __future__ import annotations

from typing import Any

from ..objects import register_class
from ._base import Action, EC2Object, guarded

__all__ = [
    "InternetGatewayAttachment",
    "NetworkAclAssociation",
    "RouteTableAssociation",
    "VpcPeeringConnection",
]


class _Part(EC2Object):
    def _one(self, operation: str, member: str) -> Any:
        found = self._facade().call("ec2", operation, self.field(member))
        return found[0] if found else None


@register_class("ec2", "RouteTableAssociation")
class RouteTableAssociation(_Part):
    """A route table's association with a subnet (or its VPC, for the main table)."""

    @guarded
    def route_table(self) -> Any:
        """The associated route table (an API call)."""
        return self._one("DescribeRouteTables", "RouteTableId")

    @guarded
    def subnet(self) -> Any:
        """The associated subnet (an API call); None for the main association."""
        return self._one("DescribeSubnets", "SubnetId") if self.field("SubnetId") else None


@register_class("ec2", "NetworkAclAssociation")
class NetworkAclAssociation(_Part):
    """A network ACL's association with a subnet."""

    @guarded
    def network_acl(self) -> Any:
        """The network ACL (an API call)."""
        return self._one("DescribeNetworkAcls", "NetworkAclId")

    @guarded
    def subnet(self) -> Any:
        """The subnet (an API call)."""
        return self._one("DescribeSubnets", "SubnetId")


@register_class("ec2", "InternetGatewayAttachment")
class InternetGatewayAttachment(_Part):
    """A gateway's attachment to a VPC; prints as the VPC id, as in VM::EC2."""

    primary_field = "VpcId"

    @guarded
    def vpc(self) -> Any:
        """The attached VPC (an API call)."""
        return self._one("DescribeVpcs", "VpcId")


@register_class("ec2", "VpcPeeringConnection")
class VpcPeeringConnection(EC2Object):
    """A peering connection between two VPCs (VM::EC2::VPC::PeeringConnection)."""

    primary_field = "VpcPeeringConnectionId"
    describe = ("ec2", "DescribeVpcPeeringConnections", "VpcPeeringConnectionIds")

    accept = Action(
        "AcceptVpcPeeringConnection",
        "Accept the request; returns the connection's new state.",
        default=None,
        args=(),
    )
    reject = Action("RejectVpcPeeringConnection", "Reject the request.", default=None, args=())
    delete = Action("DeleteVpcPeeringConnection", "Delete the connection.", default=None, args=())

    @property
    def status_code(self) -> str | None:
        """The state recorded in this snapshot (``pending-acceptance``, ``active``...)."""
        status = self._data.get("Status") or {}
        return status.get("Code")

    @guarded
    def current_status(self) -> str | None:
        """Re-describe the connection (an API call) and return its state code."""
        self._refresh_or_raise()
        return self.status_code
