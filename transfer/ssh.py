"""``SSHShell``: run commands and move small files on one host over SSH (paramiko).

Paramiko is used directly: fabric's ``Connection`` adds tty/watcher machinery we do not need and takes only
``str`` commands, while file names that are not UTF-8 must pass as bytes. Host keys are always verified:
against pins given as data or, only when asked, trusted on first use. The same pins reach OpenSSH's client
(rsync, pipes) through :meth:`SSHShell.openssh_target`. Running one command on a channel (and killing it
on the host when it is given up) lives in :mod:`transfer.channel`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import paramiko
import tenacity

from transfer._log import get_logger
from transfer.channel import run_on_channel
from transfer.errors import (
    AuthenticationError,
    ConnectError,
    HostKeyMismatch,
    PrivateKeyError,
    RemoteCommandError,
    TransferError,
    translate_ssh_errors,
)
from transfer.files import RemoteFiles
from transfer.fingerprints import fingerprint_of_key
from transfer.hostkeys import (
    HostKey,
    HostKeyPins,
    PinnedHostKeyPolicy,
    families_to_disable,
    key_family,
    parse_pin,
)
from transfer.keys import load_private_key, load_private_key_file, private_key_text
from transfer.openssh import SSHTarget, check_host, known_hosts_text, pinned_target, ssh_argv
from transfer.result import CommandResult
from transfer.shell import (
    Command,
    OutputCallback,
    build_command,
    loggable,
    supervised,
)

__all__ = ["SSHShell", "load_private_key"]

log = get_logger(__name__)

#: Every host key algorithm paramiko may negotiate (those of unpinned families get disabled).
_HOST_KEY_ALGORITHMS: tuple[str, ...] = (
    *tuple(getattr(paramiko.Transport, "_preferred_keys", ())),
    "ssh-rsa",
)


class SSHShell(RemoteFiles):
    """A shell on one remote host over SSH. Connects lazily; use it as a context manager to close it.

    Args:
        host: Address or name.
        port: TCP port.
        user: Login user.
        key_filename: Private key file: ed25519, ECDSA or RSA, in OpenSSH, PEM (as ``CreateKeyPair``
            returns it) or PKCS#8 format (see :mod:`transfer.keys`). Read at the first connection.
        private_key: Private key text in any of those formats, or a paramiko key object (kept in memory;
            written to a 0600 temp file only while an OpenSSH client such as rsync needs it).
        host_keys: Accepted host keys: a :class:`HostKeyPins`, or items each being a fingerprint
            ("SHA256:..."), a ``(type, fingerprint)`` pair, a public key ("ssh-ed25519 AAAA...") or a
            known_hosts line.
        trust_on_first_use: With no pins, accept the first key seen (logged) and pin it from then on.
            Off by default: then a shell without pins refuses every server.
        connect_timeout: Seconds for TCP connect, banner and authentication.
        keepalive: Seconds between keepalive packets (0: off).
        dead_peer_timeout: Seconds after which a connection whose peer vanished without a word (a host
            powered off, a link cut) is given up, so a command fails with ConnectError instead of hanging
            until TCP's own retransmissions give up (about 15 minutes). 0 leaves TCP's defaults.
        jump: Another :class:`SSHShell` to tunnel through (its own key and pins apply to it).

    Raises:
        ValueError: ``host`` could be taken for an ssh option (see :func:`transfer.openssh.check_host`).
        PrivateKeyError: ``private_key`` is not a usable private key.
    """

    def __init__(
        self,
        host: str,
        *,
        port: int = 22,
        user: str = "root",
        key_filename: str | Path | None = None,
        private_key: str | paramiko.PKey | None = None,
        host_keys: HostKeyPins | Sequence[str | tuple[str, str]] | None = None,
        trust_on_first_use: bool = False,
        connect_timeout: float = 10.0,
        keepalive: int = 15,
        dead_peer_timeout: float = 60.0,
        jump: SSHShell | None = None,
    ) -> None:
        self.host = check_host(host)
        self.port = port
        self.user = user
        self.key_filename = str(key_filename) if key_filename is not None else None
        self._pkey: paramiko.PKey | None
        self._private_key_text: str | None
        if isinstance(private_key, paramiko.PKey):
            self._pkey, self._private_key_text = private_key, None
        else:
            self._pkey = load_private_key(private_key) if private_key is not None else None
            self._private_key_text = private_key
        self._in_memory_key = self._pkey is not None
        if host_keys is None:
            self.pins = HostKeyPins()
        elif isinstance(host_keys, HostKeyPins):
            self.pins = host_keys
        else:
            self.pins = HostKeyPins(tuple(k for item in host_keys for k in parse_pin(item).keys))
        self.trust_on_first_use = trust_on_first_use
        self.connect_timeout = connect_timeout
        self.keepalive = keepalive
        self.dead_peer_timeout = dead_peer_timeout
        self.jump = jump
        self.host_key: HostKey | None = None
        self._client: paramiko.SSHClient | None = None
        self._sftp_client: paramiko.SFTPClient | None = None
        self._lock = threading.Lock()
        self._log = log.bind(host=host, port=port, user=user)

    def __repr__(self) -> str:
        return f"SSHShell({self.user}@{self.host}:{self.port})"

    # --- connection --------------------------------------------------------------------------------------
    @property
    def is_connected(self) -> bool:
        """True while the SSH transport is up."""
        t = self._client.get_transport() if self._client is not None else None
        return t is not None and t.is_active()

    def connect(self, timeout: float | None = None) -> SSHShell:
        """Connect now (normally done lazily by the first command). Returns self.

        Raises:
            ConnectError: Refused, reset, timed out or protocol error.
            AuthenticationError: The key was refused.
            HostKeyMismatch: The server's key is not pinned.
            PrivateKeyError: (a ValueError) ``key_filename`` is not a usable private key, or no key was given.
            FileNotFoundError: ``key_filename`` does not exist.
        """
        with self._lock:
            if self.is_connected:
                return self
            self._close_locked()
            pkey = self._load_key()
            timeout = timeout if timeout is not None else self.connect_timeout
            disabled = families_to_disable(self.pins, _HOST_KEY_ALGORITHMS)
            presented: list[str] = []
            mismatch: HostKeyMismatch | None = None
            while True:
                try:
                    client, policy = self._connect_once(pkey, timeout, disabled)
                    break
                except AuthenticationError as exc:
                    detail = str(exc.__cause__ or "").rstrip(".")
                    raise AuthenticationError(
                        f"authentication failed for {self.describe()} with {self._key_description(pkey)}"
                        + (f": {detail}" if detail and detail != "Authentication failed" else "")
                    ) from exc
                except HostKeyMismatch as exc:
                    # A pin given as a bare fingerprint has no key type, so the server may have shown a key
                    # of another type than the pinned one: ask again without that type, while any is left.
                    presented.append(exc.got)
                    family = key_family(exc.got_type)
                    if not self.pins or self.pins.families or not family:
                        raise HostKeyMismatch(exc.host, ", ".join(presented), exc.expected) from None
                    disabled = [*disabled, *(a for a in _HOST_KEY_ALGORITHMS if key_family(a) == family)]
                    mismatch = HostKeyMismatch(exc.host, ", ".join(presented), exc.expected)
                    if all(a in disabled for a in _HOST_KEY_ALGORITHMS):
                        raise mismatch from None
                except ConnectError as exc:
                    if mismatch is not None:  # the server has no other key type left to show
                        raise mismatch from exc
                    raise
            transport = client.get_transport()
            assert transport is not None
            if self.keepalive:
                transport.set_keepalive(self.keepalive)
            self._arm_dead_peer_detection(transport)
            self.host_key = policy.accepted
            if not self.pins and policy.accepted is not None:
                self.pins = HostKeyPins((policy.accepted,))  # TOFU: from now on this key and no other
            self._client = client
            self._log.debug("ssh.connected", fingerprint=self.host_key.fingerprint if self.host_key else None)
            return self

    def _arm_dead_peer_detection(self, transport: paramiko.Transport) -> None:
        """Have the kernel drop the connection once data (our keepalives) stays unacknowledged, or an idle
        link stays silent, for ``dead_peer_timeout`` seconds (TCP_USER_TIMEOUT plus TCP keepalive)."""
        sock = transport.sock
        if not self.dead_peer_timeout or not isinstance(sock, socket.socket):
            return  # tunnelled through a jump host: the jump host's own connection is armed
        idle = max(1, int(self.keepalive or self.dead_peer_timeout / 4))
        options = [
            (
                socket.IPPROTO_TCP,
                getattr(socket, "TCP_USER_TIMEOUT", None),
                int(self.dead_peer_timeout * 1000),
            ),
            (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
            (socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPIDLE", None), idle),
            (socket.IPPROTO_TCP, getattr(socket, "TCP_KEEPINTVL", None), idle),
            (
                socket.IPPROTO_TCP,
                getattr(socket, "TCP_KEEPCNT", None),
                max(1, int(self.dead_peer_timeout // idle)),
            ),
        ]
        for level, option, value in options:
            if option is not None:  # Linux has them all; elsewhere TCP's defaults stay
                with contextlib.suppress(OSError):
                    sock.setsockopt(level, option, value)

    def _load_key(self) -> paramiko.PKey:
        """The client key: given in memory, or read from ``key_filename`` once (paramiko never reads the file:
        its loader reports a refused RSA key as "encountered RSA key, expected OPENSSH key")."""
        if self._pkey is None:
            if self.key_filename is None:
                raise PrivateKeyError(f"no key for {self.describe()}: give key_filename or private_key")
            self._pkey = load_private_key_file(self.key_filename)
        return self._pkey

    def _key_description(self, pkey: paramiko.PKey) -> str:
        """``key /path (ssh-rsa SHA256:...)``: names the key for messages, never shows its contents."""
        where = "the in-memory key" if self._in_memory_key else f"key {self.key_filename}"
        return f"{where} ({pkey.get_name()} {fingerprint_of_key(pkey)})"

    def _connect_once(
        self, pkey: paramiko.PKey, timeout: float, disabled: Sequence[str]
    ) -> tuple[paramiko.SSHClient, PinnedHostKeyPolicy]:
        policy = PinnedHostKeyPolicy(
            self.pins, f"{self.host}:{self.port}", trust_on_first_use=self.trust_on_first_use
        )
        client = paramiko.SSHClient()
        # paramiko's own HostKeys stay empty, so every key the server shows goes through our policy.
        client.set_missing_host_key_policy(policy)
        try:
            with translate_ssh_errors(self.host, self.port):
                sock = self.jump.open_tunnel(self.host, self.port) if self.jump is not None else None
                client.connect(
                    self.host,
                    port=self.port,
                    username=self.user,
                    pkey=pkey,
                    timeout=timeout,
                    banner_timeout=timeout,
                    auth_timeout=timeout,
                    allow_agent=False,
                    look_for_keys=False,
                    sock=sock,
                    disabled_algorithms={"keys": list(disabled)} if disabled else None,
                )
        except BaseException:
            client.close()
            raise
        return client, policy

    def open_tunnel(self, host: str, port: int) -> paramiko.Channel:
        """A direct-tcpip channel from this host to ``host:port`` (used by shells that jump through us)."""
        transport = self._transport()
        with translate_ssh_errors(self.host, self.port):
            return transport.open_channel("direct-tcpip", (host, port), ("127.0.0.1", 0))

    def _transport(self) -> paramiko.Transport:
        self.connect()
        assert self._client is not None
        t = self._client.get_transport()
        assert t is not None
        return t

    def wait_until_reachable(
        self,
        timeout: float = 300.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> SSHShell:
        """Connect, retrying with backoff while the host boots, until ``timeout`` seconds have passed.

        Retried: connection-level failures only (refused, reset, unreachable, timeouts, SSH protocol
        errors). Not retried, raised at once: an authentication failure (cloud images install the key
        before sshd starts, so a refused key stays refused), an unusable key file and a host key mismatch.

        Raises:
            ConnectError: Still unreachable at the deadline (chained to the last error).
            AuthenticationError: The server refused our key (the message names the key file).
            PrivateKeyError: The key file is not a usable private key, or no key was given.
            HostKeyMismatch: The server's key is not pinned.
        """
        start = clock()
        backoff = tenacity.wait_exponential(multiplier=0.25, max=5.0)
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(
                lambda exc: isinstance(exc, ConnectError) and not isinstance(exc, AuthenticationError)
            ),
            stop=lambda state: clock() - start >= timeout,
            # never sleep past the deadline: the last attempt is made at it, not seconds after
            wait=lambda state: min(backoff(state), max(0.0, timeout - (clock() - start))),
            sleep=sleep,
            before_sleep=lambda state: self._log.info(
                "ssh.waiting",
                attempt=state.attempt_number,
                error=str(state.outcome.exception()) if state.outcome else None,
            ),
            reraise=False,
        )
        try:
            for attempt in retrying:
                with attempt:
                    remaining = max(0.5, timeout - (clock() - start))
                    self.connect(timeout=min(self.connect_timeout, remaining))
        except tenacity.RetryError as exc:
            last = exc.last_attempt.exception()
            raise ConnectError(f"{self.host}:{self.port} not reachable within {timeout:g}s: {last}") from last
        return self

    def close(self) -> None:
        """Close SFTP and the SSH connection (idempotent)."""
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if self._sftp_client is not None:
            self._sftp_client.close()
            self._sftp_client = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> SSHShell:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- commands ----------------------------------------------------------------------------------------
    def run(
        self,
        command: Command,
        *,
        sudo: bool = False,
        check: bool = True,
        input: bytes | str | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        on_stdout: OutputCallback | None = None,
    ) -> CommandResult:
        """Run ``command`` on the host (see :meth:`transfer.Shell.run`); no tty, so ``sudo -n`` never prompts.

        Raises:
            RemoteCommandError: Non-zero exit and ``check``.
            CommandTimeout: ``timeout`` passed; the command's process group on the host is killed.
            ConnectError: The connection failed or dropped.
        """
        line = build_command(command, sudo=sudo, env=env)
        transport = self._transport()
        self._log.debug("ssh.run", **loggable(command, sudo=sudo, env=env))
        with translate_ssh_errors(self.host, self.port):
            chan = transport.open_session(timeout=self.connect_timeout)
        try:
            result = run_on_channel(
                chan, line, host=self.host, port=self.port, sudo=sudo, input=input, timeout=timeout,
                on_stdout=on_stdout, status_timeout=self.connect_timeout,
                kill=lambda pgid: self._kill_remote(pgid, sudo=sudo),
            )  # fmt: skip
        finally:
            chan.close()
        self._log.debug("ssh.done", exit_code=result.exit_code)
        if check and not result.ok:
            raise RemoteCommandError(result, host=self.host)
        return result

    def _kill_remote(self, pgid: int, *, sudo: bool) -> None:
        """Kill the process group of a command we gave up on (timeout, abort, interrupt), best effort."""
        kill = build_command(["kill", "-s", "KILL", "--", f"-{pgid}"], sudo=sudo)
        with contextlib.suppress(TransferError), translate_ssh_errors(self.host, self.port):
            chan = self._transport().open_session(timeout=self.connect_timeout)
            try:
                wait = self.connect_timeout
                run_on_channel(chan, kill, host=self.host, port=self.port, sudo=sudo, input=None,
                               timeout=wait, on_stdout=None, status_timeout=wait, kill=None)  # fmt: skip
            finally:
                chan.close()
        self._log.info("ssh.killed", pgid=pgid)

    # --- small files (SFTP; the operations live in RemoteFiles) -----------------------------------------
    def _sftp(self) -> paramiko.SFTPClient:
        if self._sftp_client is None or not self.is_connected:
            transport = self._transport()
            with translate_ssh_errors(self.host, self.port):
                client = paramiko.SFTPClient.from_transport(transport)
            assert client is not None
            self._sftp_client = client
        return self._sftp_client

    # --- OpenSSH client (rsync, pipes) -------------------------------------------------------------------
    def openssh_pins(self) -> HostKeyPins:
        """The host keys OpenSSH's client can be pinned to: the full pinned keys plus the key verified here.

        OpenSSH checks whole keys, not fingerprints: when some pin is only the fingerprint of a key not pinned
        in full (or there are no pins: trust on first use), this connects first (paramiko checks the
        fingerprint) so that the verified full key can be written. Otherwise a server pinned by fingerprint
        (after a key rotation: the old full key plus the new one's fingerprint) would be refused by OpenSSH.
        """
        keys = [k for k in self.pins.keys if k.public_key]
        full = {k.fingerprint for k in keys}
        only_fingerprints = [k for k in self.pins.keys if k.fingerprint not in full]
        if self.host_key is None and (not keys or only_fingerprints):
            self.connect()
        if self.host_key is not None and self.host_key.public_key and self.host_key not in keys:
            keys.append(self.host_key)
        return HostKeyPins(tuple(keys))

    @contextlib.contextmanager
    def openssh_target(self, **overrides: Any) -> Iterator[SSHTarget]:
        """An :class:`SSHTarget` for OpenSSH's client with the same key and pinned host key as this shell.

        Writes a known_hosts file (and the private key, when it is only in memory) into a private temp
        directory that is removed when the block ends; the target is :func:`transfer.openssh.pinned_target`.
        ``overrides`` replace SSHTarget fields (e.g. ``ciphers``).
        """
        pins = self.openssh_pins()
        with tempfile.TemporaryDirectory(prefix="transfer-ssh-") as tmp:
            known_hosts = Path(tmp, "known_hosts")
            known_hosts.write_text(known_hosts_text(pins))
            key_file = self.key_filename
            if self._in_memory_key:
                assert self._pkey is not None
                key_path = Path(tmp, "id")
                key_path.touch(mode=0o600)
                key_path.write_text(self._private_key_text or private_key_text(self._pkey))
                key_file = str(key_path)
            jump_cm = self.jump.openssh_target() if self.jump is not None else contextlib.nullcontext(None)
            with jump_cm as jump_target:
                target = pinned_target(
                    self.host,
                    pins,
                    known_hosts_file=str(known_hosts),
                    port=self.port,
                    user=self.user,
                    key_file=key_file,
                    connect_timeout=self.connect_timeout,
                    keepalive=self.keepalive,
                    jump=jump_target,
                )
                yield dataclasses.replace(target, **overrides)

    @contextlib.contextmanager
    def popen(
        self, command: Command, *, sudo: bool = False, **popen_kwargs: Any
    ) -> Iterator[subprocess.Popen[bytes]]:
        """Start ``command`` on the host through OpenSSH's client, for byte streams (block copies).

        The process is killed (by its pid) if still running when the block ends.
        """
        with self.openssh_target() as target:
            argv = ssh_argv(target, build_command(command, sudo=sudo))
            with supervised(subprocess.Popen(argv, **popen_kwargs)) as proc:
                yield proc

    def describe(self) -> str:
        """``user@host:port`` for messages."""
        return f"{self.user}@{self.host}:{self.port}"
