"""The transfer layer: remote shells over SSH, rsync, block copies and device helpers.

It knows hosts, keys and paths, never EC2 (STYLE P1).
"""

from __future__ import annotations

from transfer.errors import (
    AuthenticationError,
    ChecksumMismatch,
    CommandTimeout,
    ConnectError,
    DeviceNotFound,
    HostKeyMismatch,
    RemoteCommandError,
    SshdError,
    TransferError,
)
from transfer.hostkeys import HostKey, HostKeyPins, parse_cloud_init_console
from transfer.result import CommandResult
from transfer.sshd import SshdServer, render_sshd_config

__all__ = [
    "AuthenticationError",
    "ChecksumMismatch",
    "CommandResult",
    "CommandTimeout",
    "ConnectError",
    "DeviceNotFound",
    "HostKey",
    "HostKeyMismatch",
    "HostKeyPins",
    "RemoteCommandError",
    "SshdError",
    "SshdServer",
    "TransferError",
    "parse_cloud_init_console",
    "render_sshd_config",
]
