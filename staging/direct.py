"""The server-less data path (``sync_to_snapshot --direct``, ``sync_from_snapshot --direct``).

No instance, key pair or security group: the file-system image of the sources is built locally, without
root, by ``mke2fs -d`` with a UUID and hash seed derived from the snapshot's name and a fixed time
(``E2FSPROGS_FAKE_TIME``), so an unchanged file gives unchanged blocks; its blocks are compared with the
parent version's and only the changed ones travel (:mod:`staging.blocks`). Restoring reads the snapshot's
blocks into a sparse local image, mounts it read-only (loop, needs root) and copies the tree out with rsync,
as the server path does.

The snapshot is tagged at StartSnapshot like the server path's (``Name``, ``Version``, the run's tags and
``StagingExpires``) and recorded in the run's journal; once complete the expiry tag goes. A failure or a
signal deletes it; if even that fails, ``gc`` finds it (tag and journal).

Unlike the server path without ``--delete``, a direct version holds exactly the sources: the image is built
from them, not from the previous version's tree.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from provisioning import AWSError, NotFoundError
from staging._log import get_logger
from staging.blocks import delete_quietly, download_image, save_hashes, upload_image
from staging.errors import StagingError, StagingParameterError
from staging.interrupts import signals_raise
from staging.journal import Journal
from staging.progress import Reporter
from staging.tags import EXPIRES, Role, RunTags
from staging.versions import make_unique
from transfer.rsync_build import RsyncOptions
from transfer.sync import rsync

__all__ = [
    "DIRECT_FILESYSTEMS",
    "build_image",
    "direct_from_snapshot",
    "direct_to_snapshot",
    "image_layout",
    "timed_phase",
]

log = get_logger(__name__)

GIB = 1024**3
DIRECT_FILESYSTEMS = ("ext4", "ext3", "ext2")
#: The time every inode of a direct image is stamped with (mke2fs's own times; files keep their mtimes).
FAKE_TIME = "1700000000"
_NAMESPACE = uuid.UUID("9b6f2c1e-5d0a-4c7e-9a41-6f7d2e0b8c35")


def default_dotdir(dotdir: str | Path | None) -> Path:
    """The staging dot directory (as :class:`~staging.StagingManager` resolves it), created mode 0700."""
    path = Path(dotdir).expanduser() if dotdir else Path.home() / ".vm-ec2-staging"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def image_layout(source: str | os.PathLike[str]) -> Path:
    """Where ``source`` lands in the image (rsync ``-R``): ``data/x`` at ``data/x``, ``/a/b`` at ``a/b``.

    Raises:
        StagingParameterError: The path climbs out with ``..`` (rsync would keep the ``..``).
    """
    text = os.path.normpath(os.fspath(source)).lstrip("/")
    if text in ("", "."):
        return Path()
    if text == ".." or text.startswith("../"):
        raise StagingParameterError(f"--direct takes no path above the current directory: {source}")
    return Path(text)


def _copy_tree(source: str, dest: Path) -> None:
    """``source`` into ``dest`` with everything kept: hard links when on one file system, else a copy."""
    linked = subprocess.run(["cp", "-al", "--", source, str(dest)], capture_output=True, text=True)
    if linked.returncode == 0:
        return
    if dest.is_dir() and not dest.is_symlink():
        shutil.rmtree(dest)
    else:
        dest.unlink(missing_ok=True)
    copied = subprocess.run(
        ["cp", "-a", "--reflink=auto", "--", source, str(dest)], capture_output=True, text=True
    )
    if copied.returncode != 0:
        raise StagingError(f"cannot gather {source} for the image: {copied.stderr.strip()}")


def _gather(sources: Sequence[str | os.PathLike[str]], root: Path) -> None:
    """Lay the sources out under ``root`` as rsync ``-R`` would on the volume (implied directories keep
    their source directory's mode and times)."""
    implied: dict[Path, str] = {}
    for source in sources:
        rel = image_layout(source)
        if rel == Path():
            for entry in sorted(os.listdir(source)):
                _copy_tree(os.path.join(source, entry), root / entry)
            shutil.copystat(source, root)
            continue
        where = root
        for depth, part in enumerate(rel.parts[:-1]):
            where = where / part
            where.mkdir(exist_ok=True)
            original = "/" * os.fspath(source).startswith("/") + os.path.join(*rel.parts[: depth + 1])
            implied[where] = original
        _copy_tree(os.fspath(source), root / rel)
    for directory in sorted(implied, key=lambda p: len(p.parts), reverse=True):
        shutil.copystat(implied[directory], directory, follow_symlinks=False)


def build_image(
    sources: Sequence[str | os.PathLike[str]],
    image: Path,
    size_gib: int,
    *,
    name: str,
    filesystem: str = "ext4",
) -> None:
    """Build the file-system image of ``sources`` in ``image`` (``size_gib`` GiB, sparse), without root.

    The same sources and name always give the same bytes: the file system's UUID and directory hash seed
    come from ``name`` and mke2fs's clock is fixed.
    """
    fs_uuid = str(uuid.uuid5(_NAMESPACE, name))
    with tempfile.TemporaryDirectory(prefix=".tree-", dir=image.parent) as work:
        root = Path(work) / "root"
        root.mkdir()
        _gather(sources, root)
        os.chmod(root, 0o755)
        os.utime(root, (int(FAKE_TIME), int(FAKE_TIME)))
        with image.open("wb") as f:
            f.truncate(size_gib * GIB)
        argv = [
            "mke2fs", "-F", "-q", "-t", filesystem, "-b", "4096", "-U", fs_uuid,
            "-E", f"hash_seed={fs_uuid},root_owner=0:0", "-d", str(root), str(image),
        ]  # fmt: skip
        env = {**os.environ, "E2FSPROGS_FAKE_TIME": FAKE_TIME}
        done = subprocess.run(argv, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise StagingError(f"mke2fs could not build the image: {done.stderr.strip()}")


def direct_to_snapshot(
    ec2: Any, sources: Sequence[str | os.PathLike[str]], plan: Any, *, filesystem: str,
    dotdir: str | Path | None, reporter: Reporter, timings: dict[str, float], concurrency: int,
) -> tuple[str, int, int, int]:  # fmt: skip
    """Make ``plan``'s version from ``sources`` through the EBS direct APIs.

    Returns ``(snapshot id, its version, blocks put, bytes put)``: the version is ``plan.version`` unless
    another run made that version at the same time (:func:`staging.versions.make_unique`).
    """
    if filesystem not in DIRECT_FILESYSTEMS:
        raise StagingParameterError(f"--direct builds {', '.join(DIRECT_FILESYSTEMS)} only, not {filesystem}")
    home = default_dotdir(dotdir)
    run_tags = RunTags()
    journal: Journal | None = None
    tags = run_tags.temporary(Role.SNAPSHOT, plan.name, Name=plan.name, Version=str(plan.version))

    created = time.monotonic()

    def started(snapshot_id: str) -> None:
        nonlocal journal, created
        created = time.monotonic()
        journal = Journal.open(home, run_tags.run_id, str(ec2.endpoint))
        journal.add("snapshot", snapshot_id, str(ec2.region))

    with signals_raise(), tempfile.TemporaryDirectory(prefix="direct-", dir=home) as work:
        with timed_phase(timings, "prepare"):
            image = Path(work) / "image"
            reporter.step(f"building the {plan.size_gib} GiB {filesystem} image of {len(sources)} path(s)")
            build_image(sources, image, plan.size_gib, name=plan.name, filesystem=filesystem)
        try:
            with timed_phase(timings, "transfer"):
                made = upload_image(
                    ec2, image, parent=plan.parent, dotdir=home, tags=tags, description=plan.name,
                    concurrency=concurrency, reporter=reporter, on_started=started,
                )  # fmt: skip
            with timed_phase(timings, "snapshot"):
                try:
                    version = make_unique(ec2, made.snapshot_id, plan.name, reporter, created=created)
                    ec2.describe_snapshots(made.snapshot_id)[0].delete_tags(EXPIRES)
                except BaseException:  # still temporary: not the caller's yet
                    delete_quietly(ec2, made.snapshot_id)
                    raise
        except BaseException:
            if journal is not None:  # upload_image deleted the snapshot (or logged why it could not)
                _forget(ec2, journal)
            raise
    if journal is not None:
        journal.close()
    log.info("staging.direct.done", snapshot=made.snapshot_id, blocks=made.blocks_put, of=made.blocks_total)
    return made.snapshot_id, version, made.blocks_put, made.bytes_put


def _forget(ec2: Any, journal: Journal) -> None:
    """Close the journal if its snapshot is gone; otherwise leave it for ``gc``."""
    for entry in list(journal.entries):
        try:
            gone = not ec2.describe_snapshots(entry.id)
        except NotFoundError:
            gone = True
        except AWSError:  # cannot tell: gc decides later
            gone = False
        if gone:
            journal.remove(entry.id)
    if not journal.entries:
        journal.close()


@contextlib.contextmanager
def timed_phase(timings: dict[str, float], name: str) -> Iterator[None]:
    """Add the seconds the block takes to ``timings[name]`` (rounded to ms; the sync result's phases)."""
    start = time.monotonic()
    try:
        yield
    finally:
        timings[name] = round(timings.get(name, 0.0) + time.monotonic() - start, 3)


def direct_from_snapshot(
    ec2: Any, snapshot: Any, target: Path, *, excludes: Sequence[str], delete: bool, acls: bool,
    xattrs: bool, dotdir: str | Path | None, reporter: Reporter, timings: dict[str, float], concurrency: int,
) -> Any:  # fmt: skip
    """Bring ``snapshot``'s tree into ``target`` through the EBS direct APIs; returns rsync's result.

    Raises:
        StagingParameterError: Not root (the image is loop-mounted; nothing was read).
    """
    if os.geteuid() != 0:
        raise StagingParameterError("sync_from_snapshot --direct mounts the image: run it as root")
    home = default_dotdir(dotdir)
    with signals_raise(), tempfile.TemporaryDirectory(prefix="direct-", dir=home) as work:
        image, mnt = Path(work) / "image", Path(work) / "mnt"
        mnt.mkdir()
        with timed_phase(timings, "transfer"):
            hashes = download_image(ec2, str(snapshot), image, concurrency=concurrency, reporter=reporter)
        save_hashes(home, str(snapshot), hashes)
        with timed_phase(timings, "prepare"):
            _run(["mount", "-o", "ro,loop,noload", str(image), str(mnt)])
        try:
            target.mkdir(exist_ok=True)
            options = RsyncOptions(
                delete=delete, excludes=("/lost+found", *excludes), acls=acls, xattrs=xattrs
            )
            with timed_phase(timings, "transfer"):
                result = rsync(f"{mnt}/", f"{target}/", options=options)
        finally:
            _run(["umount", str(mnt)])
    return result


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise StagingError(f"{' '.join(argv[:2])} failed: {done.stderr.strip()}")
