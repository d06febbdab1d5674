"""How big a volume must be for a set of local files (pure, apart from reading the file tree).

The original summed the byte sizes and added 15 %. That undercounts trees of many small files (each takes at
least one block and an inode) and double counts hard links. Here: every regular file counts once per inode,
rounded up to 4 KiB blocks, every directory and symlink one block, plus 15 % and a fixed allowance for the
file system's own metadata (journal, inode tables, reserved blocks).
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass

from staging.errors import StagingParameterError

__all__ = ["GIB", "TreeSize", "measure", "volume_gib"]

GIB = 1024**3
_BLOCK = 4096
#: ext4's journal (64-128 MiB on small volumes) and inode tables, with room to spare.
_FS_OVERHEAD = 256 * 1024**2


@dataclass(frozen=True)
class TreeSize:
    """What a set of local paths holds.

    Attributes:
        bytes: Sum of regular file sizes (each inode once).
        blocks_bytes: Space they take on a 4 KiB-block file system, directories and symlinks included.
        files: Regular files (each inode once).
        entries: Every directory entry (files, directories, symlinks, others).
    """

    bytes: int
    blocks_bytes: int
    files: int
    entries: int


def _blocks(size: int) -> int:
    return max(1, math.ceil(size / _BLOCK)) * _BLOCK


def measure(paths: Iterable[str | os.PathLike[str]]) -> TreeSize:
    """Walk ``paths`` (without following symlinks) and add up what they hold.

    Raises:
        StagingParameterError: A path does not exist (named in the message).
    """
    seen: set[tuple[int, int]] = set()
    total = blocks = files = entries = 0

    def visit(st: os.stat_result) -> None:
        nonlocal total, blocks, files, entries
        entries += 1
        if stat.S_ISREG(st.st_mode):
            if (st.st_dev, st.st_ino) in seen:
                return
            seen.add((st.st_dev, st.st_ino))
            files += 1
            total += st.st_size
            blocks += _blocks(st.st_size)
        else:
            blocks += _BLOCK

    for path in paths:
        try:
            top = os.lstat(path)
        except FileNotFoundError:
            raise StagingParameterError(f"no such file or directory: {os.fspath(path)}") from None
        visit(top)
        if not stat.S_ISDIR(top.st_mode):
            continue
        for root, dirs, names in os.walk(path):
            for name in (*dirs, *names):
                try:
                    visit(os.lstat(os.path.join(root, name)))
                except FileNotFoundError:
                    continue  # vanished while we walked
    return TreeSize(total, blocks, files, entries)


def volume_gib(tree: TreeSize, *, headroom: float = 0.15) -> int:
    """The volume size (GiB, at least 1) that holds ``tree`` with ``headroom`` to spare."""
    return max(1, math.ceil((tree.blocks_bytes * (1 + headroom) + _FS_OVERHEAD) / GIB))
