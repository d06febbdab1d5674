"""Reserved instances and their offerings (VM::EC2::ReservedInstance[::Offering])."""

from __future__ import annotations

from ..objects import register_class
from ._base import EC2Object, Resource, vmec2_method

__all__ = ["ReservedInstance", "ReservedInstancesOffering"]


@register_class("ec2", "ReservedInstancesOffering")
class ReservedInstancesOffering(EC2Object):
    """An offering from DescribeReservedInstancesOfferings; :meth:`purchase` buys it."""

    @vmec2_method()
    def purchase(self, count: int = 1) -> str | None:
        """Buy ``count`` reserved instances of this offering (PurchaseReservedInstancesOffering).

        Returns:
            The reserved instances' id (``ec2.describe_reserved_instances(id)`` describes them).
        """
        facade = self._facade()
        return str(facade.call("ec2", "PurchaseReservedInstancesOffering", id=self, count=count))


@register_class("ec2", "ReservedInstances")
class ReservedInstance(Resource):
    """Purchased reserved instances; ``current_status()`` is payment-pending, active or retired."""

    status_field = "State"
    kind = "reserved"
