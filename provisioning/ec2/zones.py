"""Regions, availability zones and tags (VM::EC2::Region, ::AvailabilityZone, ::Tag)."""

from __future__ import annotations

from typing import Any

from ..objects import register_class
from ._base import EC2Object, vmec2_method

__all__ = ["AvailabilityZone", "Region", "Tag"]


@register_class("ec2", "Region")
class Region(EC2Object):
    """A region; ``str(region)`` is its name (``eu-west-1``), ``region.regionEndpoint`` its endpoint."""

    primary_field = "RegionName"

    @vmec2_method(default=[])
    def zones(self) -> list[AvailabilityZone]:
        """The region's availability zones (DescribeAvailabilityZones, asked of the region itself)."""
        facade = self._facade()
        here = facade if facade.region == str(self) else facade.clone(region=str(self))
        zones: list[AvailabilityZone] = here.call("ec2", "DescribeAvailabilityZones")
        return zones


@register_class("ec2", "AvailabilityZone")
class AvailabilityZone(EC2Object):
    """An availability zone; ``str(zone)`` is its name (``us-east-1a``), ``zone.zoneState`` its state."""

    primary_field = "ZoneName"
    describe = ("ec2", "DescribeAvailabilityZones", "ZoneNames")

    @property
    def messages(self) -> list[str]:
        """The zone's status messages."""
        return [str(m.Message) for m in self.field("Messages") or []]

    @vmec2_method()
    def region(self) -> Region | None:
        """The zone's region (DescribeRegions)."""
        found = self._facade().call("ec2", "DescribeRegions", str(self.RegionName))
        return found[0] if found else None


@register_class("ec2", "TagDescription")
class Tag(EC2Object):
    """One tag as DescribeTags lists it: ``resource_id``, ``resource_type``, ``key``, ``value``.

    Prints as ``key=value``; two tags are equal when they name the same key of the same resource.
    """

    def __vmec2_id__(self) -> str | None:
        return f"{self._data.get('ResourceId')}/{self._data.get('Key')}"

    def __str__(self) -> str:
        return f"{self._data.get('Key')}={self._data.get('Value', '')}"

    def __repr__(self) -> str:
        return f"<Tag {self._data.get('ResourceId')} {self}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tag):
            return NotImplemented
        return self.__vmec2_id__() == other.__vmec2_id__()

    def __hash__(self) -> int:
        return hash((Tag, self.__vmec2_id__()))

    @vmec2_method(default=False)
    def delete(self) -> bool:
        """Remove this tag from its resource (DeleteTags, only if the value is unchanged)."""
        spec: dict[str, Any] = {str(self.Key): self.Value}
        return bool(self._facade().call("ec2", "DeleteTags", [str(self.ResourceId)], tags=spec))
