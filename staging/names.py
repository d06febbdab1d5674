"""The names of staging servers and volumes: what a name may be (pure)."""

from __future__ import annotations

import re

from staging.errors import StagingParameterError

__all__ = ["check_name"]

_NAME_RE = re.compile(r"[A-Za-z0-9_.,&-]+")
#: Names rsync paths would read as a volume or instance id (``vol-0123:/path``), not as a name.
_ID_LIKE_RE = re.compile(r"(vol|i)-[0-9a-f]+")


def check_name(name: str, what: str) -> str:
    """``name`` if it is a valid ``what`` (server, volume) name.

    Raises:
        StagingParameterError: Characters outside letters, digits and ``_.,&-``, or a name that reads
            as an id.
    """
    if not _NAME_RE.fullmatch(name):
        raise StagingParameterError(f"bad {what} name {name!r}: use letters, digits and _.,&-")
    if _ID_LIKE_RE.fullmatch(name):
        raise StagingParameterError(f"bad {what} name {name!r}: it reads as an id in rsync paths")
    return name
