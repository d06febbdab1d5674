"""DHCP option sets, customer gateways, VPN gateways and VPN connections (VM::EC2::VPC::*)."""

from __future__ import annotations

from typing import Any

from ..objects import register_class
from ._base import EC2Object, guarded

__all__ = ["CustomerGateway", "DhcpOptions", "VpnConnection", "VpnGateway"]


@register_class("ec2", "DhcpOptions")
class DhcpOptions(EC2Object):
    """A DHCP option set."""

    def options(self) -> dict[str, list[str]]:
        """``{key: [values]}`` of the set (``{"domain-name": ["example.com"], ...}``), from the snapshot."""
        return {
            c["Key"]: [v.get("Value", "") for v in c.get("Values", ())]
            for c in self._data.get("DhcpConfigurations", ())
        }

    def option(self, key: str) -> list[str]:
        """The values of one option (``[]`` if the set has none)."""
        return self.options().get(key, [])

    @guarded
    def associate_vpc(self, vpc: Any) -> bool:
        """Make ``vpc`` use this option set."""
        return bool(self._facade().call("ec2", "AssociateDhcpOptions", dhcp_options_id=self, vpc_id=vpc))

    @guarded(empty=list)
    def associated_vpcs(self) -> list[Any]:
        """The VPCs using this option set (an API call)."""
        return list(self._facade().call("ec2", "DescribeVpcs", {"dhcp-options-id": str(self)}))

    @guarded
    def delete(self) -> bool:
        """Delete the option set (no VPC may use it)."""
        return bool(self._facade().call("ec2", "DeleteDhcpOptions", self))


@register_class("ec2", "CustomerGateway")
class CustomerGateway(EC2Object):
    """Your side of a VPN connection."""

    @guarded
    def delete(self) -> bool:
        """Delete the customer gateway."""
        return bool(self._facade().call("ec2", "DeleteCustomerGateway", self))


@register_class("ec2", "VpnGateway")
class VpnGateway(EC2Object):
    """The AWS side of a VPN connection (virtual private gateway)."""

    @guarded
    def attach(self, vpc: Any) -> str:
        """Attach the gateway to ``vpc``; returns the attachment state."""
        attachment = self._facade().call("ec2", "AttachVpnGateway", vpn_gateway_id=self, vpc_id=vpc)
        return str(attachment.State)

    @guarded
    def detach(self, vpc: Any) -> bool:
        """Detach the gateway from ``vpc``."""
        return bool(self._facade().call("ec2", "DetachVpnGateway", vpn_gateway_id=self, vpc_id=vpc))

    @guarded
    def delete(self) -> bool:
        """Delete the gateway (it must be detached)."""
        return bool(self._facade().call("ec2", "DeleteVpnGateway", self))


@register_class("ec2", "VpnConnection")
class VpnConnection(EC2Object):
    """A VPN connection between a customer gateway and a VPN gateway."""

    @guarded
    def vpn_gateway(self) -> Any:
        """The connection's VPN gateway (an API call)."""
        return self._facade().call("ec2", "DescribeVpnGateways", self.field("VpnGatewayId"))[0]

    @guarded
    def customer_gateway(self) -> Any:
        """The connection's customer gateway (an API call)."""
        return self._facade().call("ec2", "DescribeCustomerGateways", self.field("CustomerGatewayId"))[0]

    @guarded
    def create_route(self, destination: str) -> bool:
        """Add a static route to ``destination`` (CIDR) over this connection."""
        return bool(
            self._facade().call(
                "ec2", "CreateVpnConnectionRoute", vpn_connection_id=self, destination_cidr_block=destination
            )
        )

    @guarded
    def delete_route(self, destination: str) -> bool:
        """Remove the static route to ``destination``."""
        return bool(
            self._facade().call(
                "ec2", "DeleteVpnConnectionRoute", vpn_connection_id=self, destination_cidr_block=destination
            )
        )

    @guarded
    def delete(self) -> bool:
        """Delete the VPN connection."""
        return bool(self._facade().call("ec2", "DeleteVpnConnection", self))
