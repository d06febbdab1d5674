"""``StagingVolume``: an EBS volume plus where it is attached and mounted.

Unknown attributes are forwarded to the :class:`provisioning.Volume` (``vol.size``, ``vol.status``,
``vol.add_tags``), as the original's AUTOLOAD did. File operations (``ls``, ``mkdir``, ``put``...) run on the
server it is mounted on, inside its mount point; they need a mounted volume.

A volume knows its server and its manager only through the faces below (:class:`Host`,
:class:`VolumeContext`): :mod:`staging.server` builds on this module, never the other way round.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import Any, Protocol

from provisioning import NotFoundError
from staging._log import get_logger
from staging.context import RunContext
from staging.errors import NotMounted, StagingError, StagingParameterError
from staging.growth import DEVICE_TIMEOUT, MODIFICATION_TIMEOUT, wait_for_device_size, wait_for_modification
from staging.tags import Role
from transfer import CommandResult, SSHShell

__all__ = ["Host", "StagingVolume", "VolumeContext"]

log = get_logger(__name__)

#: Runs "$2 ..." inside directory "$1" (paths stay separate argv words: nothing is re-parsed by a shell).
_IN_DIR = 'cd -- "$1" && shift && exec "$@"'


class Host(Protocol):
    """The server a volume is attached to (a :class:`staging.StagingServer`), as volumes and others see it.

    Attributes:
        instance: The EC2 instance (:class:`provisioning.Instance`).
        username: The ssh login user.
    """

    instance: Any
    username: str

    @property
    def zone(self) -> str:
        """The availability zone the instance runs in."""

    @property
    def address(self) -> str:
        """The address the caller reaches it on."""

    @property
    def connection(self) -> SSHShell:
        """The pinned SSH shell."""

    def run(
        self, command: Sequence[str | bytes] | str, *, sudo: bool = False, check: bool = True,
        input: bytes | None = None, timeout: float | None = None,
    ) -> CommandResult:  # fmt: skip
        """Run a command on the server."""

    def mount_volume(self, volume: StagingVolume, mtpt: str | None = None, *, readonly: bool = False) -> str:
        """Mount ``volume`` (attaching it first when it is elsewhere); the mount point."""

    def unmount_volume(self, volume: StagingVolume) -> None:
        """Unmount ``volume``."""

    def remount_volume(self, volume: StagingVolume) -> str:
        """Mount ``volume`` again where it was."""

    def detach_volume(self, volume: StagingVolume, *, wait: bool = True) -> None:
        """Unmount and detach ``volume``."""

    def grow_filesystem(self, volume: StagingVolume) -> None:
        """Grow the file system of ``volume`` to fill its device (an error when it did not grow)."""

    def fstype_of(self, volume: StagingVolume) -> str:
        """The file system type on ``volume``."""

    def create_snapshot(
        self, volume: StagingVolume, description: str | None = None, *, freeze: bool = False,
        tags: dict[str, str] | None = None,
    ) -> Any:  # fmt: skip
        """Snapshot a consistent file system of ``volume``."""


class VolumeContext(RunContext, Protocol):
    """What a volume calls on its manager (a :class:`staging.StagingManager`)."""

    def get_server_in_zone(self, availability_zone: str | None = None, **options: Any) -> Host:
        """A running server of the manager in that zone (launched if needed)."""

    def forget_volume(self, volume: StagingVolume) -> None:
        """Stop managing ``volume``."""

    def copy_volume(self, *args: Any, **options: Any) -> StagingVolume:
        """A copy of ``volume`` in another zone or region (:meth:`StagingVolume.copy`)."""

    def rsync(self, *args: str, **options: Any) -> Any:
        """rsync between the manager's path forms."""


