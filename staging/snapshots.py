"""Named, versioned EBS snapshots of local directories: ``sync_to_snapshot`` and ``sync_from_snapshot``.

One path, top to bottom (``sync_to_snapshot``):

1. **check** everything that can be checked before anything is created: the sources exist, the name, size
   and file system are valid, the endpoint answers with these credentials, the zone exists, the image exists,
   the caller's address is known; take the name's lock on this machine (:mod:`staging.synclock`) and find
   the newest version of the snapshot (owner + tag ``Name``);
2. **volume + server**: a temporary volume from that version (its file system grown if it must grow) or a new
   formatted one, and a staging server in its zone; attach and mount;
3. **transfer**: rsync with relative paths, hard links, symlinks, modes, owners and times kept;
4. **snapshot**: unmount, detach, snapshot tagged ``Name`` and ``Version`` = previous + 1 (description: the
   name, as the original did), wait until it completes; settle the version with a run on another machine
   that made the same one (:mod:`staging.versions`);
5. **cleanup**: the manager removes the server, volume, key pair and security group (also on error, Ctrl-C
   or SIGTERM); a snapshot that did not complete is deleted, so a failed run leaves nothing.

``sync_from_snapshot`` runs the same path backwards into a local directory (the volume mounted read-only).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioning import EC2, AWSError
from staging import access
from staging._log import get_logger
from staging.blocks import CONCURRENCY
from staging.direct import default_dotdir, direct_from_snapshot, direct_to_snapshot, timed_phase
from staging.errors import SnapshotNotFound, StagingParameterError
from staging.images import find_image
from staging.interrupts import signals_raise
from staging.manager import MAX_VOLUME_GIB, StagingManager
from staging.progress import LogReporter, Reporter
from staging.sizing import measure, volume_gib
from staging.synclock import lock_path, sync_lock
from staging.tags import EXPIRES, Role
from staging.versions import claim, holder_rank, make_unique, version_of

__all__ = ["SyncPlan", "SyncResult", "find_snapshot", "sync_from_snapshot", "sync_to_snapshot"]

log = get_logger(__name__)

FILESYSTEMS = ("ext4", "ext3", "ext2", "xfs")
#: Where the working volume is mounted on the staging server (the original's place).
MOUNT_POINT = "/mnt/transfer"
_OWNER_RE = re.compile(r"self|amazon|\d{12}")
#: What a plan names as its server when the direct path needs none.
DIRECT = "none (EBS direct APIs)"


@dataclass(frozen=True)
class SyncPlan:
    """What a sync would do (``dry_run``), decided after every check and before anything is created."""

    name: str
    region: str
    zone: str
    version: int
    parent: str | None
    size_gib: int
    filesystem: str
    data_bytes: int
    files: int
    image: str
    username: str | None

    def describe(self) -> str:
        """The plan in a few lines, for people."""
        source = f"from {self.parent} (version {self.version - 1})" if self.parent else "new, empty"
        return (
            f"snapshot {self.name!r} version {self.version} in {self.region} ({self.zone})\n"
            f"  volume: {self.size_gib} GiB {self.filesystem}, {source}\n"
            f"  data: {self.data_bytes} bytes in {self.files} files\n"
            f"  staging server: {self.image}, login {self.username or 'from the image'}"
        )


@dataclass(frozen=True)
class SyncResult:
    """What a sync did.

    Attributes:
        snapshot_id: The snapshot made (``sync_to_snapshot``) or read (``sync_from_snapshot``).
        name: Its name (tag ``Name``).
        version: Its version (tag ``Version``).
        parent: The version it was made from, or None.
        region: The region.
        size_gib: The volume size.
        bytes_total: Bytes of file data in the tree.
        bytes_sent: Bytes rsync sent over the wire.
        literal_bytes: File data that was actually sent (the rest matched what was there).
        files_transferred: Files rsync sent (direct path: every file, the image holds them all).
        timings: Seconds per phase (``check``, ``prepare``, ``transfer``, ``snapshot``, ``cleanup``).
        blocks_put: With ``direct=True``: the 512 KiB blocks written (only those that changed); else None.
    """

    snapshot_id: str
    name: str
    version: int
    parent: str | None
    region: str
    size_gib: int
    bytes_total: int
    bytes_sent: int
    literal_bytes: int
    files_transferred: int
    timings: dict[str, float] = field(default_factory=dict)
    blocks_put: int | None = None


def _check_name(name: str) -> str:
    if not name or len(name) > 255 or not name.isprintable():
        raise StagingParameterError(f"bad snapshot name {name!r}: 1-255 printable characters")
    return name


def find_snapshot(ec2: Any, name: str, *, version: int | None = None, owner: str = "self") -> Any:
    """The completed snapshot ``name`` of ``owner``: the given version, else the newest. None if none.

    Several snapshots of one version (made by older releases, which did not settle clashes) are never
    ambiguous: the one :func:`staging.versions.holder_rank` puts first is chosen, with a warning.
    """
    found = ec2.describe_snapshots(owner=owner, filter={"tag:Name": name, "status": "completed"})
    if version is not None:
        found = [s for s in found if version_of(s) == version]
    if not found:
        return None
    newest = max(version_of(s) for s in found)
    holders = sorted((s for s in found if version_of(s) == newest), key=lambda s: holder_rank(claim(s)))
    if len(holders) > 1:
        log.warning("staging.duplicate_version", name=name, version=newest, chosen=str(holders[0]),
                    others=[str(s) for s in holders[1:]], rule="started first")  # fmt: skip
    return holders[0]


class _Clock:
    """Seconds per phase, for the result."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def phase(self, name: str) -> AbstractContextManager[None]:
        return timed_phase(self.timings, name)


