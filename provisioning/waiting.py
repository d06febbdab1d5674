"""What waits and the object classes share about objects that change or appear late (eventual consistency).

* :class:`WaitPolicy`: how long a façade waits, on which clock and sleep, and how long an object may stay
  invisible after its creation; frozen, so a clone (``ec2.clone(region=...)``) takes it whole.
* :func:`backoff`: the delays between polling rounds.
* :class:`Poll`: how waits describe many objects of one class in one call, and the small functions it is
  made of (:func:`object_id`, :func:`member_id`, :func:`recorded_state`, :func:`adopt_same_shape`).
* :func:`describe_created`: describe the resource a create call has just made, by its id.

The waiting loop itself is :class:`~provisioning.waiters.WaitersMixin`; the retrying of NotFound errors
that name a just-created id is :mod:`provisioning.consistency`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import NotFoundError
from .objects import AWSObject

__all__ = [
    "Poll",
    "WaitPolicy",
    "adopt_same_shape",
    "backoff",
    "describe_created",
    "member_id",
    "object_id",
    "recorded_state",
]


@dataclass(frozen=True)
class WaitPolicy:
    """How a façade waits (``ec2.wait_policy``); the ``wait_*`` settings of the façade replace it.

    Attributes:
        timeout: Default deadline of every wait in seconds; 0 waits forever.
        clock: Monotonic seconds (tests inject a fake clock together with ``sleep``).
        sleep: How waits sleep between rounds.
        not_found_grace: Seconds an object may stay invisible to describe calls after its creation.

    Raises:
        ValueError: a negative timeout or grace.
    """

    timeout: float = 600.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    not_found_grace: float = 30.0

    def __post_init__(self) -> None:
        if self.timeout < 0:
            raise ValueError("wait_for_timeout must be >= 0 (0 waits forever)")
        if self.not_found_grace < 0:
            raise ValueError("wait_not_found_grace must be >= 0")


def backoff(initial: float = 1.0, factor: float = 1.5, maximum: float = 15.0) -> Iterator[float]:
    """Delays between polling rounds: ``initial``, then growing by ``factor`` up to ``maximum``."""
    delay = initial
    while True:
        yield delay
        delay = min(delay * factor, maximum)


# --- polling rules --------------------------------------------------------------------------------------


def object_id(obj: AWSObject) -> str:
    """An object's id (the default key of :class:`Poll`, for waited and described objects alike)."""
    return str(obj.__vmec2_id__())


def member_id(member: str) -> Callable[[AWSObject], str]:
    """A key reading one member: ``member_id("VolumeId")`` polls an attachment through its volume."""

    def key(obj: AWSObject) -> str:
        return str(obj.field(member))

    key.__name__ = f"member_id_{member}"
    return key


def recorded_state(waited: AWSObject, fresh: AWSObject) -> str | None:
    """The state a fresh description records (``Resource.recorded_status``), None for objects without one."""
    recorded = getattr(type(fresh), "recorded_status", None)
    state = None if recorded is None else recorded(fresh)
    return None if state is None else str(state)


def adopt_same_shape(waited: AWSObject, fresh: AWSObject) -> None:
    """``waited`` takes ``fresh``'s data when both describe the same kind of structure (the default update
    of :class:`Poll`; a subclass of Instance takes a fresh Instance's data)."""
    same = waited._shape is not None and fresh._shape is not None and waited._shape.name == fresh._shape.name
    if same or type(waited) is type(fresh):
        waited._replace(fresh._data, fresh._parent)


@dataclass(frozen=True)
class Poll:
    """How waits find the current state of many objects of one class with one describe call.

    Attributes:
        operation: The describe action (``DescribeInstances``).
        filter: The filter naming objects by id (``instance-id``); filters, unlike id lists, leave out
            objects that do not exist yet instead of failing the whole call.
        service: Our short service name.
        key: The id used in the filter for a waited object (default: its id).
        fresh_key: The id of a described object, matched against ``key``.
        state: The state of a waited object given its fresh description.
        update: Brings a waited object up to date, in place, from its fresh description (so objects are
            current after a wait, as VM::EC2's were, without another describe). By default an object of
            the same shape takes the fresh data; others are left as they were.
    """

    operation: str
    filter: str
    service: str = "ec2"
    key: Callable[[AWSObject], str] = field(default=object_id)
    fresh_key: Callable[[AWSObject], str] = field(default=object_id)
    state: Callable[[AWSObject, AWSObject], str | None] = field(default=recorded_state)
    update: Callable[[AWSObject, AWSObject], None] = field(default=adopt_same_shape)


# --- describing what was just made ----------------------------------------------------------------------


class _Calls(Protocol):
    def call(self, action: str, /, *args: Any, **kwargs: Any) -> Any: ...


def describe_created(facade: _Calls, operation: str, new_id: Any, *, service: str = "ec2") -> Any:
    """Describe the resource a create (or copy, register) call has just made, by its id.

    The façade's :mod:`~provisioning.consistency` already retries a describe that leaves out an id it
    created moments ago; an answer that is still empty after that raises here.

    Raises:
        NotFoundError: the new resource is not visible yet.
    """
    found = facade.call(service, operation, new_id)
    if not found:
        raise NotFoundError("NotFound", f"{new_id} is not visible yet", operation=operation)
    return found[0]
