"""Fixtures for the transfer tests: a client key pair and real sshd servers on loopback."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from transfer.hostkeys import HostKeyPins
from transfer.testing import SshdServer


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


@pytest.fixture
def loop_device(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Loop devices over sparse files: ``loop_device(size, data=b"", read_only=False)``; detached after."""
    made: list[str] = []

    def make(size: int, data: bytes = b"", *, read_only: bool = False) -> str:
        image = tmp_path / f"disk{len(made)}.img"
        image.write_bytes(data)
        os.truncate(image, size)
        dev = subprocess.run(
            ["losetup", *(["-r"] if read_only else []), "-f", "--show", str(image)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        made.append(dev)
        return dev

    try:
        yield make
    finally:
        for dev in reversed(made):
            # Unmount whatever is still mounted from *our* device, then detach it by name.
            for line in Path("/proc/mounts").read_text().splitlines():
                if line.split()[0] == dev:
                    subprocess.run(["umount", "-l", line.split()[1].replace("\\040", " ")], check=False)
            subprocess.run(["losetup", "-d", dev], check=False)


@pytest.fixture
def dev_links() -> Iterator[Callable[[str, str], None]]:
    """Symlinks under /dev (e.g. a fake NVMe by-id link): ``dev_links(link, target)``; removed after."""
    links: list[Path] = []
    dirs: list[Path] = []

    def make(link: str, target: str) -> None:
        path = Path(link)
        for parent in reversed(path.parents):
            if not parent.exists():
                parent.mkdir()
                dirs.append(parent)
        path.symlink_to(target)
        links.append(path)

    try:
        yield make
    finally:
        for path in links:
            path.unlink(missing_ok=True)
        for d in reversed(dirs):
            with contextlib.suppress(OSError):  # someone else may have put a link there meanwhile
                d.rmdir()
