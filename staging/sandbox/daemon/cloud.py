"""The cloud model: what happens on the machine when the EC2 API changes something, and what the API shows.

The hooks (:mod:`staging.sandbox.daemon.hooks`) call these methods from inside moto (synchronously, while the
API call that causes them is being answered, under :attr:`SandboxCloud.lock`) with plain values: ids, sizes,
device names. The model builds, boots and removes hosts, loop devices and volume bytes, and answers with
:mod:`facts <staging.sandbox.daemon.facts>` for the hooks to record in moto ("instance i-1 is pending",
"vol-1 is busy"); facts that become true later go to :attr:`SandboxCloud.publish`. It never touches moto's
objects and does not import moto. Every resource is written to the state file before it is created, so
``down --force`` can remove it after a crash.
"""

from __future__ import annotations

import itertools
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from staging._log import get_logger
from staging.sandbox._state import StateFile
from staging.sandbox.daemon.facts import (
    AttachmentStatus,
    DetachNow,
    Fact,
    InstanceAddress,
    InstanceState,
    ModificationState,
    PublicAddressReleased,
    SnapshotState,
)
from staging.sandbox.errors import SandboxError
from staging.sandbox.faults import Faults
from staging.sandbox.machine.firewall import SecurityView, refresh_firewalls
from staging.sandbox.machine.hosts import Attachment, Host
from staging.sandbox.machine.net import Network, create_host_net, delete_host_net, host_addresses
from staging.sandbox.machine.system import reap_orphans
from staging.sandbox.machine.volumes import VolumeStore, loop_attach, loop_detach, loop_refresh

log = get_logger(__name__)

#: Seconds between two looks at the mount table of a host whose volume waits to detach (``busy``).
BUSY_POLL = 0.2


def _no_sink(fact: Fact) -> bool:
    raise SandboxError(f"no hooks installed to record {fact}")


