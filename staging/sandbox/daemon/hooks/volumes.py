"""Hooks around moto's volume and snapshot calls: each volume is a sparse file, an attachment a loop device.

AWS's refusals moto lacks come first (a volume smaller than its snapshot, attaching an attached volume, to a
terminated instance, across zones or at a used device name; detaching from the wrong instance or device);
then moto runs; then the cloud model makes the bytes and devices and the facts it answers are recorded.
A mounted volume detaches only once its host lets go (``busy``), unless forced; moto's own response drops
``Force``, so ``DetachVolume`` is answered here. ``Progress`` of a snapshot rises while it is ``pending``.
A modification goes ``modifying`` -> ``optimizing`` -> ``completed`` over time (moto reports every one
``completed`` at once); another ``ModifyVolume`` of the volume is refused until it completes.
"""

from __future__ import annotations

import time
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.elastic_block_store import Snapshot, VolumeModification
from moto.ec2.responses import EC2Response

from staging.sandbox.daemon.cloud import SandboxCloud
from staging.sandbox.daemon.hooks.apply import Recorder
from staging.sandbox.daemon.hooks.instances import check_device
from staging.sandbox.daemon.hooks.patch import Fn, arg, wrap
from staging.sandbox.errors import SandboxError

Moto = Any


def rising_progress(pending: tuple[float, float] | None, done: bool, now: float | None = None) -> int:
    """Percent done of something ``pending`` (since, for how long): 0 to 99 over that time, 100 when done."""
    if done or pending is None:
        return 100
    started, duration = pending
    elapsed = (time.monotonic() if now is None else now) - started
    return max(0, min(99, int(100 * elapsed / duration))) if duration > 0 else 99


def snapshot_progress(snapshot: Moto, now: float | None = None) -> str:
    """EC2's ``Progress``: rising from 0% to 99% over ``snapshot_pending_for``, 100% once completed."""
    pending = getattr(snapshot, "sandbox_pending", None)
    return f"{rising_progress(pending, snapshot.status == 'completed', now)}%"


def modification_state(modification: Moto) -> str:
    """EC2's ``ModificationState`` as the cloud model last set it (``completed`` when it never did)."""
    return str(getattr(modification, "sandbox_state", "completed"))


def modification_progress(modification: Moto) -> int:
    """EC2's ``Progress`` of a modification: rising until it completes."""
    pending = getattr(modification, "sandbox_pending", None)
    return rising_progress(pending, modification_state(modification) == "completed")


def _check_modify(volume: Moto) -> None:
    """AWS refuses to modify a volume whose last modification is still in progress."""
    latest = volume.modifications[-1] if volume.modifications else None
    state = modification_state(latest) if latest is not None else "completed"
    if state in ("modifying", "optimizing"):
        raise EC2ClientError(
            "IncorrectModificationState",
            f"Volume {volume.id} cannot be modified in modification state {state.upper()}",
        )


def _check_attach(volume: Moto, instance: Moto, device: Any) -> None:
    """AWS's refusals of an attachment that moto makes anyway."""
    check_device(device)
    if volume.attachment is not None:
        raise EC2ClientError(
            "VolumeInUse",
            f"{volume.id} is already attached to an instance ({volume.attachment.instance.id})",
        )
    if instance.state == "terminated":
        raise EC2ClientError("IncorrectState", f"Instance '{instance.id}' is not 'running'.")
    if volume.availability_zone != instance._placement.zone:
        raise EC2ClientError(
            "InvalidVolume.ZoneMismatch",
            f"The volume '{volume.id}' is not in the same availability zone as instance '{instance.id}'",
        )
    if device in instance.block_device_mapping:
        raise EC2ClientError(
            "InvalidParameterValue",
            f"Invalid value '{device}' for unixDevice. Attachment point {device} is already in use",
        )


