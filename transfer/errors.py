"""Errors of the transfer layer, and the one place where paramiko/socket errors become ours.

Tree::

    TransferError
    ├── ConnectError (also ConnectionError)
    │   └── AuthenticationError
    ├── HostKeyMismatch
    ├── PrivateKeyError (also ValueError)   a key file or key text we cannot use
    ├── RemoteCommandError          carries the CommandResult
    ├── CommandTimeout (also TimeoutError)
    ├── SshdError                   the local sshd launcher failed
    ├── DeviceNotFound              a block device did not appear before the deadline
    └── ChecksumMismatch            a verified copy differs
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import paramiko

from transfer.fingerprints import fingerprint_of_key
from transfer.result import CommandResult

__all__ = [
    "AuthenticationError",
    "ChecksumMismatch",
    "CommandTimeout",
    "ConnectError",
    "DeviceNotFound",
    "HostKeyMismatch",
    "PrivateKeyError",
    "RemoteCommandError",
    "SshdError",
    "TransferError",
    "translate_ssh_errors",
]


class TransferError(Exception):
    """Root of every error raised by the transfer layer."""


class ConnectError(TransferError, ConnectionError):
    """The SSH connection could not be made or was lost (refused, reset, timed out, protocol error)."""


class AuthenticationError(ConnectError):
    """The server refused our key (on a booting instance this can mean "not ready yet")."""


class HostKeyMismatch(TransferError):
    """The server presented a host key that is not among the pinned ones.

    Attributes:
        host: The host we connected to.
        got: Fingerprint ("SHA256:...") of the key the server presented (several, comma-separated, when
            it was asked for each key type in turn).
        got_type: Type of the presented key ("ssh-ed25519"), when known.
        expected: Fingerprints we would have accepted.
    """

    def __init__(self, host: str, got: str, expected: Sequence[str], *, got_type: str = "") -> None:
        self.host = host
        self.got = got
        self.got_type = got_type
        self.expected = tuple(expected)
        want = ", ".join(self.expected) or "(none pinned)"
        super().__init__(f"host key mismatch for {host}: server presented {got}, expected {want}")


class PrivateKeyError(TransferError, ValueError):
    """Our private key cannot be used: not a key, an unsupported type, or encrypted without a passphrase.

    A local mistake, so waits never retry it; the message names the key file, never the key's contents.
    """


class RemoteCommandError(TransferError):
    """A command exited with a non-zero status (invoke's ``UnexpectedExit``).

    Attributes:
        result: The full :class:`CommandResult`.
    """

    def __init__(self, result: CommandResult, *, host: str | None = None) -> None:
        self.result = result
        self.host = host
        where = f" on {host}" if host else ""
        tail = result.tail()
        msg = f"command failed{where} with exit code {result.exit_code}: {result.command}"
        super().__init__(msg + (f"\nstderr:\n{tail}" if tail else ""))


class CommandTimeout(TransferError, TimeoutError):
    """A command did not finish within its timeout."""

    def __init__(self, command: str, timeout: float, *, host: str | None = None) -> None:
        self.command = command
        self.timeout = timeout
        self.host = host
        where = f" on {host}" if host else ""
        super().__init__(f"command timed out after {timeout:g}s{where}: {command}")


class SshdError(TransferError):
    """The local sshd launcher could not start the server (the message has the log tail)."""


class DeviceNotFound(TransferError):
    """No block device for the requested volume appeared before the deadline."""


class ChecksumMismatch(TransferError):
    """Source and destination checksums differ after a copy."""


@contextmanager
def translate_ssh_errors(host: str, port: int) -> Iterator[None]:
    """Turn paramiko and socket errors raised inside the block into our errors (``raise ... from``).

    This is the only place in the package that catches paramiko's exceptions. Our own errors and the
    builtin file errors (SFTP's permission denied or missing file, a missing key file) pass through.
    """
    where = f"{host}:{port}"
    try:
        yield
    except (TransferError, FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError):
        raise  # ours, or a plain file error (SFTP, a missing key file): already says what is wrong
    except paramiko.BadHostKeyException as exc:
        got = fingerprint_of_key(exc.key)
        expected = [fingerprint_of_key(exc.expected_key)]
        raise HostKeyMismatch(where, got, expected, got_type=exc.key.get_name()) from exc
    except paramiko.AuthenticationException as exc:
        raise AuthenticationError(f"authentication failed for {where}: {exc}") from exc
    except paramiko.ssh_exception.NoValidConnectionsError as exc:
        raise ConnectError(f"cannot connect to {where}: {exc}") from exc
    except (paramiko.SSHException, EOFError) as exc:
        raise ConnectError(f"ssh error with {where}: {exc}") from exc
    except socket.gaierror as exc:
        raise ConnectError(f"cannot resolve {host}: {exc}") from exc
    except TimeoutError as exc:
        raise ConnectError(f"timed out connecting to {where}") from exc
    except OSError as exc:
        raise ConnectError(f"cannot connect to {where}: {exc}") from exc
