"""rsync over SSH: local → remote, remote → local, and remote → remote (server to server).

The argv builders are pure (:mod:`transfer.rsync_build`, re-exported here); :func:`rsync` runs them.
rsync's ssh is always OpenSSH with the same key and pinned host key as the :class:`transfer.SSHShell`
(``-F /dev/null``, our own known_hosts file, ``StrictHostKeyChecking=yes``, ``IdentitiesOnly=yes``). Paths
travel with ``--secluded-args`` (rsync's protocol, not a remote shell), so spaces, quotes, ``$()``,
newlines and non-UTF-8 bytes arrive untouched.

A transfer is not retried automatically (with ``--delete`` it is not idempotent mid-way), but running
the same call again resumes it: ``--partial`` keeps partly sent files and rsync's delta algorithm only
sends what is missing.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Protocol

from transfer._log import get_logger
from transfer.errors import RemoteCommandError, TransferError
from transfer.hostkeys import HostKeyPins
from transfer.openssh import (
    SSHTarget,
    check_host,
    known_hosts_text,
    pinned_target,
    remote_spec,
    ssh_command,
)
from transfer.rsync_build import (
    PathArg,
    RsyncOptions,
    choose_compression,
    local_path_arg,
    remote_path_arg,
    remote_source_arg,
    rsync_argv,
)
from transfer.rsync_parse import ProgressParser, RsyncProgress, RsyncStats, parse_stats
from transfer.shell import LocalShell, Shell, join_argv

__all__ = [
    "PathArg",
    "RsyncOptions",
    "RsyncResult",
    "RsyncShell",
    "choose_compression",
    "local_path_arg",
    "remote_source_arg",
    "rsync",
    "rsync_argv",
]

log = get_logger(__name__)

_DEFAULTS = RsyncOptions()


class RsyncShell(Shell, Protocol):
    """What :func:`rsync` needs of a remote host's shell; :class:`transfer.SSHShell` has it all.

    rsync reaches the host with OpenSSH's client, pinned to the host keys this shell checks; between two
    servers it also runs commands and writes the source's known_hosts through the shells.
    """

    @property
    def host(self) -> str:
        """Address or name of the host."""
        ...

    @property
    def port(self) -> int:
        """Its SSH port."""
        ...

    @property
    def user(self) -> str:
        """The login user."""
        ...

    @property
    def connect_timeout(self) -> float:
        """Seconds for connect and handshake."""
        ...

    @property
    def keepalive(self) -> int:
        """Seconds between keepalives (0: off)."""
        ...

    def describe(self) -> str:
        """``user@host:port`` for messages."""
        ...

    def connect(self) -> object:
        """Connect now, checking the host key and our login (raises what the connection met)."""
        ...

    def openssh_pins(self) -> HostKeyPins:
        """The full host keys OpenSSH can be pinned to (:meth:`transfer.SSHShell.openssh_pins`)."""
        ...

    def openssh_target(self, **overrides: Any) -> AbstractContextManager[SSHTarget]:
        """A pinned target for OpenSSH's client on this machine, its files kept while the block runs."""
        ...

    def write_file(self, remote: str, data: bytes | str, *, mode: int = 0o644, sudo: bool = False) -> None:
        """Write a file on the host atomically."""
        ...


@dataclass(frozen=True)
class RsyncResult:
    """What one rsync run did.

    Attributes:
        command: The rsync command line.
        exit_code: rsync's exit status.
        stats: Parsed ``--stats``.
        elapsed: Wall time in seconds.
        compression: The compression algorithm used, or None.
        ciphers: The ssh cipher preference given to OpenSSH.
        last_progress: The final progress update, if any.
    """

    command: str
    exit_code: int
    stats: RsyncStats
    elapsed: float
    compression: str | None
    ciphers: tuple[str, ...]
    last_progress: RsyncProgress | None = None


def _sources(src: PathArg | Sequence[PathArg]) -> list[PathArg]:
    if isinstance(src, str | bytes | os.PathLike):
        return [src]
    return list(src)


