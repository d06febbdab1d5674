"""EBS volumes and their attachments (VM::EC2::Volume, VM::EC2::BlockDevice::Attachment)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError
from ..objects import AWSObject, register_class
from ..waiting import Poll, member_id
from ._base import Action, Resource, Setting, vmec2_method

if TYPE_CHECKING:
    from .instance import Instance
    from .snapshot import Snapshot

__all__ = ["Attachment", "Volume", "set_delete_on_termination"]


@register_class("ec2", "Volume")
class Volume(Resource):
    """An EBS volume: ``vol.zone`` (``availabilityZone``) and ``vol.size`` are fields, ``str(vol)`` its id."""

    status_field = "State"
    kind = "volume"
    poll = Poll("DescribeVolumes", "volume-id")
    failed_states = frozenset({"error"})
    gone_state = "deleted"

    delete = Action("DeleteVolume", "Delete the volume (DeleteVolume); it must not be attached.")

    @property
    def zone(self) -> str:
        """The volume's availability zone name."""
        return str(self.field("AvailabilityZone"))

    @property
    def attachment(self) -> Attachment | None:
        """The first attachment recorded in this snapshot (None when unattached)."""
        attachments = self.field("Attachments") or []
        return attachments[0] if attachments else None  # type: ignore[no-any-return]

    @property
    def delete_on_termination(self) -> Setting:
        """Whether the volume goes with its instance (VM::EC2 re-read the volume: this makes one call);
        ``vol.deleteOnTermination(True)`` changes it (ModifyInstanceAttribute).

        Raises:
            NotFoundError: the volume is not attached.
        """
        self.refresh()
        current = self.attachment
        if current is None:
            raise NotFoundError("IncorrectState", f"{self} is not attached", operation="deleteOnTermination")
        return current.delete_on_termination

    deleteOnTermination = delete_on_termination

    @vmec2_method()
    def create_snapshot(self, description: str | None = None, **kwargs: Any) -> Snapshot | None:
        """Snapshot the volume (CreateSnapshot); returns the new snapshot."""
        facade = self._facade()
        snapshot: Snapshot = facade.call("ec2", "CreateSnapshot", self, description=description, **kwargs)
        return snapshot

    #: VM::EC2::Staging's spelling, used in VM::EC2's SYNOPSIS.
    snapshot = create_snapshot

    @vmec2_method()
    def from_snapshot(self) -> Snapshot | None:
        """The snapshot the volume was made from (DescribeSnapshots), or None."""
        if not self.field("SnapshotId"):
            return None
        found = self._facade().call("ec2", "DescribeSnapshots", Filters={"snapshot-id": str(self.SnapshotId)})
        return found[0] if found else None

    @vmec2_method(default=[])
    def to_snapshots(self) -> list[Snapshot]:
        """The snapshots taken of this volume (DescribeSnapshots)."""
        found: list[Snapshot] = self._facade().call(
            "ec2", "DescribeSnapshots", Filters={"volume-id": str(self)}
        )
        return found

    @vmec2_method()
    def attach(self, instance: Instance | str, device: str, **kwargs: Any) -> Attachment | None:
        """Attach the volume to an instance (object or id) at ``device`` (AttachVolume)."""
        attachment: Attachment = self._facade().call("ec2", "AttachVolume", self, instance, device, **kwargs)
        return attachment

    @vmec2_method()
    def detach(self, *, force: bool = False) -> Attachment | None:
        """Detach the volume from the instance it is attached to (DetachVolume).

        The instance is taken from this snapshot's attachment (``refresh()`` first if it may be stale).

        Raises:
            NotFoundError: the volume is not attached, as far as this snapshot knows.
        """
        current = self.attachment
        if current is None:
            raise NotFoundError("IncorrectState", f"{self} is not attached", operation="DetachVolume")
        attachment: Attachment = self._facade().call(
            "ec2", "DetachVolume", self, current.InstanceId, force=force or None
        )
        return attachment


