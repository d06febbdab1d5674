"""Ctrl-C and SIGTERM: interrupt the work, then clean up — and keep cleaning up.

* :func:`signals_raise` (around a run, main thread only): SIGTERM raises :class:`Terminated`, as SIGINT raises
  ``KeyboardInterrupt``, so the ``with`` blocks and ``finally`` clauses above run their cleanup.
* :func:`shielded` (around the cleanup itself): a second Ctrl-C (or SIGTERM) does not abandon the cleanup, it
  says that cleanup is under way; a third prints what is still left and how to remove it with ``gc``, then
  gives up with ``KeyboardInterrupt``.

Both are no-ops outside the main thread (Python delivers signals only there).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = ["Terminated", "shielded", "signals_raise"]


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; raised like ``KeyboardInterrupt`` so the same cleanup runs."""


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def signals_raise() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` inside the block (SIGINT keeps raising ``KeyboardInterrupt``)."""
    if not _main_thread():
        yield
        return

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise Terminated("terminated (SIGTERM)")

    old_term = signal.signal(signal.SIGTERM, on_term)
    old_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)


@contextmanager
def shielded(leftovers: Callable[[], list[str]], *, stream: Any = None) -> Iterator[None]:
    """Run a cleanup that one more Ctrl-C does not abandon; a second one prints what is left and gives up.

    Args:
        leftovers: What is still left (for the message on giving up).
        stream: Where messages go (default ``sys.stderr``).
    """
    if not _main_thread():
        yield
        return
    out = stream or sys.stderr
    presses = 0

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            print("staging: cleaning up, please wait (interrupt again to give up)", file=out, flush=True)
            return
        left = leftovers()
        print("staging: cleanup abandoned; still left: " + (", ".join(left) or "nothing known"), file=out)
        print("staging: remove them with: staging gc --delete", file=out, flush=True)
        raise KeyboardInterrupt("cleanup abandoned")

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
