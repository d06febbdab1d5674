"""``StagingServer``: one EC2 instance plus the SSH shell that drives it.

A server *has* an :class:`provisioning.Instance` and a :class:`transfer.SSHShell` (STYLE P1: only staging
combines the two). Unknown attributes are forwarded to the instance, as the original's AUTOLOAD did, so
``server.placement``, ``server.dnsName`` or ``server.add_tags(...)`` work.

Safety rules kept here, in one place:

* host keys are pinned from the instance's console output before the first connection (no trust on first use);
* a volume is found on the host by its volume id (NVMe by-id), whatever device name was requested, and the
  device name is chosen from the instance's block device mapping, never by listing ``/dev``;
* a snapshot is taken only of a consistent file system (unmounted, or frozen with ``fsfreeze``);
* a mounted volume is never detached.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from staging._log import get_logger
from staging.context import RunContext
from staging.errors import NoServerAvailable, StagingError, StagingParameterError, VolumeInUse
from staging.tags import Role
from staging.volume import StagingVolume
from transfer import CommandResult, HostKeyPins, SSHShell, find_block_device, missing_tools
from transfer.commands import (
    blockdev_size_argv,
    e2fsck_argv,
    e2fsck_ok,
    fs_size_argv,
    fsfreeze_argv,
    grow_fs_argv,
    mkfs_argv,
    mount_argv,
    parse_blockdev_size,
    parse_fs_size,
    umount_argv,
)
from transfer.openssh import ssh_argv

__all__ = ["ServerContext", "StagingServer", "default_mtpt"]

log = get_logger(__name__)

#: Device names offered for staging volumes (the original's /dev/sdf.. range, whole disks).
_DEVICE_NAMES = tuple(f"/dev/sd{c}" for c in "fghijklmnop")


def falls_short(filesystem_bytes: int, device_bytes: int) -> bool:
    """Whether a grown file system falls short of its device by more than its layout leaves over (ext*
    whole blocks and groups, xfs whole allocation groups of at least 16 MiB): 64 MiB or 1 %, whichever is
    more. One still at its old size after growing means the device did not show its new size yet."""
    return device_bytes - filesystem_bytes > max(64 << 20, device_bytes // 100)


def default_mtpt(name: str) -> str:
    """Where a volume is mounted unless told otherwise: ``/mnt/Staging/<name>`` (the original's place)."""
    return f"/mnt/Staging/{name}"


class ServerContext(RunContext, Protocol):
    """What a server calls on its manager (a :class:`staging.StagingManager`).

    Attributes:
        ssh_timeout: Seconds to wait for a new server's console host keys and sshd.
    """

    ssh_timeout: float

    def wait_for_servers(self, servers: Sequence[StagingServer]) -> None:
        """Wait until ``servers`` run and answer over SSH."""

    def terminate_servers(
        self, servers: Iterable[StagingServer], *, wait: bool = True, unmount: bool = True
    ) -> None:
        """Terminate ``servers`` (their volumes unmounted first)."""

    def volumes(self) -> Sequence[StagingVolume]:
        """The volumes the manager knows."""

    def provision_volume(self, *args: Any, **options: Any) -> StagingVolume:
        """Create (or reuse) a volume, attach, format or grow and mount it."""

    def rsync(self, *args: str, **options: Any) -> Any:
        """rsync between the manager's path forms."""

    def dd(self, source: StagingVolume, dest: StagingVolume, **options: Any) -> Any:
        """Block copy between two volumes."""


class StagingServer:
    """A staging server: an instance, its login, its pinned SSH connection and the volumes it carries.

    Made by :meth:`StagingManager.provision_server` (or found by ``scan_region``); not constructed directly.

    Attributes:
        manager: The manager that owns it.
        instance: The EC2 instance (a :class:`provisioning.Instance`, kept current by the waits here).
        name: Its symbolic name (tag ``StagingName``).
        username: The ssh login user.
        keyfile: The private key's path.
    """

    def __init__(
        self, manager: ServerContext, instance: Any, *, name: str, username: str, keyfile: Path
    ) -> None:
        self.manager = manager
        self.instance = instance
        self.name = name
        self.username = username
        self.keyfile = Path(keyfile)
        self._shell: SSHShell | None = None
        self._reserved: set[str] = set()

    # --- identity ----------------------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.instance, name)

    def __str__(self) -> str:
        return str(self.instance)

    def __repr__(self) -> str:
        return f"<StagingServer {self.name} {self.instance}>"

    @property
    def ec2(self) -> Any:
        """The manager's EC2 façade."""
        return self.manager.ec2

    @property
    def zone(self) -> str:
        """The availability zone the instance runs in."""
        return str(self.instance.placement.availabilityZone)

    @property
    def address(self) -> str:
        """The address the caller reaches it on (public, else private)."""
        address = self.instance.publicIpAddress or self.instance.privateIpAddress
        if not address:
            raise NoServerAvailable(f"{self} has no address (state {self.instance.instanceState.name})")
        return str(address)

    # --- connection --------------------------------------------------------------------------------------
    @property
    def connection(self) -> SSHShell:
        """The pinned SSH shell (connected on first use; see :meth:`connect`)."""
        if self._shell is None:
            self.connect()
        assert self._shell is not None
        return self._shell

    def connect(self, timeout: float | None = None) -> SSHShell:
        """Pin the host keys from the console output, then connect once sshd answers.

        Raises:
            NoServerAvailable: No host keys in the console, or sshd unreachable, within ``timeout``
                (default: the manager's ``ssh_timeout``).
        """
        limit = self.manager.ssh_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        pins = self._console_pins(deadline)
        shell = SSHShell(self.address, user=self.username, key_filename=self.keyfile, host_keys=pins)
        self.manager.reporter.step(f"waiting for ssh on {self} ({self.username}@{self.address})")
        try:
            shell.wait_until_reachable(max(1.0, deadline - time.monotonic()))
        except Exception as exc:
            raise NoServerAvailable(f"{self}: ssh not reachable: {exc}") from exc
        self._shell = shell
        return shell

    def _console_pins(self, deadline: float) -> HostKeyPins:
        """Poll the console output until cloud-init's host key fingerprints appear."""
        start = time.monotonic()
        delay = 0.5
        while True:
            pins = HostKeyPins.from_cloud_init_console(self.instance.console_output() or "")
            if pins:
                return pins
            now = time.monotonic()
            if now + delay > deadline:
                raise NoServerAvailable(f"{self}: no host key fingerprints in the console output")
            self.manager.reporter.waiting(f"host keys of {self} in its console output", now - start)
            time.sleep(delay)
            delay = min(delay * 1.5, 5.0)

    def close(self) -> None:
        """Close the SSH connection (the instance keeps running)."""
        if self._shell is not None:
            self._shell.close()
            self._shell = None

    # --- commands ----------------------------------------------------------------------------------------
    def run(
        self,
        command: Sequence[str | bytes] | str,
        *,
        sudo: bool = False,
        check: bool = True,
        input: bytes | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        """Run a command (argv list, quoted safely; or a shell string) and return its result.

        Raises:
            transfer.RemoteCommandError: It failed and ``check`` is true.
        """
        return self.connection.run(command, sudo=sudo, check=check, input=input, timeout=timeout)

    def ssh(self, *command: str) -> bool:
        """Run a command; True when it succeeded (the original's boolean ``ssh``)."""
        return self.run(list(command) if len(command) > 1 else command[0], check=False).ok

    def scmd(self, *command: str) -> str:
        """Run a command and return its standard output (raises when it fails)."""
        return self.run(list(command) if len(command) > 1 else command[0]).stdout

    def shell(self) -> int:
        """An interactive login on the server in this terminal (OpenSSH's client, pinned host key)."""
        with self.connection.openssh_target() as target:
            return subprocess.call(ssh_argv(target))

    def ping(self) -> bool:
        """True when the instance runs and answers a command over SSH."""
        self.instance.refresh()
        if self.instance.instanceState.name != "running":
            return False
        try:
            return self.run(["true"], check=False, timeout=30).ok
        except Exception:
            return False

    is_up = ping

    # --- lifecycle ---------------------------------------------------------------------------------------
    def start(self, *, wait: bool = True) -> None:
        """Start a stopped server and wait until SSH answers (its address may have changed)."""
        self.close()
        self.instance.start()
        if wait:
            self.manager.wait_for_servers([self])

    def stop(self, *, wait: bool = True) -> None:
        """Stop the server (mounted volumes are unmounted first)."""
        self.unmount_all(forget_devices=True)
        self.close()
        self.instance.stop()
        if wait:
            self.manager.wait_for(self.instance, "stopped", f"{self} to stop")

    def unmount_all(self, *, forget_devices: bool = False) -> None:
        """Unmount every staging volume of this server.

        Args:
            forget_devices: Also forget their block devices (before a stop: a restart may number them
                differently; they are found again by volume id when next mounted).
        """
        for volume in self.volumes():
            if volume.mounted:
                self.unmount_volume(volume)
            if forget_devices:
                volume.mtdev = None

    def powered_off(self, *, terminated: bool = False) -> None:
        """Record that the instance stopped (its mounts are gone, its devices unknown until found again)
        or terminated (EC2 detached its volumes). Runs nothing on the host."""
        self.close()
        for volume in self.volumes():
            volume.mounted, volume.mtdev = False, None
            if terminated:
                volume.server, volume.device = None, None

    def terminate(self, *, wait: bool = True) -> None:
        """Terminate the server; its volumes are unmounted first and stay (detached by EC2)."""
        self.manager.terminate_servers([self], wait=wait)

    # --- volumes -----------------------------------------------------------------------------------------
    def volumes(self) -> list[StagingVolume]:
        """The staging volumes attached to this server."""
        return [v for v in self.manager.volumes() if v.server is self]

    def provision_volume(self, **kwargs: Any) -> StagingVolume:
        """Create (or reuse) a volume in this server's zone, attach, format/grow and mount it.

        Same arguments as :meth:`StagingManager.provision_volume` (without ``availability_zone``).
        """
        return self.manager.provision_volume(server=self, **kwargs)

    add_volume = provision_volume

    def _free_device(self) -> str:
        """A device name no block device mapping of the instance uses (refreshes the instance)."""
        self.instance.refresh()
        used = {str(m.deviceName) for m in self.instance.blockDeviceMapping or []} | self._reserved
        used |= {d.replace("/dev/xvd", "/dev/sd") for d in used}
        for name in _DEVICE_NAMES:
            if name not in used:
                self._reserved.add(name)
                return name
        raise StagingError(f"{self}: no free device name left in /dev/sdf../dev/sdp")

    def attach_volume(self, volume: StagingVolume) -> str:
        """Attach ``volume`` and return its block device on the host (found by volume id).

        Raises:
            VolumeInUse: Another server holds it (EC2 refused the attachment).
            StagingParameterError: The volume is in another availability zone.
        """
        from provisioning import AWSError

        device = self._free_device()
        self.manager.reporter.step(f"attaching {volume.volume} to {self} as {device}")
        try:
            attachment = self.ec2.attach_volume(volume.volume, self.instance, device)
        except AWSError as exc:
            self._reserved.discard(device)
            if exc.code in ("VolumeInUse", "IncorrectState"):
                raise VolumeInUse(f"cannot attach {volume.volume} to {self}: {exc}") from exc
            if exc.code == "InvalidVolume.ZoneMismatch":
                raise StagingParameterError(f"cannot attach {volume.volume} to {self}: {exc}") from exc
            raise
        self.manager.wait_for(attachment, "attached", f"{volume.volume} to attach")
        volume.server, volume.device = self, device
        volume.mtdev = find_block_device(self.connection, str(volume.volume), device, timeout=120)
        volume.volume.refresh()
        return volume.mtdev

    def format_volume(
        self, volume: StagingVolume, fstype: str, *, label: str | None = None, uuid: str | None = None
    ) -> None:
        """Make a file system on an attached, unmounted volume (destroys its contents)."""
        self._need_tool(f"mkfs.{fstype}")
        if not volume.mtdev:
            raise StagingError(f"{volume} is not attached")
        self.run(mkfs_argv(volume.mtdev, fstype, label=label, uuid=uuid, force=True), sudo=True)
        volume.fstype = fstype

    def grow_filesystem(self, volume: StagingVolume) -> None:
        """Grow the file system to fill its (larger) volume: offline for ext*, mounted for xfs.

        A mounted ext* volume is unmounted for the check and the resize, and mounted again where it was. The
        tools succeed when they find nothing to do, so the file system's own size is compared with its
        device's afterwards: one that does not fill its device is an error here. Growing one that already
        fills it changes nothing (idempotent).

        Raises:
            StagingError: Not attached, an unsupported type, a failed check, or the file system does not fill
                its device afterwards.
        """
        fstype = volume.fstype or self.fstype_of(volume)
        dev = volume.mtdev
        if not dev:
            raise StagingError(f"{volume} is not attached")
        if fstype.startswith("ext"):
            before = self.filesystem_size(volume, fstype)
            was_mounted = volume.mounted
            if was_mounted:
                self.unmount_volume(volume)
            check = self.run(e2fsck_argv(dev), sudo=True, check=False)
            if not e2fsck_ok(check.exit_code):
                raise StagingError(f"e2fsck {dev} on {self} failed ({check.exit_code}): {check.tail()}")
            self.run(grow_fs_argv(fstype, dev), sudo=True)
            if was_mounted:
                self.remount_volume(volume)
        elif fstype == "xfs":
            if not volume.mounted:
                self.mount_volume(volume)
            before = self.filesystem_size(volume, fstype)
            self.run(grow_fs_argv(fstype, dev, volume.mtpt), sudo=True)
        else:
            raise StagingError(f"cannot grow a {fstype} file system")
        after = self.filesystem_size(volume, fstype)
        device = parse_blockdev_size(self.run(blockdev_size_argv(dev), sudo=True).stdout)
        if falls_short(after, device):
            raise StagingError(
                f"the {fstype} file system of {volume.volume} on {self} did not grow to fill {dev}: "
                f"{after} of {device} bytes (was {before})"
            )
        log.info("staging.filesystem_grown", volume=str(volume.volume), before=before, after=after)

    def filesystem_size(self, volume: StagingVolume, fstype: str | None = None) -> int:
        """Bytes the file system on an attached volume spans, by its own count (``dumpe2fs``, ``xfs_info``).

        Raises:
            StagingError: Not attached, or the tool failed or printed no size.
        """
        fstype = fstype or volume.fstype or self.fstype_of(volume)
        if not volume.mtdev:
            raise StagingError(f"{volume} is not attached")
        try:
            argv = fs_size_argv(fstype, volume.mtdev, volume.mtpt if volume.mounted else None)
            result = self.run(argv, sudo=True, check=False)
            if not result.ok:
                raise StagingError(
                    f"{argv[0]} {volume.mtdev} on {self} failed ({result.exit_code}): {result.tail()}"
                )
            return parse_fs_size(fstype, result.stdout)
        except ValueError as exc:
            raise StagingError(f"cannot measure the file system of {volume.volume} on {self}: {exc}") from exc

    def fstype_of(self, volume: StagingVolume) -> str:
        """The file system type on an attached volume (``raw`` when blkid finds none)."""
        from transfer.commands import blkid_argv, parse_blkid

        result = self.run(blkid_argv(volume.mtdev or ""), sudo=True, check=False)
        return parse_blkid(result.stdout).get("TYPE", "raw") if result.ok else "raw"

    def mount_volume(self, volume: StagingVolume, mtpt: str | None = None, *, readonly: bool = False) -> str:
        """Mount an attached volume (at ``mtpt``, its previous place or ``/mnt/Staging/<name>``).

        A volume attached here whose block device is not known (found by ``scan_region``, or after a
        restart) is located by its volume id; if it is mounted already, that mount is adopted.
        """
        if volume.server is not self:
            self.attach_volume(volume)
        elif not volume.mtdev:
            self._locate(volume)
        if volume.mounted:
            return str(volume.mtpt)
        target = mtpt or volume.mtpt or default_mtpt(volume.name)
        if volume.fstype is None:
            volume.fstype = self.fstype_of(volume)
        options = ["ro"] if readonly else []
        if volume.fstype == "xfs":
            # Copies of one file system (snapshots, copy(), dd) share its UUID, and xfs refuses to mount a
            # second one on the same kernel; the UUID means nothing to staging.
            options.append("nouuid")
        self.run(["mkdir", "-p", "--", target], sudo=True)
        self.run(mount_argv(str(volume.mtdev), target, options=options), sudo=True)
        volume.mtpt, volume.mounted = target, True
        return target

    def _locate(self, volume: StagingVolume) -> None:
        """Find the block device of a volume attached here, and where it is mounted (if it is)."""
        volume.mtdev = find_block_device(self.connection, str(volume.volume), volume.device, timeout=60)
        where = self.run(["findmnt", "-n", "-o", "TARGET", "--source", volume.mtdev], check=False)
        targets = where.stdout.splitlines() if where.ok else []
        if targets:
            volume.mtpt, volume.mounted = targets[0], True

    def unmount_volume(self, volume: StagingVolume) -> None:
        """Unmount (flushing everything to the volume)."""
        if volume.mounted and volume.mtpt:
            self.run(["sync"], sudo=True)
            self.run(umount_argv(volume.mtpt), sudo=True)
        volume.mounted = False

    def remount_volume(self, volume: StagingVolume) -> str:
        """Mount again where it was last mounted."""
        return self.mount_volume(volume, volume.mtpt)

    def detach_volume(self, volume: StagingVolume, *, wait: bool = True) -> None:
        """Unmount, detach and wait until the volume is ``available`` (never detaches a mounted volume)."""
        if volume.server is not self:
            raise VolumeInUse(f"{volume} is not attached to {self}")
        self.unmount_volume(volume)
        self.manager.reporter.step(f"detaching {volume.volume} from {self}")
        self.ec2.detach_volume(volume.volume, instance_id=self.instance)
        if wait:
            self.manager.wait_for(volume.volume, "available", f"{volume.volume} to detach")
        if volume.device:
            self._reserved.discard(volume.device)
        volume.server, volume.device, volume.mtdev = None, None, None

    def delete_volume(self, volume: StagingVolume) -> None:
        """Unmount, detach and delete the volume."""
        self.detach_volume(volume)
        volume.delete()

    def create_snapshot(
        self, volume: StagingVolume, description: str | None = None, *, freeze: bool = False,
        tags: dict[str, str] | None = None,
    ) -> Any:  # fmt: skip
        """Snapshot a consistent file system: unmounted (and remounted after), or frozen with ``freeze``.

        Returns the :class:`provisioning.Snapshot` (not waited for: EC2 copies the point-in-time data later).
        """
        all_tags = {
            "Name": f"Staging volume {volume.name}",
            **self.manager.run_tags.kept(Role.SNAPSHOT, volume.name),
        }
        all_tags.update(tags or {})
        desc = description or f"Staging volume {volume.name}"
        if volume.mounted and freeze:
            mtpt = str(volume.mtpt)
            self.run(["sync"], sudo=True)
            self.run(fsfreeze_argv(mtpt), sudo=True)
            try:
                return self.ec2.create_snapshot(volume.volume, description=desc, tag_specifications=all_tags)
            finally:
                self.run(fsfreeze_argv(mtpt, freeze=False), sudo=True)
        was_mounted = volume.mounted
        self.unmount_volume(volume)
        try:
            return self.ec2.create_snapshot(volume.volume, description=desc, tag_specifications=all_tags)
        finally:
            if was_mounted:
                self.remount_volume(volume)

    def _need_tool(self, tool: str) -> None:
        """Fail clearly when ``tool`` is missing on the host (looked up where sudo looks: /sbin too)."""
        if missing_tools(self.connection, [tool]):
            raise StagingError(f"{tool} is not installed on {self} ({self.username}@{self.address})")

    # --- files -------------------------------------------------------------------------------------------
    def put(self, *args: str | os.PathLike[str], **options: Any) -> Any:
        """Copy local sources to a path on this server: ``put(src..., dest)`` (paths on the server itself)."""
        *sources, dest = (os.fspath(a) for a in args)
        return self.manager.rsync(*sources, f"{self.instance_id}:{dest}", **options)

    def get(self, *args: str | os.PathLike[str], **options: Any) -> Any:
        """Copy paths on this server to a local destination: ``get(src..., dest)``."""
        *sources, dest = (os.fspath(a) for a in args)
        return self.manager.rsync(*(f"{self.instance_id}:{s}" for s in sources), dest, **options)

    @property
    def instance_id(self) -> str:
        """The instance id (how :meth:`put`/:meth:`get` name this server: a volume may bear its name)."""
        return str(self.instance)

    def rsync(self, *args: str, **options: Any) -> Any:
        """The manager's :meth:`~StagingManager.rsync` (any path forms)."""
        return self.manager.rsync(*args, **options)

    def dd(self, source: StagingVolume, dest: StagingVolume, **options: Any) -> Any:
        """The manager's block copy between two volumes."""
        return self.manager.dd(source, dest, **options)
