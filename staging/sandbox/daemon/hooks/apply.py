"""Facts of the cloud model written into moto's objects (the one place that records them).

The hooks hand every moto object they tell the model about to :meth:`Recorder.apply` together with the
model's answer; facts published later by the model's timers name the object by id and find it here.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from staging.sandbox.daemon.facts import (
    AttachmentStatus,
    DetachNow,
    Fact,
    InstanceAddress,
    InstanceState,
    ModificationState,
    PublicAddressReleased,
    SnapshotState,
)

Moto = Any  # moto's model objects are untyped; this alias marks where one is expected.


class Recorder:
    """Applies facts to moto's instances, volumes (their attachments and modifications) and snapshots, found
    by id."""

    def __init__(self) -> None:
        self._objects: dict[str, Moto] = {}

    def apply(self, facts: Iterable[Fact], *about: Moto) -> None:
        """Remember the objects ``about`` (later facts may name them), then record ``facts``."""
        for thing in about:
            self._objects[thing.id] = thing
        for fact in facts:
            self(fact)

    def forget(self, object_id: str) -> None:
        """Drop a deleted object (a late fact about it is then ignored)."""
        self._objects.pop(object_id, None)

    def __call__(self, fact: Fact) -> bool:
        """Record ``fact`` in its object; False when it does not hold (``only_if``) or its object is gone."""
        match fact:
            case InstanceState(instance_id, name, code, only_if):
                instance = self._objects.get(instance_id)
                if instance is None or (only_if is not None and instance._state.name != only_if):
                    return False
                instance._state.name, instance._state.code = name, code
            case InstanceAddress(instance_id, address):
                nic = self._objects[instance_id].nics[0]
                nic.private_ip_address = address
                nic.private_ip_addresses = [{"Primary": True, "PrivateIpAddress": address}]
                nic.public_ip = address
            case PublicAddressReleased(instance_id):
                self._objects[instance_id].nics[0].public_ip = None
            case AttachmentStatus(volume_id, status, only_if):
                volume = self._objects.get(volume_id)
                attachment = volume.attachment if volume is not None else None
                if attachment is None or (only_if is not None and attachment.status != only_if):
                    return False
                attachment.status = status
            case DetachNow(volume_id, instance_id):
                volume = self._objects.get(volume_id)
                if volume is None or volume.attachment is None:
                    return False
                # Through the wrapped backend call, so the model frees the host's device as for any detach.
                volume.ec2_backend.detach_volume(volume_id, instance_id, None, force=True)
            case SnapshotState(snapshot_id, status, pending, only_if):
                snapshot = self._objects.get(snapshot_id)
                if snapshot is None or (only_if is not None and snapshot.status != only_if):
                    return False
                if pending is not None:
                    snapshot.sandbox_pending = pending
                snapshot.status = status
            case ModificationState(volume_id, state, span):
                volume = self._objects.get(volume_id)
                if volume is None or not volume.modifications:
                    return False
                modification = volume.modifications[-1]
                modification.sandbox_state = state
                if span is not None:
                    modification.sandbox_pending = span
                # EndTime is the completion time (moto sets it at the start); naive UTC, as moto's own.
                done = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
                modification.end_time = done if state == "completed" else None
        return True
