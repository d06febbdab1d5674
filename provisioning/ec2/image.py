"""Machine images and block device mappings (VM::EC2::Image, VM::EC2::BlockDevice[::Mapping])."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ParameterError, UnexpectedState
from ..objects import register_class
from ..waiting import Poll, describe_created
from ._base import Action, EC2Object, Resource, Setting, vmec2_method

if TYPE_CHECKING:
    from .instance import Instance
    from .volume import Volume

__all__ = ["BlockDevice", "Image", "InstanceBlockDevice", "Permission"]


@register_class("ec2", "Image")
class Image(Resource):
    """An AMI. ``image.architecture``, ``image.description`` and ``image.blockDeviceMapping`` are fields."""

    status_field = "State"
    kind = "image"
    poll = Poll("DescribeImages", "image-id")
    failed_states = frozenset({"failed", "error", "invalid"})
    gone_state = "deregistered"

    deregister = Action("DeregisterImage", "Deregister the image (DeregisterImage).")
    reset_authorized_users = Action(
        "ResetImageAttribute",
        "Make the image private to its owner again (ResetImageAttribute launchPermission).",
        fixed={"attribute": "launchPermission"},
    )

    @vmec2_method(default=[])
    def run_instances(self, **kwargs: Any) -> list[Instance]:
        """Launch instances of this image (RunInstances); arguments as ``ec2.run_instances``.

        Raises:
            UnexpectedState: this snapshot of the image says it is not ``available``.
        """
        if self.recorded_status() not in (None, "available"):
            raise UnexpectedState(str(self), str(self.recorded_status()), ("available",))
        instances: list[Instance] = self._facade().call("ec2", "RunInstances", self, **kwargs)
        return instances

    @vmec2_method()
    def copy(
        self,
        region: str | None = None,
        name: str | None = None,
        description: str | None = None,
        *,
        wait: bool = False,
        **kwargs: Any,
    ) -> Image | None:
        """Copy the image into ``region`` (default: this one) and return the copy (CopyImage).

        The call goes to the destination region, as AWS requires; ``name`` defaults to this image's.
        With ``wait=True`` it returns once the copy is available.
        """
        source = self._facade()
        dest = source if region in (None, source.region) else source.clone(region=region)
        new_id = dest.call(
            "ec2",
            "CopyImage",
            source_region=source.region,
            source_image_id=self,
            name=name or self.field("Name"),
            description=description,
            **kwargs,
        )
        copy: Image = describe_created(dest, "DescribeImages", new_id)
        if wait:
            source.wait_for_images(copy, state="available")  # our timeout and clock, polled in dest
        return copy

    # --- launch permissions ---------------------------------------------------------------------------

    @vmec2_method(default=[])
    def launch_permissions(self) -> list[Any]:
        """Who may launch the image (DescribeImageAttribute launchPermission); ``group == "all"`` = public."""
        attr = self._facade().call("ec2", "DescribeImageAttribute", self, "launchPermission")
        return list(attr.LaunchPermissions or [])

    #: VM::EC2's other name for :meth:`launch_permissions`.
    authorized_users = launch_permissions

    @vmec2_method(default=False)
    def make_public(self, public: bool = True) -> bool:
        """Let everyone launch the image, or stop that (ModifyImageAttribute)."""
        return self._launch_change("Add" if public else "Remove", [{"Group": "all"}])

    @vmec2_method(default=False)
    def add_authorized_users(self, *user_ids: str) -> bool:
        """Let these accounts launch the image (ModifyImageAttribute)."""
        return self._launch_change("Add", [{"UserId": u} for u in user_ids])

    @vmec2_method(default=False)
    def remove_authorized_users(self, *user_ids: str) -> bool:
        """Stop these accounts launching the image (ModifyImageAttribute)."""
        return self._launch_change("Remove", [{"UserId": u} for u in user_ids])

    def _launch_change(self, verb: str, permissions: list[dict[str, str]]) -> bool:
        """Change the launch permissions, then re-read the image so ``is_public`` is current."""
        facade = self._facade()
        done = bool(facade.call("ec2", "ModifyImageAttribute", self, launch_permission={verb: permissions}))
        self.refresh()
        return done


@register_class("ec2", "LaunchPermission", "CreateVolumePermission")
class Permission(EC2Object):
    """Who may launch an image or make volumes of a snapshot (VM::EC2::Image::LaunchPermission,
    VM::EC2::Snapshot::CreateVolumePermission): ``userId`` or ``group``; prints as the one given."""

    def __vmec2_id__(self) -> str | None:
        value = self.field("UserId") or self.field("Group")
        return None if value is None else str(value)


@register_class("ec2", "BlockDeviceMapping")
class BlockDevice(EC2Object):
    """One device of an image or launch request; prints in VM::EC2's block-device syntax.

    ``/dev/sda1=snap-123:8:true:gp3`` (EBS), ``/dev/sdb=ephemeral0`` or ``/dev/sdc=none``, the same syntax
    ``run_instances(block_devices=[...])`` accepts.
    """

    def _ebs(self, member: str) -> Any:
        ebs = self.field("Ebs")
        return None if ebs is None else ebs.field(member)

    @property
    def snapshot_id(self) -> str | None:
        """The EBS snapshot the device is made from."""
        return self._ebs("SnapshotId")  # type: ignore[no-any-return]

    @property
    def volume_size(self) -> int | None:
        """The EBS volume size in GiB."""
        return self._ebs("VolumeSize")  # type: ignore[no-any-return]

    @property
    def delete_on_termination(self) -> bool | None:
        """Whether the volume goes when the instance terminates."""
        return self._ebs("DeleteOnTermination")  # type: ignore[no-any-return]

    @property
    def volume_type(self) -> str | None:
        """The EBS volume type (gp3, io1, standard...)."""
        return self._ebs("VolumeType")  # type: ignore[no-any-return]

    @property
    def iops(self) -> int | None:
        """Provisioned IOPS, if any."""
        return self._ebs("Iops")  # type: ignore[no-any-return]

    def __str__(self) -> str:
        device = self.field("DeviceName")
        if self.field("NoDevice") is not None:
            return f"{device}=none"
        if self.field("VirtualName"):
            return f"{device}={self.field('VirtualName')}"
        if self.field("Ebs") is None:
            return str(device)
        parts = [self.snapshot_id or "", str(self.volume_size or "")]
        parts.append("true" if self.delete_on_termination else "false")
        if self.volume_type:
            parts.append(self.volume_type)
            if self.iops and self.volume_type.startswith("io"):
                parts.append(str(self.iops))
        return f"{device}={':'.join(parts)}"

    def __repr__(self) -> str:
        return f"<BlockDevice {self}>"


@register_class("ec2", "InstanceBlockDeviceMapping")
class InstanceBlockDevice(EC2Object):
    """A device of a running instance (VM::EC2::BlockDevice::Mapping): ``device_name`` and the EBS volume."""

    #: The instance this device belongs to (set by :class:`~provisioning.ec2.instance.Instance`).
    instance: Instance | None = None

    @property
    def volume_id(self) -> str | None:
        """The attached EBS volume's id."""
        ebs = self.field("Ebs")
        return None if ebs is None else ebs.field("VolumeId")  # type: ignore[no-any-return]

    @property
    def delete_on_termination(self) -> Setting:
        """Whether the volume goes with the instance; ``dev.deleteOnTermination(False)`` changes it
        (ModifyInstanceAttribute) and re-reads the instance."""
        ebs = self.field("Ebs")
        flag = None if ebs is None else ebs.field("DeleteOnTermination")
        return Setting(flag, self._set_delete_on_termination)

    deleteOnTermination = delete_on_termination

    @vmec2_method(default=False)
    def _set_delete_on_termination(self, flag: Any) -> bool:
        from .volume import set_delete_on_termination

        if self.instance is None:
            raise ParameterError(f"{self} does not know its instance")
        done = set_delete_on_termination(self, self.instance, self.DeviceName, self.volume_id, flag)
        self.instance.refresh()
        for fresh in self.instance.field("BlockDeviceMappings") or []:
            if fresh.DeviceName == self.DeviceName:
                self._data, self._cache = fresh._data, {}
        return done

    @property
    def attachment_time(self) -> Any:
        """When the volume was attached (VM::EC2's ``attachmentTime``)."""
        ebs = self.field("Ebs")
        return None if ebs is None else ebs.field("AttachTime")

    @property
    def status(self) -> str | None:
        """The attachment state (attaching, attached...)."""
        ebs = self.field("Ebs")
        return None if ebs is None else ebs.field("Status")  # type: ignore[no-any-return]

    @vmec2_method()
    def volume(self) -> Volume | None:
        """The attached volume (DescribeVolumes)."""
        found = self._facade().call("ec2", "DescribeVolumes", self.volume_id)
        return found[0] if found else None

    def __vmec2_id__(self) -> str | None:
        """The device name: VM::EC2's mapping printed as it (``grep {$_ eq '/dev/sdg1'} @mapping``)."""
        name = self.field("DeviceName")
        return None if name is None else str(name)
