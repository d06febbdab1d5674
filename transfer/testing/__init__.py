"""Test helpers shipped with the transfer layer, as ``fabric.testing`` ships fabric's.

* :class:`FakeShell` (:mod:`transfer.testing.fake`) — a scripted :class:`transfer.Shell` for unit tests of
  pure logic and fault injection.
* :class:`SshdServer` (:mod:`transfer.testing.sshd`) — a real OpenSSH server on loopback or in a network
  namespace, for end-to-end tests and the local sandbox cloud.

Library code never imports this package; tests, benchmarks and the sandbox do (``transfer.SshdServer`` is
the same class, kept in the package's public API).
"""

from __future__ import annotations

from transfer.testing.fake import Call, Expectation, FakeShell, UnexpectedCommand
from transfer.testing.sshd import SSHD_BINARY, SshdServer, free_port, render_sshd_config

__all__ = [
    "SSHD_BINARY",
    "Call",
    "Expectation",
    "FakeShell",
    "SshdServer",
    "UnexpectedCommand",
    "free_port",
    "render_sshd_config",
]
