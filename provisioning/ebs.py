"""Helpers for the EBS direct APIs (``ec2.ebs`` / :class:`~provisioning.facade.EBS`).

The operations themselves come from botocore's ``ebs`` model like every other service's; what they leave to
the caller is the block checksum (SHA-256 of the block, in base64) that PutSnapshotBlock wants and
GetSnapshotBlock returns, and the streaming body GetSnapshotBlock answers with.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

__all__ = ["BLOCK_SIZE", "ChecksumMismatch", "block_checksum", "put_block_args", "read_block_body"]

#: The size of every block of the EBS direct APIs (bytes).
BLOCK_SIZE = 512 * 1024


class ChecksumMismatch(ValueError):
    """A block read with GetSnapshotBlock does not match the checksum sent with it."""


def block_checksum(data: bytes) -> str:
    """The checksum of one block as the EBS direct APIs spell it: SHA-256, base64-encoded."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def put_block_args(snapshot_id: str, index: int, data: bytes) -> dict[str, Any]:
    """The keyword arguments of PutSnapshotBlock for ``data`` at ``index`` (length and checksum filled in)."""
    return {
        "SnapshotId": snapshot_id,
        "BlockIndex": index,
        "BlockData": data,
        "DataLength": len(data),
        "Checksum": block_checksum(data),
        "ChecksumAlgorithm": "SHA256",
    }


def read_block_body(response: Any) -> bytes:
    """The bytes of a GetSnapshotBlock answer (a dict or a façade object), checked against its checksum.

    The body is a stream that can be read once; this reads it to the end and closes it.

    Raises:
        ChecksumMismatch: The bytes do not hash to the checksum the service sent.
    """
    body = _member(response, "BlockData")
    try:
        data = bytes(body.read()) if hasattr(body, "read") else bytes(body or b"")
    finally:
        if hasattr(body, "close"):
            body.close()
    expected = _member(response, "Checksum")
    if expected and block_checksum(data) != expected:
        raise ChecksumMismatch(f"block checksum {block_checksum(data)} != {expected} sent by the service")
    return data


def _member(response: Any, name: str) -> Any:
    return response.get(name) if isinstance(response, dict) else getattr(response, name, None)