def install(cloud: SandboxCloud, record: Recorder) -> None:
    """Wrap moto's volume and snapshot calls (call once, in the daemon, before serving)."""

    def create_volume(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        size, snapshot_id = kwargs.get("size"), kwargs.get("snapshot_id")
        if snapshot_id and size is not None:
            minimum = backend.get_snapshot(snapshot_id).volume_size
            if int(size) < int(minimum):
                raise EC2ClientError(
                    "InvalidParameterValue", f"Volume of {size}GiB is too small; minimum is {minimum}GiB."
                )
        with cloud.lock:
            volume = original(backend, *args, **kwargs)
            try:
                cloud.volume_created(volume.id, int(volume.size), volume.snapshot_id)
            except (OSError, SandboxError) as exc:
                # Nothing stays recorded: neither moto's volume nor a part of its backing file.
                backend.volumes.pop(volume.id, None)
                cloud.volume_deleted(volume.id)
                raise EC2ClientError(
                    "InsufficientVolumeCapacity",
                    f"The sandbox cannot back a volume of {volume.size}GiB here: {exc}",
                ) from exc
            return volume

    def attach_volume(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        volume = backend.get_volume(arg(args, kwargs, 0, "volume_id"))
        instance = backend.get_instance(arg(args, kwargs, 1, "instance_id"))
        device = arg(args, kwargs, 2, "device_path")
        _check_attach(volume, instance, device)
        with cloud.lock:
            attachment = original(backend, *args, **kwargs)
            root = device == instance.root_device_name
            record.apply(cloud.volume_attached(volume.id, instance.id, device, root=root), volume)
            return attachment

    def detach_volume(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        force = bool(kwargs.pop("force", False))
        volume_id = arg(args, kwargs, 0, "volume_id")
        instance_id = arg(args, kwargs, 1, "instance_id")
        volume = backend.get_volume(volume_id)
        if volume.attachment is None:
            raise EC2ClientError("IncorrectState", f"Volume '{volume_id}' is in the 'available' state.")
        attached_to = volume.attachment.instance.id
        device = arg(args, kwargs, 2, "device_path")
        if (instance_id and instance_id != attached_to) or (device and device != volume.attachment.device):
            # moto would detach it anyway, taking whatever the named instance has at that device name.
            raise EC2ClientError(
                "InvalidAttachment.NotFound",
                f"The volume '{volume_id}' is not attached to instance '{instance_id or attached_to}'"
                + (f" as device '{device}'" if device else ""),
            )
        # moto crashes (500) without InstanceId; AWS takes the volume's own attachment.
        instance_id = attached_to
        with cloud.lock:
            if force or instance_id in cloud.terminating or not cloud.volume_mounted(volume_id, instance_id):
                attachment = original(backend, volume_id, instance_id, device)
                cloud.volume_detached(volume_id, instance_id)
                return attachment
            # Mounted in its host: AWS leaves it attached ("busy") until the host lets go of it.
            if volume.attachment.status != "busy":  # else already waiting
                record.apply(cloud.hold_busy(volume_id, instance_id), volume)
            return volume.attachment

    def modify_volume(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        volume = backend.get_volume(arg(args, kwargs, 0, "volume_id"))
        target = arg(args, kwargs, 1, "target_size")
        if target is not None and int(target) < int(volume.size):
            raise EC2ClientError(
                "InvalidParameterValue", f"New size cannot be smaller than existing size of {volume.size} GiB"
            )
        with cloud.lock:
            _check_modify(volume)
            before = (volume.size, volume.volume_type, len(volume.modifications))
            volume = original(backend, *args, **kwargs)
            try:
                facts = cloud.volume_modified(volume.id, int(volume.size))
            except (OSError, SandboxError) as exc:
                volume.size, volume.volume_type, kept = before
                del volume.modifications[kept:]
                message = f"The sandbox cannot grow {volume.id} to {target}GiB here: {exc}"
                raise EC2ClientError("InsufficientVolumeCapacity", message) from exc
            # DescribeVolumes shows the target size at once, as AWS's does; the modification tells when.
            record.apply(facts, volume)
            return volume

    def delete_volume(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with cloud.lock:
            volume = original(backend, *args, **kwargs)
            cloud.volume_deleted(volume.id)
            record.forget(volume.id)
            return volume

    def create_snapshot(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with cloud.lock:
            snapshot = original(backend, *args, **kwargs)
            record.apply(cloud.snapshot_created(snapshot.id, snapshot.volume.id), snapshot)
            return snapshot

    def copy_snapshot(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with cloud.lock:
            snapshot = original(backend, *args, **kwargs)
            source_id = arg(args, kwargs, 0, "source_snapshot_id")
            record.apply(cloud.snapshot_copied(snapshot.id, source_id), snapshot)
            return snapshot

    def delete_snapshot(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with cloud.lock:
            snapshot = original(backend, *args, **kwargs)
            cloud.snapshot_deleted(snapshot.id)
            record.forget(snapshot.id)
            return snapshot

    def detach_volume_response(self: Any) -> ActionResult:
        # moto's own handler drops Force; the backend hook needs it (a forced detach skips "busy").
        self.error_on_dryrun()
        attachment = self.ec2_backend.detach_volume(
            self._get_param("VolumeId"),
            self._get_param("InstanceId"),
            self._get_param("Device"),
            force=self._get_bool_param("Force", False),
        )
        return ActionResult(
            {
                "VolumeId": attachment.volume.id,
                "InstanceId": attachment.instance.id,
                "Device": attachment.device,
                "State": "detaching",
                "AttachTime": attachment.attach_time,
            }
        )

    for name, around in (
        ("create_volume", create_volume),
        ("attach_volume", attach_volume),
        ("detach_volume", detach_volume),
        ("modify_volume", modify_volume),
        ("delete_volume", delete_volume),
        ("create_snapshot", create_snapshot),
        ("copy_snapshot", copy_snapshot),
        ("delete_snapshot", delete_snapshot),
    ):
        wrap(name, around)
    EC2Response.detach_volume = detach_volume_response  # type: ignore[method-assign]
    Snapshot.progress = property(snapshot_progress)  # type: ignore[method-assign,assignment]
    VolumeModification.modification_state = property(modification_state)  # type: ignore[method-assign,assignment]
    VolumeModification.progress = property(modification_progress)  # type: ignore[method-assign,assignment]