class StagingVolume:
    """A staging volume.

    Attributes:
        manager: The manager that owns it.
        volume: The EBS volume (:class:`provisioning.Volume`).
        name: Symbolic name (tag ``StagingName``).
        server: The server it is attached to, or None.
        device: The device name it was attached under (``/dev/sdf``), or None.
        mtdev: The block device on the server (``/dev/nvme1n1``), or None.
        mtpt: Mount point (last known), or None.
        mounted: Whether it is mounted now.
        fstype: File system type (``raw`` for none), or None when unknown.
        temporary: Deleted when the manager closes.
    """

    def __init__(
        self,
        manager: VolumeContext,
        volume: Any,
        *,
        name: str,
        fstype: str | None = None,
        mtpt: str | None = None,
        temporary: bool = False,
    ) -> None:
        self.manager = manager
        self.volume = volume
        self.name = name
        self.fstype = fstype
        self.mtpt = mtpt
        self.temporary = temporary
        self.server: Host | None = None
        self.device: str | None = None
        self.mtdev: str | None = None
        self.mounted = False

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.volume, name)

    def __str__(self) -> str:
        return str(self.volume)

    def __repr__(self) -> str:
        where = f" on {self.server}:{self.mtpt}" if self.mounted else ""
        return f"<StagingVolume {self.name} {self.volume}{where}>"

    @property
    def ebs(self) -> Any:
        """The EBS volume (the original's ``ebs``)."""
        return self.volume

    @property
    def zone(self) -> str:
        """Its availability zone."""
        return str(self.volume.availabilityZone)

    @property
    def size(self) -> int:
        """Size in GiB."""
        return int(self.volume.size)

    # --- placement ---------------------------------------------------------------------------------------
    def mount(self, server: Host | None = None, mtpt: str | None = None) -> str:
        """Mount on ``server`` (default: a server of the manager in the volume's zone, launched if needed).

        Moves the volume when it is on another server of its zone (unmount, detach, attach). Returns the
        mount point.

        Raises:
            StagingParameterError: ``server`` is in another availability zone (nothing is changed).
        """
        target = server or self.server or self.manager.get_server_in_zone(self.zone)
        if target.zone != self.zone:  # checked before the volume leaves its current server
            raise StagingParameterError(
                f"{self} is in {self.zone} and {target} in {target.zone}; copy() it to that zone first"
            )
        if self.server is not None and self.server is not target:
            self.server.detach_volume(self)
        return target.mount_volume(self, mtpt)

    def unmount(self) -> None:
        """Unmount (the volume stays attached)."""
        if self.server is not None:
            self.server.unmount_volume(self)

    umount = unmount

    def remount(self) -> str:
        """Mount again where it was."""
        return self._server().remount_volume(self)

    def detach(self) -> None:
        """Unmount and detach (no-op when not attached)."""
        if self.server is not None:
            self.server.detach_volume(self)

    def delete(self) -> None:
        """Unmount, detach and delete the volume; the manager forgets it."""
        if self.server is not None:
            self.server.detach_volume(self)
        with contextlib.suppress(NotFoundError):
            self.manager.ec2.delete_volume(self.volume)
        self.manager.forget_volume(self)
        log.info("staging.volume.deleted", volume=str(self.volume), name=self.name)

    def resize(
        self, size: int, *, timeout: float = MODIFICATION_TIMEOUT, device_timeout: float = DEVICE_TIMEOUT
    ) -> None:
        """Grow the volume to ``size`` GiB and its file system with it (EBS cannot shrink).

        As AWS allows it: ``ModifyVolume``, then a wait (up to ``timeout`` seconds) until the modification
        is ``optimizing`` or ``completed`` (before that the new size is not usable), then a wait (up to
        ``device_timeout``) until the server's block device shows the new size, then the file system grows
        (:meth:`StagingServer.grow_filesystem`, which checks that it did). A volume that is not attached
        gets only the EBS part (grow its file system on a server later: ``grow_filesystem``); a ``raw`` one
        has no file system to grow.

        Raises:
            StagingError: ``size`` is smaller (nothing is changed), the modification failed, a wait passed
                its deadline, or the file system did not grow.
        """
        if size < self.size:
            raise StagingError(f"{self} is {self.size} GiB; EBS volumes cannot shrink to {size} GiB")
        if size == self.size:
            return
        reporter = self.manager.reporter
        reporter.step(f"growing {self.volume} to {size} GiB")
        self.manager.ec2.modify_volume(volume_id=self.volume, size=size)
        wait_for_modification(self.manager.ec2, str(self.volume), size, reporter, timeout)
        self.volume.refresh()
        server = self.server
        if server is None or not self.mtdev:
            return
        wait_for_device_size(server, self.mtdev, size, reporter, str(server), device_timeout)
        if self.fstype == "raw":
            return
        reporter.step(f"growing the file system of {self.volume} to {size} GiB")
        server.grow_filesystem(self)

    def create_snapshot(self, description: str | None = None, *, freeze: bool = False) -> Any:
        """Snapshot a consistent file system (see :meth:`StagingServer.create_snapshot`)."""
        if self.server is not None:
            return self.server.create_snapshot(self, description, freeze=freeze)
        tags = {
            "Name": f"Staging volume {self.name}",
            **self.manager.run_tags.kept(Role.SNAPSHOT, self.name),
        }
        return self.manager.ec2.create_snapshot(
            self.volume, description=description or f"Staging volume {self.name}", tag_specifications=tags
        )

    snapshot = create_snapshot

    def copy(
        self,
        *,
        availability_zone: str | None = None,
        dest: Any = None,
        name: str | None = None,
        size: int | None = None,
        fstype: str | None = None,
    ) -> StagingVolume:
        """A copy of this volume in another zone or region (the original stays as it is).

        Args:
            availability_zone: The copy's zone (default: this one in this region, else the destination's
                first zone).
            dest: Another region (a name, a region object or its manager); default this region.
            name: The copy's name (default ``<name>-copy``).
            size: GiB of the copy; with ``fstype``, asking for a change makes it a file-level copy (rsync
                between two staging servers), else the blocks are copied (snapshot, CopySnapshot across
                regions, volume).
            fstype: File system of a file-level copy.

        Returns:
            The copy, managed by the destination's manager (mounted after a file-level copy).
        """
        return self.manager.copy_volume(self, availability_zone=availability_zone, dest=dest, name=name,
                                        size=size, fstype=fstype)  # fmt: skip

    # --- files -------------------------------------------------------------------------------------------
    def _server(self) -> Host:
        if self.server is None:
            raise NotMounted(f"{self} is not attached to a server")
        return self.server

    def _in_mount(self, *argv: str, sudo: bool = True) -> CommandResult:
        if not self.mounted or not self.mtpt:
            raise NotMounted(f"{self} ({self.name}) is not mounted")
        return self._server().run(["sh", "-c", _IN_DIR, "sh", self.mtpt, *argv], sudo=sudo, check=False)

    def cmd(self, *argv: str) -> str:
        """Run a command inside the mount point; its standard output."""
        return self._in_mount(*argv).stdout

    def df(self, *args: str) -> str:
        """``df`` of the mount point."""
        return self.cmd("df", *args, ".")

    def ls(self, *args: str) -> str:
        """``ls`` inside the mount point (as root)."""
        return self.cmd("ls", *args)

    def mkdir(self, *args: str) -> bool:
        """``mkdir`` inside the mount point; True on success."""
        return self._in_mount("mkdir", *args).ok

    def chown(self, *args: str) -> bool:
        """``chown`` inside the mount point; True on success."""
        return self._in_mount("chown", *args).ok

    def chgrp(self, *args: str) -> bool:
        """``chgrp`` inside the mount point; True on success."""
        return self._in_mount("chgrp", *args).ok

    def chmod(self, *args: str) -> bool:
        """``chmod`` inside the mount point; True on success."""
        return self._in_mount("chmod", *args).ok

    def rm(self, *args: str) -> bool:
        """``rm`` inside the mount point; True on success."""
        return self._in_mount("rm", *args).ok

    def rmdir(self, *args: str) -> bool:
        """``rmdir`` inside the mount point; True on success."""
        return self._in_mount("rmdir", *args).ok

    def cp(self, *args: str) -> bool:
        """``cp`` inside the mount point; True on success."""
        return self._in_mount("cp", *args).ok

    def mv(self, *args: str) -> bool:
        """``mv`` inside the mount point; True on success."""
        return self._in_mount("mv", *args).ok

    def put(self, *args: str | os.PathLike[str], **options: Any) -> Any:
        """Copy local sources onto the volume: ``put(src..., dest_on_volume)``; one argument: to its root.

        The volume is named by its id: names need not be unique (``scan_region`` adopts every volume).
        """
        paths = [os.fspath(a) for a in args]
        sources, dest = (paths, ".") if len(paths) == 1 else (paths[:-1], paths[-1])
        return self.manager.rsync(*sources, f"{self.volume}:{dest}", **options)

    def get(self, *args: str | os.PathLike[str], **options: Any) -> Any:
        """Copy paths on the volume to a local destination: ``get(src_on_volume..., dest)``; one argument:
        the whole volume to it."""
        paths = [os.fspath(a) for a in args]
        sources, dest = (["./"], paths[0]) if len(paths) == 1 else (paths[:-1], paths[-1])
        return self.manager.rsync(*(f"{self.volume}:{s}" for s in sources), dest, **options)
