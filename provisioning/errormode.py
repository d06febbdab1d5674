"""VM::EC2's error mode, owned here: the switches, the last failure of each thread, and the guard.

VM::EC2 reported a failed call in one of two ways, and so do we:

* **raise mode** (``raise_error=True``, the default): the call raises.
* **quiet mode** (``raise_error=False``): the call returns its default (None; ``[]`` for list calls; ``False``
  for yes/no methods) and ``error``/``error_str``/``is_error`` say why; ``print_error=True`` also prints
  ``"where: message [code]"`` to stderr.

Rules, whichever the mode:

* :class:`~provisioning.errors.ParameterError` (bad arguments) always raises, as VM::EC2's croaks did.
* Each public call clears the calling thread's last failure first; the failure is kept per thread, so
  calls made at the same time by other threads (futures, workers sharing a façade) never touch it.
* Hand-written methods (:func:`vmec2_method`) nest: a failure is reported once, by the outermost method,
  and the methods it calls raise into it. API operations do not take part in the nesting: each one
  reports its own failure, wherever it is called from.
* A background call (a future) collects the failures quiet mode turned into defaults
  (:func:`collecting_failures`), so that ``future.error()`` can give them.

One :class:`ErrorMode` belongs to each façade and is shared with its per-service proxies (``ec2.elb``...);
a clone gets a copy (the same switches, its own last failure).
"""

from __future__ import annotations

import copy
import functools
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast, overload

from .errors import ParameterError, VMEC2Error

__all__ = ["ErrorMode", "collecting_failures", "guarded_call", "vmec2_method"]

F = TypeVar("F", bound=Callable[..., Any])

#: True while a hand-written method runs: the methods it calls raise, and only the outermost reports.
_IN_METHOD: ContextVar[bool] = ContextVar("vmec2_in_method", default=False)
#: The failures quiet mode swallowed during the current background call (see :func:`collecting_failures`).
_SWALLOWED: ContextVar[list[VMEC2Error] | None] = ContextVar("vmec2_swallowed", default=None)


class ErrorMode:
    """VM::EC2's error switches and the last failure of each thread, for one façade and its proxies.

    Args:
        raise_error: Raise on failed calls (default); False gives VM::EC2's quiet mode.
        print_error: Also print each failure to stderr.
    """

    def __init__(self, raise_error: bool = True, print_error: bool = False) -> None:
        self.raise_error = bool(raise_error)
        self.print_error = bool(print_error)
        self._last = threading.local()

    @property
    def error(self) -> VMEC2Error | None:
        """The failure of the last public call this thread made, or None when it succeeded."""
        error: VMEC2Error | None = getattr(self._last, "error", None)
        return error

    @property
    def error_str(self) -> str:
        """The last failure as ``"message [code]"``, or ``""``."""
        return "" if self.error is None else str(self.error)

    @property
    def is_error(self) -> bool:
        """Whether the last call failed (tells "no results" from a failure in quiet mode)."""
        return self.error is not None

    def guard(self, where: str, default: Any, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` as one public call: clear the last failure, then apply the mode to a failure.

        Args:
            where: The name printed with the failure (``EC2.describe_volumes``).
            default: The result of a failure in quiet mode.
            fn: The call itself; it raises on failure.
        """
        self._last.error = None
        try:
            return fn()
        except ParameterError:
            raise  # usage errors always raise, as VM::EC2's croaks did
        except VMEC2Error as exc:
            return self.fail(exc, where, default)

    def fail(self, exc: VMEC2Error, where: str, default: Any) -> Any:
        """Apply the mode to a failed public call: record it, maybe print it, raise it or return ``default``.

        Nothing is cleared first: the failure replaces this thread's last one.
        """
        self._last.error = exc
        if self.print_error:
            print(f"{where}: {exc}", file=sys.stderr)
        if self.raise_error:
            raise exc
        swallowed = _SWALLOWED.get()
        if swallowed is not None:  # a background call: its future reports the failure through error()
            swallowed.append(exc)
        return default


def guarded_call(mode: ErrorMode | None, where: str, default: Any, fn: Callable[[], Any]) -> Any:
    """Run a hand-written method's body ``fn`` under ``mode`` (see :func:`vmec2_method`).

    Inside another such method, or without a mode (an object bound to no façade), ``fn`` just runs and
    raises: only the outermost method reports a failure.
    """
    if mode is None or _IN_METHOD.get():
        return fn()
    token = _IN_METHOD.set(True)
    try:
        return mode.guard(where, default, fn)
    finally:
        _IN_METHOD.reset(token)


def _mode_of(obj: Any) -> ErrorMode | None:
    """The error mode an object's methods follow: that of the façade it is bound to (``obj.ec2``)."""
    caller = obj.ec2
    mode: ErrorMode | None = None if caller is None else caller.error_mode
    return mode


@overload
def vmec2_method(method: F, /) -> F: ...


@overload
def vmec2_method(*, default: Any = None) -> Callable[[F], F]: ...


def vmec2_method(method: F | None = None, /, *, default: Any = None) -> Any:
    """Decorate an object's hand-written method so that it follows its façade's error mode.

    ``@vmec2_method`` returns None on a failure in quiet mode; ``@vmec2_method(default=[])`` (or
    ``default=False``...) returns a fresh copy of ``default`` instead, so no caller gets a shared list.
    ``self`` is an object bound to a façade (its ``ec2``, a :class:`~provisioning.caller.Caller`).
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            where = f"{type(self).__name__}.{fn.__name__}"
            return guarded_call(_mode_of(self), where, copy.copy(default), lambda: fn(self, *args, **kwargs))

        return cast(F, run)

    return decorate(method) if method is not None else decorate


@contextmanager
def collecting_failures() -> Iterator[list[VMEC2Error]]:
    """Within the block (one background call), collect the failures quiet mode turned into defaults."""
    swallowed: list[VMEC2Error] = []
    token = _SWALLOWED.set(swallowed)
    try:
        yield swallowed
    finally:
        _SWALLOWED.reset(token)
