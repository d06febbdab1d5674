"""Waiting for instances, volumes, snapshots, images and attachments to reach a state (VM::EC2's waiters).

``ec2.wait_for_terminal_state(objects, states, timeout)`` is the one generic loop; ``wait_for_instances``,
``wait_for_volumes``, ``wait_for_snapshots``, ``wait_for_images`` and ``wait_for_attachments`` pick its
states. Each returns ``{id: final_state}``. How it behaves:

* One batched describe call per polling round for all the objects of one kind (and region), however many
  (the ids go in a filter, up to 200 per call), so waiting for 50 instances costs one ``DescribeInstances``
  per round. Filters, unlike id lists, do not fail the whole call for one id that is not visible yet.
* Polling backs off: the first poll is immediate, then 1 s, 1.5 s, 2.25 s ... up to 15 s between rounds.
* An object missing from the answer right after its creation is tolerated for ``wait_not_found_grace``
  seconds (eventual consistency), then the wait fails with :class:`~provisioning.errors.NotFoundError`.
  A missing object counts as gone (``terminated``, ``deleted``, ``deregistered``) when that is the target,
  unless the façade created it moments ago (then it is not visible yet).
* Before an object counts as arrived, a describe naming its id must list it (one call per kind and region
  for all the objects that arrived in a round): a filter may show a new object while calls naming its id
  still answer NotFound, and the user's next call names the id. Until then the object stays pending (the
  façade's :mod:`~provisioning.consistency` rides out the NotFound of the ids it created).
* A state from which the target cannot be reached (``failed``, ``error``, ``terminated`` while waiting for
  ``running``...) ends the wait at once with :class:`UnexpectedState`.
* The deadline is ``timeout`` seconds, else :attr:`WaitersMixin.wait_for_timeout` (600 s; 0 waits forever).
  Passing it raises :class:`~provisioning.errors.WaitTimeout`; with ``raise_error=False`` every failure
  returns None and sets ``ec2.error`` instead.
* ``progress`` is called after each round with a :class:`WaitProgress`.
* The objects given are brought up to date in place from each round's describe answer (no other call),
  so after ``ec2.wait_for_instances(i)`` or ``i.start(wait=True)`` the instance shows its new state and
  address without ``refresh()``, as VM::EC2's objects did. An object that vanished (a terminated instance
  no longer listed) keeps its last description.

botocore's own waiters (``instance_running``...) are not used: they poll at a fixed delay, cannot report
progress or per-object final states, and treat an impossible state only as a generic failure.
The deadline, clock, sleep and grace form the façade's :class:`~provisioning.waiting.WaitPolicy`
(``ec2.wait_policy``); ``wait_for_timeout``, ``wait_clock``, ``wait_sleep`` and ``wait_not_found_grace`` read
it, and setting one replaces the policy (tests replace the clock and sleep, so nothing really sleeps).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from ._log import get_logger
from .arguments import flatten
from .errors import NotFoundError, UnexpectedState, WaitTimeout
from .waiting import Poll, WaitPolicy, backoff

if TYPE_CHECKING:
    from .ec2._base import Resource
    from .facade import Facade

__all__ = ["UnexpectedState", "WaitProgress", "WaitersMixin", "backoff"]

log = get_logger(__name__)

#: Ids per describe call (AWS accepts at most 200 values in one filter).
BATCH = 200

#: VM::EC2's terminal states per kind: what ``wait_for_<kind>s()`` waits for without ``state=``.
TERMINAL: Mapping[str, tuple[str, ...]] = {
    "instance": ("running", "stopped", "terminated"),
    "volume": ("available", "in-use", "deleted"),
    "snapshot": ("completed",),
    "image": ("available", "deregistered"),
    "attachment": ("attached", "detached"),
}

#: States from which a target cannot be reached without another action, beyond each class's failed states.
IMPOSSIBLE: Mapping[str, Mapping[str, frozenset[str]]] = {
    # Like botocore's instance_running waiter: "stopping" fails, but a stale "stopped" right after
    # StartInstances (eventual consistency) does not.
    "instance": {"running": frozenset({"stopping"})},
    "volume": {"available": frozenset({"deleting", "deleted"}), "in-use": frozenset({"deleting", "deleted"})},
    "attachment": {"attached": frozenset({"detaching"}), "detached": frozenset({"attaching"})},
}


@dataclass(frozen=True)
class WaitProgress:
    """What a progress callback receives after each polling round.

    Attributes:
        round: The round just finished (1 for the first describe).
        elapsed: Seconds since the wait began.
        states: ``{id: state}``; None for objects not seen yet.
        pending: The ids still short of their target.
    """

    round: int
    elapsed: float
    states: Mapping[str, str | None]
    pending: tuple[str, ...]


class WaitersMixin:
    """Waiter methods of the EC2 façade (``wait_for_instances``, ``wait_for_terminal_state``, ...)."""

    #: How this façade waits (declared with its default on :class:`~provisioning.facade.Facade`).
    wait_policy: WaitPolicy

    @property
    def wait_for_timeout(self) -> float:
        """Default deadline of every wait in seconds (600); 0 waits forever. Settable."""
        return self.wait_policy.timeout

    @wait_for_timeout.setter
    def wait_for_timeout(self, seconds: float) -> None:
        self.wait_policy = replace(self.wait_policy, timeout=float(seconds))

    @property
    def wait_clock(self) -> Callable[[], float]:
        """The clock waits read (monotonic seconds); replace it in tests together with :attr:`wait_sleep`."""
        return self.wait_policy.clock

    @wait_clock.setter
    def wait_clock(self, clock: Callable[[], float]) -> None:
        self.wait_policy = replace(self.wait_policy, clock=clock)

    @property
    def wait_sleep(self) -> Callable[[float], None]:
        """How waits sleep between rounds. Settable."""
        return self.wait_policy.sleep

    @wait_sleep.setter
    def wait_sleep(self, sleep: Callable[[float], None]) -> None:
        self.wait_policy = replace(self.wait_policy, sleep=sleep)

    @property
    def wait_not_found_grace(self) -> float:
        """Seconds an object may stay invisible to describe calls after its creation (30). Settable."""
        return self.wait_policy.not_found_grace

    @wait_not_found_grace.setter
    def wait_not_found_grace(self, seconds: float) -> None:
        self.wait_policy = replace(self.wait_policy, not_found_grace=float(seconds))

    # --- public waits ---------------------------------------------------------------------------------

    def wait_for_terminal_state(
        self,
        objects: Iterable[Resource] | Resource,
        states: Collection[str] | str,
        timeout: float | None = None,
        *,
        fail_states: Collection[str] = (),
        progress: Callable[[WaitProgress], Any] | None = None,
    ) -> dict[str, str] | None:
        """Wait until every object is in one of ``states``; VM::EC2's generic waiter.

        Args:
            objects: The objects (instances, volumes, snapshots, images, attachments, spot requests).
            states: The acceptable final states.
            timeout: Seconds before giving up (default :attr:`wait_for_timeout`; 0 waits forever).
            fail_states: More states that end the wait with :class:`UnexpectedState` (each class already
                knows its failures, e.g. a volume's ``error``).
            progress: Called after each polling round with a :class:`WaitProgress`.

        Returns:
            ``{id: final_state}``; None on failure when the façade has ``raise_error=False``.

        Raises:
            WaitTimeout: the deadline passed.
            UnexpectedState: an object reached a state from which ``states`` cannot follow.
            NotFoundError: an object stayed invisible past :attr:`wait_not_found_grace`.
        """
        wanted = (states,) if isinstance(states, str) else tuple(states)
        objs = [objects] if not isinstance(objects, Iterable) else flatten(objects)
        return self._guard_wait(lambda: self._wait(objs, wanted, timeout, frozenset(fail_states), progress))

    def wait_for_instances(
        self,
        *instances: Resource | Iterable[Resource],
        state: str | None = None,
        timeout: float | None = None,
        progress: Callable[[WaitProgress], Any] | None = None,
    ) -> dict[str, str] | None:
        """Wait for instances to reach ``state``, or by default any of running, stopped, terminated."""
        return self._wait_kind("instance", instances, state, timeout, progress)

    def wait_for_volumes(
        self,
        *volumes: Resource | Iterable[Resource],
        state: str | None = None,
        timeout: float | None = None,
        progress: Callable[[WaitProgress], Any] | None = None,
    ) -> dict[str, str] | None:
        """Wait for volumes to reach ``state``, or by default any of available, in-use, deleted."""
        return self._wait_kind("volume", volumes, state, timeout, progress)

    def wait_for_snapshots(
        self,
        *snapshots: Resource | Iterable[Resource],
        state: str | None = None,
        timeout: float | None = None,
        progress: Callable[[WaitProgress], Any] | None = None,
    ) -> dict[str, str] | None:
        """Wait for snapshots to complete (``error`` ends the wait with :class:`UnexpectedState`)."""
        return self._wait_kind("snapshot", snapshots, state, timeout, progress)

    def wait_for_images(
        self,
        *images: Resource | Iterable[Resource],
        state: str | None = None,
        timeout: float | None = None,
        progress: Callable[[WaitProgress], Any] | None = None,
    ) -> dict[str, str] | None:
        """Wait for images to become available (``failed`` ends the wait with :class:`UnexpectedState`)."""
        return self._wait_kind("image", images, state, timeout, progress)

    def wait_for_attachments(
        self,
        *attachments: Resource | Iterable[Resource],
        state: str | None = None,
        timeout: float | None = None,
        progress: Callable[[WaitProgress], Any] | None = None,
    ) -> dict[str, str] | None:
        """Wait for volume attachments to settle: ``attached`` or ``detached`` (or the given ``state``)."""
        return self._wait_kind("attachment", attachments, state, timeout, progress)

    # --- machinery ------------------------------------------------------------------------------------

    def _guard_wait(self, run: Callable[[], dict[str, str]]) -> dict[str, str] | None:
        from .ec2._base import guarded_call

        facade = cast("Facade", self)
        result: dict[str, str] | None = guarded_call(facade, "wait", None, run)
        return result

    def _wait_kind(
        self,
        kind: str,
        objects: Iterable[Any],
        state: str | None,
        timeout: float | None,
        progress: Callable[[WaitProgress], Any] | None,
    ) -> dict[str, str] | None:
        wanted = (state,) if state else TERMINAL[kind]
        extra = IMPOSSIBLE.get(kind, {}).get(state or "", frozenset())
        objs = flatten(objects)
        return self._guard_wait(lambda: self._wait(objs, wanted, timeout, extra, progress))

    def _wait(
        self,
        objects: list[Resource],
        states: tuple[str, ...],
        timeout: float | None,
        fail_states: frozenset[str],
        progress: Callable[[WaitProgress], Any] | None,
    ) -> dict[str, str]:
        """The waiting loop (always raises on failure); see :meth:`wait_for_terminal_state`."""
        policy = self.wait_policy
        clock, sleep = policy.clock, policy.sleep
        limit = policy.timeout if timeout is None else timeout
        start = clock()
        deadline = start + limit if limit else None
        pending = {str(obj): obj for obj in objects}
        found: dict[str, str | None] = dict.fromkeys(pending)
        delays = backoff()
        rounds = 0
        while pending:
            rounds += 1
            # Every object given is polled (and brought up to date), also a second object with the same id.
            seen = self._poll_once([obj for obj in objects if str(obj) in pending])
            now = clock()
            arrived: list[Resource] = []
            for key, obj in list(pending.items()):
                state = seen.get(key)
                if state is None:
                    state = self._missing(obj, states, now - start, policy.not_found_grace)
                    if state is None:
                        continue
                found[key] = state
                if state in states:
                    if key in seen and state != getattr(obj, "gone_state", None):
                        arrived.append(obj)
                    else:
                        del pending[key]
                elif state in fail_states or state in _failed_states(obj):
                    raise UnexpectedState(key, state, states)
            for key in self._confirmed(arrived):
                del pending[key]
            log.debug("wait.round", round=rounds, pending=len(pending), seconds=round(now - start, 2))
            if progress is not None:
                progress(WaitProgress(rounds, now - start, dict(found), tuple(pending)))
            if not pending:
                break
            delay = next(delays)
            if deadline is not None:
                if now >= deadline:
                    summary = ", ".join(f"{k}={found[k]}" for k in pending)
                    raise WaitTimeout(f"gave up after {limit:g} s waiting for {'/'.join(states)}: {summary}")
                delay = min(delay, deadline - now)
            sleep(delay)
        return {k: str(v) for k, v in found.items()}

    def _missing(self, obj: Resource, states: tuple[str, ...], elapsed: float, grace: float) -> str | None:
        """The state of an object absent from the describe answer, or None to keep waiting for it."""
        gone = getattr(obj, "gone_state", None)
        young = cast("Facade", self).consistency.recent([str(obj)])  # not visible yet, rather than gone
        if gone is not None and gone in states and not young:
            return str(gone)
        if elapsed > grace:
            raise NotFoundError(
                "NotFound", f"{obj} does not exist (not seen for {elapsed:.0f} s)", operation="wait"
            )
        return None

    def _confirmed(self, objects: list[Resource]) -> list[str]:
        """The keys of those ``objects`` a describe naming their ids lists (see the module's notes).

        One call per kind and region; a NotFound (past the façade's consistency window, or for ids it did
        not create) leaves the whole group pending for the next round.
        """
        done: list[str] = []
        for (poll, facade), members in self._groups(objects).items():
            ids = sorted({poll.key(o) for o in members})
            try:
                listed = {poll.fresh_key(item) for item in facade.call(poll.service, poll.operation, ids)}
            except NotFoundError:
                log.debug("wait.unconfirmed", ids=len(ids))
                continue
            done += [str(o) for o in members if poll.key(o) in listed]
        return done

    def _groups(self, objects: list[Resource]) -> dict[tuple[Poll, Facade], list[Resource]]:
        """Objects grouped by their describe rule and the façade of their region."""
        mine = cast("Facade", self)
        groups: dict[tuple[Poll, Facade], list[Resource]] = {}
        for obj in objects:
            poll = getattr(type(obj), "poll", None)
            if poll is None:
                raise TypeError(f"cannot wait for {type(obj).__name__} objects")
            facade = obj.ec2 if obj.ec2 is not None and obj.ec2.region != mine.region else mine
            groups.setdefault((poll, facade), []).append(obj)
        return groups

    def _poll_once(self, objects: list[Resource]) -> dict[str, str]:
        """One polling round: ``{id: state}``, one describe call per kind of object and region (200 ids each).

        Each object is described through its own façade, so a copy in another region is polled there.
        Each object found in the answer is updated in place from it (:attr:`Poll.update`).
        """
        states: dict[str, str] = {}
        for (poll, facade), members in self._groups(objects).items():
            ids = sorted({poll.key(o) for o in members})
            fresh: dict[str, Any] = {}
            for i in range(0, len(ids), BATCH):
                answer = facade.call(poll.service, poll.operation, Filters={poll.filter: ids[i : i + BATCH]})
                fresh.update((poll.fresh_key(item), item) for item in answer)
            for obj in members:
                item = fresh.get(poll.key(obj))
                if item is None:
                    continue
                state = poll.state(obj, item)
                poll.update(obj, item)
                if state is not None:
                    states[str(obj)] = state
        return states


def _failed_states(obj: Any) -> frozenset[str]:
    return frozenset(getattr(obj, "failed_states", ()))
