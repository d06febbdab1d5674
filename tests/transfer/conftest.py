"""Fixtures for the transfer tests: a client key pair and real sshd servers on loopback."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from transfer.hostkeys import HostKeyPins
from transfer.sshd import SshdServer


@dataclass(frozen=True)
class KeyPair:
    """A client key pair on disk."""

    private: Path
    public: str


@pytest.fixture(scope="session")
def client_key(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    """An ed25519 client key pair made once per session with ssh-keygen."""
    d = tmp_path_factory.mktemp("client-key")
    key = d / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tests", "-f", str(key)], check=True)
    return KeyPair(key, key.with_suffix(".pub").read_text().strip())


@pytest.fixture(scope="session")
def sshd_factory(
    tmp_path_factory: pytest.TempPathFactory, client_key: KeyPair
) -> Iterator[Callable[..., SshdServer]]:
    """Start extra sshd servers on 127.0.0.1 (random ports); all are stopped at the end of the session."""
    servers: list[SshdServer] = []

    def make(**kwargs: object) -> SshdServer:
        kwargs.setdefault("authorized_keys", [client_key.public])
        kwargs.setdefault("host_key_types", ("ed25519",))  # RSA key generation costs up to seconds
        server = SshdServer(tmp_path_factory.mktemp("sshd"), **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        server.start()
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="session")
def sshd(sshd_factory: Callable[..., SshdServer]) -> SshdServer:
    """The session sshd on 127.0.0.1 (ed25519 + RSA host keys); root logs in with ``client_key``."""
    return sshd_factory(host_key_types=("ed25519", "rsa"))


@pytest.fixture(scope="session")
def sshd_pins(sshd: SshdServer) -> HostKeyPins:
    """The session sshd's host keys, pinned."""
    return HostKeyPins.from_public_keys(sshd.host_public_keys())
