"""The staging layer: temporary servers and volumes that move data into EBS snapshots and back.

Entry points (STYLE P12):

* :class:`StagingManager` — servers, volumes, rsync/dd between them, cleanup (VM::EC2::Staging::Manager);
  also ``ec2.staging_manager(...)``, added to :class:`provisioning.EC2` when this package is imported.
* :func:`sync_to_snapshot` / :func:`sync_from_snapshot` — local directories into a named, versioned snapshot
  and back; ``direct=True`` without a server, through the EBS direct APIs.
* :func:`upload_image` / :func:`download_image` — a disk image file into a snapshot (only the blocks that
  differ from a parent) and back, through the EBS direct APIs.
* :mod:`staging.sandbox` — a local EC2 cloud made of real parts, for tests and AWS-free runs.
"""

from __future__ import annotations

import logging
import typing as _typing

import provisioning as _provisioning
from staging.blocks import UploadResult, download_image, upload_image
from staging.errors import (
    CleanupIncomplete,
    NoServerAvailable,
    NotMounted,
    SnapshotNotFound,
    StagingError,
    StagingParameterError,
    SyncLocked,
    VolumeInUse,
)
from staging.manager import StagingManager
from staging.progress import LogReporter, Reporter
from staging.server import StagingServer
from staging.snapshots import SyncPlan, SyncResult, find_snapshot, sync_from_snapshot, sync_to_snapshot
from staging.volume import StagingVolume

__all__ = [
    "CleanupIncomplete",
    "LogReporter",
    "NoServerAvailable",
    "NotMounted",
    "Reporter",
    "SnapshotNotFound",
    "StagingError",
    "StagingManager",
    "StagingParameterError",
    "StagingServer",
    "StagingVolume",
    "SyncLocked",
    "SyncPlan",
    "SyncResult",
    "UploadResult",
    "VolumeInUse",
    "download_image",
    "find_snapshot",
    "sync_from_snapshot",
    "sync_to_snapshot",
    "upload_image",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())


def _staging_manager(ec2: _provisioning.EC2, **options: _typing.Any) -> StagingManager:
    """A :class:`staging.StagingManager` on this façade (VM::EC2's ``$ec2->staging_manager(...)``)."""
    return StagingManager(ec2, **options)


_provisioning.EC2.register_method("staging_manager", _staging_manager)
