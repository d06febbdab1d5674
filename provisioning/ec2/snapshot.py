"""EBS snapshots: volumes and images from them, cross-region copies, sharing (VM::EC2::Snapshot)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._log import get_logger
from ..objects import register_class
from ..waiting import Poll, describe_created
from ._base import Action, Resource, vmec2_method

if TYPE_CHECKING:
    from .image import Image
    from .volume import Volume

__all__ = ["Snapshot"]

log = get_logger(__name__)


@register_class("ec2", "Snapshot")
class Snapshot(Resource):
    """An EBS snapshot; ``snap.progress`` (``"100%"``) and ``snap.volumeSize`` are fields."""

    status_field = "State"
    kind = "snapshot"
    poll = Poll("DescribeSnapshots", "snapshot-id")
    failed_states = frozenset({"error"})
    gone_state = "deleted"

    delete = Action("DeleteSnapshot", "Delete the snapshot (DeleteSnapshot).")
    reset_authorized_users = Action(
        "ResetSnapshotAttribute",
        "Make the snapshot private to its owner again (ResetSnapshotAttribute createVolumePermission).",
        fixed={"attribute": "createVolumePermission"},
    )

    @property
    def size(self) -> int:
        """The size in GiB of the volume it was taken from (VM::EC2's alias of ``volumeSize``)."""
        return int(self.field("VolumeSize") or 0)

    @vmec2_method()
    def create_volume(self, zone: str, size: int | None = None, **kwargs: Any) -> Volume | None:
        """A new volume from the snapshot in ``zone`` (CreateVolume); size in GiB, default the snapshot's."""
        facade = self._facade()
        volume: Volume = facade.call("ec2", "CreateVolume", zone, size=size, snapshot_id=self, **kwargs)
        return volume

    @vmec2_method()
    def from_volume(self) -> Volume | None:
        """The volume the snapshot was taken of (DescribeVolumes), or None once it is gone."""
        found = self._facade().call("ec2", "DescribeVolumes", Filters={"volume-id": str(self.VolumeId)})
        return found[0] if found else None

    @vmec2_method(default=[])
    def to_volumes(self) -> list[Volume]:
        """The volumes made from this snapshot (DescribeVolumes)."""
        found: list[Volume] = self._facade().call(
            "ec2", "DescribeVolumes", Filters={"snapshot-id": str(self)}
        )
        return found

    @vmec2_method()
    def copy(
        self, region: str | None = None, description: str | None = None, *, wait: bool = False, **kwargs: Any
    ) -> Snapshot | None:
        """Copy the snapshot into ``region`` (default: this one) and return the copy (CopySnapshot).

        The call goes to the destination region's endpoint, as AWS requires. With ``wait=True`` it returns
        once the copy is completed.
        """
        source = self._facade()
        dest = source if region in (None, source.region) else source.clone(region=region)
        new_id = dest.call(
            "ec2",
            "CopySnapshot",
            source_region=source.region,
            source_snapshot_id=self,
            description=description,
            **kwargs,
        )
        log.info("snapshot.copy", snapshot=str(self), copy=str(new_id), region=dest.region)
        copy: Snapshot = describe_created(dest, "DescribeSnapshots", new_id)
        if wait:
            source.wait_for_snapshots(copy, state="completed")  # our timeout and clock, polled in dest
        return copy

    @vmec2_method()
    def register_image(
        self,
        name: str,
        *,
        root_device_name: str = "/dev/sda1",
        root_size: int | None = None,
        delete_on_termination: bool = True,
        block_devices: list[Any] | None = None,
        **kwargs: Any,
    ) -> Image | None:
        """Register an EBS-backed image whose root device is this snapshot (RegisterImage, DescribeImages).

        ``block_devices`` lists more devices (VM::EC2 strings or dicts); the root one is added first.
        Other RegisterImage arguments (``architecture=``, ``description=``...) pass through.
        """
        ebs: dict[str, Any] = {"SnapshotId": str(self), "DeleteOnTermination": delete_on_termination}
        if root_size is not None:
            ebs["VolumeSize"] = root_size
        devices = [{"DeviceName": root_device_name, "Ebs": ebs}, *(block_devices or [])]
        facade = self._facade()
        image_id = facade.call(
            "ec2",
            "RegisterImage",
            name=name,
            root_device_name=root_device_name,
            block_device_mappings=devices,
            **kwargs,
        )
        image: Image = describe_created(facade, "DescribeImages", image_id)
        return image

    # --- sharing ------------------------------------------------------------------------------------

    @vmec2_method(default=[])
    def authorized_users(self) -> list[Any]:
        """Who may create volumes from the snapshot (DescribeSnapshotAttribute createVolumePermission)."""
        attr = self._facade().call("ec2", "DescribeSnapshotAttribute", self, "createVolumePermission")
        return list(attr.CreateVolumePermissions or [])

    #: VM::EC2's other name for :meth:`authorized_users`.
    create_volume_permissions = authorized_users

    @property
    def is_public(self) -> bool:
        """Whether everyone may make volumes of the snapshot. Snapshots do not carry this, so, as in
        VM::EC2, reading it makes one call (DescribeSnapshotAttribute)."""
        return any(p.field("Group") == "all" for p in self.authorized_users() or [])

    @vmec2_method(default=False)
    def make_public(self, public: bool = True) -> bool:
        """Share the snapshot with everyone, or stop sharing it (ModifySnapshotAttribute)."""
        return self._permission("add" if public else "remove", group_names=["all"])

    @vmec2_method(default=False)
    def add_authorized_users(self, *user_ids: str) -> bool:
        """Let these accounts create volumes from the snapshot (ModifySnapshotAttribute)."""
        return self._permission("add", user_ids=list(user_ids))

    @vmec2_method(default=False)
    def remove_authorized_users(self, *user_ids: str) -> bool:
        """Stop sharing the snapshot with these accounts (ModifySnapshotAttribute)."""
        return self._permission("remove", user_ids=list(user_ids))

    def _permission(self, verb: str, **who: list[str]) -> bool:
        # The operation_type form is as valid on AWS as the CreateVolumePermission structure, and moto
        # 5.2 honours only this one.
        facade = self._facade()
        return bool(
            facade.call(
                "ec2",
                "ModifySnapshotAttribute",
                self,
                attribute="createVolumePermission",
                operation_type=verb,
                **who,
            )
        )