def _check_common(ec2: Any, owner: str, zone: str | None) -> str:
    """Checks both directions share: the owner's form, and the endpoint answering (gives the zone)."""
    if not _OWNER_RE.fullmatch(owner):
        raise StagingParameterError(
            f"bad snapshot owner {owner!r}: 'self', 'amazon' or a 12-digit account id"
        )
    zones = sorted(str(z) for z in ec2.describe_availability_zones({"state": "available"}))
    if zone is not None and zone not in zones:
        raise StagingParameterError(
            f"unknown availability zone {zone!r} in {ec2.region}; try {', '.join(zones)}"
        )
    if not zones:
        raise StagingParameterError(f"no available zone in {ec2.region}")
    return zone or zones[0]


def _run_manager(
    ec2: Any, boot: Any, zone: str, ssh_cidr: str | None, instance_type: str, username: str | None,
    dotdir: str | Path | None, reporter: Reporter,
) -> StagingManager:  # fmt: skip
    """The manager of one sync run: its servers boot ``boot`` in ``zone`` and are terminated at the end.

    The caller's address is looked up here, still before anything is created.
    """
    cidr = access.check_cidr(ssh_cidr) if ssh_cidr else access.caller_cidr(str(ec2.endpoint))
    return StagingManager(
        ec2, on_exit="terminate", image_name=str(boot), instance_type=instance_type, username=username,
        availability_zone=zone, dotdir=dotdir, ssh_cidr=cidr, reporter=reporter, reuse_volumes=False,
    )  # fmt: skip


