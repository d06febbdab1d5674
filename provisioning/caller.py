"""What objects, the dispatcher and the waiters need from the façade that made them: the :class:`Caller`.

Objects keep the façade that returned them (``obj.ec2``) and call back through it. They depend on this small
Protocol, not on :mod:`provisioning.facade` (the top of the package, which imports them): the same
arrangement as ``structlog.typing``, where the parts name the interfaces they use and nothing above them.
The :class:`~provisioning.facade.EC2` façade is a ``Caller``, and so are its per-service proxies
(``ec2.elb``...), which forward the waits to it; a per-service façade made on its own (``ELB(...)``) has no
waits.

This module only describes; it defines no behaviour and imports nothing at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .consistency import Consistency
    from .errormode import ErrorMode

__all__ = ["Caller"]


class Caller(Protocol):
    """The façade as its objects see it: calls, the error mode, the region, clones and waits."""

    @property
    def region(self) -> str:
        """The region the façade talks to (``us-east-1``)."""
        ...

    @property
    def error_mode(self) -> ErrorMode:
        """The façade's error mode, which objects' methods follow (:mod:`provisioning.errormode`)."""
        ...

    @property
    def consistency(self) -> Consistency:
        """The ids the façade created moments ago (waits tolerate their absence; see ``consistency``)."""
        ...

    def call(self, action: str, /, *args: Any, **kwargs: Any) -> Any:
        """``call(service, Operation, *args, **kwargs)``: one API call through the façade, always raising."""
        ...

    def clone(self, **overrides: Any) -> Caller:
        """A façade with the same settings but ``overrides`` (``region="eu-west-1"``)."""
        ...

    def wait_for_terminal_state(
        self,
        objects: Any,
        states: Collection[str] | str,
        timeout: float | None = None,
        *,
        fail_states: Collection[str] = (),
        progress: Callable[[Any], Any] | None = None,
    ) -> dict[str, str] | None:
        """Wait until every object is in one of ``states`` (the generic wait; ``{id: state}``)."""
        ...

    def wait_for_images(
        self,
        *images: Any,
        state: str | None = None,
        timeout: float | None = None,
        progress: Callable[[Any], Any] | None = None,
    ) -> dict[str, str] | None:
        """Wait for images to become available (or reach ``state``)."""
        ...

    def wait_for_snapshots(
        self,
        *snapshots: Any,
        state: str | None = None,
        timeout: float | None = None,
        progress: Callable[[Any], Any] | None = None,
    ) -> dict[str, str] | None:
        """Wait for snapshots to complete (or reach ``state``)."""
        ...
