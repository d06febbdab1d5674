"""One ``sync_to_snapshot`` of a name at a time on one machine: a lock file in the dot directory.

Two runs of one name (two overlapping cron jobs) would both start from version N and both make N+1. The
second run waits for the first: it takes an exclusive ``flock`` on ``<dotdir>/locks/sync-<hash>.lock``, one
file per endpoint + region + name (the account the versions are made in), and writes its pid in it so a
waiting run can say whom it waits for. The kernel releases a flock when its process dies, so a killed run
never leaves the lock held; the file itself stays (removing it would let two runs lock two different files).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from staging.errors import SyncLocked
from staging.progress import Reporter

__all__ = ["POLL", "lock_path", "sync_lock"]

#: Seconds between two tries while another run holds the lock.
POLL = 0.2


def lock_path(dotdir: Path, endpoint: str, region: str, name: str) -> Path:
    """The lock file of snapshot ``name`` at ``endpoint`` in ``region`` (names may hold any character)."""
    key = hashlib.sha256(f"{endpoint}\n{region}\n{name}".encode()).hexdigest()[:24]
    return dotdir / "locks" / f"sync-{key}.lock"


def _holder(fd: int) -> str:
    """The pid the holder wrote ('?' while it has not written it yet)."""
    text = os.pread(fd, 64, 0).decode(errors="replace").strip()
    return text or "?"


@contextmanager
def sync_lock(path: Path, what: str, reporter: Reporter, timeout: float | None = None) -> Iterator[None]:
    """Hold the lock file ``path`` for the block, waiting while another process holds it.

    Args:
        path: The lock file (its directory is made 0700).
        what: What the holder is, for the wait message (``"another sync_to_snapshot of 'data'"``).
        reporter: Told what the run waits for (``waiting for another sync_to_snapshot of 'data' (pid 1234)
            to finish``).
        timeout: Seconds to wait at most (None: as long as it takes; 0: not at all).

    Raises:
        SyncLocked: Still held by another process after ``timeout``.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        start = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                elapsed = time.monotonic() - start
                waited_for = f"{what} (pid {_holder(fd)}) to finish"
                if timeout is not None and elapsed >= timeout:
                    raise SyncLocked(f"gave up after {timeout:g} s waiting for {waited_for}") from None
                reporter.waiting(waited_for, elapsed)
                time.sleep(POLL if timeout is None else min(POLL, max(timeout - elapsed, 0.0)))
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the flock
