"""Spot instance requests (VM::EC2::Spot::InstanceRequest)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import NotFoundError
from ..objects import register_class
from ..waiting import Poll
from ._base import Action, Resource, vmec2_method

if TYPE_CHECKING:
    from .instance import Instance

__all__ = ["SpotInstanceRequest"]


@register_class("ec2", "SpotInstanceRequest")
class SpotInstanceRequest(Resource):
    """A spot request. ``state`` is open, active, closed, cancelled or failed; ``status.code`` says why."""

    status_field = "State"
    kind = "spot"
    poll = Poll("DescribeSpotInstanceRequests", "spot-instance-request-id")
    failed_states = frozenset({"failed"})

    cancel = Action(
        "CancelSpotInstanceRequests", "Cancel the request (CancelSpotInstanceRequests).", default=None
    )

    @vmec2_method()
    def current_state(self) -> str | None:
        """The request's state now (DescribeSpotInstanceRequests): open, active, closed, cancelled, failed."""
        if not self.refresh():
            raise NotFoundError(
                "InvalidSpotInstanceRequestID.NotFound", f"{self} does not exist", operation=""
            )
        return self.recorded_status()

    @vmec2_method()
    def current_status(self) -> str | None:
        """The request's status code now (DescribeSpotInstanceRequests), e.g. ``fulfilled``, as VM::EC2."""
        if not self.refresh():
            raise NotFoundError(
                "InvalidSpotInstanceRequestID.NotFound", f"{self} does not exist", operation=""
            )
        status = self.field("Status")
        return None if status is None else str(status.Code)

    @vmec2_method()
    def instance(self) -> Instance | None:
        """The instance launched for the request (DescribeInstances), or None while there is none."""
        if not self.field("InstanceId"):
            return None
        found = self._facade().call("ec2", "DescribeInstances", str(self.InstanceId))
        return found[0] if found else None
