"""Pure builders for rsync: options, argv, path safety and the compression choice.

Nothing here runs anything (:mod:`transfer.sync` does), so all of it is table-tested as strings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from transfer.openssh import on_fast_network
from transfer.shell import decode

__all__ = [
    "PathArg",
    "RsyncOptions",
    "choose_compression",
    "local_path_arg",
    "remote_path_arg",
    "remote_source_arg",
    "rsync_argv",
]

#: A path: str, bytes (non-UTF-8 names) or os.PathLike.
PathArg = str | bytes | os.PathLike[str]


@dataclass(frozen=True)
class RsyncOptions:
    """What rsync should preserve and how it should move data.

    Attributes:
        archive: ``-a`` (recursive; permissions, times, owners, groups, symlinks, devices).
        relative: ``-R``: keep the source path below a ``/./`` marker (or the whole path) at the destination.
        delete: ``--delete`` extraneous files at the destination.
        checksum: ``-c``: compare by checksum instead of size and mtime.
        hard_links: ``-H``.
        acls: ``-A``.
        xattrs: ``-X``.
        numeric_ids: ``--numeric-ids`` (staging copies file systems between machines whose user names differ).
        partial: ``--partial``: keep a partly sent file so a rerun resumes it.
        sparse: ``--sparse``.
        one_file_system: ``-x``.
        bwlimit: ``--bwlimit`` (KiB/s as int, or an rsync size string such as ``"10m"``).
        excludes: ``--exclude`` patterns.
        compress: True/False, or None to decide per link with :func:`choose_compression`.
        compress_choice: Algorithm when compressing (zstd is fast; rsync negotiates a fallback).
        dry_run: ``-n``.
        extra: More rsync arguments, appended verbatim.
    """

    archive: bool = True
    relative: bool = False
    delete: bool = False
    checksum: bool = False
    hard_links: bool = True
    acls: bool = False
    xattrs: bool = False
    numeric_ids: bool = True
    partial: bool = True
    sparse: bool = False
    one_file_system: bool = False
    bwlimit: int | str | None = None
    excludes: Sequence[str] = ()
    compress: bool | None = None
    compress_choice: str = "zstd"
    dry_run: bool = False
    extra: Sequence[str] = field(default=())


def choose_compression(host: str, options: RsyncOptions) -> str | None:
    """The compression algorithm to use towards ``host``, or None.

    Compression only pays when the network, not the CPU, is the bottleneck. On loopback, private
    (same VPC / LAN) and link-local addresses the measured limit is CPU (field notes §3: 2 cores shared by
    rsync, ssh and sshd), so we don't compress. A bandwidth limit or a public address means a slow link:
    compress with a fast algorithm. An explicit ``options.compress`` wins.
    """
    if options.compress is not None:
        return options.compress_choice if options.compress else None
    if options.bwlimit is not None:
        return options.compress_choice
    return None if on_fast_network(host) else options.compress_choice


def local_path_arg(path: PathArg) -> str:
    """A local path made safe as an rsync argument.

    rsync reads ``-x...`` as an option and ``a:b`` as a remote path; a ``./`` prefix defuses both and
    keeps a trailing slash. Bytes become str through surrogateescape (subprocess turns them back).
    """
    text = decode(path) if isinstance(path, bytes) else os.fspath(path)
    if not text:
        raise ValueError("empty path")
    first = text.split("/", 1)[0]
    if text.startswith("-") or ":" in first:
        return "./" + text
    return text


def remote_path_arg(path: PathArg) -> str:
    """A remote *destination* path as given (str from bytes through surrogateescape); never empty."""
    text = decode(path) if isinstance(path, bytes) else os.fspath(path)
    if not text:
        raise ValueError("empty path")
    return text


def remote_source_arg(path: PathArg) -> str:
    """A remote *source* path with rsync's wildcards escaped.

    With ``--secluded-args`` the remote rsync still expands ``*?[`` in source paths itself, so
    ``/data/x [a]*`` could silently copy ``/data/x a`` instead; a backslash makes each one literal.
    Destination paths are never expanded and must not be escaped.
    """
    return re.sub(r"([*?\[\]\\])", r"\\\1", remote_path_arg(path))


def rsync_argv(
    sources: Sequence[str],
    dest: str,
    *,
    options: RsyncOptions = RsyncOptions(),
    rsh: str | None = None,
    remote_rsync_path: str | None = None,
    compression: str | None = None,
    progress: bool = True,
) -> list[str]:
    """The rsync argv (pure). ``sources``/``dest`` are final arguments (see :func:`local_path_arg`).

    Args:
        sources: Source arguments (local paths or ``host:path``).
        dest: Destination argument.
        options: Preservation and transfer options.
        rsh: The ssh command for ``-e`` (see :func:`transfer.openssh.ssh_command`).
        remote_rsync_path: ``--rsync-path`` for the remote side (``"sudo -n rsync"`` to write as root).
        compression: Algorithm name to compress with, or None.
        progress: Add ``--info=progress2``.
    """
    o = options
    argv = ["rsync"]
    flags = "".join(
        f
        for f, on in (
            ("a", o.archive),
            ("R", o.relative),
            ("c", o.checksum),
            ("H", o.hard_links),
            ("A", o.acls),
            ("X", o.xattrs),
            ("x", o.one_file_system),
            ("S", o.sparse),
            ("n", o.dry_run),
        )
        if on
    )
    if flags:
        argv.append("-" + flags)
    argv.append("--secluded-args")  # file names go through rsync's protocol, never a remote shell
    if o.numeric_ids:
        argv.append("--numeric-ids")
    if o.delete:
        argv.append("--delete")
    if o.partial:
        argv.append("--partial")
    if o.bwlimit is not None:
        argv.append(f"--bwlimit={o.bwlimit}")
    if compression:
        argv += ["--compress", f"--compress-choice={compression}"]
    else:
        argv.append("--no-compress")
    argv += [f"--exclude={pattern}" for pattern in o.excludes]
    if progress:
        argv += ["--info=progress2", "--no-inc-recursive"]  # without inc-recursive the total is known early
    argv.append("--stats")
    if rsh is not None:
        argv += ["-e", rsh]
    if remote_rsync_path is not None:
        argv.append(f"--rsync-path={remote_rsync_path}")
    argv += list(o.extra)
    if not sources:
        raise ValueError("no source")
    return [*argv, "--", *sources, dest]
