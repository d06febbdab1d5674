"""VPC objects: ``Vpc``, ``Subnet``, ``InternetGateway``, ``RouteTable`` and ``Route`` (VM::EC2::VPC*).

The methods chain the steps that usually follow each other, as VM::EC2's did, so the manual's example runs
as written::

    vpc = ec2.create_vpc("10.0.0.0/16")
    subnet = vpc.create_subnet("10.0.0.0/24")
    gateway = vpc.create_internet_gateway()          # created and attached
    table = subnet.create_route_table()              # created and associated
    table.create_route("0.0.0.0/0", gateway)

Objects stay snapshots: a method that changes the resource returns the new state (or True) and leaves the
object alone unless documented; call :meth:`~provisioning.objects.AWSObject.refresh` to re-read.
Network ACLs, ENIs, DHCP options and VPN/customer gateways live in the ``vpc_*`` modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.model import OperationModel

from .._log import get_logger
from ..dispatch import dispatch
from ..objects import classes, register_class
from ._base import EC2Object, Resource, guarded

__all__ = ["InternetGateway", "Route", "RouteTable", "Subnet", "Vpc", "register_unwrap", "route_target"]

log = get_logger(__name__)


def register_unwrap(operation: str, member: str, *, service: str = "ec2") -> None:
    """Make ``operation`` return its ``member`` alone (dropping ``ClientToken`` and other extras).

    A structure member comes back as an object of its registered class, a scalar as it is.
    """

    def handler(response: Mapping[str, Any], facade: Any, op: OperationModel) -> Any:
        assert op.output_shape is not None
        value = response.get(member)
        shape = op.output_shape.members[member]
        if isinstance(value, Mapping):
            return classes.wrap(service, shape, value, facade)
        return value

    dispatch.register(operation, handler, service=service)


for _op, _member in {
    "CreateRouteTable": "RouteTable",
    "CreateNetworkAcl": "NetworkAcl",
    "CreateNetworkInterface": "NetworkInterface",
    "AssociateRouteTable": "AssociationId",
    "ReplaceRouteTableAssociation": "NewAssociationId",
    "AttachNetworkInterface": "AttachmentId",
}.items():
    register_unwrap(_op, _member)

#: Route target id prefixes -> CreateRoute's member (VM::EC2 sniffed the target the same way).
_TARGETS = {
    "igw-": "gateway_id",
    "vgw-": "gateway_id",
    "i-": "instance_id",
    "eni-": "network_interface_id",
    "pcx-": "vpc_peering_connection_id",
    "nat-": "nat_gateway_id",
    "tgw-": "transit_gateway_id",
}


def route_target(target: Any) -> dict[str, str]:
    """The CreateRoute/ReplaceRoute keyword for a route target (an object or an id), by its id prefix.

    Raises:
        ParameterError: if the target's kind cannot be told from its id.
    """
    from ..errors import ParameterError

    tid = str(target)
    for prefix, key in _TARGETS.items():
        if tid.startswith(prefix):
            return {key: tid}
    raise ParameterError(f"route target {tid!r}: expected a gateway, instance, ENI, peering or NAT id")


@register_class("ec2", "Vpc")
class Vpc(Resource):
    """A virtual private cloud (VM::EC2::VPC)."""

    status_field = "State"
    #: VM::EC2's name for :meth:`current_status`.
    current_state = Resource.current_status

    @guarded
    def create_subnet(self, cidr_block: str, availability_zone: str | None = None, **kwargs: Any) -> Any:
        """Create a subnet of this VPC (``vpc.create_subnet("10.0.0.0/24", "us-east-1a")``)."""
        return self._facade().call(
            "ec2",
            "CreateSubnet",
            vpc_id=self,
            cidr_block=cidr_block,
            availability_zone=availability_zone,
            **kwargs,
        )

    @guarded
    def create_internet_gateway(self) -> Any:
        """Create an internet gateway and attach it to this VPC; the gateway is deleted if attaching fails."""
        gateway = self._facade().call("ec2", "CreateInternetGateway")
        try:
            self._facade().call("ec2", "AttachInternetGateway", gateway, self)
        except Exception:
            self._facade().call("ec2", "DeleteInternetGateway", gateway)
            raise
        log.info("vpc.gateway_attached", vpc=str(self), gateway=str(gateway))
        gateway.refresh()
        return gateway

    @guarded
    def attach_internet_gateway(self, gateway: Any) -> bool:
        """Attach an existing gateway (object or id) to this VPC."""
        return bool(self._facade().call("ec2", "AttachInternetGateway", gateway, self))

    @guarded
    def detach_internet_gateway(self, gateway: Any = None) -> bool:
        """Detach ``gateway`` (default: the first one attached) from this VPC."""
        gateway = gateway or self._first_gateway()
        return bool(self._facade().call("ec2", "DetachInternetGateway", gateway, self))

    @guarded
    def delete_internet_gateway(self, gateway: Any = None) -> bool:
        """Detach ``gateway`` (default: the first one attached), then delete it."""
        gateway = gateway or self._first_gateway()
        self._facade().call("ec2", "DetachInternetGateway", gateway, self)
        return bool(self._facade().call("ec2", "DeleteInternetGateway", gateway))

    def _first_gateway(self) -> Any:
        from ..errors import NotFoundError

        gateways = self.internet_gateways()
        if not gateways:
            raise NotFoundError("Gateway.NotAttached", f"no internet gateway is attached to {self}")
        return gateways[0]

    @guarded(empty=list)
    def internet_gateways(self) -> list[Any]:
        """The internet gateways attached to this VPC (an API call)."""
        return list(self._facade().call("ec2", "DescribeInternetGateways", {"attachment.vpc-id": str(self)}))

    @guarded(empty=list)
    def subnets(self) -> list[Any]:
        """This VPC's subnets (an API call)."""
        return list(self._facade().call("ec2", "DescribeSubnets", {"vpc-id": str(self)}))

    @guarded(empty=list)
    def route_tables(self) -> list[Any]:
        """This VPC's route tables, the main one included (an API call)."""
        return list(self._facade().call("ec2", "DescribeRouteTables", {"vpc-id": str(self)}))

    @guarded(empty=list)
    def network_acls(self) -> list[Any]:
        """This VPC's network ACLs, the default one included (an API call)."""
        return list(self._facade().call("ec2", "DescribeNetworkAcls", {"vpc-id": str(self)}))

    @guarded
    def dhcp_options(self) -> Any:
        """The DHCP option set in use (an API call); None for ``default``."""
        options_id = self.field("DhcpOptionsId")
        if not options_id or options_id == "default":
            return None
        found = self._facade().call("ec2", "DescribeDhcpOptions", options_id)
        return found[0] if found else None

    @guarded
    def set_dhcp_options(self, options: Any = "default") -> bool:
        """Use a DHCP option set (object or id), or ``"default"`` for none."""
        return bool(self._facade().call("ec2", "AssociateDhcpOptions", dhcp_options_id=options, vpc_id=self))

    @guarded
    def delete(self) -> bool:
        """Delete the VPC (its subnets, gateways and non-main route tables must be gone)."""
        return bool(self._facade().call("ec2", "DeleteVpc", self))


