"""Placement groups (VM::EC2::PlacementGroup)."""

from __future__ import annotations

from ..objects import register_class
from ._base import Action, Resource

__all__ = ["PlacementGroup"]


@register_class("ec2", "PlacementGroup")
class PlacementGroup(Resource):
    """A placement group; ``str(group)`` is its name, as in VM::EC2; ``current_status()`` its state."""

    primary_field = "GroupName"
    status_field = "State"
    kind = "placement"
    describe = ("ec2", "DescribePlacementGroups", "GroupNames")

    delete = Action("DeletePlacementGroup", "Delete the group (DeletePlacementGroup).", member="GroupName")
