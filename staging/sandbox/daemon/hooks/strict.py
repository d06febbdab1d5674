"""Refusals and answers AWS gives where moto is more lenient (installed around the side-effect hooks).

Every check runs before moto records anything: unknown availability zones, volume sizes outside their type's
range (create, modify, launch mappings), a launch that needs more addresses than the sandbox network has
left, a copy of a snapshot that is still pending, and a change of user data on an instance that is not
``stopped`` (``IncorrectInstanceState``). ``ModifyInstanceAttribute``'s user data is taken encoded once, as
AWS and the SDKs send it (moto wants it base64-encoded twice). ``describe_snapshots`` honours ``OwnerIds``
and lists another account's snapshot only if it is shared
(the images' root snapshots belong to their publishers).
Status checks stay ``initializing`` until the host's sshd answers, so ``instance-status-ok`` means "ready".
"""

from __future__ import annotations

import copy
from typing import Any

from moto.core.responses import ActionResult
from moto.core.types import Base64EncodedString
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.instances import Instance
from moto.ec2.responses import EC2Response

from staging.sandbox.daemon.cloud import SandboxCloud
from staging.sandbox.daemon.hooks.patch import Fn, arg, wrap
from staging.sandbox.daemon.limits import Problem, user_data_size_problem, volume_size_problem

_INITIALIZING = {"Details": [{"Name": "reachability", "Status": "initializing"}], "Status": "initializing"}


def _refuse(problem: Problem | None) -> None:
    if problem is not None:
        raise EC2ClientError(*problem)


def _zones(backend: Any) -> set[str]:
    return {zone.name for zone in backend.describe_availability_zones()}


