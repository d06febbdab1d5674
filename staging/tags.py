"""The tags that are the staging layer's only state in the cloud.

Every resource a run creates is tagged *at creation* (``TagSpecifications``), so nothing exists untagged even
for a moment: a run that is killed between two calls still leaves only resources ``gc`` can find.

========================  ===================================================================
``StagingRole``           StagingInstance, StagingVolume, StagingGroup, StagingKey, StagingSnapshot,
                          StagingImage
``StagingName``           symbolic name of the server or volume
``StagingRun``            the run id (one per :class:`~staging.StagingManager`)
``StagingCreator``        ``user@host pid N`` of the process that made it
``StagingExpires``        ISO-8601 UTC time after which ``gc`` may remove it (temporary resources only)
``StagingUsername``       ssh login user of a server (instances)
``StagingMtPt``           mount point of a volume (``none`` for raw volumes)
``StagingFsType``         file system type of a volume
========================  ===================================================================

Resources the caller keeps (snapshots made by ``sync_to_snapshot``, volumes asked to be kept) carry no
``StagingExpires``: ``gc`` never touches them.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "CREATOR",
    "EXPIRES",
    "FSTYPE",
    "MTPT",
    "NAME",
    "ROLE",
    "RUN",
    "USERNAME",
    "Role",
    "RunTags",
    "expired",
    "new_run_id",
]

ROLE = "StagingRole"
NAME = "StagingName"
RUN = "StagingRun"
CREATOR = "StagingCreator"
EXPIRES = "StagingExpires"
USERNAME = "StagingUsername"
MTPT = "StagingMtPt"
FSTYPE = "StagingFsType"


class Role:
    """Values of the ``StagingRole`` tag (the original's, plus key pairs, snapshots and images)."""

    INSTANCE = "StagingInstance"
    VOLUME = "StagingVolume"
    GROUP = "StagingGroup"
    KEY = "StagingKey"
    SNAPSHOT = "StagingSnapshot"
    IMAGE = "StagingImage"


def new_run_id() -> str:
    """A short random run id (``run-`` + 10 hex digits)."""
    return f"run-{secrets.token_hex(5)}"


def _creator() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expired(tags: Mapping[str, str], now: dt.datetime | None = None) -> bool:
    """True when ``tags`` carry a ``StagingExpires`` time that has passed (False when absent or garbled)."""
    value = tags.get(EXPIRES)
    if not value:
        return False
    try:
        when = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return False
    return when <= (now or dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class RunTags:
    """The tags one run puts on what it creates.

    Attributes:
        run_id: The run's id (``StagingRun``).
        lifetime: Seconds after creation at which a temporary resource counts as abandoned.
        creator: ``StagingCreator``.
    """

    run_id: str = field(default_factory=new_run_id)
    lifetime: float = 24 * 3600.0
    creator: str = field(default_factory=_creator)

    def temporary(self, role: str, name: str | None = None, **extra: str) -> dict[str, str]:
        """Tags for a resource the run removes at its end (it carries ``StagingExpires``)."""
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.lifetime)
        return {**self.kept(role, name, **extra), EXPIRES: _iso(expires)}

    def kept(self, role: str, name: str | None = None, **extra: str) -> dict[str, str]:
        """Tags for a resource the caller keeps (no expiry: ``gc`` leaves it alone)."""
        tags = {ROLE: role, RUN: self.run_id, CREATOR: self.creator, **extra}
        if name is not None:
            tags[NAME] = name
        return tags
