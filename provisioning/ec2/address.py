"""Elastic IP addresses (VM::EC2::ElasticAddress): allocate, associate, disassociate, release."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..dispatch import dispatch
from ..objects import register_class
from ._base import EC2Object, rewrap, vmec2_method

if TYPE_CHECKING:
    from .instance import Instance

__all__ = ["ElasticAddress"]


@register_class("ec2", "Address")
class ElasticAddress(EC2Object):
    """An elastic IP address; ``str(address)`` is the public IP, as in VM::EC2.

    VPC addresses are handled through their allocation and association ids, as AWS requires; classic ones
    through the public IP.
    """

    primary_field = "PublicIp"
    describe = ("ec2", "DescribeAddresses", "PublicIps")

    def _key(self) -> dict[str, str]:
        alloc = self.field("AllocationId")
        return {"allocation_id": str(alloc)} if alloc else {"public_ip": str(self)}

    @vmec2_method()
    def associate(self, instance: Instance | str) -> str | None:
        """Associate the address with an instance (object or id); returns the association id."""
        association = self._facade().call("ec2", "AssociateAddress", instance_id=instance, **self._key())
        self.refresh()
        return str(association)

    @vmec2_method(default=False)
    def disassociate(self) -> bool:
        """Disassociate the address from its instance (DisassociateAddress), then re-read it."""
        assoc = self.field("AssociationId")
        key = {"association_id": str(assoc)} if assoc else {"public_ip": str(self)}
        done = bool(self._facade().call("ec2", "DisassociateAddress", **key))
        self.refresh()
        return done

    @vmec2_method(default=False)
    def release(self) -> bool:
        """Give the address back (ReleaseAddress)."""
        return bool(self._facade().call("ec2", "ReleaseAddress", **self._key()))


dispatch.register("AllocateAddress", rewrap("Address"))
