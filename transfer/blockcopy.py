"""Block-level copy of a device (or image file) from one host to another over SSH, verified by checksum.

The source runs ``dd | compressor``, the destination ``decompressor | dd``, both through OpenSSH's client
with pinned host keys; this process relays the stream between them (no key ever needs to be placed on
either server) and reports progress from the source ``dd``. Afterwards both sides hash exactly the copied
byte range (``head -c SIZE DEV | sha256sum``) and the copy is refused if they differ.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import IO, Any, Protocol

from transfer._log import get_logger
from transfer.errors import ChecksumMismatch, RemoteCommandError, TransferError
from transfer.openssh import on_fast_network
from transfer.result import CommandResult
from transfer.shell import Command, Shell, decode, kill_process, quote

__all__ = [
    "COMPRESSORS",
    "BlockCopyResult",
    "PipeShell",
    "block_copy",
    "parse_dd_progress",
    "reader_command",
    "writer_command",
]

log = get_logger(__name__)

#: Compressor → (compress command, decompress command). Fast levels: the link, not the ratio, matters.
COMPRESSORS: dict[str, tuple[str, str]] = {
    "zstd": ("zstd -q -1 -T0 -c", "zstd -q -d -c"),
    "lz4": ("lz4 -q -1 -c", "lz4 -q -d -c"),
    "gzip": ("gzip -1 -c", "gzip -d -c"),
}
_BS = "4M"


class PipeShell(Shell, Protocol):
    """A :class:`transfer.Shell` that can also start a streaming process (LocalShell, SSHShell)."""

    def popen(
        self, command: Command, *, sudo: bool = False, **popen_kwargs: Any
    ) -> AbstractContextManager[subprocess.Popen[bytes]]:
        """Start ``command`` with pipes; killed when the block ends."""
        ...


@dataclass(frozen=True)
class BlockCopyResult:
    """A finished, verified block copy."""

    size: int
    sha256: str | None
    elapsed: float
    compression: str | None
    wire_bytes: int


def reader_command(device: str, size: int, compression: str | None) -> str:
    """Source pipeline: read exactly ``size`` bytes with dd (progress on stderr), optionally compressed."""
    dd = f"dd if={quote(device)} bs={_BS} iflag=fullblock,count_bytes count={size} status=progress"
    return f"{dd} | {COMPRESSORS[compression][0]}" if compression else dd


def writer_command(device: str, compression: str | None) -> str:
    """Destination pipeline: optionally decompress, then write with dd and fsync before exiting."""
    dd = f"dd of={quote(device)} bs={_BS} iflag=fullblock conv=fsync,notrunc status=none"
    return f"{COMPRESSORS[compression][1]} | {dd}" if compression else dd


_DD_RE = re.compile(r"^\s*(\d+) bytes")


def parse_dd_progress(line: str) -> int | None:
    """Bytes copied from a GNU dd ``status=progress`` line, or None."""
    m = _DD_RE.match(line)
    return int(m.group(1)) if m else None


def _hash_argv(device: str, size: int) -> list[str]:
    return ["sh", "-c", 'head -c "$1" -- "$2" | sha256sum', "sh", str(size), device]


def _size(shell: Shell, device: str, sudo: bool) -> int:
    script = 'if [ -b "$1" ]; then blockdev --getsize64 "$1"; else stat -L -c %s -- "$1"; fi'
    return int(shell.run(["sh", "-c", script, "sh", device], sudo=sudo).stdout.strip())


def block_copy(
    src: PipeShell,
    src_device: str,
    dst: PipeShell,
    dst_device: str,
    *,
    compression: str | None = "auto",
    size: int | None = None,
    sudo: bool = True,
    verify: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> BlockCopyResult:
    """Copy ``src_device`` on ``src`` to ``dst_device`` on ``dst`` and verify it.

    Args:
        src: Shell of the source host.
        src_device: Source block device or image file.
        dst: Shell of the destination host.
        dst_device: Destination block device or file (must be at least as large).
        compression: "zstd", "lz4", "gzip", None, or "auto" (compress only towards non-private addresses).
        size: Bytes to copy (default: the whole source).
        sudo: Read, write and hash through ``sudo -n`` (devices are root-only).
        verify: Compare SHA-256 of the copied range on both sides.
        progress: Called with (bytes_done, total) as the source reads. If it raises, the copy is stopped
            and the exception propagates (the destination is then incomplete).

    Raises:
        ChecksumMismatch: The hashes differ.
        RemoteCommandError: A side of the pipeline failed.
        TransferError: The destination is smaller than the copy.
    """
    if compression == "auto":
        hosts = (getattr(src, "host", "localhost"), getattr(dst, "host", "localhost"))
        compression = None if all(on_fast_network(h) for h in hosts) else "zstd"
    if compression is not None and compression not in COMPRESSORS:
        raise ValueError(f"unknown compression {compression!r}; choose from {sorted(COMPRESSORS)}")
    total = size if size is not None else _size(src, src_device, sudo)
    room = _size(dst, dst_device, sudo)
    if room < total:
        raise TransferError(f"destination {dst_device} has {room} bytes, the copy needs {total}")
    start = time.monotonic()
    log.info("blockcopy.start", src=src_device, dst=dst_device, size=total, compression=compression)
    rd_cmd, wr_cmd = reader_command(src_device, total, compression), writer_command(dst_device, compression)
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    wire = 0
    with src.popen(rd_cmd, sudo=sudo, **pipes) as reader, dst.popen(wr_cmd, sudo=sudo, **pipes) as writer:
        assert reader.stdout and reader.stderr and reader.stdin and writer.stdin and writer.stderr
        reader.stdin.close()
        rd_err: list[str] = []
        wr_err: list[bytes] = []
        failures: list[BaseException] = []

        def report(done: int, size: int) -> None:
            if progress is None or failures:
                return
            try:
                progress(done, size)
            except BaseException as exc:  # the caller aborts: stop reading, re-raise below
                failures.append(exc)
                kill_process(reader)

        threads = [
            threading.Thread(target=_dd_progress, args=(reader.stderr, total, report, rd_err), daemon=True),
            threading.Thread(target=lambda: wr_err.append(writer.stderr.read()), daemon=True),  # type: ignore[union-attr]
        ]
        for t in threads:
            t.start()
        wire, complete = _relay(reader.stdout, writer.stdin)
        if not complete:  # the destination stopped reading: stop the source, which would block on its pipe
            kill_process(reader)
        rd_rc, wr_rc = reader.wait(), writer.wait()
        for t in threads:
            t.join()
    if failures:
        raise failures[0]
    # The writer first: when it fails, the reader is killed by us, and its status would only hide the cause.
    for rc, cmd, err, host in (
        (wr_rc, wr_cmd, decode(b"".join(wr_err)), getattr(dst, "host", None)),
        (rd_rc, rd_cmd, "\n".join(rd_err), getattr(src, "host", None)),
    ):
        if rc != 0:
            raise RemoteCommandError(CommandResult(cmd, rc, "", err), host=host)
    if progress is not None:
        progress(total, total)
    digest = _verify(src, src_device, dst, dst_device, total, sudo) if verify else None
    elapsed = time.monotonic() - start
    log.info("blockcopy.done", size=total, elapsed=round(elapsed, 3), sha256=digest, wire_bytes=wire)
    return BlockCopyResult(total, digest, elapsed, compression, wire)


def _relay(source: IO[bytes], sink: IO[bytes]) -> tuple[int, bool]:
    """Copy ``source`` to ``sink`` until EOF; returns (bytes relayed, whether the sink took everything).

    A sink that goes away (the destination command failed) ends the relay instead of raising
    ``BrokenPipeError``: the writer's exit status and stderr then say what went wrong.
    """
    n = 0
    try:
        while chunk := source.read1(1 << 20):  # type: ignore[attr-defined]
            try:
                sink.write(chunk)
            except BrokenPipeError:
                return n, False
            n += len(chunk)
        return n, True
    finally:
        with contextlib.suppress(BrokenPipeError):
            sink.close()


def _dd_progress(stream: IO[bytes], total: int, report: Callable[[int, int], None], keep: list[str]) -> None:
    for line in _cr_lines(stream):
        done = parse_dd_progress(line)
        if done is None:
            keep.append(line)
        else:
            report(min(done, total), total)


def _cr_lines(stream: IO[bytes]) -> Iterator[str]:
    buf = b""
    while chunk := stream.read1(4096):  # type: ignore[attr-defined]
        buf += chunk
        *lines, buf = re.split(rb"[\r\n]", buf)
        yield from (decode(x) for x in lines if x.strip())
    if buf.strip():
        yield decode(buf)


def _verify(src: Shell, src_device: str, dst: Shell, dst_device: str, size: int, sudo: bool) -> str:
    with ThreadPoolExecutor(2) as pool:  # the two hosts hash at the same time
        a = pool.submit(src.run, _hash_argv(src_device, size), sudo=sudo)
        b = pool.submit(dst.run, _hash_argv(dst_device, size), sudo=sudo)
        want, got = a.result().stdout.split()[0], b.result().stdout.split()[0]
    if want != got:
        raise ChecksumMismatch(f"block copy differs: source sha256 {want}, destination {got} ({size} bytes)")
    return want
