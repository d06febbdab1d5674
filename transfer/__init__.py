"""The transfer layer: remote shells over SSH, rsync, block copies and device helpers.

It knows hosts, keys and paths, never EC2 (STYLE P1). Entry points:

* :class:`SSHShell` — commands, sudo, SFTP on one host, with pinned host keys (:class:`HostKeyPins`).
* :func:`load_private_key_file` — client keys of every type and format (:mod:`transfer.keys`).
* :func:`rsync` — local→remote, remote→local and server→server copies with progress and stats.
* :func:`block_copy` — dd-style device copies between hosts, verified by SHA-256.
* :func:`find_block_device` — the real device of an attached volume (NVMe by-id, sd/xvd).
* :mod:`transfer.commands` — pure mkfs/mount/resize/e2fsck/fsfreeze/blkid/lsblk/df builders and parsers.
* :func:`missing_tools` — which tools a host lacks, looked up where ``sudo`` looks (PATH plus sbin).
* :class:`SshdServer` — a real sshd for tests and the local sandbox cloud (from :mod:`transfer.testing`).
* :class:`transfer.testing.FakeShell` — the test double for :class:`Shell`, beside ``SshdServer``.
"""

from __future__ import annotations

import logging
import typing

from transfer.blockcopy import BlockCopyResult, block_copy
from transfer.devices import device_candidates, find_block_device
from transfer.errors import (
    AuthenticationError,
    ChecksumMismatch,
    CommandTimeout,
    ConnectError,
    DeviceNotFound,
    HostKeyMismatch,
    PrivateKeyError,
    RemoteCommandError,
    SshdError,
    TransferError,
)
from transfer.hostkeys import HostKey, HostKeyPins, parse_cloud_init_console
from transfer.keys import load_private_key, load_private_key_file
from transfer.openssh import SSHTarget
from transfer.result import CommandResult
from transfer.rsync_parse import RsyncProgress, RsyncStats
from transfer.shell import LocalShell, Shell, join_argv, missing_tools
from transfer.ssh import SSHShell
from transfer.sync import RsyncOptions, RsyncResult, rsync, rsync_argv

if typing.TYPE_CHECKING:
    from transfer.testing import SshdServer, render_sshd_config

__all__ = [
    "AuthenticationError",
    "BlockCopyResult",
    "ChecksumMismatch",
    "CommandResult",
    "CommandTimeout",
    "ConnectError",
    "DeviceNotFound",
    "HostKey",
    "HostKeyMismatch",
    "HostKeyPins",
    "LocalShell",
    "PrivateKeyError",
    "RemoteCommandError",
    "RsyncOptions",
    "RsyncProgress",
    "RsyncResult",
    "RsyncStats",
    "SSHShell",
    "SSHTarget",
    "Shell",
    "SshdError",
    "SshdServer",
    "TransferError",
    "block_copy",
    "device_candidates",
    "find_block_device",
    "join_argv",
    "load_private_key",
    "load_private_key_file",
    "missing_tools",
    "parse_cloud_init_console",
    "render_sshd_config",
    "rsync",
    "rsync_argv",
]

#: Test helpers the face hands on, loaded only when asked for: no library module imports them.
_TEST_HELPERS = frozenset({"SshdServer", "render_sshd_config"})


def __getattr__(name: str) -> typing.Any:
    if name in _TEST_HELPERS:
        from transfer import testing

        return getattr(testing, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_TEST_HELPERS})


logging.getLogger(__name__).addHandler(logging.NullHandler())
