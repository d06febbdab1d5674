"""How ``StagingManager.provision_volume`` gets a volume onto a server (its function is that method).

Where the volume comes from (an existing one by id, a snapshot, one reused by name, or a new one), which
server it goes to, then format or grow, then mount. A failure part-way lets go of what it made: a volume it
created is deleted (or kept as temporary for ``close``/``gc`` when that fails), one it found is detached.
"""

from __future__ import annotations

import secrets
from typing import Any

from staging._log import get_logger
from staging.errors import StagingParameterError, VolumeInUse
from staging.fleet import Fleet
from staging.names import check_name
from staging.server import StagingServer, default_mtpt
from staging.tags import FSTYPE, MTPT, NAME, ROLE, Role
from staging.volume import StagingVolume
from transfer.commands import check_label, check_uuid

__all__ = ["MAX_VOLUME_GIB", "create_volume", "provision_volume"]

log = get_logger(__name__)

#: EBS's largest volume (gp2/gp3/st1/sc1), GiB.
MAX_VOLUME_GIB = 16384


def provision_volume(
    manager: Fleet,
    name: str | None = None,
    *,
    size: int | None = None,
    availability_zone: str | None = None,
    server: StagingServer | None = None,
    snapshot_id: str | None = None,
    volume_id: str | None = None,
    fstype: str = "ext4",
    mtpt: str | None = None,
    mount: bool = True,
    reuse: bool | None = None,
    label: str | None = None,
    uuid: str | None = None,
    volume_type: str = "gp3",
    temporary: bool = False,
) -> StagingVolume:
    """Create (or reuse) a volume, attach it to a server in its zone, format or grow it, and mount it.

    ``StagingManager.provision_volume`` (``manager``: the manager itself). Where the volume comes from, onto
    which server it goes, format or grow, mount; a failure lets go of what it made.

    Args:
        name: Symbolic name (default ``volume-XXXXXXXX``).
        size: GiB (default: the source's size, else 10). From a snapshot it may be larger (the file
            system is grown), never smaller.
        availability_zone: Zone (default: ``server``'s, else the manager's default).
        server: The server to attach to (default: one in the zone, launched if needed).
        snapshot_id: Start from this snapshot.
        volume_id: Use this existing, available volume (same zone).
        fstype: File system for a new volume (``raw``: none).
        mtpt: Mount point (default ``/mnt/Staging/<name>``).
        mount: Mount it (file systems only).
        reuse: Reuse an available volume, else the newest snapshot, of this name (default
            ``reuse_volumes``); refused while every volume of that name is in use elsewhere.
        label: File system label of a new volume (checked against the file system's limit first).
        uuid: File system UUID of a new volume.
        volume_type: EBS volume type.
        temporary: Delete it when the manager closes.

    Raises:
        StagingParameterError: Bad name or size, a name already managed, a source that does not fit.
        VolumeInUse: The reused volume is attached elsewhere (another run holds it), or every volume
            of that name is.
    """
    name = check_name(name or f"volume-{secrets.token_hex(4)}", "volume")
    if manager.find_volume_by_name(name) is not None:
        raise StagingParameterError(f"a volume named {name!r} is already managed")
    if size is not None and not 1 <= size <= MAX_VOLUME_GIB:
        raise StagingParameterError(f"size must be 1..{MAX_VOLUME_GIB} GiB, not {size}")
    try:
        if label is not None:
            check_label(fstype, label)
        if uuid is not None:
            check_uuid(fstype, uuid)
    except ValueError as exc:
        raise StagingParameterError(str(exc)) from exc
    zone = server.zone if server is not None else availability_zone or manager.default_zone()
    reuse = manager.reuse_volumes if reuse is None else reuse
    ebs, snapshot = None, None
    if volume_id is not None:
        ebs = existing_volume(manager, volume_id, zone)
    elif snapshot_id is not None:
        snapshot = snapshot_by_id(manager, snapshot_id)
    elif reuse:
        ebs = reusable_volume(manager, name, zone)
        if ebs is None:
            refuse_if_held(manager, name, zone)
            snapshot = newest_named_snapshot(manager, name)
    if ebs is not None:
        if size is not None and size != int(ebs.size):
            raise StagingParameterError(f"{ebs} is {ebs.size} GiB; resize it after mounting instead")
        volume = manager.volume_class(manager, ebs, name=name, mtpt=mtpt, temporary=temporary)
    else:
        fs_tag = fstype if snapshot is None else ""  # a snapshot's own file system is found once attached
        volume = create_volume(manager, name, zone, size, snapshot, fs_tag, mtpt, volume_type, temporary)
    manager.manage(volume)
    try:
        host = server or manager.get_server_in_zone(zone)
        host.attach_volume(volume)
        if ebs is None and snapshot is None:
            if fstype != "raw":
                manager.reporter.step(f"making a {fstype} file system on {volume.volume}")
                host.format_volume(volume, fstype, label=label, uuid=uuid)
            else:
                volume.fstype = "raw"
        else:
            volume.fstype = host.fstype_of(volume)
            if volume.volume.tags.get(FSTYPE) != volume.fstype:
                volume.volume.add_tags(**{FSTYPE: volume.fstype})
            if snapshot is not None and int(volume.volume.size) > int(snapshot.volumeSize):
                manager.reporter.step(
                    f"growing the file system of {volume.volume} to {volume.volume.size} GiB"
                )
                host.grow_filesystem(volume)
        if mount and volume.fstype != "raw":
            host.mount_volume(volume, mtpt)
    except BaseException:
        abandon(manager, volume, created=ebs is None)
        raise
    return volume


