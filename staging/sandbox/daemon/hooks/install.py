"""Wire :class:`~staging.sandbox.daemon.cloud.SandboxCloud` into moto (only ever inside the daemon process).

Backend methods are wrapped on moto's ``EC2Backend`` class: AWS limits moto does not check are raised first as
moto's own ``EC2ClientError`` (so clients get proper error codes), then moto runs, then the side effect
happens before the response is sent. ``register_image`` and ``get_console_output`` are replaced at the
response layer, because moto drops the block device mappings before the backend sees them and returns fixed
console text.
"""

from __future__ import annotations

import copy
from typing import Any

from moto.core.responses import ActionResult
from moto.core.types import Base64EncodedString
from moto.core.utils import utcnow
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.amis import Ami
from moto.ec2.models.elastic_block_store import Snapshot
from moto.ec2.models.instances import Instance
from moto.ec2.responses import EC2Response

from staging.sandbox.daemon.cloud import SandboxCloud, snapshot_progress
from staging.sandbox.daemon.hooks import groups as _groups
from staging.sandbox.daemon.hooks import images as _amis
from staging.sandbox.daemon.hooks.patch import Fn
from staging.sandbox.daemon.hooks.patch import arg as _arg
from staging.sandbox.daemon.hooks.patch import wrap as _wrap
from staging.sandbox.daemon.limits import device_problem
from staging.sandbox.errors import SandboxError


def _check_mapping_size(backend: Any, mapping: dict[str, Any]) -> None:
    """Refuse a launch mapping whose volume would be smaller than its snapshot (moto accepts it)."""
    ebs = mapping.get("Ebs") or {}
    if ebs.get("SnapshotId") and ebs.get("VolumeSize") is not None:
        minimum = backend.get_snapshot(ebs["SnapshotId"]).volume_size
        if int(ebs["VolumeSize"]) < int(minimum):
            raise EC2ClientError(
                "InvalidBlockDeviceMapping",
                f"Volume of size {ebs['VolumeSize']}GB is smaller than snapshot '{ebs['SnapshotId']}',"
                f" expect size >= {minimum}GB",
            )


def _check_device(device: Any) -> None:
    """Refuse a device name EC2 would refuse; in legacy mode the name also becomes a file in /dev."""
    problem = device_problem(device)
    if problem is not None:
        raise EC2ClientError(*problem)


def install(cloud: SandboxCloud) -> None:
    """Patch moto so that API calls drive ``cloud``. Call once, in the daemon, before serving."""
    _install_instances(cloud)
    _install_volumes(cloud)
    _install_images(cloud)
    _install_responses(cloud)
    _amis.install(cloud)
    _groups.install(cloud.hosts, cloud.terminated_at, lambda: cloud.faults.eni_linger_for, cloud.lock)
    # The sandbox hands out IP addresses only: a DNS name would send clients to a resolver off the machine.
    Instance.public_dns_name = property(lambda self: self.public_ip)  # type: ignore[method-assign,assignment]
    Instance.private_dns_name = property(lambda self: self.private_ip)  # type: ignore[method-assign,assignment]
    Ami.block_device_mappings = property(_image_mappings)  # type: ignore[method-assign,assignment]
    Snapshot.progress = property(snapshot_progress)  # type: ignore[method-assign,assignment]


_placeholder_mappings: Fn = Ami.block_device_mappings.fget  # type: ignore[attr-defined]


def _image_mappings(ami: Any) -> list[dict[str, Any]]:
    """An image's own mappings (kernel images have none), else moto's placeholder root."""
    mappings = getattr(ami, "sandbox_mappings", None)
    return copy.deepcopy(mappings) if mappings is not None else list(_placeholder_mappings(ami))


