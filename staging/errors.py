"""The staging layer's errors.

Tree::

    StagingError
     ├── StagingParameterError   bad input, found before anything is created (also a ValueError)
     │    └── SnapshotNotFound   no snapshot of that name (and version) is owned by the caller
     ├── NoServerAvailable       a staging server could not be launched or reached
     ├── VolumeInUse             a volume is attached to another server (another run holds it)
     ├── SyncLocked              another sync of that name on this machine still runs (deadline passed)
     ├── NotMounted              a file operation needs a mounted volume
     └── CleanupIncomplete       cleanup left resources behind (they are listed; ``gc`` removes them)

The layers below keep their own roots (``provisioning.VMEC2Error``, ``transfer.TransferError``); staging code
lets them through unchanged, so a caller can tell an AWS refusal from an SSH failure.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "CleanupIncomplete",
    "NoServerAvailable",
    "NotMounted",
    "SnapshotNotFound",
    "StagingError",
    "StagingParameterError",
    "SyncLocked",
    "VolumeInUse",
]


class StagingError(Exception):
    """Root of every error the staging layer raises itself."""


class StagingParameterError(StagingError, ValueError):
    """Bad input, refused before anything is created in the cloud."""


class NoServerAvailable(StagingError):
    """A staging server could not be launched, started or reached over SSH."""


class VolumeInUse(StagingError):
    """The volume is attached to a server this manager does not own (another process holds it)."""


class SyncLocked(StagingError):
    """Another ``sync_to_snapshot`` of that name on this machine still holds its lock after the deadline."""


class NotMounted(StagingError):
    """A file operation on a volume that is not mounted on a server."""


class SnapshotNotFound(StagingParameterError):
    """No completed snapshot of that name (and version) is owned by the caller (bad input: nothing made)."""


class CleanupIncomplete(StagingError):
    """Cleanup could not remove everything; ``leftovers`` names each resource (``gc`` removes them)."""

    def __init__(self, leftovers: Sequence[str]) -> None:
        self.leftovers = list(leftovers)
        super().__init__(
            f"cleanup left {len(self.leftovers)} resource(s) behind: {', '.join(self.leftovers)}; "
            "run 'staging gc --delete' to remove them"
        )
