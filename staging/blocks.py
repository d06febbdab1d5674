"""Disk images to and from EBS snapshots through the EBS direct APIs, one 512 KiB block at a time.

:func:`upload_image` writes a local image file into a new snapshot, sending only the blocks that differ from
a parent snapshot (the parent's block hashes come from a local cache keyed by snapshot id, or are read back
with ListSnapshotBlocks/GetSnapshotBlock); :func:`download_image` reads a snapshot into a sparse local file.
Both run the block calls in parallel (bounded by ``concurrency``) and retry throttling with backoff. The
snapshot upload_image starts is deleted again if anything fails before it completes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from provisioning import AWSError
from provisioning.ebs import BLOCK_SIZE, put_block_args, read_block_body
from staging._log import get_logger
from staging.errors import StagingError
from staging.progress import LogReporter, Reporter

__all__ = [
    "BLOCK_SIZE",
    "UploadResult",
    "delete_quietly",
    "download_image",
    "image_hashes",
    "load_hashes",
    "save_hashes",
    "snapshot_hashes",
    "upload_image",
]

log = get_logger(__name__)

GIB = 1024**3
#: Parallel block calls by default (the EBS direct APIs allow far more per snapshot; this keeps memory small).
CONCURRENCY = 8
#: Error codes worth another try after a pause.
RETRYABLE = frozenset(
    {"RequestThrottledException", "ThrottlingException", "RequestLimitExceeded", "InternalServerException",
     "ServiceUnavailable", "ConcurrentLimitExceededException"}
)  # fmt: skip
ATTEMPTS = 8
_ZERO = bytes(BLOCK_SIZE)
T = TypeVar("T")

#: ``{block index: SHA-256 hex}`` of the blocks that hold anything but zeros.
Hashes = dict[int, str]


@dataclass(frozen=True)
class UploadResult:
    """What :func:`upload_image` did: the snapshot, blocks sent (of the image's non-zero ones), bytes sent."""

    snapshot_id: str
    blocks_put: int
    blocks_total: int
    bytes_put: int
    size_gib: int


def retrying(call: Callable[[], T], what: str) -> T:
    """``call()``, again after a growing pause (with jitter) while it fails with a retryable AWS error."""
    for attempt in range(ATTEMPTS):
        try:
            return call()
        except AWSError as exc:
            if exc.code not in RETRYABLE or attempt == ATTEMPTS - 1:
                raise
            pause = min(5.0, 0.05 * 2**attempt) * (0.5 + random.random())  # jitter
            log.debug("staging.blocks.retry", what=what, code=exc.code, pause=round(pause, 3))
            time.sleep(pause)
    raise AssertionError("unreachable")


def _data_ranges(fd: int, size: int) -> Iterator[int]:
    """Indexes of the blocks of an open file that are not holes."""
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError:  # ENXIO: only a hole is left
            return
        end = os.lseek(fd, start, os.SEEK_HOLE)
        yield from range(start // BLOCK_SIZE, math.ceil(end / BLOCK_SIZE))
        offset = math.ceil(end / BLOCK_SIZE) * BLOCK_SIZE


def image_hashes(path: Path) -> Hashes:
    """The hashes of the non-zero blocks of a local image file (holes are skipped without reading)."""
    hashes: Hashes = {}
    fd = os.open(path, os.O_RDONLY)
    try:
        for index in _data_ranges(fd, os.fstat(fd).st_size):
            data = os.pread(fd, BLOCK_SIZE, index * BLOCK_SIZE)
            data += bytes(BLOCK_SIZE - len(data))
            if data != _ZERO:
                hashes[index] = hashlib.sha256(data).hexdigest()
    finally:
        os.close(fd)
    return hashes


def _cache_file(dotdir: Path, snapshot_id: str) -> Path:
    return dotdir / "blocks" / f"{snapshot_id}.json"


def load_hashes(dotdir: Path, snapshot_id: str) -> Hashes | None:
    """The cached block hashes of ``snapshot_id`` (None when not cached or unreadable)."""
    try:
        data = json.loads(_cache_file(dotdir, snapshot_id).read_text())
        return {int(k): str(v) for k, v in data["hashes"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def save_hashes(dotdir: Path, snapshot_id: str, hashes: Mapping[int, str]) -> None:
    """Cache the block hashes of ``snapshot_id`` (atomically; a snapshot's blocks never change)."""
    path = _cache_file(dotdir, snapshot_id)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps({"snapshot": snapshot_id, "hashes": {str(k): v for k, v in hashes.items()}}))
    os.replace(tmp, path)


def _listed_blocks(ebs: Any, snapshot_id: str) -> Iterator[tuple[int, str]]:
    """``(index, token)`` of every block ListSnapshotBlocks lists, following NextToken."""
    token: str | None = None
    while True:
        args: dict[str, Any] = {"SnapshotId": snapshot_id, "MaxResults": 10000}
        if token:
            args["NextToken"] = token
        page = retrying(functools.partial(ebs.list_snapshot_blocks, **args), "list_snapshot_blocks")
        for entry in page.Blocks or []:
            yield int(entry.BlockIndex), str(entry.BlockToken)
        token = page.NextToken
        if not token:
            return


def _parallel(work: Mapping[int, Callable[[], Any]], concurrency: int, done: Callable[[int], None]) -> None:
    """Run every call of ``work`` on ``concurrency`` threads; the first failure stops the rest and raises."""
    stop = threading.Event()

    def run(index: int) -> Any:
        if stop.is_set():
            return None
        result = work[index]()
        done(index)
        return result

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="ebs-block") as pool:
        futures: list[Future[Any]] = [pool.submit(run, i) for i in work]
        try:
            finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
        except BaseException:
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        for future in finished:
            if future.exception() is not None:
                stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise future.exception()  # type: ignore[misc]


def _block_getter(ebs: Any, snapshot_id: str, index: int, token: str) -> Callable[[], bytes]:
    def get() -> bytes:
        answer = ebs.get_snapshot_block(SnapshotId=snapshot_id, BlockIndex=index, BlockToken=token)
        return read_block_body(answer)

    return lambda: retrying(get, "get_snapshot_block")


def snapshot_hashes(ec2: Any, snapshot_id: str, *, concurrency: int = CONCURRENCY) -> Hashes:
    """The block hashes of a snapshot, read back with the EBS direct APIs (when they are not cached)."""
    hashes: Hashes = {}
    lock = threading.Lock()
    blocks = dict(_listed_blocks(ec2.ebs, snapshot_id))

    def hasher(index: int) -> Callable[[], None]:
        fetch = _block_getter(ec2.ebs, snapshot_id, index, blocks[index])

        def run() -> None:
            data = fetch()
            if data != _ZERO:
                with lock:
                    hashes[index] = hashlib.sha256(data).hexdigest()

        return run

    _parallel({i: hasher(i) for i in blocks}, concurrency, lambda _i: None)
    return hashes


def delete_quietly(ec2: Any, snapshot_id: str) -> None:
    """Delete a snapshot that must not stay; if that fails, log it (tag and journal lead ``gc`` to it)."""
    try:
        ec2.delete_snapshot(snapshot_id)
    except AWSError as exc:
        log.error("staging.snapshot_not_deleted", snapshot=snapshot_id, error=str(exc))


def _wait_completed(ec2: Any, snapshot_id: str, timeout: float = 3600.0) -> Any:
    """The EC2 snapshot once ``completed`` (CompleteSnapshot finishes asynchronously on AWS)."""
    deadline = time.monotonic() + timeout
    while True:
        snapshot = retrying(lambda: ec2.describe_snapshots(snapshot_id)[0], "describe_snapshots")
        if snapshot.status == "completed":
            return snapshot
        if snapshot.status == "error" or time.monotonic() > deadline:
            raise StagingError(f"snapshot {snapshot_id} did not complete (state {snapshot.status})")
        time.sleep(1.0)


def upload_image(
    ec2: Any,
    image: Path,
    *,
    parent: str | None = None,
    dotdir: Path | None = None,
    tags: Mapping[str, str] | None = None,
    description: str = "",
    concurrency: int = CONCURRENCY,
    reporter: Reporter | None = None,
    on_started: Callable[[str], None] | None = None,
) -> UploadResult:
    """Write the image file ``image`` into a new snapshot (its size rounded up to whole GiB).

    Only blocks whose bytes differ from ``parent``'s are sent (a block that became zeros is written as
    zeros); the snapshot inherits the rest. ``on_started`` is called with the new snapshot's id before any
    block is written (to record it); the hashes of the new snapshot are cached in ``dotdir``.

    Raises:
        provisioning.VMEC2Error, StagingError: A call failed (the new snapshot has been deleted).
    """
    reporter = reporter or LogReporter()
    size_gib = max(1, math.ceil(image.stat().st_size / GIB))
    local = image_hashes(image)
    before: Hashes = {}
    if parent is not None:
        cached = load_hashes(dotdir, parent) if dotdir is not None else None
        if cached is None:
            reporter.step(f"reading the block hashes of {parent} (not cached)")
        before = cached if cached is not None else snapshot_hashes(ec2, parent, concurrency=concurrency)
    changed = sorted(i for i in set(local) | set(before) if local.get(i) != before.get(i))
    started = retrying(
        lambda: ec2.ebs.start_snapshot(
            VolumeSize=size_gib,
            Description=description,
            Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
            **({"ParentSnapshotId": parent} if parent else {}),
        ),
        "start_snapshot",
    )
    snapshot_id = str(started.SnapshotId)
    try:
        if on_started is not None:
            on_started(snapshot_id)
        reporter.step(f"writing {len(changed)} of {len(local)} blocks into {snapshot_id}")
        _put_blocks(ec2.ebs, image, snapshot_id, changed, concurrency, reporter)
        retrying(
            lambda: ec2.ebs.complete_snapshot(SnapshotId=snapshot_id, ChangedBlocksCount=len(changed)),
            "complete_snapshot",
        )
        _wait_completed(ec2, snapshot_id)
    except BaseException:
        delete_quietly(ec2, snapshot_id)
        raise
    if dotdir is not None:
        save_hashes(dotdir, snapshot_id, local)
    return UploadResult(snapshot_id, len(changed), len(local), len(changed) * BLOCK_SIZE, size_gib)


def _put_blocks(ebs: Any, image: Path, snapshot_id: str, changed: list[int], concurrency: int,
                reporter: Reporter) -> None:  # fmt: skip
    fd = os.open(image, os.O_RDONLY)
    sent = 0
    lock = threading.Lock()
    began = time.monotonic()

    def putter(index: int) -> Callable[[], Any]:
        def put() -> Any:
            data = os.pread(fd, BLOCK_SIZE, index * BLOCK_SIZE)
            data += bytes(BLOCK_SIZE - len(data))
            return retrying(lambda: ebs.put_snapshot_block(**put_block_args(snapshot_id, index, data)), "put")

        return put

    def done(_index: int) -> None:
        nonlocal sent
        with lock:
            sent += BLOCK_SIZE
            rate = sent / max(time.monotonic() - began, 1e-6)
            reporter.transfer(sent, len(changed) * BLOCK_SIZE, rate)

    try:
        _parallel({i: putter(i) for i in changed}, concurrency, done)
    finally:
        os.close(fd)
        reporter.transfer_done()


def download_image(
    ec2: Any,
    snapshot_id: str,
    image: Path,
    *,
    concurrency: int = CONCURRENCY,
    reporter: Reporter | None = None,
) -> Hashes:
    """Read snapshot ``snapshot_id`` into the sparse file ``image`` (its volume size); returns its hashes."""
    reporter = reporter or LogReporter()
    blocks = dict(_listed_blocks(ec2.ebs, snapshot_id))
    size = int(ec2.describe_snapshots(snapshot_id)[0].volumeSize) * GIB
    hashes: Hashes = {}
    lock = threading.Lock()
    got = 0
    began = time.monotonic()
    with image.open("wb") as f:
        f.truncate(size)
    fd = os.open(image, os.O_WRONLY)

    def getter(index: int) -> Callable[[], None]:
        fetch = _block_getter(ec2.ebs, snapshot_id, index, blocks[index])

        def run() -> None:
            data = fetch()
            if data != _ZERO:
                os.pwrite(fd, data, index * BLOCK_SIZE)
                with lock:
                    hashes[index] = hashlib.sha256(data).hexdigest()

        return run

    def done(_index: int) -> None:
        nonlocal got
        with lock:
            got += BLOCK_SIZE
            reporter.transfer(got, len(blocks) * BLOCK_SIZE, got / max(time.monotonic() - began, 1e-6))

    reporter.step(f"reading {len(blocks)} blocks of {snapshot_id}")
    try:
        _parallel({i: getter(i) for i in blocks}, concurrency, done)
    finally:
        os.close(fd)
        reporter.transfer_done()
    return hashes