def _install_instances(cloud: SandboxCloud) -> None:
    def run_instances(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        for mapping in kwargs.get("block_device_mappings") or []:
            _check_device(mapping.get("DeviceName"))
        image_id = _arg(args, kwargs, 0, "image_id")
        images = backend.amis.get(image_id) if image_id else None
        mappings = getattr(images, "sandbox_mappings", None)
        if mappings:
            # moto never gives an instance the volumes of its image; merge them under the caller's mappings.
            given = {m["DeviceName"]: m for m in kwargs.get("block_device_mappings") or []}
            merged = {m["DeviceName"]: copy.deepcopy(m) for m in mappings}
            merged.update(given)
            # NoDevice removes a device; an ephemeral one gives nothing on types without instance store.
            kwargs["block_device_mappings"] = [
                m for m in merged.values() if m.get("NoDevice") is None and not m.get("VirtualName")
            ]
        for mapping in kwargs.get("block_device_mappings") or []:
            _check_mapping_size(backend, mapping)
        with cloud.lock:
            known = set(backend.reservations)
            try:
                reservation = original(backend, *args, **kwargs)
                for instance in reservation.instances:
                    key_name = instance.key_name
                    key = backend.key_pairs.get(key_name) if key_name else None
                    public = key.material_public if key is not None else None
                    if isinstance(public, bytes):
                        public = public.decode()
                    cloud.instance_launched(instance, public)
            except Exception:
                # All or nothing, as on AWS: moto keeps what it made before failing (running, without a
                # host, at a random 10.x address); terminate it (volumes and hosts go too) and forget it.
                for rid in [r for r in backend.reservations if r not in known]:
                    backend.terminate_instances([i.id for i in backend.reservations[rid].instances])
                    backend.reservations.pop(rid, None)
                raise
            return reservation

    def refuse_terminated(backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any], verb: str) -> None:
        """AWS refuses to start or stop a terminated instance; moto does not."""
        for instance in backend.get_multi_instances_by_id(_arg(args, kwargs, 0, "instance_ids")):
            if instance.state == "terminated":
                raise EC2ClientError(
                    "IncorrectInstanceState",
                    f"The instance '{instance.id}' is not in a state from which it can be {verb}.",
                )

    def start_instances(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        refuse_terminated(backend, args, kwargs, "started")
        with cloud.lock:
            result = original(backend, *args, **kwargs)
            for instance, _previous in result:
                cloud.instance_started(instance)
            return result

    def stop_instances(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        refuse_terminated(backend, args, kwargs, "stopped")
        for instance in backend.get_multi_instances_by_id(_arg(args, kwargs, 0, "instance_ids")):
            if instance.state == "pending" and cloud.never_ran(instance.id):
                raise EC2ClientError(
                    "IncorrectInstanceState",
                    f"Instance '{instance.id}' cannot be stopped as it has never reached the"
                    " 'running' state.",
                )
        with cloud.lock:
            result = original(backend, *args, **kwargs)
            for instance, _previous in result:
                cloud.instance_stopped(instance)
            return result

    def terminate_instances(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        ids = set(_arg(args, kwargs, 0, "instance_ids") or [])
        with cloud.lock:
            cloud.terminating |= ids  # moto detaches their volumes first: no waiting for an unmount then
            try:
                result = original(backend, *args, **kwargs)
            finally:
                cloud.terminating -= ids
            for instance, _previous in result:
                cloud.instance_terminated(instance)
            return result

    def reboot_instances(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with cloud.lock:
            result = original(backend, *args, **kwargs)
            for instance in result:
                cloud.instance_rebooted(instance)
            return result

    _wrap("reboot_instances", reboot_instances)
    _wrap("run_instances", run_instances)
    _wrap("start_instances", start_instances)
    _wrap("stop_instances", stop_instances)
    _wrap("terminate_instances", terminate_instances)


def _install_volumes(cloud: SandboxCloud) -> None:
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
                cloud.volume_created(volume)
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
        volume = backend.get_volume(_arg(args, kwargs, 0, "volume_id"))
        instance = backend.get_instance(_arg(args, kwargs, 1, "instance_id"))
        device = _arg(args, kwargs, 2, "device_path")
        _check_device(device)
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
        with cloud.lock:
            attachment = original(backend, *args, **kwargs)
            cloud.volume_attached(volume, instance, device)
            return attachment

    def detach_volume(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        force = bool(kwargs.pop("force", False))
        volume_id = _arg(args, kwargs, 0, "volume_id")
        instance_id = _arg(args, kwargs, 1, "instance_id")
        volume = backend.get_volume(volume_id)
        if volume.attachment is None:
            raise EC2ClientError("IncorrectState", f"Volume '{volume_id}' is in the 'available' state.")
        attached_to = volume.attachment.instance.id
        device = _arg(args, kwargs, 2, "device_path")
        if (instance_id and instance_id != attached_to) or (device and device != volume.attachment.device):
            # moto would detach it anyway, taking whatever the named instance has at that device name.
            raise EC2ClientError(
                "InvalidAttachment.NotFound",
                f"The volume '{volume_id}' is not attached to instance '{instance_id or attached_to}'"
                + (f" as device '{device}'" if device else ""),
            )
        # moto crashes (500) without InstanceId; AWS takes the volume's own attachment.
        instance_id = attached_to

        def complete() -> Any:
            attachment = original(backend, volume_id, instance_id, device)
            cloud.volume_detached(volume_id, instance_id)
            return attachment

        with cloud.lock:
            if force or instance_id in cloud.terminating or not cloud.volume_mounted(volume_id, instance_id):
                return complete()
            # Mounted in its host: AWS leaves it attached ("busy") until the host lets go of it.
            cloud.hold_busy(volume, complete)
            return volume.attachment

    def modify_volume(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        volume = backend.get_volume(_arg(args, kwargs, 0, "volume_id"))
        target = _arg(args, kwargs, 1, "target_size")
        if target is not None and int(target) < int(volume.size):
            raise EC2ClientError(
                "InvalidParameterValue", f"New size cannot be smaller than existing size of {volume.size} GiB"
            )
        with cloud.lock:
            before = (volume.size, volume.volume_type, len(volume.modifications))
            volume = original(backend, *args, **kwargs)
            try:
                cloud.volume_modified(volume)
            except (OSError, SandboxError) as exc:
                volume.size, volume.volume_type, kept = before
                del volume.modifications[kept:]
                target = _arg(args, kwargs, 1, "target_size")
                message = f"The sandbox cannot grow {volume.id} to {target}GiB here: {exc}"
                raise EC2ClientError("InsufficientVolumeCapacity", message) from exc
            return volume

    def delete_volume(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with cloud.lock:
            volume = original(backend, *args, **kwargs)
            cloud.volume_deleted(volume.id)
            return volume

    def create_snapshot(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with cloud.lock:
            snapshot = original(backend, *args, **kwargs)
            cloud.snapshot_created(snapshot)
            return snapshot

    def copy_snapshot(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with cloud.lock:
            snapshot = original(backend, *args, **kwargs)
            cloud.snapshot_copied(snapshot, _arg(args, kwargs, 0, "source_snapshot_id"))
            return snapshot

    def delete_snapshot(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with cloud.lock:
            snapshot = original(backend, *args, **kwargs)
            cloud.snapshot_deleted(snapshot.id)
            return snapshot

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
        _wrap(name, around)


def _install_images(cloud: SandboxCloud) -> None:
    def create_image(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with cloud.lock:
            ami = original(backend, *args, **kwargs)
            instance = backend.get_instance(_arg(args, kwargs, 0, "instance_id"))
            ami.root_device_name = instance.root_device_name
            cloud.image_created(backend, ami, instance)
            return ami

    _wrap("create_image", create_image)


def _install_responses(cloud: SandboxCloud) -> None:
    def get_console_output(self: Any) -> ActionResult:
        instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))
        text = cloud.console_output(instance.id)
        return ActionResult(
            {
                "InstanceId": instance.id,
                "Timestamp": utcnow(),
                "Output": Base64EncodedString.from_raw_string(text),
            }
        )

    def detach_volume(self: Any) -> ActionResult:
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

    EC2Response.detach_volume = detach_volume  # type: ignore[method-assign]
    EC2Response.get_console_output = get_console_output  # type: ignore[method-assign]
