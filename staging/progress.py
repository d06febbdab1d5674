"""What a staging run tells its user while it works: steps, waits and transfer progress.

The library never prints. It reports to a :class:`Reporter`; the commands in ``scripts/`` give one that draws
a progress bar on a terminal and a one-line step log otherwise. The default only logs (structlog events).
"""

from __future__ import annotations

from typing import Protocol

from staging._log import get_logger

__all__ = ["LogReporter", "Reporter"]

log = get_logger(__name__)


class Reporter(Protocol):
    """Receives a run's progress. Every method must return quickly and never raise."""

    def step(self, message: str) -> None:
        """A new step begins (``"attaching vol-0123 to i-0456"``)."""

    def waiting(self, what: str, elapsed: float) -> None:
        """Still waiting for ``what`` (``"i-0456 to be running"``) after ``elapsed`` seconds."""

    def transfer(self, done: int, total: int | None, rate: float) -> None:
        """Bytes moved so far, the expected total (None while unknown) and the current rate (bytes/s)."""

    def transfer_done(self) -> None:
        """The transfer finished (a bar can close)."""


class LogReporter:
    """The default :class:`Reporter`: structlog events only (nothing printed by the library itself)."""

    def step(self, message: str) -> None:
        log.info("staging.step", step=message)

    def waiting(self, what: str, elapsed: float) -> None:
        log.debug("staging.waiting", what=what, seconds=round(elapsed, 1))

    def transfer(self, done: int, total: int | None, rate: float) -> None:
        log.debug("staging.transfer", bytes=done, total=total, rate=round(rate))

    def transfer_done(self) -> None:
        log.debug("staging.transfer_done")
