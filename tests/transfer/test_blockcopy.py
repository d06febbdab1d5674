"""Block copies between two sshd hosts, verified by checksum."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from transfer.blockcopy import _verify, block_copy, parse_dd_progress, reader_command, writer_command
from transfer.errors import ChecksumMismatch, RemoteCommandError, TransferError
from transfer.hostkeys import HostKeyPins
from transfer.shell import LocalShell
from transfer.ssh import SSHShell
from transfer.testing import FakeShell, SshdServer

from .conftest import KeyPair


def test_pipeline_commands() -> None:
    """The reader copies exactly SIZE bytes with progress; the writer fsyncs; devices are quoted."""
    assert reader_command("/dev/x y", 1024, None) == (
        "dd if='/dev/x y' bs=4M iflag=fullblock,count_bytes count=1024 status=progress"
    )
    assert reader_command("/dev/x", 1, "zstd").endswith("| zstd -q -1 -T0 -c")
    assert (
        writer_command("/dev/y", "gzip")
        == "gzip -d -c | dd of=/dev/y bs=4M iflag=fullblock conv=fsync,notrunc status=none"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("8388608 bytes (8.4 MB, 8.0 MiB) copied, 0.5 s, 16.8 MB/s", 8388608),
        ("8+0 records in", None),
        ("", None),
    ],
)
def test_parse_dd_progress(line: str, expected: int | None) -> None:
    """GNU dd status=progress lines give the byte count."""
    assert parse_dd_progress(line) == expected


def test_checksum_mismatch_is_refused() -> None:
    """Different hashes on the two sides raise ChecksumMismatch naming both."""
    src = FakeShell().expect(
        ["sh", "-c", 'head -c "$1" -- "$2" | sha256sum', "sh", "5", "/dev/a"], stdout="aa  -\n"
    )
    dst = FakeShell().expect(
        ["sh", "-c", 'head -c "$1" -- "$2" | sha256sum', "sh", "5", "/dev/b"], stdout="bb  -\n"
    )
    with pytest.raises(ChecksumMismatch, match=r"aa.*bb"):
        _verify(src, "/dev/a", dst, "/dev/b", 5, sudo=True)


@pytest.fixture
def two_hosts(
    sshd: SshdServer, sshd_factory: Callable[..., SshdServer], client_key: KeyPair, sshd_pins: HostKeyPins
) -> Iterator[tuple[SSHShell, SSHShell]]:
    """Shells to two different sshd servers."""
    other = sshd_factory()
    pins = HostKeyPins.from_public_keys(other.host_public_keys())
    key = client_key.private
    with (
        SSHShell(sshd.address, port=sshd.port, key_filename=key, host_keys=sshd_pins) as a,
        SSHShell(other.address, port=other.port, key_filename=key, host_keys=pins) as b,
    ):
        yield a, b


@pytest.mark.parametrize("compression", [None, "zstd"])
def test_block_copy_between_hosts_verified(
    two_hosts: tuple[SSHShell, SSHShell], loop_device: Callable[..., str], compression: str | None
) -> None:
    """A loop device on host A lands byte for byte on a larger loop device on host B, with progress."""
    a, b = two_hosts
    data = os.urandom(3 << 20) + bytes(3 << 20)  # half random, half zeros (compressible)
    src = loop_device(len(data), data)
    dst = loop_device(len(data) + (1 << 20), os.urandom(1 << 20))
    seen: list[tuple[int, int]] = []
    result = block_copy(a, src, b, dst, compression=compression, progress=lambda d, t: seen.append((d, t)))
    assert result.size == len(data) and result.sha256 is not None and result.compression == compression
    assert seen[-1] == (len(data), len(data))
    with open(dst, "rb") as f:
        assert f.read(len(data)) == data
    if compression:
        assert result.wire_bytes < len(data)


def test_block_copy_refuses_small_destination(
    two_hosts: tuple[SSHShell, SSHShell], loop_device: Callable[..., str]
) -> None:
    """A destination smaller than the source is refused before anything is written."""
    a, _ = two_hosts
    src, dst = loop_device(2 << 20), loop_device(1 << 20)
    with pytest.raises(TransferError, match="needs"):
        block_copy(a, src, LocalShell(), dst)


def test_block_copy_of_image_files(two_hosts: tuple[SSHShell, SSHShell], tmp_path: Path) -> None:
    """Regular image files work too (size from stat); auto compression stays off on loopback."""
    a, b = two_hosts
    (tmp_path / "src.img").write_bytes(os.urandom(1 << 20))
    (tmp_path / "dst.img").write_bytes(bytes(1 << 20))
    r = block_copy(a, str(tmp_path / "src.img"), b, str(tmp_path / "dst.img"))
    assert r.compression is None
    assert (tmp_path / "src.img").read_bytes() == (tmp_path / "dst.img").read_bytes()


def test_block_copy_aborts_when_progress_raises(
    two_hosts: tuple[SSHShell, SSHShell], loop_device: Callable[..., str]
) -> None:
    """An exception from the progress callback stops the copy and propagates."""
    a, b = two_hosts
    src, dst = loop_device(64 << 20, os.urandom(1 << 20)), loop_device(64 << 20)

    class Stop(Exception):
        pass

    def stop(done: int, total: int) -> None:
        raise Stop

    with pytest.raises(Stop):
        block_copy(a, src, b, dst, compression=None, progress=stop)


@pytest.mark.parametrize("hosts", ["ssh", "local"])
def test_block_copy_reports_the_failing_destination(
    two_hosts: tuple[SSHShell, SSHShell], loop_device: Callable[..., str], hosts: str
) -> None:
    """A destination that cannot be written gives RemoteCommandError with dd's complaint (no broken pipe)."""
    a, b = two_hosts if hosts == "ssh" else (LocalShell(), LocalShell())
    src = loop_device(16 << 20, os.urandom(16 << 20))  # more than the pipes hold: the source must be stopped
    dst = loop_device(16 << 20, read_only=True)
    with pytest.raises(RemoteCommandError) as info:
        block_copy(a, src, b, dst, compression=None)
    assert info.value.result.command.startswith(f"dd of={dst}")
    assert "not permitted" in info.value.result.stderr or "Read-only" in info.value.result.stderr
