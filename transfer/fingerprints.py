"""SSH key fingerprints (pure): the leaf that both :mod:`transfer.errors` and :mod:`transfer.hostkeys` use.

It sits below both so that translating paramiko's host key error (in ``errors``) and pinning keys (in
``hostkeys``) compute fingerprints the same way without importing each other.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Protocol

__all__ = ["PublicKey", "fingerprint_of_key", "fingerprint_sha256"]


class PublicKey(Protocol):
    """Anything that gives its public key blob, as paramiko's ``PKey`` does."""

    def asbytes(self) -> bytes:
        """The raw public key blob (SSH wire format)."""
        ...


def fingerprint_sha256(blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a raw public key blob: ``SHA256:`` + unpadded base64."""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
    return f"SHA256:{digest}"


def fingerprint_of_key(key: PublicKey) -> str:
    """The SHA256 fingerprint of a key object (a paramiko ``PKey``)."""
    return fingerprint_sha256(key.asbytes())
