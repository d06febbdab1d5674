"""One sandbox host per running instance: a network namespace, a private mount table and a real sshd.

sshd is started (through :class:`transfer.testing.SshdServer`) as ``ip netns exec NS unshare -m --propagation
private sh -c SETUP sshd ...``: SETUP mounts a tmpfs on ``/dev/disk`` (and on ``/mnt``), binds the host's own
home over ``/home/<user>``, then execs sshd, so the pid we hold is sshd's and ``nsenter -t <pid> -m`` enters
exactly this host's mount table. Stopping the instance kills every process in the namespace, which also drops
its mounts (like a power-off); starting it again builds a fresh mount table.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from staging._log import get_logger
from staging.sandbox.machine import shared as _shared
from staging.sandbox.machine.net import netns_pids
from staging.sandbox.machine.system import run
from transfer.testing import SshdServer

log = get_logger(__name__)

#: Where Nitro instances expose an EBS volume, by its id without the dash.
BY_ID_PREFIX = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"
HOST_KEY_TYPES = ("ed25519", "ecdsa")

_SETUP = """set -e
mount -t tmpfs -o mode=0755,size=1m sandbox-dev-disk /dev/disk
mkdir -p /dev/disk/by-id
mount --bind "$SANDBOX_HOME" "/home/$SANDBOX_USER"
if [ "$SANDBOX_PRIVATE_MNT" = 1 ]; then mount -t tmpfs -o mode=0755 sandbox-mnt /mnt; fi
exec "$@"
"""


def by_id_path(volume_id: str) -> str:
    """The ``/dev/disk/by-id`` name of an attached volume (``vol-0ab`` -> ``...Store_vol0ab``)."""
    return BY_ID_PREFIX + volume_id.replace("-", "")


def legacy_name(device: str) -> str:
    """The Xen-style name a requested device appears under (``/dev/sdf`` -> ``/dev/xvdf``)."""
    name = device.rsplit("/", 1)[-1]
    if name.startswith("sd"):
        name = "xvd" + name[2:]
    return f"/dev/{name}"


@dataclass
class Attachment:
    """A volume attached to a host: its loop device and the device name the API was asked for."""

    volume_id: str
    loop: str
    device: str


@dataclass
class Host:
    """The machine behind one instance (created by the daemon, never by API clients)."""

    instance_id: str
    netns: str
    veth: str
    address: str
    workdir: Path
    user: str
    authorized_key: str
    legacy_devices: bool = False
    #: The instance's user data (raw); a ``#!`` script runs once, at the first boot, as cloud-init does.
    user_data: bytes = b""
    attachments: dict[str, Attachment] = field(default_factory=dict)
    #: Bumped on every shutdown, so a delayed boot planned before it does not fire after it.
    generation: int = 0
    #: Whether the instance has ever been ``running`` (a first ``pending`` cannot be stopped on AWS).
    has_run: bool = False
    #: The nft script last loaded into the namespace (its security groups' ingress rules).
    firewall: str | None = None
    _sshd: SshdServer | None = None
    _user_script: subprocess.Popen[bytes] | None = None

    @property
    def private_mnt(self) -> bool:
        """Whether the host gets an empty /mnt of its own, as a fresh cloud image has.

        Not when the sandbox lives under /mnt: the tmpfs would hide sshd's own files from it.
        """
        return not self.workdir.resolve().is_relative_to("/mnt")

    @property
    def home(self) -> Path:
        """The host's own home directory of the login user (bound over /home/<user> inside the host)."""
        return self.workdir / "home"

    @property
    def pid(self) -> int | None:
        """sshd's pid while the host is up (the anchor of its mount namespace)."""
        return self._sshd.pid if self._sshd is not None else None

    def prepare(self) -> None:
        """Create the host's home (with the launch key in ``~/.ssh/authorized_keys``) and sshd's directory."""
        ssh_dir = self.home / ".ssh"
        ssh_dir.mkdir(parents=True, exist_ok=True)
        (ssh_dir / "authorized_keys").write_text(self.authorized_key.strip() + "\n")
        for path in (self.home, ssh_dir, ssh_dir / "authorized_keys"):
            shutil.chown(path, self.user, self.user)
        self.home.chmod(0o755)
        ssh_dir.chmod(0o700)
        self._sshd = SshdServer(
            self.workdir / "sshd",
            authorized_keys=[self.authorized_key],
            listen_address=self.address,
            port=22,
            prefix_argv=[
                *("ip", "netns", "exec", self.netns),
                *("env", f"SANDBOX_HOME={self.home}", f"SANDBOX_USER={self.user}"),
                f"SANDBOX_PRIVATE_MNT={int(self.private_mnt)}",
                *("unshare", "--mount", "--propagation", "private"),
                *("/bin/sh", "-c", _SETUP, "sandbox-host"),
            ],
            host_key_types=HOST_KEY_TYPES,
            allow_users=[self.user],
            # The user's own ~/.ssh/authorized_keys counts too, as on a cloud image.
            extra_config={
                "AuthorizedKeysFile": f"{self.workdir / 'sshd' / 'authorized_keys'} .ssh/authorized_keys"
            },
        )

    def start_sshd(self) -> None:
        """Start sshd in a fresh mount namespace and re-create the device links of attached volumes."""
        assert self._sshd is not None
        self._sshd.start()
        for attachment in self.attachments.values():
            self._link(attachment)
        log.info("sandbox.host_up", instance=self.instance_id, address=self.address, pid=self._sshd.pid)
        if self.user_data.startswith(b"#!") and self._user_script is None:
            self._run_user_data()

    def _run_user_data(self) -> None:
        """Start the user-data script as root inside the host (its namespaces), in the background.

        Its output goes to the console (:meth:`console_output`); it dies with the host's other processes.
        """
        script = self.workdir / "user-data"
        script.write_bytes(self.user_data)
        script.chmod(0o700)
        with (self.workdir / "user-data.log").open("wb") as out:
            self._user_script = subprocess.Popen(
                ["nsenter", "-t", str(self.pid), "-m", "-n", "--", str(script)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd="/",
            )
        log.info("sandbox.user_data_started", instance=self.instance_id, pid=self._user_script.pid)

    def shutdown(self) -> None:
        """Stop sshd and every other process of the host (its mounts go with its mount namespace)."""
        self.generation += 1
        if self._sshd is not None:
            self._sshd.stop()
        for pid in netns_pids(self.netns):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        log.info("sandbox.host_down", instance=self.instance_id)

    def drop_connections(self) -> int:
        """Kill every SSH session of the host but keep sshd listening (a network blip); returns how many."""
        pid = self.pid
        victims = [p for p in netns_pids(self.netns) if p != pid]
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        return len(victims)

    # --- block devices ---------------------------------------------------------------------------------
    def attach(self, attachment: Attachment) -> None:
        """Make ``attachment``'s loop device appear in the host (now if it is up, else at next boot)."""
        self.attachments[attachment.volume_id] = attachment
        if self.pid is not None:
            self._link(attachment)

    def detach(self, volume_id: str) -> Attachment | None:
        """Unmount (lazily) and unlink the volume inside the host; returns the attachment it had."""
        attachment = self.attachments.pop(volume_id, None)
        if attachment is not None and self.pid is not None:
            names = [attachment.loop] + ([legacy_name(attachment.device)] if self.legacy_devices else [])
            sources = " ".join(shlex.quote(n) for n in names)
            script = (
                f"for d in {sources}; do awk -v d=\"$d\" '$1 == d {{print $2}}' /proc/mounts; done | "
                "sort -r | "
                'while read -r m; do umount -l "$m"; done; '
                f"rm -f {shlex.quote(by_id_path(volume_id))}"
            )
            if self.legacy_devices:
                script += f"; umount -l {shlex.quote(legacy_name(attachment.device))} 2>/dev/null || true"
            self._in_host(script)
        return attachment

    def mounts_of(self, attachment: Attachment) -> list[str]:
        """Mount points of the attached device in the host's mount table ([] while the host is down)."""
        pid = self.pid
        if pid is None:
            return []
        names = {attachment.loop} | ({legacy_name(attachment.device)} if self.legacy_devices else set())
        try:
            table = Path(f"/proc/{pid}/mounts").read_text()
        except OSError:
            return []
        return [fields[1] for fields in (line.split() for line in table.splitlines()) if fields[0] in names]

    def _link(self, attachment: Attachment) -> None:
        script = f"ln -sfn {shlex.quote(attachment.loop)} {shlex.quote(by_id_path(attachment.volume_id))}"
        if self.legacy_devices:
            # /dev is shared by all hosts: an empty placeholder file there gets the device bound over it
            # only inside this host's mount table, so other hosts do not see this volume under that name.
            name = legacy_name(attachment.device)
            _shared.placeholder(Path(name))
            script += f"; mount --bind {shlex.quote(attachment.loop)} {shlex.quote(name)}"
        self._in_host(script)

    def _in_host(self, script: str) -> None:
        pid = self.pid
        if pid is not None:
            run(["nsenter", "-t", str(pid), "-m", "--", "/bin/sh", "-c", script])

    # --- console ---------------------------------------------------------------------------------------
    def console_output(self) -> str:
        """Boot log text with cloud-init's SSH host key blocks (empty blocks until sshd has its keys)."""
        name = "ip-" + self.address.replace(".", "-")
        lines = [
            f"[    0.000000] Linux version sandbox ({self.instance_id})",
            f"[    2.000000] cloud-init[1]: Cloud-init v. 22.4.2 running 'init' for {self.instance_id}",
        ]
        pubs = [self.workdir / "sshd" / f"ssh_host_{t}_key.pub" for t in HOST_KEY_TYPES]
        if not all(p.exists() for p in pubs):
            return "\n".join(lines) + "\n"
        fingerprints = []
        keys = []
        for pub in pubs:
            bits, fp, _comment, kind = run(["ssh-keygen", "-l", "-f", str(pub)]).split()
            fingerprints.append(f"ec2: {bits} {fp} root@{name} {kind}")
            keys.append(" ".join([*pub.read_text().split()[:2], f"root@{name}"]))
        lines += [
            "ec2: ",
            "ec2: #############################################################",
            "ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----",
            *fingerprints,
            "ec2: -----END SSH HOST KEY FINGERPRINTS-----",
            "ec2: #############################################################",
            "-----BEGIN SSH HOST KEY KEYS-----",
            *keys,
            "-----END SSH HOST KEY KEYS-----",
            *self._user_data_output(),
            "[    9.000000] cloud-init[1]: Cloud-init v. 22.4.2 finished. Datasource DataSourceEc2Local.",
        ]
        return "\n".join(lines) + "\n"

    def _user_data_output(self) -> list[str]:
        try:
            return (self.workdir / "user-data.log").read_text(errors="replace").splitlines()
        except OSError:
            return []