def sync_to_snapshot(
    sources: Sequence[str | os.PathLike[str]],
    snapshot: str,
    *,
    ec2: Any = None,
    zone: str | None = None,
    size: int | None = None,
    filesystem: str = "ext4",
    image: str | None = None,
    instance_type: str = "t3.micro",
    username: str | None = None,
    owner: str = "self",
    excludes: Sequence[str] = (),
    delete: bool = False,
    acls: bool = False,
    xattrs: bool = False,
    ssh_cidr: str | None = None,
    dotdir: str | Path | None = None,
    reporter: Reporter | None = None,
    dry_run: bool = False,
    direct: bool = False,
    concurrency: int = CONCURRENCY,
    lock_timeout: float | None = None,
) -> SyncResult | SyncPlan:
    """Copy local files or directories into the next version of the snapshot named ``snapshot``.

    Args:
        sources: Local files or directories; their paths are kept as given, below the volume's root (rsync
            ``-R``): ``data/x`` lands at ``data/x``, ``/home/me/data`` at ``home/me/data``.
        snapshot: The snapshot's name (tag ``Name`` and description).
        ec2: The region's :class:`provisioning.EC2` (default ``EC2()``).
        zone: Availability zone of the staging server and volume (default: the first available).
        size: Volume size in GiB (default: from the data, and at least the previous version's).
        filesystem: File system of a first version (``ext4``, ``ext3``, ``ext2``, ``xfs``).
        image: Image of the staging server (``ami-...`` or a name pattern; default official Debian 12).
        instance_type: Its instance type.
        username: Its login user (default: from the image).
        owner: Owner of the previous versions to start from (``self`` by default).
        excludes: rsync ``--exclude`` patterns.
        delete: Delete files on the volume that are gone from the sources (``--delete``).
        acls: Keep POSIX ACLs.
        xattrs: Keep extended attributes.
        ssh_cidr: Who may ssh into the staging server (default: the caller's address).
        dotdir: The staging dot directory.
        reporter: Progress receiver.
        dry_run: Check and plan only; return the :class:`SyncPlan` and create nothing.
        direct: No server: build the file-system image locally and write only its changed blocks with the
            EBS direct APIs (:mod:`staging.direct`; the version then holds exactly the sources, and
            ``excludes`` is refused).
        concurrency: Parallel block writes of the direct path.
        lock_timeout: Seconds to wait at most while another run of this name on this machine holds its lock
            (None: as long as it takes).

    Runs of one name are serialised on one machine (:mod:`staging.synclock`); runs on two machines that
    made the same version settle it once their snapshots exist (:mod:`staging.versions`): the result's
    ``version`` is the one the snapshot really has.

    Raises:
        StagingParameterError: Bad input (nothing was created).
        SyncLocked: Another run of this name still ran after ``lock_timeout`` (nothing was created).
        provisioning.VMEC2Error, transfer.TransferError, StagingError: A failure on the way (everything the
            run created has been removed).
    """
    clock = _Clock()
    reporter = reporter or LogReporter()
    with ExitStack() as held:
        with clock.phase("check"):
            name = _check_name(snapshot)
            if not sources:
                raise StagingParameterError("nothing to sync: give at least one file or directory")
            if filesystem not in FILESYSTEMS:
                raise StagingParameterError(
                    f"unsupported file system {filesystem!r}; use one of {', '.join(FILESYSTEMS)}"
                )
            tree = measure(sources)
            needed = volume_gib(tree)
            if size is not None and not 1 <= size <= MAX_VOLUME_GIB:
                raise StagingParameterError(f"--size must be 1..{MAX_VOLUME_GIB} GiB, not {size}")
            if size is not None and size < needed:
                raise StagingParameterError(
                    f"--size {size} GiB is too small for the data (needs {needed} GiB)"
                )
            if lock_timeout is not None and lock_timeout < 0:
                raise StagingParameterError(f"--lock-timeout must be 0 or more seconds, not {lock_timeout:g}")
            if needed > MAX_VOLUME_GIB:
                raise StagingParameterError(
                    f"the data needs {needed} GiB; an EBS volume holds at most {MAX_VOLUME_GIB}"
                )
            ec2 = ec2 if ec2 is not None else EC2()
            zone = _check_common(ec2, owner, zone)
            if not dry_run:  # the same name is made one run at a time on this machine; a plan takes no lock
                where = lock_path(default_dotdir(dotdir), str(ec2.endpoint), str(ec2.region), name)
                held.enter_context(
                    sync_lock(where, f"another sync_to_snapshot of {name!r}", reporter, lock_timeout)
                )
            parent = find_snapshot(ec2, name, owner=owner)
            if parent is None and owner != "self":
                raise SnapshotNotFound(
                    f"no completed snapshot named {name!r} owned by {owner} in {ec2.region}"
                )
            version = version_of(parent) + 1 if parent is not None else 1
            size_gib = max(size or needed, int(parent.volumeSize) if parent is not None else 0)
            if parent is not None and size is not None and size < int(parent.volumeSize):
                raise StagingParameterError(
                    f"--size {size} GiB is smaller than version {version - 1} ({parent.volumeSize} GiB)"
                )
            if direct and excludes:
                raise StagingParameterError(
                    "--exclude is not supported with --direct (the image holds the PATHs)"
                )
            boot = DIRECT if direct else find_image(ec2, image, "x86_64")
            plan = SyncPlan(name, str(ec2.region), zone, version, str(parent) if parent else None, size_gib,
                            filesystem, tree.bytes, tree.files, str(boot), username)  # fmt: skip
            if dry_run:
                return plan
        if direct:
            made_id, version, blocks, sent = direct_to_snapshot(
                ec2, sources, plan, filesystem=filesystem, dotdir=dotdir, reporter=reporter,
                timings=clock.timings, concurrency=concurrency,
            )  # fmt: skip
            return SyncResult(made_id, name, version, plan.parent, plan.region, size_gib, tree.bytes, sent,
                              sent, tree.files, clock.timings, blocks)  # fmt: skip
        with clock.phase("check"):
            manager = _run_manager(ec2, boot, zone, ssh_cidr, instance_type, username, dotdir, reporter)
        with signals_raise(), manager:
            with clock.phase("prepare"):
                volume = manager.provision_volume(
                    f"sync-{manager.run_id}", size=size_gib, snapshot_id=str(parent) if parent else None,
                    fstype=filesystem, mtpt=MOUNT_POINT, reuse=False, temporary=True,
                )  # fmt: skip
            with clock.phase("transfer"):
                reporter.step(f"copying {tree.bytes} bytes in {tree.files} files")
                result = manager.rsync(
                    *[os.fspath(s) for s in sources], f"{volume.name}:", relative=True, delete=delete,
                    excludes=tuple(excludes), acls=acls, xattrs=xattrs,
                )  # fmt: skip
            with clock.phase("snapshot"):
                made, version = _snapshot(manager, volume, name, version)
            cleanup_start = time.monotonic()
        clock.timings["cleanup"] = round(time.monotonic() - cleanup_start, 3)
        stats = result.stats
        log.info("staging.sync_to_snapshot.done", snapshot=str(made), name=name, version=version)
        return SyncResult(
            str(made), name, version, str(parent) if parent else None, str(ec2.region), size_gib, tree.bytes,
            stats.bytes_sent, stats.literal_data, stats.files_transferred, clock.timings,
        )  # fmt: skip


