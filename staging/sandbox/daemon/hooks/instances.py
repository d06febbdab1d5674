"""Hooks around moto's instance calls: launch, start, stop, reboot and terminate drive the hosts.

AWS's refusals moto lacks come first (a device name EC2 refuses, a mapping smaller than its snapshot, starting
or stopping a terminated instance, stopping one that never ran); then moto runs; then the cloud model builds,
boots or removes the host and the facts it answers are recorded. ``RunInstances`` gives an instance the
volumes of its image (moto never does) and is all or nothing, as on AWS. ``GetConsoleOutput`` answers the
host's console (cloud-init's host key blocks), and the DNS names are the addresses (no resolver needed).
"""

from __future__ import annotations

import base64
import copy
from typing import Any

from moto.core.responses import ActionResult
from moto.core.types import Base64EncodedString
from moto.core.utils import utcnow
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.instances import Instance
from moto.ec2.responses import EC2Response

from staging.sandbox.daemon.cloud import SandboxCloud
from staging.sandbox.daemon.hooks.apply import Recorder
from staging.sandbox.daemon.hooks.groups import security_view
from staging.sandbox.daemon.hooks.patch import Fn, arg, wrap
from staging.sandbox.daemon.limits import device_problem

Moto = Any


def check_device(device: Any) -> None:
    """Refuse a device name EC2 would refuse."""
    problem = device_problem(device)
    if problem is not None:
        raise EC2ClientError(*problem)


def _check_mapping_size(backend: Moto, mapping: dict[str, Any]) -> None:
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


def raw_user_data(user_data: Any) -> bytes:
    """The raw bytes of moto's user data (a base64 string wrapper, a plain string or None)."""
    if user_data is None:
        return b""
    encoded = user_data.as_bytes() if hasattr(user_data, "as_bytes") else str(user_data).encode()
    try:
        return base64.b64decode(encoded)
    except ValueError:
        return b""


def _public_key(backend: Moto, instance: Moto) -> str | None:
    """The public key of the instance's key pair (None without one)."""
    key = backend.key_pairs.get(instance.key_name) if instance.key_name else None
    public = key.material_public if key is not None else None
    return public.decode() if isinstance(public, bytes) else public


def _with_image_mappings(backend: Moto, image_id: str | None, kwargs: dict[str, Any]) -> None:
    """Merge the image's mappings under the caller's (moto never gives an instance its image's volumes)."""
    image = backend.amis.get(image_id) if image_id else None
    mappings = getattr(image, "sandbox_mappings", None)
    if mappings:
        given = {m["DeviceName"]: m for m in kwargs.get("block_device_mappings") or []}
        merged = {m["DeviceName"]: copy.deepcopy(m) for m in mappings}
        merged.update(given)
        # NoDevice removes a device; an ephemeral one gives nothing on types without instance store.
        kwargs["block_device_mappings"] = [
            m for m in merged.values() if m.get("NoDevice") is None and not m.get("VirtualName")
        ]


def install(cloud: SandboxCloud, record: Recorder) -> None:
    """Wrap moto's instance calls (call once, in the daemon, before serving)."""

    def run_instances(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        for mapping in kwargs.get("block_device_mappings") or []:
            check_device(mapping.get("DeviceName"))
        _with_image_mappings(backend, arg(args, kwargs, 0, "image_id"), kwargs)
        for mapping in kwargs.get("block_device_mappings") or []:
            _check_mapping_size(backend, mapping)
        with cloud.lock:
            known = set(backend.reservations)
            try:
                reservation = original(backend, *args, **kwargs)
                view = security_view(backend)
                for instance in reservation.instances:
                    facts = cloud.instance_launched(
                        instance.id,
                        instance.image_id,
                        raw_user_data(instance.user_data),
                        _public_key(backend, instance),
                        view,
                    )
                    record.apply(facts, instance)
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
        for instance in backend.get_multi_instances_by_id(arg(args, kwargs, 0, "instance_ids")):
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
                record.apply(cloud.instance_started(instance.id), instance)
            return result

    def stop_instances(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        refuse_terminated(backend, args, kwargs, "stopped")
        for instance in backend.get_multi_instances_by_id(arg(args, kwargs, 0, "instance_ids")):
            if instance.state == "pending" and cloud.never_ran(instance.id):
                raise EC2ClientError(
                    "IncorrectInstanceState",
                    f"Instance '{instance.id}' cannot be stopped as it has never reached the"
                    " 'running' state.",
                )
        with cloud.lock:
            result = original(backend, *args, **kwargs)
            for instance, _previous in result:
                record.apply(cloud.instance_stopped(instance.id), instance)
            return result

    def terminate_instances(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        ids = set(arg(args, kwargs, 0, "instance_ids") or [])
        with cloud.lock:
            cloud.terminating |= ids  # moto detaches their volumes first: no waiting for an unmount then
            try:
                result = original(backend, *args, **kwargs)
            finally:
                cloud.terminating -= ids
            for instance, _previous in result:
                record.apply(cloud.instance_terminated(instance.id, security_view(backend)), instance)
            return result

    def reboot_instances(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with cloud.lock:
            result = original(backend, *args, **kwargs)
            for instance in result:
                if instance.state == "running":
                    record.apply(cloud.instance_rebooted(instance.id), instance)
            return result

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

    wrap("reboot_instances", reboot_instances)
    wrap("run_instances", run_instances)
    wrap("start_instances", start_instances)
    wrap("stop_instances", stop_instances)
    wrap("terminate_instances", terminate_instances)
    EC2Response.get_console_output = get_console_output  # type: ignore[method-assign]
    # The sandbox hands out IP addresses only: a DNS name would send clients to a resolver off the machine.
    Instance.public_dns_name = property(lambda self: self.public_ip)  # type: ignore[method-assign,assignment]
    Instance.private_dns_name = property(lambda self: self.private_ip)  # type: ignore[method-assign,assignment]
