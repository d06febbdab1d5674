"""EBS volumes and snapshots as sparse files, and loop devices for attached volumes.

A volume is ``volumes/<vol-id>.img`` of its full size (sparse, so an empty 100 GiB volume costs nothing); a
snapshot is a sparse (or, where the file system can, reflinked) point-in-time copy
``snapshots/<snap-id>.img``. A snapshot without a file (moto's own placeholder snapshots for images) reads as
zeros.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from staging._log import get_logger
from staging.sandbox.machine.system import run

log = get_logger(__name__)

GIB = 1024**3


def copy_sparse(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` keeping holes (and sharing blocks where the file system can reflink)."""
    tmp = dst.with_name(f".{dst.name}.tmp")
    run(["cp", "--reflink=auto", "--sparse=always", str(src), str(tmp)])
    os.replace(tmp, dst)


class VolumeStore:
    """Byte storage for volumes and snapshots under one directory."""

    def __init__(self, root: Path) -> None:
        self.volumes = root / "volumes"
        self.snapshots = root / "snapshots"
        self.volumes.mkdir(parents=True, exist_ok=True)
        self.snapshots.mkdir(parents=True, exist_ok=True)

    def volume_file(self, volume_id: str) -> Path:
        """The backing file of ``volume_id``."""
        return self.volumes / f"{volume_id}.img"

    def snapshot_file(self, snapshot_id: str) -> Path:
        """The bytes of ``snapshot_id`` (may not exist: then the snapshot is all zeros)."""
        return self.snapshots / f"{snapshot_id}.img"

    def create_volume(self, volume_id: str, size_gib: int, snapshot_id: str | None = None) -> None:
        """Make the backing file: the snapshot's bytes if it has any, grown (sparsely) to ``size_gib``."""
        path = self.volume_file(volume_id)
        source = self.snapshot_file(snapshot_id) if snapshot_id else None
        if source is not None and source.exists():
            copy_sparse(source, path)
        with path.open("ab") as f:
            f.truncate(max(size_gib * GIB, path.stat().st_size))

    def grow_volume(self, volume_id: str, size_gib: int) -> None:
        """Extend the backing file (sparsely) to ``size_gib``; never shrinks it."""
        path = self.volume_file(volume_id)
        with path.open("ab") as f:
            f.truncate(max(size_gib * GIB, path.stat().st_size))

    def delete_volume(self, volume_id: str) -> None:
        """Free the volume's bytes."""
        self.volume_file(volume_id).unlink(missing_ok=True)

    def snapshot(self, volume_id: str, snapshot_id: str) -> None:
        """Copy the volume's current bytes into a new snapshot (crash-consistent, like EBS)."""
        source = self.volume_file(volume_id)
        if source.exists():
            copy_sparse(source, self.snapshot_file(snapshot_id))

    def copy_snapshot(self, source_id: str, target_id: str) -> None:
        """Give ``target_id`` the bytes of ``source_id`` (cross-region copies carry the data)."""
        source = self.snapshot_file(source_id)
        if source.exists():
            copy_sparse(source, self.snapshot_file(target_id))

    def delete_snapshot(self, snapshot_id: str) -> None:
        """Free the snapshot's bytes."""
        self.snapshot_file(snapshot_id).unlink(missing_ok=True)


def loop_attach(path: Path) -> str:
    """Attach ``path`` to the first free loop device and return the device (e.g. ``/dev/loop3``)."""
    return run(["losetup", "--find", "--show", str(path)]).strip()


def loop_refresh(device: str) -> None:
    """Make ``device`` pick up its backing file's new size (as an EBS volume grows after ModifyVolume)."""
    run(["losetup", "--set-capacity", device])


def loop_detach(device: str) -> None:
    """Detach exactly ``device`` (never ``losetup -D``, which would take other users' devices too)."""
    run(["losetup", "--detach", device], check=False)


def loops_backed_under(directory: Path) -> list[str]:
    """Loop devices whose backing file lives under ``directory`` (what a crashed sandbox left)."""
    data = json.loads(run(["losetup", "--list", "--json"], check=False) or '{"loopdevices": []}')
    prefix = str(directory.resolve()) + "/"
    found = []
    for dev in data.get("loopdevices", []):
        backing = (dev.get("back-file") or "").removesuffix(" (deleted)")
        if backing.startswith(prefix):
            found.append(dev["name"])
    return found