def rsync(
    src: PathArg | Sequence[PathArg],
    dest: PathArg,
    *,
    src_shell: RsyncShell | None = None,
    dest_shell: RsyncShell | None = None,
    options: RsyncOptions = _DEFAULTS,
    sudo: bool = False,
    sudo_src: bool = False,
    progress: Callable[[RsyncProgress], None] | None = None,
    timeout: float | None = None,
    dest_address: str | None = None,
    dest_port: int | None = None,
    authorized_keys_file: str = ".ssh/authorized_keys",
    local: Shell | None = None,
) -> RsyncResult:
    """Copy with rsync in whichever direction the shells describe.

    * ``dest_shell`` only: local → remote. ``src_shell`` only: remote → local. Neither: local → local.
    * Both: remote → remote. The source server pushes straight to the destination over SSH with a
      one-time ed25519 key generated *on the source server*; its public half is added (``restrict``) to the
      destination's ``authorized_keys_file`` and removed afterwards, and the private half is deleted.
      The destination's pinned host key is written to the source's temporary known_hosts.

    Args:
        src: Source path(s); a trailing ``/`` copies a directory's contents, as with rsync.
        dest: Destination path.
        src_shell: Shell of the source host.
        dest_shell: Shell of the destination host.
        options: See :class:`RsyncOptions`.
        sudo: Run the *receiving* rsync as root (``--rsync-path="sudo -n rsync"`` or ``sudo -n rsync``).
        sudo_src: Run the *sending* rsync as root, for sources only root can read. Kept apart from
            ``sudo`` so that pushing from a workstation never needs local root.
        progress: Called with each :class:`RsyncProgress` update. Raising from it aborts the transfer.
        timeout: Seconds before the transfer is killed.
        dest_address: Address the *source server* uses to reach the destination (remote → remote; default:
            ``dest_shell.host``), e.g. a private IP in the same VPC.
        dest_port: Port for ``dest_address`` (default ``dest_shell.port``).
        authorized_keys_file: The destination's authorized_keys for the one-time key (relative to home).
        local: Shell that runs the local rsync (default :class:`LocalShell`).

    Raises:
        RemoteCommandError: rsync failed (the result carries rsync's stderr); rerun to resume.
        CommandTimeout: ``timeout`` passed.
    """
    sources = _sources(src)
    local = local or LocalShell()
    if src_shell is not None and dest_shell is not None:
        return _rsync_between(
            sources, dest, src_shell, dest_shell, options=options, sudo=sudo, sudo_src=sudo_src,
            progress=progress, timeout=timeout, dest_address=check_host(dest_address or dest_shell.host),
            dest_port=dest_port or dest_shell.port, authorized_keys_file=authorized_keys_file,
        )  # fmt: skip
    remote = dest_shell or src_shell
    if remote is None:
        argv = rsync_argv([local_path_arg(s) for s in sources], local_path_arg(dest), options=options)
        return _run(local, argv, None, (), sudo=sudo, progress=progress, timeout=timeout)
    compression = choose_compression(remote.host, options)
    with remote.openssh_target() as target:
        if dest_shell is not None:  # push
            srcs = [local_path_arg(s) for s in sources]
            dst = remote_spec(target, remote_path_arg(dest))
            rsync_path = "sudo -n rsync" if sudo else None
            run_sudo = sudo_src
        else:  # pull
            srcs = [remote_spec(target, remote_source_arg(s)) for s in sources]
            dst = local_path_arg(dest)
            rsync_path = "sudo -n rsync" if sudo_src else None
            run_sudo = sudo
        argv = rsync_argv(
            srcs,
            dst,
            options=options,
            rsh=ssh_command(target),
            remote_rsync_path=rsync_path,
            compression=compression,
        )
        return _run(
            local, argv, compression, tuple(target.ciphers), sudo=run_sudo, progress=progress, timeout=timeout
        )


def _run(
    shell: Shell,
    argv: list[str],
    compression: str | None,
    ciphers: tuple[str, ...],
    *,
    sudo: bool,
    progress: Callable[[RsyncProgress], None] | None,
    timeout: float | None,
) -> RsyncResult:
    parser = ProgressParser(progress)
    start = time.monotonic()
    log.info("rsync.start", command=join_argv(argv), compression=compression)
    result = shell.run(argv, sudo=sudo, check=False, timeout=timeout, on_stdout=parser.feed)
    parser.close()
    elapsed = time.monotonic() - start
    stats = parse_stats("\n".join(parser.lines))
    if not result.ok:
        log.warning("rsync.failed", exit_code=result.exit_code, stderr=result.tail(3))
        raise RemoteCommandError(result, host=getattr(shell, "host", None))
    log.info(
        "rsync.done", elapsed=round(elapsed, 3), bytes_sent=stats.bytes_sent, files=stats.files_transferred
    )
    return RsyncResult(result.command, result.exit_code, stats, elapsed, compression, ciphers, parser.last)


#: Appends the one-time key line ($2) to authorized_keys ($1). A file whose last line has no newline gets
#: one first: otherwise our line would be glued to the user's last key, and removing ours would remove it.
_ADD_KEY = (
    'umask 077; mkdir -p -- "$(dirname -- "$1")" || exit 1; '
    'if [ -s "$1" ] && [ -n "$(tail -c 1 -- "$1")" ]; then echo >> "$1" || exit 1; fi; '
    'printf "%s\\n" "$2" >> "$1"'
)
#: Removes the lines containing the marker ($2) from authorized_keys ($1), in place (same inode and mode).
#: The file is rewritten only when grep succeeded (0: lines kept, 1: none left); on a read error (2) it is
#: left alone instead of being truncated, and the command fails.
_REMOVE_KEY = (
    't=$(mktemp) || exit 1; grep -vF -- "$2" "$1" > "$t"; '
    'case $? in 0|1) cat -- "$t" > "$1"; rc=$? ;; *) rc=2 ;; esac; rm -f -- "$t"; exit $rc'
)


