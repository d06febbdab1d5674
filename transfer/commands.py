"""Pure argv builders and output parsers for file system and block device commands.

Builders return argv lists (run them with any :class:`transfer.Shell`, usually with ``sudo=True``); parsers
take the command's stdout. Nothing here runs anything, so all of it is table-tested.
"""

from __future__ import annotations

import json
import re
import uuid as uuidlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "E2FSCK_OK",
    "LABEL_LIMITS",
    "TOOL_SEARCH_DIRS",
    "BlockDevice",
    "DfEntry",
    "blkid_argv",
    "blockdev_size_argv",
    "check_label",
    "check_uuid",
    "df_argv",
    "e2fsck_argv",
    "e2fsck_exit_meaning",
    "e2fsck_ok",
    "fs_size_argv",
    "fsfreeze_argv",
    "grow_fs_argv",
    "lsblk_argv",
    "mkfs_argv",
    "mount_argv",
    "parse_blkid",
    "parse_blockdev_size",
    "parse_df",
    "parse_fs_size",
    "parse_lsblk",
    "parse_which",
    "umount_argv",
    "which_argv",
]

_FSTYPE_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")


def _check_device(device: str) -> str:
    """``device`` (or a mount point) if absolute: a relative one starting with '-' would be an option."""
    if not device.startswith("/"):
        raise ValueError(f"device must be an absolute path: {device!r}")
    return device


#: Longest label (in bytes, as the tools count) per file system; longer ones fail on the host otherwise.
LABEL_LIMITS: Mapping[str, int] = {
    "ext2": 16,
    "ext3": 16,
    "ext4": 16,
    "xfs": 12,
    "vfat": 11,
    "fat": 11,
    "msdos": 11,
    "btrfs": 255,
}

_VFAT_ID_RE = re.compile(r"([0-9A-Fa-f]{4})-?([0-9A-Fa-f]{4})")


def check_label(fstype: str, label: str) -> str:
    """``label`` if the file system can hold it, so a bad one fails before anything is created.

    The limits (:data:`LABEL_LIMITS`) count bytes of the UTF-8 form: xfs 12, ext2/3/4 16, vfat 11.
    Other file systems are not checked here (their own mkfs decides).

    Raises:
        ValueError: The label is too long (the message names the limit), or has a newline or NUL.
    """
    if "\n" in label or "\0" in label:
        raise ValueError(f"file system label {label!r} contains a newline or NUL")
    limit = LABEL_LIMITS.get(fstype)
    size = len(label.encode("utf-8", "surrogateescape"))
    if limit is not None and size > limit:
        raise ValueError(f"{fstype} labels are at most {limit} characters; {label!r} has {size}")
    return label


def check_uuid(fstype: str, uuid: str | uuidlib.UUID) -> str:
    """The file system id as the file system's mkfs takes it: a canonical UUID for ext*/xfs/btrfs, the
    8 hex digits of a volume id (``ABCD-1234``, as blkid shows it) for vfat.

    Raises:
        ValueError: Not a UUID (or volume id), or a file system whose id we do not know how to set.
    """
    text = str(uuid).strip()
    if fstype in ("vfat", "fat", "msdos"):
        match = _VFAT_ID_RE.fullmatch(text)
        if match is None:
            raise ValueError(f"a {fstype} volume id is 8 hex digits (like ABCD-1234), not {text!r}")
        return (match.group(1) + match.group(2)).upper()
    if not (fstype.startswith("ext") or fstype in ("xfs", "btrfs")):
        raise ValueError(f"don't know how to set the UUID of a {fstype} file system")
    try:
        return str(uuidlib.UUID(text))
    except ValueError:
        raise ValueError(f"not a UUID: {text!r}") from None


