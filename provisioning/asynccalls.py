"""Asynchronous calls: VM::EC2's ``_async`` methods and ``$VM::EC2::ASYNC``, with futures.

* Any façade or object method with the suffix ``_async`` returns a :class:`Future` at once
  (``ec2.describe_instances_async(...)``, ``volume.current_status_async()``). ``result()``/``recv()`` wait
  for the value, ``cb(fn)``/``add_done_callback(fn)`` run ``fn(future)`` when it is done, ``error()`` gives
  the failure, and ``await future`` works in asyncio code.
* ``with async_mode():`` (or ``with ec2.async_mode():``) makes every API operation called in the block
  return a future, as setting ``$VM::EC2::ASYNC`` did; ``_sync`` is the escape for one call. The switch is
  a context variable, so it covers the current thread or task only.
* Calls run on one shared thread pool (botocore clients are thread-safe), so N outstanding calls take
  about as long as the slowest of them.
* Error mode: with ``raise_error=True`` the future raises the call's error; with ``raise_error=False`` it
  gives None (``[]`` for list calls) and ``error()`` returns the failure. ``ec2.error`` is kept per thread,
  so background calls neither set nor clear the caller's.
* Object methods that chain calls (``current_status()``, ``stop(wait=True)``) stay synchronous inside
  the block, as in VM::EC2; use their ``_async`` form to run them in the background.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from .errormode import collecting_failures

__all__ = ["Future", "async_enabled", "async_mode", "executor", "submit", "wrap_mode"]

_LOCK = threading.Lock()
_EXECUTOR: concurrent.futures.ThreadPoolExecutor | None = None
_ASYNC: ContextVar[bool] = ContextVar("vmec2_async", default=False)

#: Threads in the pool: enough for many outstanding calls, matched by the clients' connection pools.
MAX_WORKERS = 32


def executor() -> concurrent.futures.ThreadPoolExecutor:
    """The process-wide pool asynchronous calls run on (created on first use)."""
    global _EXECUTOR
    with _LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = concurrent.futures.ThreadPoolExecutor(
                max_workers=MAX_WORKERS, thread_name_prefix="vmec2-async"
            )
        return _EXECUTOR


def async_enabled() -> bool:
    """Whether API operations called here return futures (inside ``async_mode()``)."""
    return _ASYNC.get()


@contextmanager
def async_mode(enabled: bool = True) -> Iterator[None]:
    """Within the block, API operations return :class:`Future` objects (``enabled=False`` turns it off)."""
    token = _ASYNC.set(enabled)
    try:
        yield
    finally:
        _ASYNC.reset(token)


class Future(concurrent.futures.Future[Any]):
    """A pending call's result, with VM::EC2's CondVar names."""

    _call_error: BaseException | None = None

    def recv(self, timeout: float | None = None) -> Any:
        """Wait for and return the result (raises the call's error in raise mode)."""
        return self.result(timeout)

    def cb(self, callback: Callable[[Future], Any]) -> Future:
        """Run ``callback(future)`` when the call finishes; returns the future for chaining."""
        self.add_done_callback(callback)  # type: ignore[arg-type]
        return self

    def error(self) -> BaseException | None:
        """The call's failure once finished (also in ``raise_error=False`` mode), else None.

        A cancelled call never ran: it has no failure (``result()`` raises ``CancelledError``).
        """
        if not self.done() or self.cancelled():
            return None
        return self._call_error or self.exception()

    def __await__(self) -> Generator[Any, None, Any]:
        return asyncio.wrap_future(self).__await__()


def submit(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
    """Run ``fn`` on the pool (synchronously there) and return a :class:`Future` for its result.

    A failure that the quiet error mode turned into a default result is the future's ``error()``.
    """
    future = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            with collecting_failures() as swallowed, async_mode(False):
                result = fn(*args, **kwargs)
            if swallowed:
                future._call_error = swallowed[-1]
            future.set_result(result)
        except BaseException as exc:
            future.set_exception(exc)

    executor().submit(run)
    return future


def wrap_mode(fn: Callable[..., Any], mode: str) -> Callable[..., Any]:
    """``fn`` forced into ``async`` mode (returns a Future) or ``sync`` mode (returns the result)."""
    if mode == "sync":

        @functools.wraps(fn)
        def run_sync(*args: Any, **kwargs: Any) -> Any:
            with async_mode(False):
                return fn(*args, **kwargs)

        return run_sync

    @functools.wraps(fn)
    def run_async(*args: Any, **kwargs: Any) -> Future:
        return submit(fn, *args, **kwargs)

    return run_async
