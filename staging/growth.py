"""Growing an EBS volume as AWS lets it grow: the waits between ``ModifyVolume`` and growing a file system.

On AWS a modification goes ``modifying`` -> ``optimizing`` -> ``completed``
(``DescribeVolumesModifications``); the new size is usable only once it is ``optimizing``, and the
instance's block device shows the new capacity a moment later. A file system grown before then stays as it
was (``resize2fs`` and ``xfs_growfs`` find nothing to do and succeed), and the next copy runs out of space.
So :meth:`StagingVolume.resize <staging.volume.StagingVolume.resize>` waits here for both, each with a
deadline and a progress message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from staging.errors import StagingError
from staging.progress import Reporter
from transfer import CommandResult
from transfer.commands import blockdev_size_argv, parse_blockdev_size

__all__ = ["DEVICE_TIMEOUT", "MODIFICATION_TIMEOUT", "wait_for_device_size", "wait_for_modification"]

T = TypeVar("T")

GIB = 1024**3
#: Seconds to wait for a modification to reach ``optimizing`` (AWS: "usually a few seconds").
MODIFICATION_TIMEOUT = 900.0
#: Seconds to wait for the block device on the server to show the new size once the modification allows it.
DEVICE_TIMEOUT = 300.0
#: Seconds between two looks (at DescribeVolumesModifications, or at the device).
POLL = 0.5


class Runner(Protocol):
    """What the device wait needs from a server: running a command (a :class:`staging.StagingServer`)."""

    def run(self, command: list[str], *, sudo: bool = False, check: bool = True) -> CommandResult:
        """Run a command on the server."""


def poll(look: Callable[[], T | None], what: str, reporter: Reporter, timeout: float) -> T:
    """``look()`` every :data:`POLL` seconds until it answers something other than None, and return that.

    Each look that finds nothing is reported as waiting for ``what``.

    Raises:
        StagingError: Still nothing after ``timeout`` seconds (``look`` may raise sooner).
    """
    start = time.monotonic()
    while True:
        found = look()
        if found is not None:
            return found
        elapsed = time.monotonic() - start
        if elapsed + POLL > timeout:
            raise StagingError(f"gave up waiting for {what} after {elapsed:.0f} s")
        reporter.waiting(what, elapsed)
        time.sleep(POLL)


def wait_for_modification(
    ec2: Any, volume_id: str, size: int, reporter: Reporter, timeout: float = MODIFICATION_TIMEOUT
) -> str:
    """Wait until the modification of ``volume_id`` to ``size`` GiB is ``optimizing`` or ``completed``.

    Until DescribeVolumesModifications lists a modification to that size (it may lag ModifyVolume, as EC2 is
    eventually consistent), or while the latest one is ``modifying``, it waits. Returns the state reached.

    Raises:
        StagingError: The modification ``failed`` (with AWS's status message), or the deadline passed.
    """

    def look() -> str | None:
        ours = [m for m in ec2.describe_volumes_modifications(volume_ids=[volume_id]) if _target(m) == size]
        if not ours:
            return None
        latest = max(ours, key=lambda m: str(m.start_time or ""))
        state = str(latest.modification_state)
        if state == "failed":
            reason = latest.status_message or "no reason given"
            raise StagingError(f"the modification of {volume_id} to {size} GiB failed: {reason}")
        return state if state in ("optimizing", "completed") else None

    what = f"the modification of {volume_id} to {size} GiB to be optimizing (its new size usable)"
    return poll(look, what, reporter, timeout)


def _target(modification: Any) -> int | None:
    target = modification.target_size
    return int(target) if target is not None else None


def wait_for_device_size(
    host: Runner, device: str, size: int, reporter: Reporter, where: str, timeout: float = DEVICE_TIMEOUT
) -> int:
    """Wait until ``device`` on ``host`` (``where`` names it) has at least ``size`` GiB; its size in bytes.

    Raises:
        StagingError: ``blockdev`` fails (the device is gone) or the deadline passed.
    """

    def look() -> int | None:
        result = host.run(blockdev_size_argv(device), sudo=True, check=False)
        if not result.ok:
            raise StagingError(f"blockdev {device} on {where} failed ({result.exit_code}): {result.tail()}")
        try:
            found = parse_blockdev_size(result.stdout)
        except ValueError as exc:
            raise StagingError(f"{device} on {where}: {exc}") from exc
        return found if found >= size * GIB else None

    return poll(look, f"{device} on {where} to show {size} GiB", reporter, timeout)
