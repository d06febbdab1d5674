"""Launch a real OpenSSH server for tests and the local sandbox cloud.

:class:`SshdServer` runs ``/usr/sbin/sshd -D -e`` with its own host keys, authorized keys and config, all kept
in one work directory, and stops it by its own pid. It can run inside a network namespace through
``prefix_argv`` (which must ``exec`` its argument, as ``ip netns exec`` and ``unshare`` do, so that the pid we
hold is sshd's own).

Example::

    with SshdServer(tmp / "sshd", authorized_keys=[my_pubkey]) as server:
        pins = HostKeyPins.from_public_keys(server.host_public_keys())
        with SSHShell("127.0.0.1", port=server.port, user="root", key_filename=key, host_keys=pins) as sh:
            sh.run(["true"])
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from transfer._log import get_logger
from transfer.errors import SshdError
from transfer.hostkeys import known_hosts_host, parse_public_key

__all__ = ["SSHD_BINARY", "SshdServer", "free_port", "render_sshd_config"]

log = get_logger(__name__)

#: sshd refuses to start from a relative path (it re-executes itself).
SSHD_BINARY = "/usr/sbin/sshd"
#: Privilege separation directory that Debian's sshd insists on.
PRIVSEP_DIR = Path("/run/sshd")
_READY_MARK = "Server listening on"
#: Ports tried when the port is picked automatically and another process takes it first.
_PORT_ATTEMPTS = 3


def render_sshd_config(
    *,
    port: int,
    listen_address: str,
    host_key_files: Sequence[str | os.PathLike[str]],
    authorized_keys_file: str | os.PathLike[str],
    pid_file: str | os.PathLike[str],
    allow_users: Sequence[str] | None = None,
    extra_config: Mapping[str, str] | None = None,
) -> str:
    """Render an sshd_config for a key-only test server (pure).

    ``extra_config`` entries replace the default of the same keyword (case-insensitive) or are appended.

    Raises:
        ValueError: A value contains a newline (it would inject config lines) or a keyword is not one word.
    """
    settings: dict[str, tuple[str, list[str]]] = {}

    def put(key: str, *values: str) -> None:
        settings[key.lower()] = (key, list(values))

    put("Port", str(port))
    put("ListenAddress", listen_address)
    put("HostKey", *(_config_path(p) for p in host_key_files))
    # AuthorizedKeysFile expands %-tokens (%h, %u): a literal '%' in our path must be doubled.
    put("AuthorizedKeysFile", _config_path(authorized_keys_file).replace("%", "%%"))
    put("PidFile", _config_path(pid_file))
    # Keys only: no passwords, no PAM (no systemd/logind here), no keyboard-interactive.
    put("PasswordAuthentication", "no")
    put("KbdInteractiveAuthentication", "no")
    put("PubkeyAuthentication", "yes")
    put("UsePAM", "no")
    put("PermitRootLogin", "prohibit-password")
    # Our files may live under /tmp (mode 1777), which StrictModes rejects; we write them ourselves.
    put("StrictModes", "no")
    put("UseDNS", "no")
    put("PrintMotd", "no")
    put("PrintLastLog", "no")
    put("LogLevel", "INFO")  # the launcher waits for the INFO line "Server listening on"
    put("Subsystem", "sftp internal-sftp")
    put("MaxStartups", "100:30:200")  # parallel tests and rsync open many connections at once
    put("MaxSessions", "50")
    if allow_users:
        put("AllowUsers", " ".join(allow_users))
    for key, value in (extra_config or {}).items():
        put(key, value)
    out = []
    for key, values in settings.values():
        if not key.isalnum():
            raise ValueError(f"bad sshd_config keyword: {key!r}")
        for value in values:
            if "\n" in value or "\r" in value:
                raise ValueError(f"newline in sshd_config value for {key}")
            out.append(f"{key} {value}")
    return "\n".join(out) + "\n"


def _config_path(path: str | os.PathLike[str]) -> str:
    """An absolute path as one sshd_config word: double-quoted (``\\`` and ``"`` escaped) when it holds
    whitespace, quotes, a backslash or ``#``, which sshd would otherwise split or cut off."""
    text = str(Path(path).absolute())
    if re.search(r"[\s\"'\\#]", text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def free_port(address: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``address`` right now (the usual small race is accepted for tests)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


class SshdServer:
    """A real sshd on one address/port, with its own host keys and authorized keys, as a context manager.

    Files in ``workdir``: ``sshd_config``, ``ssh_host_<type>_key[.pub]`` (generated once and kept, so a
    restart presents the same host keys, like a rebooted machine), ``authorized_keys``, ``sshd.pid`` and
    ``sshd.log`` (sshd's own log, appended across restarts; read it when a connection fails).

    Args:
        workdir: Directory for the server's files (created if missing).
        authorized_keys: Public key lines allowed to log in (as any user sshd lets in).
        listen_address: Address to listen on.
        port: Port; 0 picks a free one on ``listen_address`` from this namespace (pass a real port when
            ``prefix_argv`` enters another network namespace).
        prefix_argv: Command prefix that execs sshd (e.g. ``["ip", "netns", "exec", "ns1"]``).
        host_key_types: ssh-keygen key types to generate.
        allow_users: If given, only these users may log in.
        extra_config: More sshd_config settings (override defaults of the same name).
        start_timeout: Seconds to wait for "Server listening on" in the log.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        authorized_keys: Sequence[str],
        listen_address: str = "127.0.0.1",
        port: int = 0,
        prefix_argv: Sequence[str] = (),
        host_key_types: Sequence[str] = ("ed25519", "rsa"),
        allow_users: Sequence[str] | None = None,
        extra_config: Mapping[str, str] | None = None,
        start_timeout: float = 10.0,
    ) -> None:
        self.workdir = Path(workdir).absolute()
        self.authorized_keys = list(authorized_keys)
        self.address = listen_address
        self.port = port
        self.prefix_argv = list(prefix_argv)
        self.host_key_types = list(host_key_types)
        self.allow_users = list(allow_users) if allow_users is not None else None
        self.extra_config = dict(extra_config or {})
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    # --- paths -------------------------------------------------------------------------------------------
    @property
    def config_file(self) -> Path:
        """The rendered sshd_config."""
        return self.workdir / "sshd_config"

    @property
    def log_file(self) -> Path:
        """sshd's log (``-e`` sends it to stderr, which we append here)."""
        return self.workdir / "sshd.log"

    @property
    def pid_file(self) -> Path:
        """sshd's PidFile."""
        return self.workdir / "sshd.pid"

    def host_key_file(self, key_type: str) -> Path:
        """Private host key file for ``key_type`` (``.pub`` next to it)."""
        return self.workdir / f"ssh_host_{key_type}_key"

    @property
    def pid(self) -> int | None:
        """sshd's pid while running, else None."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    # --- lifecycle ---------------------------------------------------------------------------------------
    def is_running(self) -> bool:
        """True while our sshd process is alive."""
        return self.pid is not None

    def start(self) -> None:
        """Generate missing host keys, write the config and start sshd; return once it listens.

        Raises:
            SshdError: sshd exited, or did not report listening within ``start_timeout``; the message has
                the log tail.
        """
        if self.is_running():
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        for key_type in self.host_key_types:
            self._ensure_host_key(key_type)
        auth = self.workdir / "authorized_keys"
        auth.write_text("".join(k.strip() + "\n" for k in self.authorized_keys))
        auth.chmod(0o600)
        picked = self.port == 0  # chosen once: a restart keeps the port, like a rebooted machine
        for attempt in range(_PORT_ATTEMPTS):
            if picked:
                self.port = free_port(self.address)
            try:
                self._launch(auth)
                break
            except SshdError as exc:
                # free_port() only saw the port free; another process may bind it before sshd does.
                if not picked or attempt + 1 == _PORT_ATTEMPTS or "Cannot bind any address" not in str(exc):
                    raise
                log.info("sshd.port_taken", port=self.port)
        assert self._proc is not None
        log.info("sshd.started", pid=self._proc.pid, address=self.address, port=self.port)

    def _launch(self, auth: Path) -> None:
        """Write the config, start sshd and wait until it listens (or stop it and raise SshdError)."""
        self.config_file.write_text(
            render_sshd_config(
                port=self.port,
                listen_address=self.address,
                host_key_files=[self.host_key_file(t) for t in self.host_key_types],
                authorized_keys_file=auth,
                pid_file=self.pid_file,
                allow_users=self.allow_users,
                extra_config=self.extra_config,
            )
        )
        argv = [*self.prefix_argv, SSHD_BINARY, "-D", "-e", "-f", str(self.config_file)]
        offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        with self.log_file.open("ab") as logf:
            self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        log.debug("sshd.starting", pid=self._proc.pid, address=self.address, port=self.port)
        try:
            self._wait_ready(offset)
        except BaseException:  # an interrupt or error while waiting: never leave an sshd nobody will stop
            self.stop()
            raise

    def _wait_ready(self, offset: int) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        while True:
            with self.log_file.open("rb") as f:
                f.seek(offset)
                text = f.read().decode("utf-8", "replace")
            if _READY_MARK in text:
                return
            if self._proc.poll() is not None:
                rc = self._proc.returncode
                self._proc = None
                raise SshdError(f"sshd exited with status {rc} before listening:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise SshdError(f"sshd not listening after {self.start_timeout:g}s:\n{self.log_tail()}")
            time.sleep(0.02)

    def _ensure_host_key(self, key_type: str) -> None:
        path = self.host_key_file(key_type)
        if path.exists() and path.with_suffix(".pub").exists():
            return
        path.unlink(missing_ok=True)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", key_type, "-N", "", "-C", f"sshd-{key_type}", "-f", str(path)],
            check=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
        )

    def stop(self, timeout: float = 5.0) -> None:
        """Stop sshd and everything it forked: per-connection sshd processes and the commands they run.

        Descendants are found through /proc before the listener goes (once it exits they are reparented),
        sent SIGTERM, and given ``timeout`` seconds; whatever of them still runs then (a command that
        ignores SIGTERM) gets SIGKILL. A process is only signalled while its pid still has the start time
        we saw, so a reused pid is never hit. Idempotent.
        """
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        children = _descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        for child in children:
            _signal(child, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
        alive = _wait_gone(children, timeout)
        for child in alive:
            _signal(child, signal.SIGKILL)
        _wait_gone(alive, timeout)  # SIGKILL is delivered asynchronously: return once they are gone
        log.info("sshd.stopped", pid=proc.pid, port=self.port, killed=[c[0] for c in alive])

    def __enter__(self) -> SshdServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- host identity -----------------------------------------------------------------------------------
    def host_public_keys(self) -> list[str]:
        """Public host keys as ``"ssh-ed25519 AAAA..."`` (no comment), in ``host_key_types`` order."""
        out = []
        for key_type in self.host_key_types:
            fields = self.host_key_file(key_type).with_suffix(".pub").read_text().split()
            out.append(f"{fields[0]} {fields[1]}")
        return out

    def host_key_fingerprints(self) -> list[tuple[str, str]]:
        """``(key_type, "SHA256:...")`` for each host key."""
        return [(k.split()[0], parse_public_key(k).fingerprint) for k in self.host_public_keys()]

    def known_hosts_line(self, host: str | None = None) -> str:
        """known_hosts lines (one per host key, newline-joined) for ``host`` (default: the listen address)."""
        name = known_hosts_host(host or self.address, self.port)
        return "\n".join(f"{name} {k}" for k in self.host_public_keys())

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of sshd's log."""
        if not self.log_file.exists():
            return ""
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def __repr__(self) -> str:
        return f"SshdServer({self.address}:{self.port}, pid={self.pid})"


#: A process as (pid, start time in clock ticks since boot): the pair never names two processes.
_Proc = tuple[int, int]


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) of ``pid`` from /proc, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces and parentheses; fields resume after the last ')'.
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[1]), fields[0], int(fields[19])


def _descendants(pid: int) -> list[_Proc]:
    """All descendants of ``pid``, read from /proc (Linux)."""
    children: dict[int, list[_Proc]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            children.setdefault(st[0], []).append((int(entry.name), st[2]))
    out: list[_Proc] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child[0])
    return out


def _running(proc: _Proc) -> bool:
    """True while ``proc`` (same pid *and* start time) exists and is not a zombie."""
    st = _stat(proc[0])
    return st is not None and st[2] == proc[1] and st[1] != "Z"


def _wait_gone(procs: list[_Proc], timeout: float) -> list[_Proc]:
    """Wait up to ``timeout`` seconds for ``procs`` to end; return those still running."""
    deadline = time.monotonic() + timeout
    while (alive := [p for p in procs if _running(p)]) and time.monotonic() < deadline:
        time.sleep(0.02)
    return alive


def _signal(proc: _Proc, sig: int) -> None:
    if _running(proc):
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc[0], sig)
