"""Pure argv builders and output parsers for file system and block device commands.

Builders return argv lists (run them with any :class:`transfer.Shell`, usually with ``sudo=True``); parsers
take the command's stdout. Nothing here runs anything, so all of it is table-tested.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "BlockDevice",
    "DfEntry",
    "blkid_argv",
    "blockdev_size_argv",
    "df_argv",
    "grow_fs_argv",
    "lsblk_argv",
    "mkfs_argv",
    "mount_argv",
    "parse_blkid",
    "parse_df",
    "parse_lsblk",
    "umount_argv",
]

_FSTYPE_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")


def _check_device(device: str) -> str:
    """``device`` (or a mount point) if absolute: a relative one starting with '-' would be an option."""
    if not device.startswith("/"):
        raise ValueError(f"device must be an absolute path: {device!r}")
    return device


def mkfs_argv(
    device: str,
    fstype: str = "ext4",
    *,
    label: str | None = None,
    force: bool = False,
    options: Sequence[str] = (),
) -> list[str]:
    """``mkfs.TYPE`` for any type; label and force flags are spelled per family.

    ext2/3/4 use ``-L``/``-F``, xfs ``-L``/``-f``, btrfs ``-L``/``-f``, vfat ``-n`` (no force flag).
    Never retried automatically by this package: it destroys data.

    Raises:
        ValueError: An unsafe file system name or a relative device.
    """
    if not _FSTYPE_RE.fullmatch(fstype):
        raise ValueError(f"bad file system type: {fstype!r}")
    argv = [f"mkfs.{fstype}"]
    if fstype.startswith("ext"):
        argv += ["-q"] + (["-F"] if force else []) + (["-L", label] if label else [])
    elif fstype in ("xfs", "btrfs"):
        argv += (["-f"] if force else []) + (["-L", label] if label else [])
    elif fstype in ("vfat", "fat", "msdos"):
        argv += ["-n", label] if label else []
    elif label:
        argv += ["-L", label]
    return [*argv, *options, _check_device(device)]


def mount_argv(
    device: str, mountpoint: str, *, fstype: str | None = None, options: Sequence[str] = ()
) -> list[str]:
    """``mount [-t TYPE] [-o a,b] DEVICE MOUNTPOINT``."""
    argv = ["mount"]
    if fstype:
        argv += ["-t", fstype]
    if options:
        argv += ["-o", ",".join(options)]
    return [*argv, "--", _check_device(device), mountpoint]


def umount_argv(target: str, *, lazy: bool = False, force: bool = False) -> list[str]:
    """``umount [-l] [-f] TARGET`` (device or mount point)."""
    return ["umount", *(["-l"] if lazy else []), *(["-f"] if force else []), "--", target]


def grow_fs_argv(fstype: str, device: str, mountpoint: str | None = None) -> list[str]:
    """Grow a file system to fill its device: ``resize2fs DEVICE`` (ext*), ``xfs_growfs MOUNTPOINT`` (xfs).

    Raises:
        ValueError: xfs without a mount point (it only grows mounted), or an unsupported type.
    """
    if fstype.startswith("ext"):
        return ["resize2fs", _check_device(device)]
    if fstype == "xfs":
        if not mountpoint:
            raise ValueError("xfs_growfs needs the mount point of a mounted file system")
        return ["xfs_growfs", _check_device(mountpoint)]
    if fstype == "btrfs":
        if not mountpoint:
            raise ValueError("btrfs resize needs the mount point")
        return ["btrfs", "filesystem", "resize", "max", _check_device(mountpoint)]
    raise ValueError(f"don't know how to grow {fstype!r}")


def blkid_argv(device: str) -> list[str]:
    """``blkid -o export DEVICE`` (exit 2 when the device has no recognisable signature)."""
    return ["blkid", "-o", "export", "--", _check_device(device)]


def parse_blkid(text: str) -> dict[str, str]:
    """``KEY=value`` lines from ``blkid -o export`` → dict (``TYPE``, ``UUID``, ``LABEL``, ...)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            # blkid -o export escapes special characters with a backslash.
            out[key.strip()] = re.sub(r"\\(.)", r"\1", value)
    return out


LSBLK_COLUMNS = ("NAME", "PATH", "SIZE", "TYPE", "FSTYPE", "MOUNTPOINT", "LABEL", "UUID", "SERIAL", "PKNAME")


def lsblk_argv(device: str | None = None) -> list[str]:
    """``lsblk -J -b -o ...`` (JSON, sizes in bytes) for one device or all."""
    argv = ["lsblk", "-J", "-b", "-o", ",".join(LSBLK_COLUMNS)]
    return [*argv, _check_device(device)] if device else argv


@dataclass(frozen=True)
class BlockDevice:
    """One row of lsblk (children are flattened; ``parent`` names the disk of a partition)."""

    name: str
    path: str
    size: int
    type: str
    fstype: str | None = None
    mountpoint: str | None = None
    label: str | None = None
    uuid: str | None = None
    serial: str | None = None
    parent: str | None = None


def parse_lsblk(text: str) -> list[BlockDevice]:
    """Parse ``lsblk -J -b`` output into a flat list, parents before children."""
    out: list[BlockDevice] = []

    def walk(nodes: list[dict[str, object]], parent: str | None) -> None:
        for n in nodes:
            name = str(n.get("name"))
            out.append(
                BlockDevice(
                    name=name,
                    path=str(n.get("path") or f"/dev/{name}"),
                    size=int(str(n.get("size") or 0)),
                    type=str(n.get("type")),
                    fstype=_opt(n.get("fstype")),
                    mountpoint=_opt(n.get("mountpoint")),
                    label=_opt(n.get("label")),
                    uuid=_opt(n.get("uuid")),
                    serial=_opt(n.get("serial")),
                    parent=_opt(n.get("pkname")) or parent,
                )
            )
            children = n.get("children")
            if isinstance(children, list):
                walk(children, name)

    walk(json.loads(text).get("blockdevices", []), None)
    return out


def _opt(value: object) -> str | None:
    return None if value is None or value == "" else str(value).strip()


def df_argv(path: str | None = None) -> list[str]:
    """``df`` in bytes with fixed columns (for one path or all file systems)."""
    argv = ["df", "-B1", "--output=source,fstype,size,used,avail,target"]
    return [*argv, "--", path] if path else argv


@dataclass(frozen=True)
class DfEntry:
    """One ``df`` row, sizes in bytes."""

    source: str
    fstype: str
    size: int
    used: int
    available: int
    target: str


def parse_df(text: str) -> list[DfEntry]:
    """Parse :func:`df_argv` output. Mount points with spaces survive (the target is the rest of the line)."""
    out = []
    for line in text.splitlines()[1:]:
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[2].isdigit():
            out.append(DfEntry(parts[0], parts[1], int(parts[2]), int(parts[3]), int(parts[4]), parts[5]))
    return out


def blockdev_size_argv(device: str) -> list[str]:
    """``blockdev --getsize64 DEVICE`` (size in bytes)."""
    return ["blockdev", "--getsize64", _check_device(device)]
