"""moto's EC2 snapshots as the EBS direct calls see them (:class:`~staging.sandbox.daemon.ebs.Snapshots`).

StartSnapshot makes an EC2 snapshot that no EC2 call made: it is created here, ``pending``, with the volume
AWS shows for it (``vol-ffffffff``); its later states come as facts through the recorder.
"""

from __future__ import annotations

import types
from typing import Any

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.elastic_block_store import Snapshot
from moto.ec2.utils import random_snapshot_id

from staging.sandbox.daemon.ebs import SnapshotInfo
from staging.sandbox.daemon.hooks.apply import Recorder

Moto = Any


class _DirectVolume(types.SimpleNamespace):
    """What a snapshot made by StartSnapshot has for a volume: AWS shows ``vol-ffffffff`` and the size."""


def _info(snapshot: Moto) -> SnapshotInfo:
    return SnapshotInfo(
        id=snapshot.id,
        status=snapshot.status,
        volume_size=int(snapshot.volume_size),
        encrypted=bool(snapshot.encrypted),
        owner_id=snapshot.owner_id,
        start_time=snapshot.start_time.timestamp(),
        description=snapshot.description,
    )


class MotoSnapshots:
    """The snapshots of moto's EC2 backends of one account (by region)."""

    def __init__(self, backends: Moto, record: Recorder) -> None:
        self.backends = backends
        self.record = record

    def find(self, region: str, snapshot_id: str) -> SnapshotInfo | None:
        """The snapshot, or None when the region has no such snapshot."""
        try:
            return _info(self.backends[region].get_snapshot(snapshot_id))
        except EC2ClientError:
            return None

    def new_id(self) -> str:
        """A fresh snapshot id, as moto makes them."""
        return str(random_snapshot_id())

    def start(
        self,
        region: str,
        snapshot_id: str,
        size: int,
        description: str,
        encrypted: bool,
        kms_key: str | None,
        tags: dict[str, str],
    ) -> SnapshotInfo:
        """Record a new ``pending`` snapshot of a volume of ``size`` GiB."""
        backend = self.backends[region]
        volume = _DirectVolume(id="vol-ffffffff", size=size)
        snapshot = Snapshot(backend, snapshot_id, volume, description, encrypted, kms_key)
        snapshot.status = "pending"
        backend.snapshots[snapshot_id] = snapshot
        if tags:
            snapshot.add_tags(tags)
        self.record.apply([], snapshot)
        return _info(snapshot)