@register_class("ec2", "Subnet")
class Subnet(Resource):
    """A VPC subnet (VM::EC2::VPC::Subnet)."""

    status_field = "State"
    #: VM::EC2's name for :meth:`current_status`.
    current_state = Resource.current_status

    @guarded
    def vpc(self) -> Any:
        """The subnet's VPC (an API call)."""
        return self._facade().call("ec2", "DescribeVpcs", self.field("VpcId"))[0]

    @guarded
    def zone(self) -> Any:
        """The subnet's availability zone object (an API call)."""
        return self._facade().call("ec2", "DescribeAvailabilityZones", self.field("AvailabilityZone"))[0]

    @guarded
    def create_route_table(self) -> RouteTable:
        """Create a route table in the subnet's VPC and associate it with this subnet."""
        table: RouteTable = self._facade().call("ec2", "CreateRouteTable", vpc_id=self.field("VpcId"))
        self._facade().call("ec2", "AssociateRouteTable", table, self)
        table.refresh()
        return table

    @guarded
    def associate_route_table(self, table: Any) -> str:
        """Associate a route table (object or id) with this subnet; returns the association id."""
        return str(self._facade().call("ec2", "AssociateRouteTable", table, self))

    @guarded
    def disassociate_route_table(self, table: Any = None) -> bool:
        """Remove this subnet's explicit route table association (the subnet falls back to the main table)."""
        filters = {"association.subnet-id": str(self)}
        if table is not None:
            filters["route-table-id"] = str(table)
        for found in self._facade().call("ec2", "DescribeRouteTables", filters):
            for assoc in found.field("Associations") or ():
                if assoc.field("SubnetId") == str(self):
                    return bool(
                        self._facade().call("ec2", "DisassociateRouteTable", assoc.RouteTableAssociationId)
                    )
        return False

    @guarded
    def network_acl(self) -> Any:
        """The network ACL this subnet uses (an API call)."""
        return self._facade().call("ec2", "DescribeNetworkAcls", {"association.subnet-id": str(self)})[0]

    @guarded
    def associate_network_acl(self, acl: Any) -> str:
        """Make this subnet use network ACL ``acl``; returns the new association id."""
        current = self.network_acl()
        for assoc in current.field("Associations") or ():
            if assoc.field("SubnetId") == str(self):
                return str(
                    self._facade().call(
                        "ec2",
                        "ReplaceNetworkAclAssociation",
                        association_id=assoc.NetworkAclAssociationId,
                        network_acl_id=acl,
                    )
                )
        from ..errors import NotFoundError

        raise NotFoundError("InvalidAssociationID.NotFound", f"{self} has no network ACL association")

    @guarded
    def disassociate_network_acl(self) -> str:
        """Move this subnet back to its VPC's default network ACL; returns the new association id."""
        default = self._facade().call(
            "ec2", "DescribeNetworkAcls", {"vpc-id": self.field("VpcId"), "default": "true"}
        )[0]
        return str(self.associate_network_acl(default))

    @guarded
    def delete(self) -> bool:
        """Delete the subnet."""
        return bool(self._facade().call("ec2", "DeleteSubnet", self))


