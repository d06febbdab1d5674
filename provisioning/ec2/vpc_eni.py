"""Elastic network interfaces (VM::EC2::NetworkInterface).

VM::EC2's attribute getters (``description``, ``source_dest_check``...) called the API; here they read the
snapshot like every other field, and changes go through explicit ``set_*`` methods that return True.
"""

from __future__ import annotations

from typing import Any

from ..objects import register_class
from ._base import EC2Object, guarded

__all__ = ["NetworkInterface", "NetworkInterfaceAttachment"]


@register_class("ec2", "NetworkInterfaceAttachment")
class NetworkInterfaceAttachment(EC2Object):
    """An ENI's attachment to an instance; prints as its attachment id."""

    primary_field = "AttachmentId"

    @property
    def device(self) -> str:
        """The interface name the instance sees, ``eth<DeviceIndex>``."""
        return f"eth{self._data.get('DeviceIndex', 0)}"

    @guarded
    def instance(self) -> Any:
        """The instance the interface is attached to (an API call)."""
        found = self._facade().call("ec2", "DescribeInstances", self.field("InstanceId"))
        return found[0] if found else None


@register_class("ec2", "NetworkInterface")
class NetworkInterface(EC2Object):
    """An elastic network interface."""

    @guarded
    def current_status(self) -> str | None:
        """Re-describe the interface (an API call) and return its status (``available``, ``in-use``...)."""
        self._refresh_or_raise()
        status = self.field("Status")
        return None if status is None else str(status)

    @guarded
    def attach(self, instance: Any, device_index: int = 1) -> str:
        """Attach the interface to ``instance`` as ``eth<device_index>``; returns the attachment id."""
        return str(self._facade().call("ec2", "AttachNetworkInterface", self, instance, device_index))

    @guarded
    def detach(self, force: bool = False) -> bool:
        """Detach the interface from its instance (as of this snapshot).

        Raises:
            AWSError: ``InvalidAttachmentID.NotFound`` when the snapshot shows no attachment.
        """
        attachment = self._data.get("Attachment") or {}
        if not attachment.get("AttachmentId"):
            from ..errors import NotFoundError

            raise NotFoundError("InvalidAttachmentID.NotFound", f"{self} is not attached")
        return bool(self._facade().call("ec2", "DetachNetworkInterface", attachment["AttachmentId"], force))

    @guarded
    def assign_private_ip_addresses(self, *addresses: str, count: int | None = None, **kwargs: Any) -> bool:
        """Add secondary private addresses: the given ones, or ``count`` picked by AWS."""
        self._facade().call(
            "ec2",
            "AssignPrivateIpAddresses",
            network_interface_id=self,
            private_ip_addresses=list(addresses) or None,
            secondary_private_ip_address_count=count,
            **kwargs,
        )
        return True

    @guarded
    def unassign_private_ip_addresses(self, *addresses: str) -> bool:
        """Remove secondary private addresses."""
        return bool(
            self._facade().call(
                "ec2",
                "UnassignPrivateIpAddresses",
                network_interface_id=self,
                private_ip_addresses=list(addresses),
            )
        )

    @guarded
    def set_description(self, description: str) -> bool:
        """Change the interface's description."""
        return bool(
            self._facade().call("ec2", "ModifyNetworkInterfaceAttribute", self, description=description)
        )

    @guarded
    def set_source_dest_check(self, enabled: bool) -> bool:
        """Turn source/destination checking on or off (off for NAT instances)."""
        return bool(
            self._facade().call("ec2", "ModifyNetworkInterfaceAttribute", self, source_dest_check=enabled)
        )

    @guarded
    def set_security_groups(self, *groups: Any) -> bool:
        """Replace the interface's security groups (objects or ids)."""
        return bool(self._facade().call("ec2", "ModifyNetworkInterfaceAttribute", self, groups=list(groups)))

    @guarded
    def reset_attributes(self) -> bool:
        """Reset source/destination checking to its default (on)."""
        return bool(
            self._facade().call(
                "ec2", "ResetNetworkInterfaceAttribute", self, source_dest_check="sourceDestCheck"
            )
        )

    @guarded
    def subnet(self) -> Any:
        """The interface's subnet (an API call)."""
        return self._facade().call("ec2", "DescribeSubnets", self.field("SubnetId"))[0]

    @guarded
    def vpc(self) -> Any:
        """The interface's VPC (an API call)."""
        return self._facade().call("ec2", "DescribeVpcs", self.field("VpcId"))[0]

    @guarded
    def delete(self) -> bool:
        """Delete the interface (it must be detached)."""
        return bool(self._facade().call("ec2", "DeleteNetworkInterface", self))
