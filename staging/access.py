"""How a run gets in: a temporary key pair and a security group that lets only the caller's address in.

Improvements over the original (staging.md §5): the key pair is generated *locally* (ed25519) and only its
public half is imported, so the private key never crosses the API; it is stored 0600 in the dot directory.
The security group allows tcp/22 from the caller's address alone (an explicit ``ssh_cidr``, or a check-IP
lookup), is tagged, and is deleted at cleanup, retrying ``DependencyViolation`` until the instances' network
interfaces are gone.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provisioning import AWSError, NotFoundError
from staging._log import get_logger
from staging.errors import StagingError, StagingParameterError
from staging.tags import ROLE, Role

__all__ = [
    "AWS_CHECKIP_URL",
    "caller_cidr",
    "check_cidr",
    "checkip_url",
    "create_key_pair",
    "create_security_group",
    "delete_key_pair",
    "delete_security_group",
    "find_reusable_key",
    "generate_key",
]

log = get_logger(__name__)

#: AWS's own "what is my address" service (used only when the endpoint is AWS's).
AWS_CHECKIP_URL = "https://checkip.amazonaws.com/"


def generate_key() -> tuple[str, str]:
    """A new ed25519 key: (private key in OpenSSH format, public key line)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return private, public.decode()


def _write_private(path: Path, text: str) -> None:
    """Write a private key 0600 from the first byte (never readable by others, even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def create_key_pair(ec2: Any, dotdir: Path, name: str, tags: dict[str, str]) -> Path:
    """Generate a key locally, import its public half as ``name``; returns the private key's path.

    The private key file is written before the import, so a crash in between leaves a file, not a key pair
    nobody can use.
    """
    private, public = generate_key()
    keyfile = dotdir / f"{name}.pem"
    _write_private(keyfile, private)
    try:
        ec2.import_key_pair(name, public, tag_specifications=tags)
    except BaseException:
        keyfile.unlink(missing_ok=True)
        raise
    log.info("staging.key_pair.created", key_name=name)
    return keyfile


def find_reusable_key(ec2: Any, dotdir: Path) -> tuple[str, Path] | None:
    """A staging key pair of this account whose private key is in ``dotdir`` (``reuse_key``)."""
    for pair in ec2.describe_key_pairs({f"tag:{ROLE}": Role.KEY}):
        keyfile = dotdir / f"{pair.keyName}.pem"
        if keyfile.is_file():
            return str(pair.keyName), keyfile
    return None


def delete_key_pair(ec2: Any, name: str, keyfile: Path | None) -> None:
    """Delete the key pair and its private key file (either may already be gone)."""
    with contextlib.suppress(NotFoundError):
        ec2.delete_key_pair(key_name=name)
    if keyfile is not None:
        keyfile.unlink(missing_ok=True)
    log.info("staging.key_pair.deleted", key_name=name)


def create_security_group(ec2: Any, name: str, cidr: str, tags: dict[str, str]) -> str:
    """A group that lets tcp/22 in from ``cidr`` only; returns its id."""
    group = ec2.create_security_group(
        name, "SSH from the caller only, created by staging (deleted at the end of the run)",
        tag_specifications=tags,
    )  # fmt: skip
    group_id = str(group.groupId)
    try:
        ec2.authorize_security_group_ingress(
            group_id=group_id,
            ip_permissions=[
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                 "IpRanges": [{"CidrIp": cidr, "Description": "staging ssh from the caller"}]}
            ],
        )  # fmt: skip
    except BaseException:
        delete_security_group(ec2, group_id, timeout=30)
        raise
    log.info("staging.security_group.created", group=group_id, cidr=cidr)
    return group_id


def delete_security_group(
    ec2: Any, group_id: str, *, timeout: float = 300.0, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Delete a group, retrying ``DependencyViolation`` while terminated instances still hold it.

    Raises:
        AWSError: Still in use after ``timeout`` seconds, or another refusal.
    """
    deadline = time.monotonic() + timeout
    delay = 1.0
    while True:
        try:
            ec2.delete_security_group(group_id=group_id)
        except NotFoundError:
            return
        except AWSError as exc:
            if exc.code != "DependencyViolation" or time.monotonic() + delay > deadline:
                raise
            log.info("staging.security_group.in_use", group=group_id, retry_in=delay)
            sleep(delay)
            delay = min(delay * 1.5, 10.0)
            continue
        log.info("staging.security_group.deleted", group=group_id)
        return


def checkip_url(endpoint: str) -> str:
    """Where to ask for the caller's address: AWS's service for AWS, ``/_sandbox/checkip`` elsewhere."""
    host = urllib.parse.urlsplit(endpoint).hostname or ""
    if host.endswith((".amazonaws.com", ".amazonaws.com.cn")):
        return AWS_CHECKIP_URL
    return endpoint.rstrip("/") + "/_sandbox/checkip"


def caller_cidr(endpoint: str, *, fetch: Callable[[str], str] | None = None) -> str:
    """The caller's address as the cloud sees it, as a /32 (or /128) CIDR.

    Raises:
        StagingError: The lookup failed (pass ``ssh_cidr`` explicitly then).
    """
    url = checkip_url(endpoint)
    try:
        text = (fetch or _fetch)(url).strip()
        address = ipaddress.ip_address(text)
    except (OSError, ValueError) as exc:
        raise StagingError(
            f"cannot find your address as the cloud sees it ({url}: {exc}); pass ssh_cidr= (--ssh-cidr)"
        ) from exc
    return f"{address}/{address.max_prefixlen}"


def _fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read(100).decode("ascii", "replace"))


def check_cidr(cidr: str) -> str:
    """``cidr`` normalised; a bare address becomes a /32 (or /128).

    Raises:
        StagingParameterError: Not an address or network.
    """
    try:
        return str(ipaddress.ip_network(cidr, strict=False))
    except ValueError as exc:
        raise StagingParameterError(f"not an address or CIDR: {cidr!r}") from exc