class SandboxCloud:
    """Hosts, addresses, loop devices and volume bytes of one sandbox, driven by the hooks' calls."""

    def __init__(
        self,
        *,
        state: StateFile,
        state_dir: Path,
        token: str,
        net: Network,
        bridge: str,
        user: str,
        faults: Faults,
        legacy_devices: bool = False,
    ) -> None:
        self.lock = threading.RLock()
        self.state = state
        self.state_dir = state_dir
        self.token = token
        self.net = net
        self.bridge = bridge
        self.user = user
        self.faults = faults
        self.legacy_devices = legacy_devices
        self.store = VolumeStore(state_dir / "data")
        self.hosts: dict[str, Host] = {}
        self.loops: dict[str, str] = {}
        #: Where facts that become true later go (set by the hooks; answers whether the fact held).
        self.publish: Callable[[Fact], bool] = _no_sink
        #: When each instance/volume/snapshot/image id was created, and ``not_found_for`` at that time.
        self.created_at: dict[str, tuple[float, float]] = {}
        self._free = list(host_addresses(net))
        self._numbers = itertools.count(1)
        #: Attachments made while moto is still building an instance (before its host exists).
        self._early: dict[str, list[Attachment]] = {}
        #: The current attachment of each attached volume (a number), so a timer knows it is still the same.
        self._attachments: dict[str, int] = {}
        #: The login user of each image (hosts accept the launch key for their image's user).
        self._image_users: dict[str, str] = {}
        #: When each instance was terminated (its network interface lingers: ``eni_linger_for``).
        self.terminated_at: dict[str, float] = {}
        #: Instances inside a TerminateInstances call: their volumes detach whatever is mounted.
        self.terminating: set[str] = set()
        #: The modification in progress of each volume being modified (a number), so a timer knows it.
        self._modifications: dict[str, int] = {}

    def later(self, delay: float, action: Callable[[], None]) -> None:
        """Run ``action`` under the lock ``delay`` seconds from now (time-taking states)."""

        def fire() -> None:
            with self.lock:
                try:
                    action()
                except Exception:
                    log.exception("sandbox.delayed_action_failed")

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        timer.start()

    def _after(self, delay: float, action: Callable[[], None]) -> None:
        if delay > 0:
            self.later(delay, action)
        else:
            action()

    def note_created(self, resource_id: str) -> None:
        """Remember when ``resource_id`` was made (it stays unknown for ``not_found_for``)."""
        self.created_at[resource_id] = (time.monotonic(), self.faults.not_found_for)

    def published(self, *resource_ids: str) -> None:
        """Resources that exist since long before the sandbox started: never too new to be found."""
        for resource_id in resource_ids:
            self.created_at.pop(resource_id, None)

    def young(self, resource_id: str, now: float | None = None) -> bool:
        """True while ``resource_id`` is too new to be seen (the ``not_found_for`` fault).

        A resource made while the fault was off is never hidden, and switching the fault off shows them all.
        """
        created, hidden_for = self.created_at.get(resource_id, (0.0, 0.0))
        now = time.monotonic() if now is None else now
        return now - created < min(hidden_for, self.faults.not_found_for)

    # --- instances -------------------------------------------------------------------------------------
    def free_addresses(self) -> int:
        """How many more hosts the sandbox network has room for."""
        return len(self._free)

    def host_up(self, instance_id: str) -> bool:
        """True while the instance's host runs sshd (its status checks pass)."""
        host = self.hosts.get(instance_id)
        return host is not None and host.pid is not None

    def instance_launched(
        self, instance_id: str, image_id: str, user_data: bytes, public_key: str | None, view: SecurityView
    ) -> list[Fact]:
        """Give a new instance its host: namespace, address, home with the launch key, sshd.

        Args:
            instance_id: The new instance.
            image_id: Its image (the host accepts the key for that image's login user).
            user_data: Its raw user data (a ``#!`` script runs at the first boot).
            public_key: The public key of its key pair (None: launched without one).
            view: The security groups of its region (its filter holds before sshd listens).
        """
        if not self._free:
            raise SandboxError(f"no address left in {self.net} for {instance_id}")
        address = self._free.pop(0)
        n = next(self._numbers)
        netns, veth = f"vsb{self.token}-{n}", f"vsb{self.token}h{n}"
        host = Host(
            instance_id=instance_id,
            netns=netns,
            veth=veth,
            address=address,
            workdir=self.state_dir / "hosts" / instance_id,
            user=self.login_user_of(image_id),
            authorized_key=public_key or "",
            user_data=user_data,
            legacy_devices=self.legacy_devices,
        )
        for attachment in self._early.pop(instance_id, []):
            host.attachments[attachment.volume_id] = attachment
        # Known before anything exists, so terminating the instance removes a half-made host too.
        self.state.put("hosts", instance_id, {"netns": netns, "veth": veth, "address": address})
        self.hosts[instance_id] = host
        self.note_created(instance_id)
        create_host_net(netns, veth, self.bridge, address, self.net.prefixlen)
        # Its security groups hold before sshd listens (and its address joins its groups' source sets).
        refresh_firewalls(self.hosts, view)
        host.prepare()
        return [InstanceAddress(instance_id, host.address), *self._power_on(host)]

    def _power_on(self, host: Host) -> list[Fact]:
        """Boot the host: optionally ``pending`` for a while, then sshd (optionally after a boot delay)."""
        generation, instance_id = host.generation, host.instance_id

        def boot() -> None:
            if host.generation == generation and host.pid is None and instance_id in self.hosts:
                host.start_sshd()

        def running() -> None:
            # Not after a stop since: that timer belongs to a later start (which has its own).
            if host.generation == generation and self.publish(
                InstanceState(instance_id, "running", 16, only_if="pending")
            ):
                host.has_run = True
                self._after(self.faults.boot_delay, boot)

        if self.faults.pending_for > 0:
            self.later(self.faults.pending_for, running)
            return [InstanceState(instance_id, "pending", 0)]
        host.has_run = True
        self._after(self.faults.boot_delay, boot)
        return []

    def never_ran(self, instance_id: str) -> bool:
        """True while an instance is still in its first ``pending`` (AWS refuses to stop it then)."""
        host = self.hosts.get(instance_id)
        return host is not None and not host.has_run

    def shutdown_all(self) -> None:
        """Power every host off (the daemon does this on SIGTERM, so it can reap their processes)."""
        for host in self.hosts.values():
            host.shutdown()
        reap_orphans()

    def instance_started(self, instance_id: str) -> list[Fact]:
        """Boot a stopped instance's host again (same address, same host keys, fresh mount table)."""
        host = self.hosts.get(instance_id)
        if host is None or host.pid is not None:
            return []
        return [InstanceAddress(instance_id, host.address), *self._power_on(host)]

    def instance_stopped(self, instance_id: str) -> list[Fact]:
        """Power the host off: sshd and all its processes stop, its mounts disappear."""
        host = self.hosts.get(instance_id)
        if host is None:
            return []
        host.shutdown()
        reap_orphans()
        return [PublicAddressReleased(instance_id)]

    def instance_terminated(self, instance_id: str, view: SecurityView) -> list[Fact]:
        """Remove the host entirely: processes, namespace, veth, files; its address is free again.

        ``view`` is the region's security groups without the instance (it no longer counts as a member).
        """
        self._early.pop(instance_id, None)
        host = self.hosts.pop(instance_id, None)
        if host is None:
            return []
        host.shutdown()
        reap_orphans()
        for volume_id in list(host.attachments):
            self._release_loop(volume_id)
        delete_host_net(host.netns, host.veth)
        shutil.rmtree(host.workdir, ignore_errors=True)
        self.terminated_at[instance_id] = time.monotonic()
        refresh_firewalls(self.hosts, view)
        # Reused last, so a describe of a recently terminated instance rarely shows a live host's address.
        self._free.append(host.address)
        self.state.forget("hosts", instance_id)
        return [PublicAddressReleased(instance_id)]

    def instance_rebooted(self, instance_id: str) -> list[Fact]:
        """Restart a running instance's host: its sessions end and its mounts go; sshd keeps its keys."""
        host = self.hosts.get(instance_id)
        if host is None:
            return []
        host.shutdown()
        reap_orphans()
        return self._power_on(host)

    def refresh_firewalls(self, view: SecurityView) -> None:
        """Bring the hosts of ``view``'s region in line with their groups' current ingress rules."""
        refresh_firewalls(self.hosts, view)

    def console_output(self, instance_id: str) -> str:
        """The instance's console text (cloud-init host key blocks once sshd has its keys)."""
        host = self.hosts.get(instance_id)
        return host.console_output() if host is not None else ""

    def drop_connections(self, instance_id: str) -> int:
        """Kill the SSH sessions of one host (the fault "connection dropped mid-transfer")."""
        host = self.hosts.get(instance_id)
        dropped = host.drop_connections() if host is not None else 0
        reap_orphans()
        return dropped

    # --- volumes ---------------------------------------------------------------------------------------
    def volume_created(self, volume_id: str, size_gib: int, snapshot_id: str | None) -> None:
        """Create the volume's sparse file (with its snapshot's bytes)."""
        self.store.create_volume(volume_id, size_gib, snapshot_id)
        self.note_created(volume_id)

    def volume_attached(self, volume_id: str, instance_id: str, device: str, *, root: bool) -> list[Fact]:
        """Make a loop device for the volume and show it to the instance's host (not the root volume: the
        host's root file system is the machine's; the root volume only carries bytes)."""
        number = self._attachments[volume_id] = next(self._numbers)
        facts: list[Fact] = []
        if self.faults.attaching_for > 0:
            facts.append(AttachmentStatus(volume_id, "attaching"))

            def attached() -> None:
                if self._attachments.get(volume_id) == number:
                    self.publish(AttachmentStatus(volume_id, "attached", only_if="attaching"))

            self.later(self.faults.attaching_for, attached)
        if root:
            return facts
        path = self.store.volume_file(volume_id)
        self.state.put("loops", volume_id, {"file": str(path)})
        loop = loop_attach(path)
        self.loops[volume_id] = loop
        self.state.put("loops", volume_id, {"file": str(path), "device": loop})
        attachment = Attachment(volume_id, loop, device)
        host = self.hosts.get(instance_id)
        if host is None:
            self._early.setdefault(instance_id, []).append(attachment)
        else:
            host.attach(attachment)
        log.info("sandbox.volume_attached", volume=volume_id, instance=instance_id, loop=loop, device=device)
        return facts

    def volume_mounted(self, volume_id: str, instance_id: str) -> bool:
        """True if the volume's device is mounted inside its (running) host."""
        host = self.hosts.get(instance_id)
        attachment = host.attachments.get(volume_id) if host is not None else None
        return host is not None and attachment is not None and bool(host.mounts_of(attachment))

    def hold_busy(self, volume_id: str, instance_id: str) -> list[Fact]:
        """Leave a mounted volume attached in state ``busy``; :class:`DetachNow` follows once it is unmounted.

        As on AWS, the detach finishes when the host no longer uses the device (unmounted, or the instance
        stopped or terminated), or with a forced detach.
        """
        number = self._attachments.get(volume_id)

        def poll() -> None:
            if self._attachments.get(volume_id) != number:
                return  # detached meanwhile (forced, or with its instance)
            if self.volume_mounted(volume_id, instance_id):
                self.later(BUSY_POLL, poll)
            else:
                self.publish(DetachNow(volume_id, instance_id))

        self.later(BUSY_POLL, poll)
        return [AttachmentStatus(volume_id, "busy")]

    def volume_detached(self, volume_id: str, instance_id: str) -> None:
        """Unmount (lazily: a forced detach) and unlink the volume inside the host, free its loop device."""
        self._attachments.pop(volume_id, None)
        host = self.hosts.get(instance_id)
        if host is not None:
            host.detach(volume_id)
        self._release_loop(volume_id)

    def _release_loop(self, volume_id: str) -> None:
        loop = self.loops.pop(volume_id, None)
        if loop is not None:
            loop_detach(loop)
        self.state.forget("loops", volume_id)

    def volume_modified(self, volume_id: str, size_gib: int) -> list[Fact]:
        """Grow the backing file to the new size now (a size the machine cannot back is refused at once),
        and the attached device later, as on AWS: the modification stays ``modifying`` for ``modifying_for``
        (the device keeps its old capacity), then turns ``optimizing`` with the device grown
        (``losetup --set-capacity``), then ``completed`` after ``optimizing_for``.
        """
        self.store.grow_volume(volume_id, size_gib)
        number = self._modifications[volume_id] = next(self._numbers)
        modifying_for, optimizing_for = self.faults.modifying_for, self.faults.optimizing_for
        span = (time.monotonic(), modifying_for + optimizing_for)

        def current() -> bool:
            return self._modifications.get(volume_id) == number

        def completed() -> None:
            if current():
                del self._modifications[volume_id]
                self.publish(ModificationState(volume_id, "completed"))

        def optimizing() -> list[Fact]:
            loop = self.loops.get(volume_id)
            if loop is not None:
                loop_refresh(loop)
            if optimizing_for <= 0:
                self._modifications.pop(volume_id, None)
                return [ModificationState(volume_id, "completed")]
            self.later(optimizing_for, completed)
            return [ModificationState(volume_id, "optimizing", span)]

        def modified() -> None:
            if current():
                for fact in optimizing():
                    self.publish(fact)

        if modifying_for <= 0:
            return optimizing()
        self.later(modifying_for, modified)
        return [ModificationState(volume_id, "modifying", span)]

    def volume_deleted(self, volume_id: str) -> None:
        """Free the volume's bytes (a modification in progress ends with it)."""
        self._modifications.pop(volume_id, None)
        self.store.delete_volume(volume_id)

    # --- snapshots and images --------------------------------------------------------------------------
    def snapshot_created(self, snapshot_id: str, volume_id: str) -> list[Fact]:
        """Copy the volume's bytes now (point in time); optionally report progress for a while."""
        self.store.snapshot(volume_id, snapshot_id)
        return self._hold_pending(snapshot_id)

    def snapshot_copied(self, snapshot_id: str, source_id: str) -> list[Fact]:
        """Carry the source snapshot's bytes to the copy (also across regions)."""
        self.store.copy_snapshot(source_id, snapshot_id)
        return self._hold_pending(snapshot_id)

    def _hold_pending(self, snapshot_id: str) -> list[Fact]:
        """Note the snapshot's creation (``not_found_for``) and keep it ``pending`` if that fault is on."""
        self.note_created(snapshot_id)
        duration = self.faults.snapshot_pending_for
        if duration <= 0:
            return []

        def completed() -> None:
            self.publish(SnapshotState(snapshot_id, "completed"))

        self.later(duration, completed)
        return [SnapshotState(snapshot_id, "pending", pending=(time.monotonic(), duration))]

    def snapshot_deleted(self, snapshot_id: str) -> None:
        """Free the snapshot's bytes."""
        self.store.delete_snapshot(snapshot_id)

    def image_registered(self, image_id: str, login_user: str) -> None:
        """A new image (``not_found_for`` counts from now) whose instances' hosts accept ``login_user``."""
        self._image_users[image_id] = login_user
        self.note_created(image_id)

    def login_user_of(self, image_id: str) -> str:
        """The login user of an image's instances (the sandbox's own for an image it does not know)."""
        return self._image_users.get(image_id, self.user)