def abandon(manager: Fleet, volume: StagingVolume, *, created: bool) -> None:
    """Undo a half-done provision_volume: delete a volume it created, let go of one it found.

    A created volume that cannot be deleted now stays managed as a temporary one (and in the journal),
    so :meth:`close` tries again and ``gc`` finds it after a crash.
    """
    try:
        if created:
            volume.delete()  # forgets it
            return
        if volume.server is not None:
            volume.detach()
    except Exception as exc:
        log.error("staging.volume_not_released", volume=str(volume), error=str(exc))
        if created:
            if not volume.temporary:
                volume.temporary = True
                manager.track("volume", str(volume))
            return
    manager.forget_volume(volume)


def create_volume(
    manager: Fleet, name: str, zone: str, size: int | None, snapshot: Any, fstype: str,
    mtpt: str | None, volume_type: str, temporary: bool,
) -> StagingVolume:  # fmt: skip
    """A new EBS volume (from ``snapshot`` when given), tagged and waited for, as a managed volume."""
    if snapshot is not None:
        base = int(snapshot.volumeSize)
        if size is not None and size < base:
            raise StagingParameterError(f"{snapshot} holds {base} GiB; a volume from it cannot be {size} GiB")
        size = max(size or base, base)
    elif size is None:
        log.info("staging.volume.default_size", size=10)
        size = 10
    extra = {"Name": f"Staging volume for {name}", MTPT: mtpt or default_mtpt(name)}
    if fstype:  # empty: not known before the volume is attached (a snapshot's file system)
        extra[FSTYPE] = fstype
    tags = (manager.run_tags.temporary if temporary else manager.run_tags.kept)(Role.VOLUME, name, **extra)
    source = f" from {snapshot}" if snapshot is not None else ""
    manager.reporter.step(f"creating a {size} GiB volume{source} in {zone}")
    ebs = manager.ec2.create_volume(
        zone=zone, size=size, snapshot_id=snapshot, volume_type=volume_type, tag_specifications=tags
    )
    if temporary:
        manager.track("volume", str(ebs))
    volume = manager.volume_class(manager, ebs, name=name, mtpt=mtpt, temporary=temporary)
    manager.wait_for(ebs, "available", f"{ebs} to be available")
    return volume


def existing_volume(manager: Fleet, volume_id: str, zone: str) -> Any:
    found = manager.ec2.describe_volumes(volume_id)
    if not found:
        raise StagingParameterError(f"volume {volume_id} not found")
    ebs = found[0]
    if ebs.availabilityZone != zone:
        raise StagingParameterError(f"{volume_id} is in {ebs.availabilityZone}, not {zone}")
    if ebs.status != "available":
        raise VolumeInUse(f"{volume_id} is {ebs.status}, not available")
    return ebs


def snapshot_by_id(manager: Fleet, snapshot_id: str) -> Any:
    found = manager.ec2.describe_snapshots(snapshot_id)
    if not found:
        raise StagingParameterError(f"snapshot {snapshot_id} not found")
    return found[0]


def reusable_volume(manager: Fleet, name: str, zone: str) -> Any:
    found = manager.ec2.describe_volumes(
        {
            f"tag:{NAME}": name,
            f"tag:{ROLE}": Role.VOLUME,
            "availability-zone": zone,
            "status": "available",
        }
    )
    return max(found, key=lambda v: str(v.createTime), default=None)


def refuse_if_held(manager: Fleet, name: str, zone: str) -> None:
    """Reuse must not fork a volume another run is writing: when volumes of that name exist but all
    are in use, refuse instead of starting a second one (from an older snapshot, or empty)."""
    held = manager.ec2.describe_volumes(
        {f"tag:{NAME}": name, f"tag:{ROLE}": Role.VOLUME, "availability-zone": zone, "status": "in-use"}
    )
    if held:
        ids = ", ".join(str(v) for v in held)
        raise VolumeInUse(
            f"the volume named {name!r} in {zone} is in use by another run ({ids}); "
            "wait until it is released, or pass reuse=False for a new one"
        )


def newest_named_snapshot(manager: Fleet, name: str) -> Any:
    found = manager.ec2.describe_snapshots(owner="self", filter={f"tag:{NAME}": name, "status": "completed"})
    return max(found, key=lambda s: str(s.startTime), default=None)
