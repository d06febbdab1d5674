"""Snapshot versions stay unique when two ``sync_to_snapshot`` runs of one name overlap on two machines.

Both runs find the newest version N and both tag their snapshot ``Version`` = N+1; no lock spans machines.
So each run, once its snapshot exists (tagged at creation), lists every pending or completed snapshot of that
name and applies one rule that gives the same answer on both sides (:func:`settle_version`):

* Of two snapshots **given the number at creation**, the one that started first keeps it: ordered by
  StartTime, then by snapshot id (:func:`holder_rank`). The other moves to (highest version of the name) + 1,
  re-tags (``Version``, and ``RenumberedFrom`` = the number it was made with) and checks again, until no one
  else holds its number.
* Where a **moved** snapshot (tag ``RenumberedFrom``) is among the holders, a holder that still sees the
  clash after a short random pause moves on: no tag says when a snapshot was moved, so neither side can tell
  whether the other has finished its check. (The pause lets one side move first and the other then keep the
  number; when both move, a number is left unused — never one used twice.)

Why this never leaves a duplicate: a run keeps a number only if, at its check, nobody else holds it, or only
later-started snapshots made with it do. A snapshot that comes to the number after that check sees the
keeper at its own check: if it was moved there, it moves on; if it was made with it, it was created after the
keeper's check and so started later (StartTime is the cloud's creation time, which may have whole seconds
only, so a run checks at least :data:`CHECK_AFTER` seconds after creating its snapshot), and it moves on.

:func:`staging.find_snapshot` orders duplicates made before this rule existed (older versions of the tool) by
the same :func:`holder_rank`, and says so in a warning.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from staging._log import get_logger
from staging.errors import StagingError
from staging.progress import Reporter

__all__ = [
    "CHECK_AFTER",
    "RENUMBERED",
    "Claim",
    "claim",
    "first_holder",
    "holder_rank",
    "make_unique",
    "settle_version",
    "version_of",
]

log = get_logger(__name__)

#: Tag of a snapshot that was moved to another version: the version it was made with.
RENUMBERED = "RenumberedFrom"
#: Seconds between creating a snapshot and checking its version: later snapshots then have later StartTimes.
CHECK_AFTER = 1.1
#: Moves before giving up (each move is to a number nobody held when it was chosen).
MAX_MOVES = 20
_LIVE = ("pending", "completed")


@dataclass(frozen=True)
class Claim:
    """One snapshot's hold on a version of a name.

    Attributes:
        version: Its tag ``Version`` (0 when missing or not a number).
        start: Its StartTime (given by the cloud at creation).
        snapshot_id: Its id.
        renumbered: It was moved to this version after creation (tag ``RenumberedFrom``).
    """

    version: int
    start: dt.datetime
    snapshot_id: str
    renumbered: bool = False


def holder_rank(c: Claim) -> tuple[bool, dt.datetime, str]:
    """Order of precedence among holders of one version: smallest first (keeps it)."""
    return (c.renumbered, c.start, c.snapshot_id)


def first_holder(claims: Iterable[Claim], version: int) -> Claim | None:
    """The claim that keeps ``version`` (None when nobody holds it)."""
    return min((c for c in claims if c.version == version), key=holder_rank, default=None)


def settle_version(mine: Claim, claims: Iterable[Claim]) -> int:
    """The version ``mine`` must have, given every live snapshot of its name (``mine`` may be among them).

    Its own when nobody else holds it, or when it and every other holder were given it at creation and it
    started first; else (highest version of the name) + 1. A pure function: both sides of a clash between
    snapshots made with one number compute the same answer.
    """
    others = [c for c in claims if c.snapshot_id != mine.snapshot_id]
    rivals = [c for c in others if c.version == mine.version]
    if not rivals:
        return mine.version
    moved = mine.renumbered or any(c.renumbered for c in rivals)
    if not moved and all(holder_rank(mine) < holder_rank(c) for c in rivals):
        return mine.version
    return max([mine.version, *(c.version for c in others)]) + 1


def version_of(snapshot: Any) -> int:
    """A described snapshot's tag ``Version`` (0 when missing or not a number)."""
    try:
        return int(snapshot.tags.get("Version", "0"))
    except ValueError:
        return 0


def claim(snapshot: Any) -> Claim:
    """The :class:`Claim` of a described snapshot."""
    tags = snapshot.tags
    start = snapshot.startTime
    if isinstance(start, str):
        start = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
    return Claim(version_of(snapshot), start, str(snapshot), RENUMBERED in tags)


def _live_claims(ec2: Any, name: str) -> list[tuple[Claim, Any]]:
    found = ec2.describe_snapshots(owner="self", filter={"tag:Name": name})
    return [(claim(s), s) for s in found if s.status in _LIVE]


def make_unique(
    ec2: Any, snapshot_id: str, name: str, reporter: Reporter, *, created: float | None = None
) -> int:
    """Check that nobody else holds the version of our new snapshot ``snapshot_id``; move it until so.

    Args:
        created: When CreateSnapshot/StartSnapshot answered (``time.monotonic()``); the first check waits
            until :data:`CHECK_AFTER` seconds have passed since (None: no wait).

    Returns the version it really has. Each move is said on ``reporter`` and in a warning.

    Raises:
        StagingError: Still clashing after :data:`MAX_MOVES` moves.
    """
    if created is not None:
        time.sleep(max(0.0, created + CHECK_AFTER - time.monotonic()))
    paused = False
    for _ in range(MAX_MOVES):
        found = _live_claims(ec2, name)
        mine = next(((c, s) for c, s in found if c.snapshot_id == snapshot_id), None)
        if mine is None:  # not listed yet (eventual consistency): ask for it by id
            made = ec2.describe_snapshots(snapshot_id)[0]
            mine = (claim(made), made)
            found.append(mine)
        me, snapshot = mine
        claims = [c for c, _ in found]
        version = settle_version(me, claims)
        if version == me.version:
            return version
        moved = any(c.renumbered for c in claims if c.version == me.version)
        if moved and not paused:  # give the other side the chance to move first, then look again
            paused = True
            time.sleep(random.uniform(0.1, 1.0))
            continue
        paused = False
        holder = first_holder((c for c in claims if c.snapshot_id != snapshot_id), me.version)
        assert holder is not None
        why = "one of them was moved there: neither keeps it" if moved else "it started earlier"
        log.warning("staging.snapshot_renumbered", snapshot=snapshot_id, name=name, version=me.version,
                    to=version, holder=holder.snapshot_id, reason=why)  # fmt: skip
        reporter.step(
            f"warning: version {me.version} of {name!r} is also {holder.snapshot_id} (another sync at the "
            f"same time; {why}): {snapshot_id} becomes version {version}"
        )
        first = snapshot.tags.get(RENUMBERED, str(me.version))
        snapshot.add_tags({"Version": str(version), RENUMBERED: first})
    raise StagingError(f"{snapshot_id}: no unique version of {name!r} after {MAX_MOVES} moves")
