"""Asynchronous calls: any façade method with the suffix ``_async`` returns a future at once.

VM::EC2 returned AnyEvent condition variables; here a :class:`Future` (a ``concurrent.futures.Future``)
plays that part: ``result()`` is ``recv()``, ``add_done_callback`` is ``cb()``, ``error()`` gives the
failure, and ``await future`` works from asyncio code. Calls run on a shared thread pool, so several
outstanding calls proceed in parallel. ``_sync`` forces a plain call.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import Callable, Generator
from typing import Any

__all__ = ["Future", "executor", "wrap_mode"]

_LOCK = threading.Lock()
_EXECUTOR: concurrent.futures.ThreadPoolExecutor | None = None


def executor() -> concurrent.futures.ThreadPoolExecutor:
    """The process-wide pool asynchronous calls run on (created on first use)."""
    global _EXECUTOR
    with _LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = concurrent.futures.ThreadPoolExecutor(
                max_workers=32, thread_name_prefix="vmec2-async"
            )
        return _EXECUTOR


class Future(concurrent.futures.Future[Any]):
    """A pending call's result, with VM::EC2's CondVar names."""

    def recv(self, timeout: float | None = None) -> Any:
        """Wait for and return the result (raises the call's error)."""
        return self.result(timeout)

    def cb(self, callback: Callable[[Future], Any]) -> Future:
        """Run ``callback(future)`` when the call finishes; returns the future for chaining."""
        self.add_done_callback(callback)  # type: ignore[arg-type]
        return self

    def error(self) -> BaseException | None:
        """The call's failure once finished, else None."""
        return self.exception() if self.done() else None

    def __await__(self) -> Generator[Any, None, Any]:
        return asyncio.wrap_future(self).__await__()


def submit(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
    """Run ``fn`` on the pool and return a :class:`Future` for its result."""
    future = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)

    executor().submit(run)
    return future


def wrap_mode(fn: Callable[..., Any], mode: str) -> Callable[..., Any]:
    """``fn`` forced into ``async`` mode (returns a Future) or ``sync`` mode (returns the result)."""
    if mode == "sync":
        return fn

    @functools.wraps(fn)
    def run_async(*args: Any, **kwargs: Any) -> Future:
        return submit(fn, *args, **kwargs)

    return run_async
