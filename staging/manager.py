"""``StagingManager``: temporary servers and volumes in one region, and everything cleaned up at the end.

One manager is one *run*: it has a run id, tags everything it creates with it at creation, records each
temporary resource in a local journal before using it, and removes what it made when it closes (``with``,
``close()``, Ctrl-C, SIGTERM) according to ``on_exit``, in the order :mod:`staging.cleanup` gives. Servers
and volumes it merely found (``scan_region``) are left as they were.

The manager is the top of the layer. Its servers and volumes, and the modules that hold the bodies of its
bigger operations (:mod:`staging.server_ops`, :mod:`staging.volume_provision`, :mod:`staging.transfer_ops`,
:mod:`staging.volume_copy`, :mod:`staging.migrate_image`, :mod:`staging.cleanup`), get it as a Protocol
(:mod:`staging.context`) and never import this module.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from provisioning import EC2
from staging import access, cleanup, migrate, migrate_image, server_ops, volume_copy
from staging import volume_provision as _provision
from staging._log import get_logger
from staging.errors import CleanupIncomplete, StagingError, StagingParameterError
from staging.interrupts import shielded
from staging.journal import Journal
from staging.names import check_name
from staging.progress import LogReporter, Reporter
from staging.server import StagingServer
from staging.tags import RunTags
from staging.transfer_ops import block_copy_volumes, rsync_paths
from staging.volume import StagingVolume
from staging.volume_provision import MAX_VOLUME_GIB

__all__ = ["MAX_VOLUME_GIB", "ON_EXIT", "StagingManager"]

log = get_logger(__name__)

ON_EXIT = ("terminate", "stop", "run")


class StagingManager:
    """Temporary staging servers and volumes in one region (VM::EC2::Staging::Manager).

    Args:
        ec2: The region's :class:`provisioning.EC2` (default: ``EC2()`` from the environment). Staging always
            runs it in raise mode (a clone is used when ``raise_error`` is off).
        on_exit: What :meth:`close` does with the servers this run created: ``terminate`` (default), ``stop``
            or ``run`` (leave them running; their key pair and security group stay too).
        reuse_key: Use an existing staging key pair whose private key is in ``dotdir`` instead of a new
            one, and keep it at the end. False really means False (the original ignored 0).
        reuse_volumes: ``get_volume(name)`` reuses an available volume (or the newest snapshot) of that
            name. False really means False.
        username: ssh login user (default: from the image: admin for Debian, ubuntu for Ubuntu, ec2-user
            for Amazon Linux).
        architecture: ``x86_64`` (default) or ``arm64``.
        instance_type: Instance type of staging servers (default ``t3.micro``).
        image_name: ``ami-...`` or a name pattern (default: the newest official Debian 12, then Ubuntu LTS).
        availability_zone: Default zone for servers and volumes (default: the region's first available).
        verbose: The original's verbosity 0-3 (``info``/``warn``/``debug`` messages through logging).
        scan: Run :meth:`scan_region` at once (servers and volumes left by earlier runs).
        dotdir: Where private keys and run journals live (default ``~/.vm-ec2-staging``, mode 0700).
        server_class: Class of servers (a :class:`StagingServer` subclass).
        volume_class: Class of volumes (a :class:`StagingVolume` subclass).
        ssh_cidr: Who may ssh into staging servers (default: the caller's address, looked up once).
        reporter: Receives steps, waits and transfer progress (default: log events only).
        ssh_timeout: Seconds to wait for a new server's console host keys and sshd.
        lifetime: Seconds after which ``gc`` may treat this run's temporary resources as abandoned.
    """

    def __init__(
        self,
        ec2: Any = None,
        *,
        on_exit: str = "terminate",
        reuse_key: bool = False,
        reuse_volumes: bool = True,
        username: str | None = None,
        architecture: str = "x86_64",
        instance_type: str = "t3.micro",
        image_name: str | None = None,
        availability_zone: str | None = None,
        verbose: int = 2,
        scan: bool = False,
        dotdir: str | Path | None = None,
        server_class: type[StagingServer] = StagingServer,
        volume_class: type[StagingVolume] = StagingVolume,
        ssh_cidr: str | None = None,
        reporter: Reporter | None = None,
        ssh_timeout: float = 300.0,
        lifetime: float = 24 * 3600.0,
    ) -> None:
        if on_exit not in ON_EXIT:
            raise StagingParameterError(f"on_exit must be one of {', '.join(ON_EXIT)}, not {on_exit!r}")
        if architecture not in ("x86_64", "arm64"):
            raise StagingParameterError(f"architecture must be x86_64 or arm64, not {architecture!r}")
        ec2 = ec2 if ec2 is not None else EC2()
        self.ec2 = ec2 if ec2.raise_error else ec2.clone(raise_error=True)
        self.on_exit = on_exit
        self.reuse_key = bool(reuse_key)
        self.reuse_volumes = bool(reuse_volumes)
        self.username = username
        self.architecture = architecture
        self.instance_type = instance_type
        self.image_name = image_name
        self.availability_zone = availability_zone
        self.verbose = verbose
        self.dotdir = Path(dotdir).expanduser() if dotdir else Path.home() / ".vm-ec2-staging"
        self.server_class = server_class
        self.volume_class = volume_class
        self.ssh_cidr = access.check_cidr(ssh_cidr) if ssh_cidr else None
        self.reporter: Reporter = reporter or LogReporter()
        self.ssh_timeout = ssh_timeout
        self.run_tags = RunTags(lifetime=lifetime)
        self._journal: Journal | None = None
        self._servers: list[StagingServer] = []
        self._volumes: list[StagingVolume] = []
        self._created: set[str] = set()  # instance ids this run launched
        self._access = access.RunAccess(self)
        self._closed = False
        #: Managers of other regions this one made for copies (closed with it), by region.
        self.peers: dict[str, StagingManager] = {}
        if scan:
            self.scan_region()

    def __repr__(self) -> str:
        return f"<StagingManager {self.run_id} {self.ec2.region}>"

    @property
    def run_id(self) -> str:
        """This run's id (tag ``StagingRun``)."""
        return self.run_tags.run_id

    @property
    def region(self) -> str:
        """The region's name."""
        return str(self.ec2.region)

    # --- context and cleanup -----------------------------------------------------------------------------
    def __enter__(self) -> StagingManager:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.close()
        except CleanupIncomplete:
            if exc is None:
                raise
            log.error("staging.cleanup_incomplete", leftovers=self.leftovers())  # the first error wins

    def close(self) -> None:
        """Apply ``on_exit`` to this run's servers and remove every temporary resource.

        Each step runs even when an earlier one failed; one more Ctrl-C does not abandon it (a second one
        prints what is left). Idempotent.

        Raises:
            CleanupIncomplete: Something could not be removed (listed; ``staging gc`` removes it later).
        """
        if self._closed:
            return
        with shielded(self.leftovers):
            ours = [s for s in self._servers if str(s) in self._created]
            cleanup.close_run(self, ours, self._access, list(self.peers.values()))
            for server in self._servers:
                server.close()
            self._closed = True
            left = self.leftovers()
            if self._journal is not None and not left:
                self._journal.close()
            if left:
                raise CleanupIncomplete(left)

    def leftovers(self) -> list[str]:
        """Temporary resources of this run (and its other regions') that still exist, as the journals know."""
        peers = [item for peer in self.peers.values() for item in peer.leftovers()]
        if self._journal is None:
            return peers
        return [f"{e.kind} {e.id} ({e.region})" for e in self._journal.entries] + peers

    def track(self, kind: str, resource_id: str) -> None:
        """Record a temporary resource in the run's journal (before it is used)."""
        if self._journal is None:
            self._journal = Journal.open(self.dot_directory(), self.run_id, str(self.ec2.endpoint))
        self._journal.add(kind, resource_id, self.region)

    def untrack(self, resource_id: str) -> None:
        """Drop a resource from the journal (it is gone, or now the caller's)."""
        if self._journal is not None:
            self._journal.remove(resource_id)

    # --- waiting -----------------------------------------------------------------------------------------
    def wait_for(self, objects: Any, state: str, what: str, timeout: float | None = None) -> None:
        """Wait for ``objects`` to reach ``state``, reporting ``what`` it waits for.

        The waiters bring the objects up to date in place from their last describe: no refresh after.
        """
        items = list(objects) if isinstance(objects, list | tuple) else [objects]
        self.ec2.wait_for_terminal_state(
            items, state, timeout, progress=lambda p: self.reporter.waiting(what, p.elapsed)
        )

    # --- access (key pair, security group) ---------------------------------------------------------------
    def dot_directory(self) -> Path:
        """The dot directory, created 0700 on first use."""
        return access.dot_directory(self.dotdir)

    def keypair(self) -> tuple[str, Path]:
        """This run's key pair ``(name, private key path)``: reused (``reuse_key``) or new."""
        return self._access.keypair()

    def security_group(self) -> str:
        """This run's security group id (tcp/22 from ``ssh_cidr`` only), made on first use."""
        return self._access.security_group()

    # --- servers -----------------------------------------------------------------------------------------
    def default_zone(self) -> str:
        """``availability_zone``, else the region's first available zone."""
        if self.availability_zone:
            return self.availability_zone
        zones = sorted(str(z) for z in self.ec2.describe_availability_zones({"state": "available"}))
        if not zones:
            raise StagingError(f"no available zone in {self.region}")
        return zones[0]

    def provision_server(
        self,
        name: str | None = None,
        *,
        availability_zone: str | None = None,
        instance_type: str | None = None,
        image_name: str | None = None,
        architecture: str | None = None,
        username: str | None = None,
    ) -> StagingServer:
        """Launch a new staging server and wait until SSH answers (always a new one)."""
        server = server_ops.launch(
            self, name, zone=availability_zone, instance_type=instance_type,
            image_name=image_name, architecture=architecture, username=username,
        )  # fmt: skip
        self._created.add(str(server))
        self._servers.append(server)
        self.wait_for_servers([server])
        return server

    def wait_for_servers(self, servers: Sequence[StagingServer]) -> None:
        """Wait until the servers run and answer over SSH (host keys pinned from their consoles)."""
        names = ", ".join(str(s) for s in servers)
        self.wait_for([s.instance for s in servers], "running", f"{names} to be running")
        for server in servers:
            server.connect()

    def get_server(self, name: str | None = None, **options: Any) -> StagingServer:
        """The server named ``name`` (started if stopped), else a new one with that name."""
        server = next((s for s in self._servers if name is not None and s.name == name), None)
        if server is not None and self._bring_up(server):
            return server
        return self.provision_server(name, **options)

    def get_server_in_zone(self, availability_zone: str | None = None, **options: Any) -> StagingServer:
        """A running server of this manager in the zone (started if stopped), else a new one there."""
        zone = availability_zone or self.default_zone()
        for server in [s for s in self._servers if s.zone == zone]:
            if self._bring_up(server):
                return server
        return self.provision_server(availability_zone=zone, **options)

    def _bring_up(self, server: StagingServer) -> bool:
        """Make a known server run (:func:`staging.server_ops.bring_up`); False, and the server
        forgotten, when it is gone."""
        if server_ops.bring_up(self, server):
            return True
        self._servers.remove(server)
        self.untrack(str(server))
        return False

    def find_server_by_instance(self, instance_id: str) -> StagingServer | None:
        """The managed server of that instance id."""
        return next((s for s in self._servers if str(s) == str(instance_id)), None)

    def find_server_by_name(self, name: str) -> StagingServer | None:
        """The managed server of that name."""
        return next((s for s in self._servers if s.name == name), None)

    def servers(self) -> list[StagingServer]:
        """The servers this manager knows (launched or scanned)."""
        return list(self._servers)

    def start_all_servers(self) -> None:
        """Start every stopped server and wait until all answer over SSH."""
        server_ops.start(self, self._servers)

    def stop_all_servers(self) -> None:
        """Stop every server (volumes unmounted first)."""
        self.stop_servers(self._servers)

    def stop_servers(self, servers: Iterable[StagingServer]) -> None:
        """Stop ``servers`` at once and wait until they are stopped."""
        server_ops.stop(self, servers)

    def terminate_all_servers(self) -> None:
        """Terminate every server this manager knows (volumes unmounted first; they stay, detached)."""
        self.terminate_servers(self._servers)

    def force_terminate_all_servers(self) -> None:
        """Terminate every server at once, without unmounting anything first."""
        self.terminate_servers(self._servers, unmount=False)

    def terminate_servers(
        self, servers: Iterable[StagingServer], *, wait: bool = True, unmount: bool = True
    ) -> None:
        """Terminate ``servers`` in one call (after unmounting their volumes) and wait until they are gone."""
        for server in server_ops.terminate(self, servers, wait=wait, unmount=unmount):
            self._servers.remove(server)
            self.untrack(str(server))

    # --- volumes -----------------------------------------------------------------------------------------
    #: Create (or reuse) a volume, attach it to a server in its zone, format or grow it, and mount it (the
    #: body, and the documentation of its arguments, are :func:`staging.volume_provision.provision_volume`).
    provision_volume = _provision.provision_volume

    def volume_from_snapshot(
        self, snapshot: Any, *, availability_zone: str, name: str, temporary: bool = False,
        fstype: str | None = None,
    ) -> StagingVolume:  # fmt: skip
        """A new (unattached) managed volume made from ``snapshot`` in ``availability_zone``.

        ``fstype`` is the snapshot's file system when known (else it is found when the volume is mounted).
        """
        check_name(name, "volume")
        volume = _provision.create_volume(
            self, name, availability_zone, None, snapshot, fstype or "", None, "gp3", temporary
        )
        volume.fstype = fstype
        self._volumes.append(volume)
        return volume

    def get_volume(self, name: str | None = None, **options: Any) -> StagingVolume:
        """The managed volume of that name, else :meth:`provision_volume` (reusing by name by default)."""
        volume = self.find_volume_by_name(name) if name is not None else None
        return volume if volume is not None else self.provision_volume(name, **options)

    def find_volume_by_volid(self, volume_id: str) -> StagingVolume | None:
        """The managed volume with that id."""
        return next((v for v in self._volumes if str(v) == str(volume_id)), None)

    def find_volume_by_name(self, name: str) -> StagingVolume | None:
        """The managed volume with that name."""
        return next((v for v in self._volumes if v.name == name), None)

    def volumes(self) -> list[StagingVolume]:
        """The volumes this manager knows."""
        return list(self._volumes)

    def manage(self, volume: StagingVolume) -> None:
        """Start managing a volume (made or found by :meth:`provision_volume`)."""
        if volume not in self._volumes:
            self._volumes.append(volume)

    def forget_volume(self, volume: StagingVolume) -> None:
        """Stop managing a volume (it was deleted, or handed over to the caller)."""
        if volume in self._volumes:
            self._volumes.remove(volume)
        self.untrack(str(volume))

    # --- scan ---------------------------------------------------------------------------------------------
    def scan_region(self) -> None:
        """Adopt the staging servers (whose key is in the dot directory) and volumes earlier runs left."""
        self._servers += server_ops.adopt_servers(self)
        self._volumes += server_ops.adopt_volumes(self)

    # --- data --------------------------------------------------------------------------------------------
    def rsync(self, *args: str, **options: Any) -> Any:
        """rsync between local paths, volumes and servers: ``rsync(src..., dest, delete=..., ...)``.

        Path forms: see :mod:`staging.paths`. Keyword options are :class:`transfer.RsyncOptions` fields
        (``delete``, ``excludes``, ``acls``, ``xattrs``, ``checksum``...) plus ``progress`` (a callback; by
        default progress goes to the reporter). Returns a :class:`transfer.RsyncResult`.
        """
        return rsync_paths(self, list(args), **options)

    def dd(self, source: StagingVolume, dest: StagingVolume, **options: Any) -> Any:
        """Block copy between two attached, unmounted volumes, verified by SHA-256."""
        return block_copy_volumes(self, source, dest, **options)

    @staticmethod
    def environment_ok() -> bool:
        """True when the local tools staging needs (ssh, rsync) are installed."""
        return all(shutil.which(tool) for tool in ("ssh", "rsync"))

    # --- other regions ------------------------------------------------------------------------------------
    def peer(self, dest: Any) -> StagingManager:
        """The manager of another region: ``dest`` itself when a manager, else this run's manager for the
        region it names (made on first use with the same options, its own run id and journal; it closes with
        this one).

        Raises:
            StagingParameterError: An unknown region, or this manager's own region.
        """
        if isinstance(dest, StagingManager):
            peer = dest
        else:
            region = migrate.known_region(self, dest)
            peer = self.peers.get(region) or StagingManager(
                self.ec2.clone(region=region), on_exit=self.on_exit, dotdir=self.dotdir,
                ssh_cidr=self.ssh_cidr, reporter=self.reporter, instance_type=self.instance_type,
                username=self.username, architecture=self.architecture, lifetime=self.run_tags.lifetime,
                image_name=None if (self.image_name or "").startswith("ami-") else self.image_name,
            )  # fmt: skip
            self.peers[region] = peer
        if peer.region == self.region:
            raise StagingParameterError(f"the destination is the source's own region ({self.region})")
        return peer

    def copy_snapshot(self, snapshot: Any, dest: Any, **options: Any) -> Any:
        """Copy a completed snapshot into another region (CopySnapshot) and wait until it completes.

        ``dest`` is a region name, a region object or another manager. The copy carries the source's own tags
        and description and is the caller's (``gc`` leaves it). Options: ``encrypted``, ``kms_key_id``
        (a key of the destination), ``name`` (tag ``StagingName``). A failure or Ctrl-C deletes the copy.
        """
        peer = self.peer(dest)
        found = _provision.snapshot_by_id(self, str(snapshot))
        name = str(options.pop("name", None) or found.tags.get("Name") or found)
        (made,) = migrate.copy_snapshots(peer, self.region, [found], name=name, **options)
        migrate.keep(peer, [made])
        return made

    #: Copy an EBS-backed image into another region (:func:`staging.migrate_image.copy_image`).
    copy_image = migrate_image.copy_image

    #: A copy of a volume of this manager in another zone or region (:meth:`StagingVolume.copy`).
    copy_volume = volume_copy.copy_volume

    #: The id of the kernel (or ``kind="ramdisk"``) in ``dest`` like ``kernel`` here
    #: (:func:`staging.migrate.match_kernel`).
    match_kernel = migrate.match_kernel