def install(cloud: SandboxCloud) -> None:
    """Patch moto (after :func:`staging.sandbox.daemon.hooks.install.install`, so these checks run first)."""

    def modify_volume(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        volume = backend.get_volume(arg(args, kwargs, 0, "volume_id"))
        target = arg(args, kwargs, 1, "target_size")
        kind = arg(args, kwargs, 2, "target_volume_type") or volume.volume_type
        _refuse(volume_size_problem(volume.size if target is None else target, kind))
        return original(backend, *args, **kwargs)

    def run_instances(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        zone = kwargs.get("placement")
        if zone and zone not in _zones(backend):
            raise EC2ClientError("InvalidParameterValue", f"Invalid availability zone: [{zone}]")
        for mapping in kwargs.get("block_device_mappings") or []:
            ebs = mapping.get("Ebs") or {}
            if ebs.get("VolumeSize") is not None:
                _refuse(
                    volume_size_problem(
                        ebs["VolumeSize"], ebs.get("VolumeType"), code="InvalidBlockDeviceMapping"
                    )
                )
        count = int(arg(args, kwargs, 1, "count") or 1)
        if count > cloud.free_addresses():
            raise EC2ClientError(
                "InsufficientFreeAddressesInSubnet",
                f"There are not enough free addresses in the sandbox network {cloud.net} to launch {count}"
                f" instance(s) ({cloud.free_addresses()} left).",
            )
        return original(backend, *args, **kwargs)

    def copy_snapshot(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        from moto.ec2.models import ec2_backends

        source_id, region = arg(args, kwargs, 0, "source_snapshot_id"), arg(args, kwargs, 1, "source_region")
        source = ec2_backends[backend.account_id][region].snapshots.get(source_id)
        if source is not None and source.status != "completed":
            raise EC2ClientError(
                "IncorrectState", f"Snapshot '{source_id}' is in state '{source.status}', not 'completed'."
            )
        return original(backend, *args, **kwargs)

    for name, around in (
        ("modify_volume", modify_volume),
        ("run_instances", run_instances),
        ("copy_snapshot", copy_snapshot),
    ):
        wrap(name, around)
    _install_answers(cloud)


def _install_answers(cloud: SandboxCloud) -> None:
    # CreateVolume is checked on the request: moto itself creates volumes with a region as their zone.
    create_volume_response = EC2Response.create_volume

    def create_volume(self: Any) -> ActionResult:
        zone, size = self._get_param("AvailabilityZone"), self._get_param("Size")
        if zone not in _zones(self.ec2_backend):
            raise EC2ClientError("InvalidZone.NotFound", f"The zone '{zone}' does not exist.")
        if size is None and not self._get_param("SnapshotId"):
            raise EC2ClientError("MissingParameter", "The request must contain the parameter size/snapshot")
        if size is not None:
            _refuse(volume_size_problem(size, self._get_param("VolumeType")))
        result: ActionResult = create_volume_response(self)
        return result

    def describe_snapshots(self: Any) -> ActionResult:
        ids = self._get_param("SnapshotIds", [])
        owners = self._get_param("OwnerIds", [])
        snapshots = self.ec2_backend.describe_snapshots(
            snapshot_ids=ids, filters=self._filters_from_querystring()
        )
        account = self.ec2_backend.account_id
        if owners:
            wanted = {account if owner == "self" else owner for owner in owners}
            snapshots = [s for s in snapshots if s.owner_id in wanted]
        elif not ids:  # what the caller may use: its own, public ones and those shared with it
            snapshots = [
                s
                for s in snapshots
                if s.owner_id == account
                or "all" in s.create_volume_permission_groups
                or account in s.create_volume_permission_userids
            ]
        return ActionResult({"Snapshots": snapshots})

    def ready(instance: Any) -> bool:
        return cloud.host_up(instance.id)

    real_instance_status = Instance.instance_status.fget  # type: ignore[attr-defined]
    real_system_status = Instance.system_status.fget  # type: ignore[attr-defined]
    Instance.instance_status = property(  # type: ignore[method-assign,assignment]
        lambda self: real_instance_status(self) if self.state_code != 16 or ready(self) else _INITIALIZING
    )
    Instance.system_status = property(  # type: ignore[method-assign,assignment]
        lambda self: real_system_status(self) if self.state_code != 16 or ready(self) else _INITIALIZING
    )
    modify_attribute_response = EC2Response.modify_instance_attribute

    def modify_instance_attribute(self: Any) -> ActionResult:
        raw = self._get_param("UserData.Value")  # the blob, already decoded once by moto's parser
        if raw is None:
            result: ActionResult = modify_attribute_response(self)
            return result
        instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))
        if instance.state != "stopped":
            raise EC2ClientError(
                "IncorrectInstanceState", f"The instance '{instance.id}' is not in the 'stopped' state."
            )
        self.error_on_dryrun()
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        _refuse(user_data_size_problem(data))
        instance.user_data = Base64EncodedString.from_raw_bytes(data)
        return ActionResult({})

    EC2Response.modify_instance_attribute = modify_instance_attribute  # type: ignore[method-assign]
    EC2Response.describe_snapshots = describe_snapshots  # type: ignore[method-assign]
    EC2Response.create_volume = create_volume  # type: ignore[method-assign]
    for name, ids, key in (
        ("describe_instances", "InstanceIds", "Reservations"),
        ("describe_volumes", "VolumeIds", "Volumes"),
        ("describe_snapshots", "SnapshotIds", "Snapshots"),
        ("describe_images", "ImageIds", "Images"),
    ):
        _hide_young(cloud, name, ids, key)


def _hide_young(cloud: SandboxCloud, name: str, ids_param: str, key: str) -> None:
    """A describe without ids does not list resources younger than ``not_found_for`` (AWS's eventual
    consistency); one naming them is refused by the WSGI layer."""
    original = getattr(EC2Response, name)

    def handler(self: Any) -> Any:
        result = original(self)
        if cloud.faults.not_found_for <= 0 or self._get_param(ids_param, []):
            return result
        data = result.result
        if key == "Reservations":
            kept = []
            for reservation in data[key]:
                visible = [i for i in reservation.instances if not cloud.young(i.id)]
                if visible:
                    reservation = copy.copy(reservation)  # moto's copies share the instance list
                    reservation.instances = visible
                    kept.append(reservation)
            data[key] = kept
        else:
            data[key] = [item for item in data[key] if not cloud.young(item.id)]
        return result

    setattr(EC2Response, name, handler)
