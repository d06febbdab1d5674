"""The path forms ``StagingManager.rsync`` accepts, parsed without touching anything (pure).

==========================  =================================================================
``/abs/path``, ``rel/path``  a local path (``./a:b`` for a local name with a colon in it)
``NAME:/path``               on the volume or server named NAME (volume paths are relative to its
                             mount point; ``NAME:`` alone is its root)
``vol-0123...:/path``        on the volume with that id
``i-0123...:/path``          on the server with that instance id
``user@host:/path``          on a host outside the manager (reached with the user's own ssh setup)
==========================  =================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from staging.errors import StagingParameterError

__all__ = ["Location", "parse_location"]

_NAME = r"[A-Za-z0-9_.,&+=-]+"
_SPEC = re.compile(rf"(?P<ref>{_NAME}|[A-Za-z0-9_.-]+@[A-Za-z0-9_.:\[\]-]+?):(?P<path>.*)", re.DOTALL)


@dataclass(frozen=True)
class Location:
    """Where one rsync argument points.

    Attributes:
        kind: ``local``, ``volume-id``, ``instance-id``, ``name`` (a volume or server name) or ``host``.
        ref: The volume id, instance id, name or ``user@host`` (empty for local paths).
        path: The path there.
    """

    kind: str
    ref: str
    path: str


def parse_location(spec: str) -> Location:
    """Classify one rsync argument (see the module docstring).

    Raises:
        StagingParameterError: An empty argument.
    """
    if not spec:
        raise StagingParameterError("empty path")
    if spec.startswith(("/", "./", "../")) or spec in (".", ".."):
        return Location("local", "", spec)
    match = _SPEC.fullmatch(spec)
    if match is None or "/" in match.group("ref"):
        return Location("local", "", spec)
    ref, path = match.group("ref"), match.group("path")
    if re.fullmatch(r"vol-[0-9a-f]+", ref):
        return Location("volume-id", ref, path)
    if re.fullmatch(r"i-[0-9a-f]+", ref):
        return Location("instance-id", ref, path)
    if "@" in ref:
        return Location("host", ref, path)
    return Location("name", ref, path)
