"""SFTP file operations of :class:`transfer.SSHShell`: put/get and atomic writes of small files."""

from __future__ import annotations

import contextlib
import posixpath
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path

import paramiko

from transfer.errors import TransferError, translate_ssh_errors
from transfer.result import CommandResult
from transfer.shell import Command, OutputCallback, encode

__all__ = ["RemoteFiles"]


class RemoteFiles:
    """Mixin: small-file transfer for a shell that provides ``_sftp()``, ``run()``, ``host`` and ``port``."""

    host: str
    port: int

    def _sftp(self) -> paramiko.SFTPClient:
        raise NotImplementedError

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
        raise NotImplementedError

    def put(self, local: str | Path, remote: str, *, mode: int | None = None) -> None:
        """Copy a local file to ``remote`` (atomically: temp file + rename), optionally setting its mode."""
        self.write_file(
            remote,
            Path(local).read_bytes(),
            mode=mode if mode is not None else Path(local).stat().st_mode & 0o7777,
        )

    def get(self, remote: str, local: str | Path) -> None:
        """Copy ``remote`` to a local file."""
        sftp = self._sftp()
        with translate_ssh_errors(self.host, self.port):
            sftp.get(remote, str(local))

    def read_file(self, remote: str, *, sudo: bool = False) -> bytes:
        """The contents of a remote file (through ``sudo -n cat`` when ``sudo``)."""
        if sudo:
            return encode(self.run(["cat", "--", remote], sudo=True).stdout)
        with translate_ssh_errors(self.host, self.port), self._sftp().open(remote, "rb") as f:
            return f.read()

    def write_file(self, remote: str, data: bytes | str, *, mode: int = 0o644, sudo: bool = False) -> None:
        """Write ``remote`` atomically: a temp file in the same directory, then rename over the target.

        Readers see the old or the new file, never half of one. With ``sudo`` the write goes through
        ``sudo -n sh`` (for root-owned destinations) instead of SFTP.
        """
        payload = encode(data) if isinstance(data, str) else data
        if sudo:
            self.run(["sh", "-c", _SUDO_WRITE, "sh", remote, f"{mode:o}"], sudo=True, input=payload)
            return
        sftp = self._sftp()
        d, name = posixpath.split(remote)
        # The temp file sits in a fresh 0700 directory next to the target: SFTP creates files with the
        # server's default mode (often 0644), and a secret must not be readable, even for a moment, while
        # it is written. Same directory tree, same file system, so the rename stays atomic.
        tmpdir = posixpath.join(d, f".{name}.tmp-{secrets.token_hex(4)}")
        tmp = posixpath.join(tmpdir, name)
        with translate_ssh_errors(self.host, self.port):
            sftp.mkdir(tmpdir, mode=0o700)
            try:
                with sftp.open(tmp, "wb") as f:
                    f.set_pipelined(True)
                    f.write(payload)
                sftp.chmod(tmp, mode)
                sftp.posix_rename(tmp, remote)
            except BaseException:
                self._quietly(sftp.remove, tmp)
                raise
            finally:
                self._quietly(sftp.rmdir, tmpdir)

    def _quietly(self, action: Callable[[str], object], path: str) -> None:
        """Best-effort cleanup: errors (translated first, so no paramiko type escapes) are ignored."""
        with contextlib.suppress(TransferError, OSError), translate_ssh_errors(self.host, self.port):
            action(path)


#: Atomic write as root: a 0600 temp file next to the target, filled from stdin, then chmod and rename.
#: ``--`` everywhere: the target may be a relative path that starts with a dash.
_SUDO_WRITE = (
    'umask 077; t=$(mktemp -- "$1.XXXXXX") || exit 1; '
    'if cat > "$t" && chmod -- "$2" "$t" && mv -f -- "$t" "$1"; then exit 0; fi; rm -f -- "$t"; exit 1'
)