@register_class("ec2", "InternetGateway")
class InternetGateway(EC2Object):
    """An internet gateway (VM::EC2::VPC::InternetGateway)."""

    @guarded
    def attach(self, vpc: Any) -> bool:
        """Attach the gateway to ``vpc`` and refresh this object."""
        self._facade().call("ec2", "AttachInternetGateway", self, vpc)
        return self.refresh()

    @guarded
    def detach(self, vpc: Any = None) -> bool:
        """Detach the gateway from ``vpc`` (default: the VPC it is attached to) and refresh this object."""
        if vpc is None:
            attached = [a.VpcId for a in self.field("Attachments") or ()]
            if not attached:
                from ..errors import AWSError

                raise AWSError("Gateway.NotAttached", f"{self} is not attached to a VPC")
            vpc = attached[0]
        self._facade().call("ec2", "DetachInternetGateway", self, vpc)
        return self.refresh()

    @guarded
    def delete(self) -> bool:
        """Delete the gateway (it must be detached)."""
        return bool(self._facade().call("ec2", "DeleteInternetGateway", self))


@register_class("ec2", "Route")
class Route(EC2Object):
    """One route of a route table; prints as its destination CIDR."""

    primary_field = "DestinationCidrBlock"

    @property
    def target(self) -> str | None:
        """The target's id: gateway, instance, ENI, peering connection or NAT gateway (no API call)."""
        for member in (
            "GatewayId",
            "InstanceId",
            "NetworkInterfaceId",
            "VpcPeeringConnectionId",
            "NatGatewayId",
        ):
            if self._data.get(member):
                return str(self._data[member])
        return None


@register_class("ec2", "RouteTable")
class RouteTable(EC2Object):
    """A route table (VM::EC2::VPC::RouteTable)."""

    @property
    def main(self) -> bool:
        """Whether this is its VPC's main route table (from the snapshot)."""
        return any(a.field("Main") for a in self.field("Associations") or ())

    @guarded
    def vpc(self) -> Any:
        """The table's VPC (an API call)."""
        return self._facade().call("ec2", "DescribeVpcs", self.field("VpcId"))[0]

    @guarded
    def create_route(self, destination: str, target: Any, **kwargs: Any) -> bool:
        """Add a route to ``destination`` (CIDR) via ``target`` (gateway, instance, ENI, peering, NAT)."""
        return bool(
            self._facade().call(
                "ec2",
                "CreateRoute",
                route_table_id=self,
                destination_cidr_block=destination,
                **route_target(target),
                **kwargs,
            )
        )

    @guarded
    def replace_route(self, destination: str, target: Any, **kwargs: Any) -> bool:
        """Point the route to ``destination`` at a new ``target``."""
        return bool(
            self._facade().call(
                "ec2",
                "ReplaceRoute",
                route_table_id=self,
                destination_cidr_block=destination,
                **route_target(target),
                **kwargs,
            )
        )

    @guarded
    def delete_route(self, destination: str) -> bool:
        """Remove the route to ``destination``."""
        return bool(
            self._facade().call("ec2", "DeleteRoute", route_table_id=self, destination_cidr_block=destination)
        )

    @guarded
    def associate(self, subnet: Any) -> str:
        """Associate this table with ``subnet``; returns the association id."""
        return str(self._facade().call("ec2", "AssociateRouteTable", self, subnet))

    @guarded
    def disassociate(self, subnet: Any) -> bool:
        """Remove this table's association with ``subnet`` (as of this snapshot).

        Raises:
            NotFoundError: if the snapshot shows no association with that subnet.
        """
        for assoc in self.field("Associations") or ():
            if assoc.field("SubnetId") == str(subnet):
                return bool(
                    self._facade().call("ec2", "DisassociateRouteTable", assoc.RouteTableAssociationId)
                )
        from ..errors import NotFoundError

        raise NotFoundError("InvalidAssociationID.NotFound", f"{self} is not associated with {subnet}")

    @guarded
    def delete(self) -> bool:
        """Delete the route table (it must have no subnet associations)."""
        return bool(self._facade().call("ec2", "DeleteRouteTable", self))
