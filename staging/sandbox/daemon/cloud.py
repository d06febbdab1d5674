"""The daemon's side-effect engine: what happens on the machine when the EC2 API changes something.

:mod:`staging.sandbox.daemon.hooks.install` calls these methods from inside moto (synchronously, while the
API call that causes them is being answered, under :attr:`SandboxCloud.lock`). Every resource is written to
the state file before it is created, so ``down --force`` can remove it after a crash.
"""

from __future__ import annotations

import base64
import itertools
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from staging._log import get_logger
from staging.sandbox._state import StateFile
from staging.sandbox.errors import SandboxError
from staging.sandbox.faults import Faults
from staging.sandbox.machine.firewall import refresh_firewalls
from staging.sandbox.machine.hosts import Attachment, Host
from staging.sandbox.machine.net import Network, create_host_net, delete_host_net, host_addresses
from staging.sandbox.machine.system import reap_orphans
from staging.sandbox.machine.volumes import VolumeStore, loop_attach, loop_detach, loop_refresh

log = get_logger(__name__)

Moto = Any  # moto's model objects are untyped; this alias marks where one is expected.

#: Seconds between two looks at the mount table of a host whose volume waits to detach (``busy``).
BUSY_POLL = 0.2


class SandboxCloud:
    """Hosts, addresses, loop devices and volume bytes of one sandbox, driven by moto's backend calls."""

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
        #: When each instance/volume/snapshot/image id was created, and ``not_found_for`` at that time.
        self.created_at: dict[str, tuple[float, float]] = {}
        self._free = list(host_addresses(net))
        self._numbers = itertools.count(1)
        #: Attachments made while moto is still building an instance (before its host exists).
        self._early: dict[str, list[Attachment]] = {}
        #: The login user of each image (hosts accept the launch key for their image's user).
        self.image_users: dict[str, str] = {}
        #: When each instance was terminated (its network interface lingers: ``eni_linger_for``).
        self.terminated_at: dict[str, float] = {}
        #: Instances inside a TerminateInstances call: their volumes detach whatever is mounted.
        self.terminating: set[str] = set()

    def _later(self, delay: float, action: Callable[[], None]) -> None:
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

    def _note_created(self, resource_id: str) -> None:
        self.created_at[resource_id] = (time.monotonic(), self.faults.not_found_for)

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

    def instance_launched(self, instance: Moto, public_key: str | None) -> None:
        """Give a new instance its host: namespace, address, home with the launch key, sshd."""
        if not self._free:
            raise SandboxError(f"no address left in {self.net} for {instance.id}")
        address = self._free.pop(0)
        n = next(self._numbers)
        netns, veth = f"vsb{self.token}-{n}", f"vsb{self.token}h{n}"
        host = Host(
            instance_id=instance.id,
            netns=netns,
            veth=veth,
            address=address,
            workdir=self.state_dir / "hosts" / instance.id,
            user=self.image_users.get(instance.image_id, self.user),
            authorized_key=public_key or "",
            user_data=_raw_user_data(instance.user_data),
            legacy_devices=self.legacy_devices,
        )
        for attachment in self._early.pop(instance.id, []):
            host.attachments[attachment.volume_id] = attachment
        # Known before anything exists, so terminating the instance removes a half-made host too.
        self.state.put("hosts", instance.id, {"netns": netns, "veth": veth, "address": address})
        self.hosts[instance.id] = host
        self._note_created(instance.id)
        create_host_net(netns, veth, self.bridge, address, self.net.prefixlen)
        # Its security groups hold before sshd listens (and its address joins its groups' source sets).
        refresh_firewalls(self.hosts, instance.ec2_backend)
        host.prepare()
        self._set_address(instance)
        self._power_on(instance, host)

    def _set_address(self, instance: Moto) -> None:
        """Report the host's address as the instance's private and public IP (both reach its sshd)."""
        host = self.hosts[instance.id]
        nic = instance.nics[0]
        nic.private_ip_address = host.address
        nic.private_ip_addresses = [{"Primary": True, "PrivateIpAddress": host.address}]
        nic.public_ip = host.address

    def _power_on(self, instance: Moto, host: Host) -> None:
        """Boot the host: optionally ``pending`` for a while, then sshd (optionally after a boot delay)."""
        generation = host.generation

        def boot() -> None:
            if host.generation == generation and host.pid is None and instance.id in self.hosts:
                host.start_sshd()

        def running() -> None:
            # Not after a stop since: that timer belongs to a later start (which has its own).
            if host.generation == generation and instance._state.name == "pending":
                instance._state.name, instance._state.code = "running", 16
                host.has_run = True
                self._after(self.faults.boot_delay, boot)

        if self.faults.pending_for > 0:
            instance._state.name, instance._state.code = "pending", 0
            self._later(self.faults.pending_for, running)
        else:
            host.has_run = True
            self._after(self.faults.boot_delay, boot)

    def never_ran(self, instance_id: str) -> bool:
        """True while an instance is still in its first ``pending`` (AWS refuses to stop it then)."""
        host = self.hosts.get(instance_id)
        return host is not None and not host.has_run

    def _after(self, delay: float, action: Callable[[], None]) -> None:
        if delay > 0:
            self._later(delay, action)
        else:
            action()

    def shutdown_all(self) -> None:
        """Power every host off (the daemon does this on SIGTERM, so it can reap their processes)."""
        for host in self.hosts.values():
            host.shutdown()
        reap_orphans()

    def instance_started(self, instance: Moto) -> None:
        """Boot a stopped instance's host again (same address, same host keys, fresh mount table)."""
        host = self.hosts.get(instance.id)
        if host is not None and host.pid is None:
            self._set_address(instance)
            self._power_on(instance, host)

    def instance_stopped(self, instance: Moto) -> None:
        """Power the host off: sshd and all its processes stop, its mounts disappear."""
        host = self.hosts.get(instance.id)
        if host is not None:
            host.shutdown()
            reap_orphans()
            instance.nics[0].public_ip = None

    def instance_terminated(self, instance: Moto) -> None:
        """Remove the host entirely: processes, namespace, veth, files; its address is free again."""
        self._early.pop(instance.id, None)
        host = self.hosts.pop(instance.id, None)
        if host is None:
            return
        host.shutdown()
        reap_orphans()
        for volume_id in list(host.attachments):
            self._release_loop(volume_id)
        delete_host_net(host.netns, host.veth)
        shutil.rmtree(host.workdir, ignore_errors=True)
        self.terminated_at[instance.id] = time.monotonic()
        refresh_firewalls(self.hosts, instance.ec2_backend)  # it no longer counts as a group member
        # Reused last, so a describe of a recently terminated instance rarely shows a live host's address.
        self._free.append(host.address)
        instance.nics[0].public_ip = None
        self.state.forget("hosts", instance.id)

    def instance_rebooted(self, instance: Moto) -> None:
        """Restart the host: its sessions end and its mounts go; sshd comes back with the same keys."""
        host = self.hosts.get(instance.id)
        if host is not None and instance.state == "running":
            host.shutdown()
            reap_orphans()
            self._power_on(instance, host)

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
    def volume_created(self, volume: Moto) -> None:
        """Create the volume's sparse file (with its snapshot's bytes)."""
        self.store.create_volume(volume.id, int(volume.size), volume.snapshot_id)
        self._note_created(volume.id)

    def volume_attached(self, volume: Moto, instance: Moto, device: str) -> None:
        """Make a loop device for the volume and show it to the instance's host (root volumes excepted)."""
        if self.faults.attaching_for > 0 and volume.attachment is not None:
            api_attachment = volume.attachment  # not rebound below: the timer must update this object
            api_attachment.status = "attaching"

            def attached() -> None:
                if api_attachment.status == "attaching":
                    api_attachment.status = "attached"

            self._later(self.faults.attaching_for, attached)
        if device == instance.root_device_name:
            return  # the host's root file system is the machine's; the root volume only carries bytes
        path = self.store.volume_file(volume.id)
        self.state.put("loops", volume.id, {"file": str(path)})
        loop = loop_attach(path)
        self.loops[volume.id] = loop
        self.state.put("loops", volume.id, {"file": str(path), "device": loop})
        attachment = Attachment(volume.id, loop, device)
        host = self.hosts.get(instance.id)
        if host is None:
            self._early.setdefault(instance.id, []).append(attachment)
        else:
            host.attach(attachment)
        log.info("sandbox.volume_attached", volume=volume.id, instance=instance.id, loop=loop, device=device)

    def volume_mounted(self, volume_id: str, instance_id: str) -> bool:
        """True if the volume's device is mounted inside its (running) host."""
        host = self.hosts.get(instance_id)
        attachment = host.attachments.get(volume_id) if host is not None else None
        return host is not None and attachment is not None and bool(host.mounts_of(attachment))

    def hold_busy(self, volume: Moto, complete: Callable[[], Any]) -> None:
        """Leave a mounted volume attached in state ``busy``; ``complete()`` detaches it once unmounted.

        As on AWS, the detach finishes when the host no longer uses the device (unmounted, or the instance
        stopped or terminated), or with a forced detach.
        """
        attachment = volume.attachment
        if attachment.status == "busy":
            return  # already waiting
        attachment.status = "busy"
        instance_id = attachment.instance.id

        def poll() -> None:
            if volume.attachment is not attachment:
                return  # detached meanwhile (forced, or with its instance)
            if self.volume_mounted(volume.id, instance_id):
                self._later(BUSY_POLL, poll)
            else:
                complete()

        self._later(BUSY_POLL, poll)

    def volume_detached(self, volume_id: str, instance_id: str) -> None:
        """Unmount (lazily: a forced detach) and unlink the volume inside the host, free its loop device."""
        host = self.hosts.get(instance_id)
        if host is not None:
            host.detach(volume_id)
        self._release_loop(volume_id)

    def _release_loop(self, volume_id: str) -> None:
        loop = self.loops.pop(volume_id, None)
        if loop is not None:
            loop_detach(loop)
        self.state.forget("loops", volume_id)

    def volume_modified(self, volume: Moto) -> None:
        """Grow the backing file to the new size and let an attached loop device see it (``losetup -c``)."""
        self.store.grow_volume(volume.id, int(volume.size))
        loop = self.loops.get(volume.id)
        if loop is not None:
            loop_refresh(loop)

    def volume_deleted(self, volume_id: str) -> None:
        """Free the volume's bytes."""
        self.store.delete_volume(volume_id)

    # --- snapshots and images --------------------------------------------------------------------------
    def snapshot_created(self, snapshot: Moto) -> None:
        """Copy the volume's bytes now (point in time); optionally report progress for a while."""
        self.store.snapshot(snapshot.volume.id, snapshot.id)
        self._hold_pending(snapshot)

    def snapshot_copied(self, snapshot: Moto, source_id: str) -> None:
        """Carry the source snapshot's bytes to the copy (also across regions)."""
        self.store.copy_snapshot(source_id, snapshot.id)
        self._hold_pending(snapshot)

    def _hold_pending(self, snapshot: Moto) -> None:
        """Note the snapshot's creation (``not_found_for``) and keep it ``pending`` if that fault is on."""
        self._note_created(snapshot.id)
        if self.faults.snapshot_pending_for > 0:
            snapshot.status = "pending"
            snapshot.sandbox_pending = (time.monotonic(), self.faults.snapshot_pending_for)
            self._later(self.faults.snapshot_pending_for, lambda: setattr(snapshot, "status", "completed"))

    def snapshot_deleted(self, snapshot_id: str) -> None:
        """Free the snapshot's bytes."""
        self.store.delete_snapshot(snapshot_id)

    def image_created(self, backend: Moto, ami: Moto, instance: Moto) -> None:
        """Record an image's mappings by snapshotting every volume of the instance (moto ignores them)."""
        mappings = []
        for device, bdt in instance.block_device_mapping.items():
            volume = backend.get_volume(bdt.volume_id)
            snap = backend.create_snapshot(
                volume.id, f"Created by CreateImage({instance.id}) for {ami.id}", from_ami=ami.id
            )
            mappings.append(_mapping(device, snap.id, volume.size, bool(bdt.delete_on_termination)))
        self.image_users[ami.id] = self.image_users.get(instance.image_id, self.user)
        self.set_image_mappings(backend, ami, mappings)

    def set_image_mappings(self, backend: Moto, ami: Moto, mappings: list[dict[str, Any]]) -> None:
        """Give ``ami`` its ``mappings``; moto's placeholder root snapshot is replaced by the real one.

        Every new image passes here (with or without mappings): its creation time feeds ``not_found_for``.
        """
        self._note_created(ami.id)
        if not mappings:
            return
        ami.sandbox_mappings = mappings
        root = next((m for m in mappings if m["DeviceName"] == ami.root_device_name), mappings[0])
        placeholder = ami.ebs_snapshot
        ami.ebs_snapshot = backend.get_snapshot(root["Ebs"]["SnapshotId"])
        ami.ebs_snapshot.from_ami = ami.id
        if placeholder.id != ami.ebs_snapshot.id:
            backend.snapshots.pop(placeholder.id, None)
            self.store.delete_snapshot(placeholder.id)


def snapshot_progress(snapshot: Any, now: float | None = None) -> str:
    """EC2's ``Progress``: rising from 0% to 99% over ``snapshot_pending_for``, 100% once completed."""
    pending = getattr(snapshot, "sandbox_pending", None)
    if snapshot.status == "completed" or pending is None:
        return "100%"
    started, duration = pending
    elapsed = (time.monotonic() if now is None else now) - started
    return f"{max(0, min(99, int(100 * elapsed / duration)))}%"


def _raw_user_data(user_data: Any) -> bytes:
    """The raw bytes of moto's user data (a base64 string wrapper, a plain string or None)."""
    if user_data is None:
        return b""
    encoded = user_data.as_bytes() if hasattr(user_data, "as_bytes") else str(user_data).encode()
    try:
        return base64.b64decode(encoded)
    except ValueError:
        return b""


def _mapping(device: str, snapshot_id: str, size: int, delete_on_termination: bool) -> dict[str, Any]:
    return {
        "DeviceName": device,
        "Ebs": {
            "SnapshotId": snapshot_id,
            "VolumeSize": int(size),
            "DeleteOnTermination": delete_on_termination,
            "VolumeType": "gp3",
            "Encrypted": False,
        },
    }
