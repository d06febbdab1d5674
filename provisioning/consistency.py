"""Riding out EC2's eventual consistency: the one place where a façade retries ``*.NotFound``.

Right after a create call AWS may answer ``InvalidVolume.NotFound`` (or leave the id out of a describe by
id) for a few seconds to calls that name the new id, while describes with filters already list it. A script
that attaches a volume right after ``wait_for_volumes`` said ``available`` then fails for no fault of its own.

:class:`Consistency` remembers which ids its façade created and when, and :meth:`Consistency.send` runs
every call of the façade (``Facade._call``, so both error modes, async calls and internal calls alike):

* A successful ``Create*``/``Run*``/``Copy*``/``Register*``/``Allocate*``/``Request*``/``Import*`` call
  records the ids of its answer that its request did not name (``RunInstances`` -> the instance ids,
  ``CopySnapshot`` -> the copy's id), with the time.
* A :class:`~provisioning.errors.NotFoundError` naming such an id (in its message, else in the request)
  less than :attr:`Consistency.grace` seconds after its creation is retried with exponential backoff
  (tenacity: 0.25 s, 0.5 s, 1 s, then every 2 s) until the call succeeds or the grace window closes; then the
  error is raised as AWS gave it. A NotFound for any other id returns at once.
* A ``Describe*`` by id whose answer leaves out a recently created id it asked for counts as such a NotFound
  (AWS does that too for some kinds).
* A successful ``Delete*``/``Deregister*``/``Release*`` forgets the ids it named, so a later NotFound on a
  deleted id is not retried.

Clones of a façade (``ec2.clone(region=...)``, used by copies to other regions) and its service proxies share
one registry. ``clock`` and ``sleep`` are injectable; tests replace them so nothing really sleeps.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import tenacity

from ._log import get_logger
from .errors import NotFoundError

__all__ = ["Consistency", "ids_in"]

log = get_logger(__name__)


#: Verbs of the operations whose answers name resources they just made.
CREATING = ("Create", "Run", "Copy", "Register", "Allocate", "Request", "Import")
#: Verbs of the operations after which the ids they name are gone for good.
FORGETTING = ("Delete", "Deregister", "Release")

#: NotFound codes about a relation or a sub-item (an attachment, a rule, an association, a route), not about
#: whether the resource they name exists yet: never lag, never retried.
NOT_LAG = frozenset(
    {
        "InvalidAttachment.NotFound",
        "InvalidPermission.NotFound",
        "InvalidAssociationID.NotFound",
        "InvalidRoute.NotFound",
    }
)

#: An EC2-style resource id: ``vol-0abc...``, ``i-1234abcd``, ``eipalloc-...``, ``import-ami-...``.
_ID = re.compile(r"\b[a-z]{1,16}(?:-[a-z]{1,16})*-[0-9a-f]{8,17}\b")
_WHOLE_ID = re.compile(rf"^{_ID.pattern}$")


def ids_in(value: Any) -> Iterator[str]:
    """Every resource id held by a request or an answer (nested dicts and lists), in order."""
    if isinstance(value, str):
        if _WHOLE_ID.match(value):
            yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key != "ResponseMetadata":
                yield from ids_in(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from ids_in(item)


class Consistency:
    """The ids a façade created and the retry policy for NotFound errors naming them (see the module).

    Args:
        grace: Seconds after its creation during which a NotFound naming an id is retried (default 30).
        clock: Monotonic seconds.
        sleep: How retries wait.
    """

    def __init__(
        self,
        grace: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.grace = grace
        self.clock = clock
        self.sleep = sleep
        self._created: dict[str, float] = {}
        self._lock = threading.Lock()
        #: How many calls were retried because of a recent id (for benchmarks and curious users).
        self.retries = 0

    # --- the registry ---------------------------------------------------------------------------------

    def created(self, resource_id: str) -> float | None:
        """When this façade created ``resource_id`` (``clock`` seconds), or None if it did not."""
        with self._lock:
            return self._created.get(resource_id)

    def remember(self, ids: Iterable[str]) -> None:
        """Record ids as created now."""
        now = self.clock()
        with self._lock:
            for resource_id in ids:
                self._created.setdefault(resource_id, now)

    def forget(self, ids: Iterable[str]) -> None:
        """Drop ids (they were deleted)."""
        with self._lock:
            for resource_id in ids:
                self._created.pop(resource_id, None)

    def recent(self, ids: Iterable[str]) -> list[str]:
        """Those of ``ids`` this façade created less than :attr:`grace` seconds ago."""
        now = self.clock()
        with self._lock:
            return [i for i in ids if now - self._created.get(i, float("-inf")) < self.grace]

    # --- the policy -----------------------------------------------------------------------------------

    def send(
        self, operation: str, params: Mapping[str, Any], call: Callable[[], Mapping[str, Any]]
    ) -> Mapping[str, Any]:
        """Run ``call`` (one request of ``operation`` with ``params``) under the policy; return its answer."""

        def attempt() -> Mapping[str, Any]:
            answer = call()
            if operation.startswith("Describe"):
                self._check_listed(operation, params, answer)
            return answer

        def lagging(exc: BaseException) -> bool:
            if not isinstance(exc, NotFoundError) or exc.code in NOT_LAG:
                return False
            named = _ID.findall(exc.message) or list(ids_in(params))
            return bool(self.recent(named))

        def note(state: tenacity.RetryCallState) -> None:
            with self._lock:
                self.retries += 1
            log.debug("aws.consistency.retry", operation=operation, attempt=state.attempt_number)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lagging),
            wait=tenacity.wait_exponential(multiplier=0.25, min=0.25, max=2.0),
            sleep=lambda seconds: self.sleep(seconds),
            before_sleep=note,
            reraise=True,
        )
        try:
            answer: Mapping[str, Any] = retrying(attempt)
        except _NotListed as late:  # the grace window closed: the answer as AWS gave it
            answer = late.answer
        if operation.startswith(CREATING):
            asked = set(ids_in(params))
            self.remember([i for i in ids_in(answer) if i not in asked])
        elif operation.startswith(FORGETTING):
            self.forget(list(ids_in(params)))
        return answer

    def _check_listed(self, operation: str, params: Mapping[str, Any], answer: Mapping[str, Any]) -> None:
        """A describe by id that leaves out a recently created id it asked for: NotFound (to retry)."""
        asked = [i for key, value in params.items() if key.endswith("Ids") for i in ids_in(value)]
        young = self.recent(asked)
        if not young:
            return
        listed = set(ids_in(answer))
        missing = [i for i in young if i not in listed]
        if missing:
            raise _NotListed(answer, missing, operation)


class _NotListed(NotFoundError):
    """A describe by id left out ids created moments ago; carries the answer for when retries end."""

    def __init__(self, answer: Mapping[str, Any], missing: list[str], operation: str) -> None:
        super().__init__("NotFound", f"{', '.join(missing)} not listed yet", operation=operation, status=200)
        self.answer = answer