def mkfs_argv(
    device: str,
    fstype: str = "ext4",
    *,
    label: str | None = None,
    uuid: str | uuidlib.UUID | None = None,
    force: bool = False,
    options: Sequence[str] = (),
) -> list[str]:
    """``mkfs.TYPE`` for any type; label, UUID and force flags are spelled per family.

    ext2/3/4 use ``-L``/``-U``/``-F``, xfs ``-L``/``-m uuid=``/``-f``, btrfs ``-L``/``-U``/``-f``, vfat
    ``-n``/``-i`` (a volume id; no force flag). The label is checked against the file system's limit
    (:func:`check_label`) and the UUID's form (:func:`check_uuid`) here, not on the host.
    Never retried automatically by this package: it destroys data.

    Raises:
        ValueError: An unsafe file system name, a relative device, a label too long for the file system,
            or a bad UUID.
    """
    if not _FSTYPE_RE.fullmatch(fstype):
        raise ValueError(f"bad file system type: {fstype!r}")
    if label:
        check_label(fstype, label)
    fs_id = check_uuid(fstype, uuid) if uuid is not None else None
    argv = [f"mkfs.{fstype}"]
    if fstype.startswith("ext"):
        argv += ["-q"] + (["-F"] if force else []) + (["-L", label] if label else [])
        argv += ["-U", fs_id] if fs_id else []
    elif fstype == "xfs":
        argv += (["-f"] if force else []) + (["-L", label] if label else [])
        argv += ["-m", f"uuid={fs_id}"] if fs_id else []
    elif fstype == "btrfs":
        argv += (["-f"] if force else []) + (["-L", label] if label else [])
        argv += ["-U", fs_id] if fs_id else []
    elif fstype in ("vfat", "fat", "msdos"):
        argv += (["-n", label] if label else []) + (["-i", fs_id] if fs_id else [])
    elif label:
        argv += ["-L", label]
    return [*argv, *options, _check_device(device)]


#: e2fsck exit codes (a bit mask) that leave a consistent file system: 0 no errors, 1 errors corrected,
#: 2 corrected and the system should be rebooted (only for a mounted root), 3 both.
E2FSCK_OK = frozenset({0, 1, 2, 3})

_E2FSCK_BITS = (
    (1, "errors corrected"),
    (2, "system should be rebooted"),
    (4, "errors left uncorrected"),
    (8, "operational error"),
    (16, "usage or syntax error"),
    (32, "cancelled by user"),
    (128, "shared library error"),
)


def e2fsck_argv(device: str, *, force: bool = True, repair: bool = True) -> list[str]:
    """``e2fsck -f -y DEVICE``: check an unmounted ext2/3/4 file system and repair it without asking.

    resize2fs refuses to grow an unmounted file system that was not checked since it was last mounted,
    so an offline resize runs this first. ``force`` (``-f``) checks even a file system marked clean;
    ``repair`` (``-y``) answers yes to every fix, else ``-n`` opens it read-only and fixes nothing.
    Run it with ``check=False`` and judge the exit code with :func:`e2fsck_ok`: exit 1 means errors were
    found and corrected, which is a success.
    """
    return ["e2fsck", *(["-f"] if force else []), "-y" if repair else "-n", _check_device(device)]


def e2fsck_ok(exit_code: int) -> bool:
    """True when e2fsck left the file system consistent (exit 0-3; see :data:`E2FSCK_OK`)."""
    return exit_code in E2FSCK_OK


def e2fsck_exit_meaning(exit_code: int) -> str:
    """e2fsck's exit code in words, for messages: ``"errors corrected"``, ``"errors left uncorrected"``..."""
    if exit_code == 0:
        return "no errors"
    words = [text for bit, text in _E2FSCK_BITS if exit_code & bit]
    return ", ".join(words) if words else f"exit code {exit_code}"


def fsfreeze_argv(mountpoint: str, *, freeze: bool = True) -> list[str]:
    """``fsfreeze --freeze MOUNTPOINT`` (or ``--unfreeze``): suspend writes for a consistent snapshot.

    Freezing blocks every writer until the unfreeze, so the caller must unfreeze in a ``finally``.
    """
    return ["fsfreeze", "--freeze" if freeze else "--unfreeze", _check_device(mountpoint)]


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
    """``blkid -p -o export DEVICE`` (exit 2 when the device has no recognisable signature).

    ``-p`` probes the device itself. Without it blkid may answer from its cache (``/run/blkid``), which
    describes whatever the device *was*: a loop or NVMe device number reused for another volume then reads as
    the old volume's file system.
    """
    return ["blkid", "-p", "-o", "export", "--", _check_device(device)]


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


