"""What the cloud model tells the hooks to record in moto: plain facts about API objects, named by id.

The model (:mod:`staging.sandbox.daemon.cloud`) decides what happens on the machine and what the API must
show for it; it never touches moto. It answers a hook's call with a list of facts, and facts that become true
later (a timer: ``pending`` -> ``running``, ``attaching`` -> ``attached``) go to the sink the hooks installed
(:attr:`~staging.sandbox.daemon.cloud.SandboxCloud.publish`). The hooks
(:mod:`staging.sandbox.daemon.hooks.apply`) write them into moto's objects.

A fact with ``only_if`` holds only while the object is still in that state (a timer must not undo a later
change); applying it answers whether it held.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InstanceState:
    """Instance ``instance_id`` is now in state ``name`` (EC2's ``code``: pending 0, running 16)."""

    instance_id: str
    name: str
    code: int
    only_if: str | None = None


@dataclass(frozen=True)
class InstanceAddress:
    """Instance ``instance_id`` answers at ``address`` (its private and its public IP: both reach sshd)."""

    instance_id: str
    address: str


@dataclass(frozen=True)
class PublicAddressReleased:
    """Instance ``instance_id`` has no public IP any more (stopped or terminated)."""

    instance_id: str


@dataclass(frozen=True)
class AttachmentStatus:
    """The attachment of volume ``volume_id`` is now ``status`` (``attaching``, ``attached``, ``busy``)."""

    volume_id: str
    status: str
    only_if: str | None = None


@dataclass(frozen=True)
class DetachNow:
    """Volume ``volume_id``, held ``busy``, is no longer used by its host: its detach completes now."""

    volume_id: str
    instance_id: str


@dataclass(frozen=True)
class SnapshotState:
    """Snapshot ``snapshot_id`` is now ``status``; ``pending`` is (since, for how long) while it is pending,
    so its ``Progress`` rises over that time."""

    snapshot_id: str
    status: str
    pending: tuple[float, float] | None = None
    only_if: str | None = None


@dataclass(frozen=True)
class ModificationState:
    """The latest modification of volume ``volume_id`` is now ``state`` (``modifying``, ``optimizing``,
    ``completed``); ``span`` is (since, for how long) until it completes, so its ``Progress`` rises."""

    volume_id: str
    state: str
    span: tuple[float, float] | None = None


Fact = (
    InstanceState
    | InstanceAddress
    | PublicAddressReleased
    | AttachmentStatus
    | DetachNow
    | SnapshotState
    | ModificationState
)