def _snapshot(manager: StagingManager, volume: Any, name: str, version: int) -> tuple[Any, int]:
    """Detach, snapshot as ``name`` version ``version``, wait until it completes; (snapshot, its version).

    Until it completes and its version is settled (:func:`staging.versions.make_unique`) the snapshot is
    temporary (tag ``StagingExpires``, in the journal) and a failure deletes it; then the expiry tag goes and
    it is the caller's.
    """
    assert volume.server is not None
    volume.server.detach_volume(volume)
    manager.reporter.step(f"snapshotting {volume.volume} as {name!r} version {version}")
    tags = manager.run_tags.temporary(Role.SNAPSHOT, name, Name=name, Version=str(version))
    made = manager.ec2.create_snapshot(volume.volume, description=name, tag_specifications=tags)
    created = time.monotonic()
    manager.track("snapshot", str(made))
    try:
        manager.wait_for(made, "completed", f"{made} to complete")
        version = make_unique(manager.ec2, str(made), name, manager.reporter, created=created)
        made.delete_tags(EXPIRES)
    except BaseException:
        try:
            manager.ec2.delete_snapshot(made)
            manager.untrack(str(made))
        except AWSError as exc:
            log.error("staging.snapshot_not_deleted", snapshot=str(made), error=str(exc))
        raise
    manager.untrack(str(made))
    return made, version