def set_delete_on_termination(obj: AWSObject, instance: Any, device: Any, volume: Any, flag: Any) -> bool:
    """Change an attached volume's delete-on-termination flag (ModifyInstanceAttribute), VM::EC2's way:
    the block-device string ``DEVICE=VOLUME:true|false``."""
    assert obj.ec2 is not None, "object is not bound to a façade"
    spec = f"{device}={volume}:{'true' if flag and flag not in ('false', '0') else 'false'}"
    return bool(obj.ec2.call("ec2", "ModifyInstanceAttribute", instance_id=str(instance), block_devices=spec))


def _attachment_state(waited: AWSObject, volume: AWSObject) -> str:
    """The state of ``waited``'s attachment in a fresh volume description (``detached`` when absent)."""
    for att in volume.field("Attachments") or []:
        if att.InstanceId == waited.InstanceId:
            return str(att.State)
    return "detached"


def _adopt_attachment(waited: AWSObject, volume: AWSObject) -> None:
    """Bring an attachment up to date from a fresh volume description (``detached`` once it is gone)."""
    for att in volume.field("Attachments") or []:
        if att.InstanceId == waited.InstanceId:
            waited._replace(att._data, waited._parent)
            return
    waited._replace({**waited._data, "State": "detached"}, waited._parent)


@register_class("ec2", "VolumeAttachment")
class Attachment(Resource):
    """A volume's attachment to an instance; prints as ``vol-...=>i-...``; its id is the volume's."""

    status_field = "State"
    kind = "attachment"
    poll = Poll(
        "DescribeVolumes",
        "volume-id",
        key=member_id("VolumeId"),
        state=_attachment_state,
        update=_adopt_attachment,
    )
    gone_state = "detached"

    def __vmec2_id__(self) -> str | None:
        volume = self._data.get("VolumeId")
        return None if volume is None else str(volume)

    def __str__(self) -> str:
        return f"{self._data.get('VolumeId')}=>{self._data.get('InstanceId')}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Attachment):
            return NotImplemented
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash((Attachment, str(self)))

    @property
    def delete_on_termination(self) -> Setting:
        """Whether the volume goes with the instance; ``a.deleteOnTermination(True)`` changes it
        (ModifyInstanceAttribute) and re-reads the attachment.

        Read from this snapshot when the answer carried it; else, as VM::EC2 always did, from the
        instance's block device mapping (one DescribeInstances call).
        """
        flag = self.field("DeleteOnTermination")
        if flag is None:
            instance = self.instance()
            devices = instance.field("BlockDeviceMappings") or [] if instance is not None else []
            flag = next((d.delete_on_termination.value for d in devices if d == self.Device), None)
        return Setting(bool(flag), self._set_delete_on_termination)

    deleteOnTermination = delete_on_termination

    #: The instance object that made this attachment (``instance.attach_volume``), re-read on changes.
    _known_instance: Instance | None = None

    @vmec2_method(default=False)
    def _set_delete_on_termination(self, flag: Any) -> bool:
        done = set_delete_on_termination(self, self.InstanceId, self.Device, self.VolumeId, flag)
        self.refresh()
        if self._known_instance is not None:
            self._known_instance.refresh()
        return done

    @vmec2_method()
    def current_status(self) -> str | None:
        """The attachment's state now: attaching, attached, detaching or detached (DescribeVolumes)."""
        volumes = self._facade().call("ec2", "DescribeVolumes", str(self.VolumeId))
        return _attachment_state(self, volumes[0]) if volumes else "detached"

    def refresh(self) -> bool:
        """Re-read the attachment from its volume (DescribeVolumes); False once it is gone."""
        volumes = self._facade().call("ec2", "DescribeVolumes", str(self.VolumeId))
        for att in volumes[0].field("Attachments") or [] if volumes else []:
            if att.InstanceId == self.InstanceId:
                self._data, self._cache = att._data, {}
                return True
        return False

    @vmec2_method()
    def volume(self) -> Volume | None:
        """The attached volume (DescribeVolumes)."""
        found = self._facade().call("ec2", "DescribeVolumes", str(self.VolumeId))
        return found[0] if found else None

    @vmec2_method()
    def instance(self) -> Instance | None:
        """The instance the volume is attached to (DescribeInstances)."""
        found = self._facade().call("ec2", "DescribeInstances", str(self.InstanceId))
        return found[0] if found else None
