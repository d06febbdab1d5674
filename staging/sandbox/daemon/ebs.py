"""The EBS direct APIs in the sandbox, answered from the snapshots' sparse files (moto's keep nothing real).

moto's EBS backend reports 512-byte blocks, leaves a stray EC2 volume, marks the snapshot completed at once,
validates no put and keeps the blocks in memory. Here every call is answered by this module (the
:class:`~staging.sandbox.daemon.wsgi.SandboxMiddleware` routes requests signed for the ``ebs`` service to
:func:`handle`):

- StartSnapshot makes a ``pending`` EC2 snapshot (``VolumeId`` ``vol-ffffffff`` as on AWS, no volume) whose
  file starts as a copy of the parent's (or empty) and grows sparsely to the volume size;
- PutSnapshotBlock checks what AWS checks (the snapshot pending, the index inside the volume, exactly
  512 KiB, the SHA-256 checksum in base64) and writes the block into that file;
- CompleteSnapshot checks the changed-block count and marks the EC2 snapshot ``completed`` (``error`` when
  the count is wrong, as AWS would);
- ListSnapshotBlocks, ListChangedBlocks and GetSnapshotBlock answer for any snapshot (also one made by
  CreateSnapshot or CopySnapshot) from its file: a block is listed where the file holds data, tokens are
  stable (they name snapshot and index), pages follow ``MaxResults``, and the diff compares the bytes.

Errors are rest-json documents with AWS's codes (``ValidationException`` with a ``Reason``,
``ResourceNotFoundException``, ``RequestThrottledException``...).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs

from staging.sandbox.daemon.cloud import SandboxCloud
from staging.sandbox.daemon.facts import SnapshotState

#: The block size of the EBS direct APIs (bytes).
BLOCK = 512 * 1024
GIB = 1024**3
#: Seconds the block tokens of a listing stay valid (AWS: 7 days).
LISTING_EXPIRY = 7 * 86400.0
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/ebs/aws4_request")
_BLOCK_PATH = re.compile(r"^/snapshots/(snap-[0-9a-f]+)/blocks/([^/]+)$")


class EBSError(Exception):
    """An EBS direct error answer: HTTP status, AWS's error code, message and (for some codes) a reason."""

    def __init__(self, status: int, code: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.reason = status, code, message, reason

    def body(self) -> bytes:
        """The rest-json error document."""
        doc: dict[str, Any] = {"message": self.message}
        if self.reason:
            doc["Reason"] = self.reason
        return json.dumps(doc).encode()


def invalid(message: str, reason: str = "INVALID_PARAMETER_VALUE") -> EBSError:
    """A ``ValidationException`` (HTTP 400)."""
    return EBSError(400, "ValidationException", message, reason)


def throttled() -> EBSError:
    """What the throttling fault answers to an EBS direct call."""
    return EBSError(400, "RequestThrottledException", "Rate exceeded.", "ACCOUNT_THROTTLED")


def ebs_region(environ: dict[str, Any]) -> str | None:
    """The region of a request signed for the ``ebs`` service, or None for any other request."""
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else None


@dataclass(frozen=True)
class SnapshotInfo:
    """What the EBS direct calls read of an EC2 snapshot."""

    id: str
    status: str
    volume_size: int
    encrypted: bool
    owner_id: str
    start_time: float
    description: str


class Snapshots(Protocol):
    """The EC2 snapshots the EBS direct calls work on (moto's, through the hooks)."""

    def find(self, region: str, snapshot_id: str) -> SnapshotInfo | None:
        """The snapshot, or None when the region has no such snapshot."""

    def new_id(self) -> str:
        """A fresh snapshot id."""

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
        """Record a new ``pending`` snapshot of a volume of ``size`` GiB (``vol-ffffffff``, as on AWS)."""


def checksum(data: bytes) -> str:
    """The SHA-256 of ``data`` in base64 (the EBS direct APIs' block checksum)."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def block_token(snapshot_id: str, index: int) -> str:
    """A stable token naming one block of one snapshot."""
    return base64.urlsafe_b64encode(f"{snapshot_id}:{index}".encode()).decode()


def data_blocks(path: Path, start: int = 0) -> Iterator[int]:
    """Indexes (from ``start``) of the 512 KiB blocks of ``path`` that hold data (holes are skipped)."""
    if not path.exists():
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        offset = start * BLOCK
        while offset < size:
            try:
                data = os.lseek(fd, offset, os.SEEK_DATA)
            except OSError:  # ENXIO: no data after offset
                return
            hole = os.lseek(fd, data, os.SEEK_HOLE)
            yield from range(data // BLOCK, (hole + BLOCK - 1) // BLOCK)
            offset = max(hole, (hole + BLOCK - 1) // BLOCK * BLOCK)
    finally:
        os.close(fd)


def read_block(path: Path, index: int) -> bytes:
    """Block ``index`` of ``path`` (zeros past its end or where it has no file)."""
    if not path.exists():
        return bytes(BLOCK)
    with path.open("rb") as f:
        f.seek(index * BLOCK)
        data = f.read(BLOCK)
    return data + bytes(BLOCK - len(data))


class EBSDirect:
    """The six EBS direct calls over one sandbox's EC2 snapshots and their files."""

    def __init__(self, cloud: SandboxCloud, snapshots: Snapshots) -> None:
        self.cloud = cloud
        self.snapshots = snapshots
        #: Blocks put into each pending snapshot (what CompleteSnapshot's count is checked against).
        self.put: dict[str, set[int]] = {}

    def _snapshot(self, region: str, snapshot_id: str) -> SnapshotInfo:
        snapshot = self.snapshots.find(region, snapshot_id)
        if snapshot is None:
            raise EBSError(
                404,
                "ResourceNotFoundException",
                f"The snapshot '{snapshot_id}' does not exist.",
                "SNAPSHOT_NOT_FOUND",
            )
        return snapshot

    # --- writing ----------------------------------------------------------------------------------------
    def start(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        """StartSnapshot: a pending snapshot (the parent's blocks inherited)."""
        size = request.get("VolumeSize")
        if not isinstance(size, int) or not 1 <= size <= 65536:
            raise invalid("VolumeSize must be an integer from 1 to 65536.", "INVALID_VOLUME_SIZE")
        timeout = request.get("Timeout", 60)
        if not isinstance(timeout, int) or not 10 <= timeout <= 4320:
            raise invalid("Timeout must be from 10 to 4320 minutes.")
        if request.get("KmsKeyArn") and not request.get("Encrypted"):
            raise invalid("KmsKeyArn requires Encrypted.", "INVALID_CUSTOMER_KEY")
        parent_id = request.get("ParentSnapshotId")
        parent = self._snapshot(region, parent_id) if parent_id else None
        if parent is not None:
            if parent.status != "completed":
                raise invalid(f"The parent snapshot '{parent_id}' is not completed.", "INVALID_SNAPSHOT_ID")
            if size < int(parent.volume_size):
                raise invalid(
                    f"VolumeSize {size} is smaller than the parent snapshot's {parent.volume_size} GiB.",
                    "INVALID_VOLUME_SIZE",
                )
        tags = request.get("Tags") or []
        if any(not isinstance(t, dict) or not t.get("Key") for t in tags):
            raise invalid("Every tag needs a Key.", "INVALID_TAG")
        snapshot_id = self.snapshots.new_id()
        encrypted = bool(request.get("Encrypted") or (parent is not None and parent.encrypted))
        path = self.cloud.store.snapshot_file(snapshot_id)
        if parent is not None:
            self.cloud.store.copy_snapshot(parent.id, snapshot_id)
        with path.open("ab") as f:
            f.truncate(max(size * GIB, path.stat().st_size))
        snapshot = self.snapshots.start(
            region,
            snapshot_id,
            size,
            request.get("Description") or "",
            encrypted,
            request.get("KmsKeyArn"),
            {t["Key"]: t.get("Value", "") for t in tags},
        )
        self.put[snapshot_id] = set()
        self.cloud.note_created(snapshot_id)
        self.cloud.later(timeout * 60.0, lambda: self._expire(snapshot_id))
        answer = {
            "SnapshotId": snapshot_id,
            "OwnerId": snapshot.owner_id,
            "Status": "pending",
            "StartTime": snapshot.start_time,
            "VolumeSize": size,
            "BlockSize": BLOCK,
            "Tags": [{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags],
            "Description": snapshot.description,
            "SseType": "sse-ebs" if encrypted else "none",
        }
        if parent_id:
            answer["ParentSnapshotId"] = parent_id
        if request.get("KmsKeyArn"):
            answer["KmsKeyArn"] = request["KmsKeyArn"]
        return answer

    def _expire(self, snapshot_id: str) -> None:
        """A snapshot not completed within its Timeout goes to ``error`` (AWS)."""
        if self.cloud.publish(SnapshotState(snapshot_id, "error", only_if="pending")):
            self.put.pop(snapshot_id, None)

    def put_block(
        self, region: str, snapshot_id: str, index_text: str, headers: dict[str, str], body: bytes
    ) -> dict[str, str]:
        """PutSnapshotBlock, validated as AWS does, into the snapshot's file."""
        snapshot = self._snapshot(region, snapshot_id)
        if snapshot.status != "pending" or snapshot_id not in self.put:
            raise invalid(
                f"The snapshot '{snapshot_id}' is not pending: blocks can only be written before completion.",
                "INVALID_SNAPSHOT_ID",
            )
        index = self._index(snapshot, index_text)
        algorithm = headers.get("x-amz-checksum-algorithm", "")
        if algorithm != "SHA256":
            raise invalid("ChecksumAlgorithm must be SHA256.")
        length = headers.get("x-amz-data-length", "")
        if not length.isdigit() or int(length) != len(body):
            raise invalid("DataLength does not match the length of the block data.", "INVALID_BLOCK")
        if len(body) != BLOCK:
            raise invalid(f"The block data must be exactly {BLOCK} bytes, not {len(body)}.", "INVALID_BLOCK")
        expected = headers.get("x-amz-checksum", "")
        if checksum(body) != expected:
            raise invalid("The checksum does not match the block data.", "INVALID_BLOCK")
        with self.cloud.store.snapshot_file(snapshot_id).open("r+b") as f:
            f.seek(index * BLOCK)
            f.write(body)
        self.put[snapshot_id].add(index)
        return {"x-amz-Checksum": expected, "x-amz-Checksum-Algorithm": "SHA256"}

    def complete(self, region: str, snapshot_id: str, headers: dict[str, str]) -> dict[str, Any]:
        """CompleteSnapshot: ``completed`` if the changed-block count is right, ``error`` otherwise."""
        snapshot = self._snapshot(region, snapshot_id)
        count = headers.get("x-amz-changedblockscount", "")
        if not count.isdigit():
            raise invalid("ChangedBlocksCount must be a non-negative integer.")
        if snapshot.status != "pending" or snapshot_id not in self.put:
            raise invalid(f"The snapshot '{snapshot_id}' is not pending.", "INVALID_SNAPSHOT_ID")
        written = self.put.pop(snapshot_id)
        status = "completed" if int(count) == len(written) else "error"
        self.cloud.publish(SnapshotState(snapshot_id, status))
        return {"Status": status}

    # --- reading ----------------------------------------------------------------------------------------
    def _index(self, snapshot: SnapshotInfo, text: str) -> int:
        blocks = int(snapshot.volume_size) * GIB // BLOCK
        if not text.isdigit() or int(text) >= blocks:
            raise invalid(f"BlockIndex must be from 0 to {blocks - 1}.", "INVALID_BLOCK")
        return int(text)

    def _readable(self, region: str, snapshot_id: str) -> SnapshotInfo:
        snapshot = self._snapshot(region, snapshot_id)
        if snapshot.status != "completed":
            raise invalid(f"The snapshot '{snapshot_id}' is not completed.", "INVALID_SNAPSHOT_ID")
        return snapshot

    def get_block(
        self, region: str, snapshot_id: str, index_text: str, query: dict[str, str]
    ) -> tuple[bytes, dict[str, str]]:
        """GetSnapshotBlock: the block's bytes, if the token is this block's."""
        snapshot = self._readable(region, snapshot_id)
        index = self._index(snapshot, index_text)
        if query.get("blockToken") != block_token(snapshot_id, index):
            raise invalid("The block token is not valid for this block.", "INVALID_BLOCK_TOKEN")
        data = read_block(self.cloud.store.snapshot_file(snapshot_id), index)
        return data, {
            "x-amz-Data-Length": str(len(data)),
            "x-amz-Checksum": checksum(data),
            "x-amz-Checksum-Algorithm": "SHA256",
        }

    def list_blocks(self, region: str, snapshot_id: str, query: dict[str, str]) -> dict[str, Any]:
        """ListSnapshotBlocks: the blocks that hold data, a page at a time."""
        snapshot = self._readable(region, snapshot_id)
        start, limit = _page(query)
        found = data_blocks(self.cloud.store.snapshot_file(snapshot_id), start)
        page, next_index = _take(found, limit)
        answer = self._listing(snapshot, next_index)
        answer["Blocks"] = [{"BlockIndex": i, "BlockToken": block_token(snapshot_id, i)} for i in page]
        return answer

    def list_changed(self, region: str, second_id: str, query: dict[str, str]) -> dict[str, Any]:
        """ListChangedBlocks: blocks whose bytes differ (without a first: every data block of the second)."""
        second = self._readable(region, second_id)
        first_id = query.get("firstSnapshotId")
        first = self._readable(region, first_id) if first_id else None
        if first is not None and int(first.volume_size) != int(second.volume_size):
            raise invalid("The two snapshots have different volume sizes.", "UNRELATED_SNAPSHOTS")
        start, limit = _page(query)
        store = self.cloud.store
        second_file = store.snapshot_file(second_id)
        first_file = store.snapshot_file(first_id) if first_id else None
        in_second = set(data_blocks(second_file, start))
        in_first = set(data_blocks(first_file, start)) if first_file is not None else set()

        def changed() -> Iterator[int]:
            for i in sorted(in_second | in_first):
                if first_file is None or read_block(first_file, i) != read_block(second_file, i):
                    yield i

        page, next_index = _take(changed(), limit)
        answer = self._listing(second, next_index)
        blocks = []
        for i in page:
            entry: dict[str, Any] = {"BlockIndex": i}
            if first_id and i in in_first:
                entry["FirstBlockToken"] = block_token(first_id, i)
            if i in in_second:
                entry["SecondBlockToken"] = block_token(second_id, i)
            blocks.append(entry)
        answer["ChangedBlocks"] = blocks
        return answer

    def _listing(self, snapshot: SnapshotInfo, next_index: int | None) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "ExpiryTime": time.time() + LISTING_EXPIRY,
            "VolumeSize": int(snapshot.volume_size),
            "BlockSize": BLOCK,
        }
        if next_index is not None:
            answer["NextToken"] = base64.urlsafe_b64encode(f"next:{next_index}".encode()).decode()
        return answer


def _page(query: dict[str, str]) -> tuple[int, int]:
    """``(first index, page size)`` from StartingBlockIndex, NextToken and MaxResults."""
    start_text, limit_text = query.get("startingBlockIndex", "0"), query.get("maxResults", "10000")
    if not start_text.isdigit():
        raise invalid("StartingBlockIndex must be a non-negative integer.")
    if not limit_text.isdigit() or not 100 <= int(limit_text) <= 10000:
        raise invalid("MaxResults must be from 100 to 10000.")
    start = int(start_text)
    token = query.get("pageToken")
    if token:
        try:
            kind, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
            if kind != "next" or not value.isdigit():
                raise ValueError(token)
        except ValueError:
            raise invalid("The page token is not valid.", "INVALID_PAGE_TOKEN") from None
        start = max(start, int(value))
    return start, int(limit_text)


def _take(found: Iterator[int], limit: int) -> tuple[list[int], int | None]:
    page: list[int] = []
    for index in found:
        if len(page) == limit:
            return page, index
        page.append(index)
    return page, None


def handle(
    direct: EBSDirect, environ: dict[str, Any], region: str, body: bytes
) -> tuple[int, bytes, dict[str, str], str]:
    """One EBS direct request answered: ``(status, body, headers, content type)``, or :class:`EBSError`."""
    method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "")
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
    as_json = "application/json"
    if method == "POST" and path == "/snapshots":
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            raise invalid("The request body is not JSON.") from None
        return 201, json.dumps(direct.start(region, request)).encode(), {}, as_json
    if method == "POST" and path.startswith("/snapshots/completion/"):
        answer = direct.complete(region, path.rsplit("/", 1)[1], headers)
        return 202, json.dumps(answer).encode(), {}, as_json
    match = _BLOCK_PATH.match(path)
    if match and method == "PUT":
        return 201, b"", direct.put_block(region, match[1], match[2], headers, body), as_json
    if match and method == "GET":
        data, extra = direct.get_block(region, match[1], match[2], query)
        return 200, data, extra, "application/octet-stream"
    parts = path.strip("/").split("/")
    if (
        method == "GET"
        and len(parts) == 3
        and parts[0] == "snapshots"
        and parts[2] in ("blocks", "changedblocks")
    ):
        if parts[2] == "blocks":
            answer = direct.list_blocks(region, parts[1], query)
        else:
            answer = direct.list_changed(region, parts[1], query)
        return 200, json.dumps(answer).encode(), {}, as_json
    raise EBSError(404, "ResourceNotFoundException", f"No EBS direct operation at {method} {path}.")