def sync_from_snapshot(
    dest: str | os.PathLike[str],
    snapshot: str,
    *,
    version: int | None = None,
    ec2: Any = None,
    zone: str | None = None,
    image: str | None = None,
    instance_type: str = "t3.micro",
    username: str | None = None,
    owner: str = "self",
    excludes: Sequence[str] = (),
    delete: bool = False,
    acls: bool = False,
    xattrs: bool = False,
    ssh_cidr: str | None = None,
    dotdir: str | Path | None = None,
    reporter: Reporter | None = None,
    direct: bool = False,
    concurrency: int = CONCURRENCY,
) -> SyncResult:
    """Bring a snapshot's tree (the newest version, or ``version``) into the local directory ``dest``.

    The snapshot's volume is mounted read-only on a staging server and pulled with rsync (owners, modes,
    times, hard links and symlinks kept; ``lost+found`` left out). Arguments as :func:`sync_to_snapshot`;
    ``direct=True`` reads the blocks with the EBS direct APIs into a local image instead and copies the tree
    out of its read-only loop mount (needs root).

    Raises:
        SnapshotNotFound: No such snapshot (or version) of ``owner``.
        StagingParameterError: Bad input (nothing was created).
    """
    clock = _Clock()
    reporter = reporter or LogReporter()
    with clock.phase("check"):
        name = _check_name(snapshot)
        target = Path(dest)
        if target.exists() and not target.is_dir():
            raise StagingParameterError(f"{target} exists and is not a directory")
        if not target.parent.is_dir():
            raise StagingParameterError(f"{target.parent} does not exist")
        ec2 = ec2 if ec2 is not None else EC2()
        zone = _check_common(ec2, owner, zone)
        found = find_snapshot(ec2, name, version=version, owner=owner)
        if found is None:
            which = f" version {version}" if version is not None else ""
            raise SnapshotNotFound(
                f"no completed snapshot named {name!r}{which} owned by {owner} in {ec2.region}"
            )
    if direct:
        result = direct_from_snapshot(
            ec2, found, target, excludes=excludes, delete=delete, acls=acls, xattrs=xattrs, dotdir=dotdir,
            reporter=reporter, timings=clock.timings, concurrency=concurrency,
        )  # fmt: skip
        return _restored(found, name, ec2, result, clock)
    with clock.phase("check"):
        boot = find_image(ec2, image, "x86_64")
        manager = _run_manager(ec2, boot, zone, ssh_cidr, instance_type, username, dotdir, reporter)
    with signals_raise(), manager:
        with clock.phase("prepare"):
            volume = manager.provision_volume(
                f"restore-{manager.run_id}", snapshot_id=str(found), mtpt=MOUNT_POINT, reuse=False,
                temporary=True, mount=False,
            )  # fmt: skip
            assert volume.server is not None
            volume.server.mount_volume(volume, MOUNT_POINT, readonly=True)
        with clock.phase("transfer"):
            target.mkdir(exist_ok=True)
            result = manager.rsync(
                f"{volume.name}:", f"{target}/", delete=delete, excludes=("/lost+found", *excludes),
                acls=acls, xattrs=xattrs,
            )  # fmt: skip
        cleanup_start = time.monotonic()
    clock.timings["cleanup"] = round(time.monotonic() - cleanup_start, 3)
    return _restored(found, name, ec2, result, clock)


def _restored(found: Any, name: str, ec2: Any, result: Any, clock: _Clock) -> SyncResult:
    stats = result.stats
    return SyncResult(
        str(found), name, version_of(found), None, str(ec2.region), int(found.volumeSize), stats.total_size,
        stats.bytes_sent, stats.literal_data, stats.files_transferred, clock.timings,
    )  # fmt: skip
