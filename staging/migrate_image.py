"""``copy_image`` in two steps: :func:`plan` checks and decides (nothing is created), :func:`run` does it.

See :mod:`staging.migrate` for the two paths (native ``CopyImage``, or snapshot copies + ``RegisterImage``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioning import AWSError, NotFoundError, ParameterError
from staging._log import get_logger
from staging.context import RunContext
from staging.errors import StagingParameterError
from staging.migrate import (
    COPY_LIMIT,
    block_device_list,
    check_image_in,
    copy_snapshots,
    copy_timeout,
    forget,
    keep,
    match_kernel,
    new_name,
    user_tags,
)
from staging.tags import Role

__all__ = ["ImagePlan", "copy_image", "plan", "run"]

log = get_logger(__name__)

#: Image attributes RegisterImage takes as they are (façade argument, image field).
_ATTRIBUTES = (
    ("architecture", "architecture"),
    ("virtualization_type", "virtualizationType"),
    ("root_device_name", "rootDeviceName"),
    ("ena_support", "enaSupport"),
    ("sriov_net_support", "sriovNetSupport"),
    ("boot_mode", "bootMode"),
)


@dataclass
class ImagePlan:
    """What a copy will do, decided before anything is created (``dry_run`` shows it).

    Attributes:
        source: The source image.
        source_region: Its region.
        source_ec2: The façade of its region.
        peer: The destination's manager.
        name: The new image's name (renamed on a clash).
        description: Its description.
        native: CopyImage (True) or snapshot copies + RegisterImage (False).
        mappings: The source's block device mappings (dicts), extras applied (register path).
        kernel_id: Kernel in the destination, or None.
        ramdisk_id: Ramdisk in the destination, or None.
        encrypted: Encrypt the copies.
        kms_key_id: With this key of the destination (default: the account's EBS key).
        tags: The source's own tags, carried.
        public: The source is public.
        users: Accounts allowed to launch the source.
    """

    source: Any
    source_region: str
    source_ec2: Any
    peer: RunContext
    name: str
    description: str
    native: bool
    mappings: list[dict[str, Any]]
    kernel_id: str | None
    ramdisk_id: str | None
    encrypted: bool
    kms_key_id: str | None
    tags: dict[str, str]
    public: bool
    users: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """The plan in a few lines, for people."""
        how = "CopyImage" if self.native else "snapshot copies + RegisterImage"
        devices = ", ".join(_spec(m) for m in self.mappings)
        return (
            f"copy {self.source} ({self.source.name}) from {self.source_region} to {self.peer.region}"
            f" as {self.name!r} by {how}\n  devices: {devices}\n"
            f"  kernel: {self.kernel_id or '-'}, ramdisk: {self.ramdisk_id or '-'},"
            f" encrypted: {'yes' if self.encrypted else 'no'}, public: {'yes' if self.public else 'no'}"
        )

    def to_dict(self) -> dict[str, Any]:
        """For ``--json``."""
        return {"source": str(self.source), "from": self.source_region, "to": self.peer.region,
                "name": self.name, "native": self.native, "devices": [_spec(m) for m in self.mappings],
                "kernel_id": self.kernel_id, "ramdisk_id": self.ramdisk_id, "encrypted": self.encrypted,
                "public": self.public, "launch_users": self.users}  # fmt: skip


def _spec(mapping: dict[str, Any]) -> str:
    if "VirtualName" in mapping:
        return f"{mapping['DeviceName']}={mapping['VirtualName']}"
    if "NoDevice" in mapping:
        return f"{mapping['DeviceName']}=none"
    ebs = mapping.get("Ebs") or {}
    return f"{mapping['DeviceName']}={ebs.get('SnapshotId') or ''}:{ebs.get('VolumeSize') or ''}"


def _source_image(manager: RunContext, image: Any) -> Any:
    image_id = str(image)
    try:
        found = manager.ec2.describe_images(image_id)
    except (NotFoundError, ParameterError):
        found = []
    if not found:
        raise StagingParameterError(f"image {image_id} not found in {manager.region}")
    source = found[0]
    if source.rootDeviceType != "ebs":
        raise StagingParameterError(
            f"{image_id} is an instance-store image; only EBS-backed images are copied"
        )
    if source.imageState != "available":
        raise StagingParameterError(f"{image_id} is {source.imageState}, not available")
    return source


def _mapping_dict(device: Any) -> dict[str, Any]:
    """One mapping of a described image as a RegisterImage mapping."""
    if device.virtualName:
        return {"DeviceName": str(device.deviceName), "VirtualName": str(device.virtualName)}
    if device.noDevice is not None:
        return {"DeviceName": str(device.deviceName), "NoDevice": ""}
    ebs = device.ebs
    out: dict[str, Any] = {"SnapshotId": ebs.snapshotId, "VolumeSize": ebs.volumeSize,
                           "DeleteOnTermination": bool(ebs.deleteOnTermination), "VolumeType": ebs.volumeType,
                           "Iops": ebs.iops}  # fmt: skip
    return {"DeviceName": str(device.deviceName), "Ebs": {k: v for k, v in out.items() if v is not None}}


def plan(
    manager: RunContext, image: Any, dest: Any, *, block_devices: Sequence[str] = (),
    kernel_id: str | None = None, ramdisk_id: str | None = None, name: str | None = None,
    description: str | None = None, encrypted: bool = False, kms_key_id: str | None = None,
    on_name_clash: str = "rename", native: bool | None = None,
) -> ImagePlan:  # fmt: skip
    """Check everything and decide how to copy (creates nothing).

    Raises:
        StagingParameterError: Unknown or instance-store image, unknown or same region, bad ``-b``, a kernel
            or ramdisk that is not one in the destination, a name clash refused.
    """
    if kms_key_id and not encrypted:
        encrypted = True  # a key means encryption (AWS refuses the key alone)
    extras = block_device_list(block_devices)
    source = _source_image(manager, image)
    peer = manager.peer(dest)
    mappings = {m["DeviceName"]: m for m in (_mapping_dict(d) for d in source.blockDeviceMapping or [])}
    has_ephemeral = any("VirtualName" in m for m in mappings.values())
    mappings.update({m["DeviceName"]: m for m in extras})
    changes = bool(extras or kernel_id or ramdisk_id or has_ephemeral)
    if native and changes:
        raise StagingParameterError("CopyImage cannot add mappings or change the kernel; drop native=True")
    if kernel_id:
        check_image_in(peer, kernel_id, "kernel")
    elif source.kernelId:
        kernel_id = match_kernel(manager, source.kernelId, peer, "kernel")
    if ramdisk_id:
        check_image_in(peer, ramdisk_id, "ramdisk")
    elif source.ramdiskId:
        ramdisk_id = match_kernel(manager, source.ramdiskId, peer, "ramdisk")
    try:
        permissions = source.launch_permissions()
    except AWSError:  # not the owner (a public image): only the public flag is known
        permissions = ["all"] if source.isPublic else []
    return ImagePlan(
        source=source, source_region=manager.region, source_ec2=manager.ec2, peer=peer,
        name=new_name(peer, name or str(source.name), on_name_clash),
        description=description if description is not None else str(source.description or ""),
        native=not changes if native is None else native, mappings=list(mappings.values()),
        kernel_id=kernel_id, ramdisk_id=ramdisk_id, encrypted=encrypted, kms_key_id=kms_key_id,
        tags=user_tags(dict(source.tags)), public=any(str(p) == "all" for p in permissions),
        users=[str(p) for p in permissions if str(p) != "all"],
    )  # fmt: skip


def copy_image(manager: RunContext, image: Any, dest: Any, *, limit: int = COPY_LIMIT, **options: Any) -> Any:
    """Copy an EBS-backed image into another region; returns the new image (available).

    ``StagingManager.copy_image`` (``manager``: the manager itself): :func:`plan`, then :func:`run`.

    ``dest`` is a region name, a region object or another manager. Options: ``block_devices`` (extra
    mappings such as ``/dev/sdy=ephemeral0``), ``kernel_id``/``ramdisk_id`` (else matched by name),
    ``name``, ``description``, ``encrypted``, ``kms_key_id``, ``on_name_clash`` (``rename``, the
    default, or ``refuse``), ``native`` (force or forbid CopyImage), ``limit`` (concurrent snapshot
    copies). Tags, description, the public flag and launch permissions are carried; a failure or Ctrl-C
    removes what was made in the destination. See :mod:`staging.migrate`.
    """
    return run(plan(manager, image, dest, **options), limit=limit)


def run(plan: ImagePlan, *, limit: int = COPY_LIMIT) -> Any:
    """Copy as planned; returns the new image (available). A failure or Ctrl-C removes what was made there."""
    peer = plan.peer
    made: list[tuple[str, str]] = []  # (kind, id), in creation order
    try:
        image_id, snapshots = (_native if plan.native else _register)(plan, made, limit)
        image = peer.ec2.describe_images(image_id)[0]
        gib = sum(int((m.get("Ebs") or {}).get("VolumeSize") or 0) for m in plan.mappings)
        peer.wait_for(image, "available", f"{image_id} to be available in {peer.region}", copy_timeout(gib))
        snapshots = snapshots or [m.ebs.snapshotId for m in image.blockDeviceMapping or [] if m.ebs]
        if plan.public:
            image.make_public(True)
        if plan.users:
            image.add_authorized_users(*plan.users)
        keep(peer, [image_id, *snapshots])
    except BaseException:
        for kind, resource_id in reversed(made):
            forget(peer, kind, resource_id)
        raise
    log.info("staging.migrate.image_copied", source=str(plan.source), image=image_id, region=peer.region)
    return peer.ec2.describe_images(image_id)[0]


def _native(plan: ImagePlan, made: list[tuple[str, str]], limit: int) -> tuple[str, list[str]]:
    peer = plan.peer
    tags = peer.run_tags.temporary(Role.IMAGE, plan.name, **plan.tags)
    peer.reporter.step(f"copying {plan.source} to {peer.region} as {plan.name!r} (CopyImage)")
    options: dict[str, Any] = {"encrypted": True} if plan.encrypted else {}
    if plan.kms_key_id:
        options["kms_key_id"] = plan.kms_key_id
    image_id = str(
        peer.ec2.copy_image(
            source_region=plan.source_region, source_image_id=str(plan.source), name=plan.name,
            description=plan.description, copy_image_tags=True,
            tag_specifications={"image": tags, "snapshot": peer.run_tags.temporary(Role.SNAPSHOT, plan.name)},
            **options,
        )
    )  # fmt: skip
    peer.track("image", image_id)
    made.append(("image", image_id))
    image = peer.ec2.describe_images(image_id)[0]
    for device in image.blockDeviceMapping or []:
        if device.ebs and device.ebs.snapshotId:
            made.append(("snapshot", str(device.ebs.snapshotId)))
            peer.track("snapshot", str(device.ebs.snapshotId))
    return image_id, []


def _register(plan: ImagePlan, made: list[tuple[str, str]], limit: int) -> tuple[str, list[str]]:
    peer = plan.peer
    ebs = [m for m in plan.mappings if (m.get("Ebs") or {}).get("SnapshotId")]
    sources = [plan.source_ec2.describe_snapshots(m["Ebs"]["SnapshotId"])[0] for m in ebs]
    copies = copy_snapshots(peer, plan.source_region, sources, name=plan.name, encrypted=plan.encrypted,
                            kms_key_id=plan.kms_key_id, limit=limit)  # fmt: skip
    made.extend(("snapshot", str(c)) for c in copies)
    new_ids = {m["Ebs"]["SnapshotId"]: str(c) for m, c in zip(ebs, copies, strict=True)}
    mappings = copy.deepcopy(plan.mappings)
    for mapping in mappings:
        snapshot_id = (mapping.get("Ebs") or {}).get("SnapshotId")
        if snapshot_id:
            mapping["Ebs"]["SnapshotId"] = new_ids[snapshot_id]
    attributes = {arg: plan.source.field(_pascal(fld)) for arg, fld in _ATTRIBUTES}
    for key in ("kernel_id", "ramdisk_id"):
        if getattr(plan, key):
            attributes[key] = getattr(plan, key)
    peer.reporter.step(f"registering {plan.name!r} in {peer.region}")
    image_id = str(
        peer.ec2.register_image(
            name=plan.name, description=plan.description, block_device_mappings=mappings,
            tag_specifications={"image": peer.run_tags.temporary(Role.IMAGE, plan.name, **plan.tags)},
            **{k: v for k, v in attributes.items() if v not in (None, "")},
        )
    )  # fmt: skip
    peer.track("image", image_id)
    made.append(("image", image_id))
    return image_id, [str(c) for c in copies]


def _pascal(name: str) -> str:
    return name[0].upper() + name[1:]