def parse_blockdev_size(text: str) -> int:
    """The size in bytes :func:`blockdev_size_argv` printed.

    Raises:
        ValueError: The output is not one whole number.
    """
    value = text.strip()
    if not value.isdigit():
        raise ValueError(f"blockdev printed {value[:80]!r}, not a size in bytes")
    return int(value)


def fs_size_argv(fstype: str, device: str, mountpoint: str | None = None) -> list[str]:
    """The command that prints a file system's own size (for :func:`parse_fs_size`).

    ``dumpe2fs -h DEVICE`` for ext* (mounted or not), ``xfs_info`` of the mount point for xfs (of the device
    when it is not mounted). The file system's block count, unlike ``df``, does not depend on its mount.

    Raises:
        ValueError: Another file system type.
    """
    if fstype.startswith("ext"):
        return ["dumpe2fs", "-h", _check_device(device)]
    if fstype == "xfs":
        return ["xfs_info", _check_device(mountpoint or device)]
    raise ValueError(f"don't know how to measure {fstype!r}")


_EXT_BLOCKS_RE = re.compile(r"^Block count:\s+(\d+)\s*$", re.MULTILINE)
_EXT_BSIZE_RE = re.compile(r"^Block size:\s+(\d+)\s*$", re.MULTILINE)
_XFS_DATA_RE = re.compile(r"^data\s+=.*?\bbsize=(\d+)\s+blocks=(\d+)", re.MULTILINE)


def parse_fs_size(fstype: str, text: str) -> int:
    """Bytes a file system spans (its block count times its block size) from :func:`fs_size_argv` output.

    Raises:
        ValueError: The counts are not in the output (or another file system type).
    """
    if fstype.startswith("ext"):
        blocks, bsize = _EXT_BLOCKS_RE.search(text), _EXT_BSIZE_RE.search(text)
        if blocks and bsize:
            return int(blocks.group(1)) * int(bsize.group(1))
    elif fstype == "xfs":
        data = _XFS_DATA_RE.search(text)
        if data:
            return int(data.group(1)) * int(data.group(2))
    else:
        raise ValueError(f"don't know how to measure {fstype!r}")
    raise ValueError(f"no block count and size in the {fstype} file system's description")


#: Directories searched after the host's PATH for a tool: where ``sudo`` (its ``secure_path``) finds mkfs,
#: e2fsck, fsfreeze, blkid and losetup, which a login PATH on Debian or Ubuntu leaves out.
TOOL_SEARCH_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")

_TOOL_RE = re.compile(r"[A-Za-z0-9_+][A-Za-z0-9_.+-]*")
_WHICH_SCRIPT = (
    f'PATH="${{PATH:+$PATH:}}{":".join(TOOL_SEARCH_DIRS)}"; for t do '
    'if p=$(command -v "$t"); then printf "%s %s\\n" "$t" "$p"; else printf "%s\\n" "$t"; fi; done'
)


def which_argv(*tools: str) -> list[str]:
    """A command that prints one line per tool: ``NAME PATH`` when found, ``NAME`` alone when not.

    It looks where ``sudo`` looks: the PATH it runs with, then :data:`TOOL_SEARCH_DIRS` (so run it with
    ``sudo=True`` for tools that will run under sudo). It always exits 0; parse with :func:`parse_which`.

    Raises:
        ValueError: No tools, or a name that is not a plain command name (a path, an option, a space).
    """
    if not tools:
        raise ValueError("which_argv needs at least one tool name")
    for tool in tools:
        if not _TOOL_RE.fullmatch(tool):
            raise ValueError(f"not a command name: {tool!r}")
    return ["sh", "-c", _WHICH_SCRIPT, "sh", *tools]


def parse_which(text: str) -> dict[str, str | None]:
    """``{tool: path or None}`` from :func:`which_argv`'s output, in the order asked."""
    out: dict[str, str | None] = {}
    for line in text.splitlines():
        name, _, path = line.partition(" ")
        if name:
            out[name] = path or None
    return out