def _rsync_between(
    sources: Sequence[PathArg],
    dest: PathArg,
    src_shell: RsyncShell,
    dest_shell: RsyncShell,
    *,
    options: RsyncOptions,
    sudo: bool,
    sudo_src: bool,
    progress: Callable[[RsyncProgress], None] | None,
    timeout: float | None,
    dest_address: str,
    dest_port: int,
    authorized_keys_file: str,
) -> RsyncResult:
    marker = f"transfer-rsync-{secrets.token_hex(8)}"
    # Connected first (the key must be added there anyway): a destination that refuses us, or shows a key
    # that is not pinned, fails with its own error before anything is made on the source. Its verified key
    # is then among the full keys pinned on the source.
    dest_shell.connect()
    pins = dest_shell.openssh_pins()
    if not pins:
        raise TransferError(f"no full host key known for {dest_shell.describe()}")
    # The private key is generated on the source server and never leaves it.
    tmpdir = src_shell.run(["mktemp", "-d", "/tmp/transfer-rsync.XXXXXXXX"]).stdout.strip()
    installed = False
    try:
        key = str(PurePosixPath(tmpdir, "id"))
        src_shell.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", marker, "-f", key])
        # Where the key lives and its comment are not secrets; they let an operator (or a test) check cleanup.
        log.info("rsync.ephemeral_key_created", source=src_shell.describe(), tmpdir=tmpdir, marker=marker)
        pub = src_shell.run(["cat", "--", key + ".pub"]).stdout.strip()
        known_hosts = str(PurePosixPath(tmpdir, "known_hosts"))
        src_shell.write_file(known_hosts, known_hosts_text(pins))
        installed = True
        dest_shell.run(["sh", "-c", _ADD_KEY, "sh", authorized_keys_file, f"restrict {pub}"])
        target = pinned_target(
            dest_address,
            pins,
            known_hosts_file=known_hosts,
            port=dest_port,
            user=dest_shell.user,
            key_file=key,
            connect_timeout=dest_shell.connect_timeout,
            keepalive=dest_shell.keepalive,
        )
        compression = choose_compression(dest_address, options)
        argv = rsync_argv(
            [local_path_arg(s) for s in sources],
            remote_spec(target, remote_path_arg(dest)),
            options=options,
            rsh=ssh_command(target),
            remote_rsync_path="sudo -n rsync" if sudo else None,
            compression=compression,
        )
        result = _run(
            src_shell,
            argv,
            compression,
            tuple(target.ciphers),
            sudo=sudo_src,
            progress=progress,
            timeout=timeout,
        )
    except BaseException as exc:
        _remove_one_time_key(
            src_shell, dest_shell, tmpdir, authorized_keys_file if installed else None, marker, exc
        )
        raise
    _remove_one_time_key(
        src_shell, dest_shell, tmpdir, authorized_keys_file if installed else None, marker, None
    )
    return result


def _remove_one_time_key(
    src_shell: RsyncShell,
    dest_shell: RsyncShell,
    tmpdir: str,
    authorized_keys_file: str | None,
    marker: str,
    failing: BaseException | None,
) -> None:
    """Remove the one-time key from both servers, each side on its own (one failing does not skip the other).

    A failed removal is never silent: after a successful copy it raises :class:`TransferError`; when the
    copy itself failed, that error stays the one raised and gets a note (and the log an error) instead.
    """
    errors: list[Exception] = []
    if authorized_keys_file is not None:
        try:
            dest_shell.run(["sh", "-c", _REMOVE_KEY, "sh", authorized_keys_file, marker])
        except Exception as exc:
            errors.append(exc)
    try:
        src_shell.run(["rm", "-rf", "--", tmpdir])
    except Exception as exc:
        errors.append(exc)
    where = {"source": src_shell.describe(), "destination": dest_shell.describe(), "tmpdir": tmpdir}
    if not errors:
        log.info("rsync.ephemeral_key_removed", marker=marker, **where)
        return
    log.error("rsync.ephemeral_key_not_removed", marker=marker, error=str(errors[0]), **where)
    message = (
        f"one-time key {marker} may be left behind (authorized_keys of {dest_shell.describe()}, "
        f"{tmpdir} on {src_shell.describe()}): {errors[0]}"
    )
    if failing is None:
        raise TransferError(message) from errors[0]
    failing.add_note(message)
