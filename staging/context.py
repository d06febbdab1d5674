"""What the parts of a staging run need from the manager that runs them, as Protocols (``structlog.typing``).

The modules below :mod:`staging.manager` (servers, volumes, migration, provisioning and transfer helpers) are
handed the manager, but never import it: each depends on the narrowest face it needs, and the manager depends
on them. Imports go one way (STYLE P1 inside the layer), and a lower module is readable without the manager.

The faces, from the narrowest:

* :class:`RunContext` (here): the run itself — its façade and region, its tags, its journal, its reporter, the
  wait for cloud states, and the manager of another region (``peer``). Migration needs no more.
* :class:`staging.volume.VolumeContext` and :class:`staging.server.ServerContext`: what a volume and a server
  call on their manager.
* :class:`staging.fleet.Fleet`: the manager's servers and volumes, for the helpers that do its work
  (provisioning volumes, rsync/dd, volume copies, launching and scanning servers).

:class:`staging.StagingManager` is all of them (mypy checks it wherever it hands itself down).
"""

from __future__ import annotations

from typing import Any, Protocol, Self

from staging.progress import Reporter
from staging.tags import RunTags

__all__ = ["RunContext"]


class RunContext(Protocol):
    """A staging run as its parts see it (a :class:`staging.StagingManager`).

    Attributes:
        ec2: The region's :class:`provisioning.EC2` façade (raise mode).
        reporter: Where steps, waits and transfer progress go.
        run_tags: The run's id and its tags for what it creates (temporary or kept).
    """

    ec2: Any
    reporter: Reporter
    run_tags: RunTags

    @property
    def region(self) -> str:
        """The region's name."""

    def track(self, kind: str, resource_id: str) -> None:
        """Record a temporary resource in the run's journal, before it is used."""

    def untrack(self, resource_id: str) -> None:
        """Drop a resource from the journal (it is gone, or now the caller's)."""

    def wait_for(self, objects: Any, state: str, what: str, timeout: float | None = None) -> None:
        """Wait until ``objects`` reach ``state``, reporting ``what`` is awaited."""

    def peer(self, dest: Any) -> Self:
        """The manager of another region (``dest``: its name, a region object or that manager)."""
