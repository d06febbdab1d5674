"""How a run gets in: a temporary key pair and a security group that lets only the caller's address in.

Improvements over the original (staging.md §5): the key pair is generated *locally* (ed25519) and only its
public half is imported, so the private key never crosses the API; it is stored 0600 in the dot directory.
The security group allows tcp/22 from the caller's address alone (an explicit ``ssh_cidr``, or a check-IP
lookup), is tagged, and is deleted at cleanup, retrying ``DependencyViolation`` until the instances' network
interfaces are gone. :class:`RunAccess` holds one run's pair and group from first use to cleanup.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provisioning import AWSError, NotFoundError
from staging._log import get_logger
from staging.context import RunContext
from staging.errors import StagingError, StagingParameterError
from staging.tags import ROLE, Role

__all__ = [
    "AWS_CHECKIP_URL",
    "AccessRun",
    "RunAccess",
    "caller_cidr",
    "check_cidr",
    "checkip_url",
    "create_key_pair",
    "create_security_group",
    "delete_key_pair",
    "delete_security_group",
    "dot_directory",
    "find_reusable_key",
    "generate_key",
]

log = get_logger(__name__)

#: AWS's own "what is my address" service (used only when the endpoint is AWS's).
AWS_CHECKIP_URL = "https://checkip.amazonaws.com/"


class AccessRun(RunContext, Protocol):
    """A run as its key pair and security group see it (a :class:`staging.StagingManager`).

    The options are read when they are used, not copied: they are attributes a caller may set after
    construction (the original's accessors), as ``manager.on_exit = "stop"``.

    Attributes:
        on_exit: ``terminate``: the run's servers go at its end, so pair and group are tagged to expire;
            otherwise they are kept (they outlive the run with its servers).
        reuse_key: Use an existing staging key pair whose private key is in the dot directory, and keep it.
        ssh_cidr: Who may ssh in (default: the caller's address, looked up on first use).
    """

    on_exit: str
    reuse_key: bool
    ssh_cidr: str | None

    def dot_directory(self) -> Path:
        """Where private keys live, created 0700 on first use (the original's overridable method)."""


class RunAccess:
    """One run's key pair and security group: made on first use, tagged and journaled by the run.

    At the end the manager either removes them (:meth:`delete_group`, :meth:`delete_key`) or, when servers of
    the run stay stopped or running, hands them over with those servers (:meth:`hand_over`).

    Args:
        run: The run (façade, tags, journal, and its options, read when used).
    """

    def __init__(self, run: AccessRun) -> None:
        self.run = run
        self._key: tuple[str, Path] | None = None
        self._key_created = False
        self._group: str | None = None

    def keypair(self) -> tuple[str, Path]:
        """The key pair ``(name, private key path)``: reused (``reuse_key``) or new."""
        if self._key is None:
            reuse = self.run.reuse_key
            dotdir = self.run.dot_directory()
            found = find_reusable_key(self.run.ec2, dotdir) if reuse else None
            if found is None:
                name = f"staging-key-{secrets.token_hex(4)}"
                tags = self.run.run_tags
                # A new pair expires with the run, unless it is to be reused or stays with the servers.
                tag_fn = tags.temporary if self.run.on_exit == "terminate" and not reuse else tags.kept
                if not reuse:
                    self.run.track("key-pair", name)
                found = (name, create_key_pair(self.run.ec2, dotdir, name, tag_fn(Role.KEY)))
                self._key_created = True
            self._key = found
        return self._key

    def security_group(self) -> str:
        """The security group id (tcp/22 from ``ssh_cidr`` only), made on first use."""
        if self._group is None:
            cidr = self.run.ssh_cidr or caller_cidr(str(self.run.ec2.endpoint))
            name = f"staging-{self.run.run_tags.run_id}"
            tags = self.run.run_tags
            tag_fn = tags.temporary if self.run.on_exit == "terminate" else tags.kept
            self._group = create_security_group(self.run.ec2, name, cidr, tag_fn(Role.GROUP, name))
            self.run.track("security-group", self._group)
        return self._group

    def delete_group(self) -> None:
        """Delete the group (retried while terminated instances still hold it)."""
        if self._group is not None:
            delete_security_group(self.run.ec2, self._group)
            self.run.untrack(self._group)
            self._group = None

    def delete_key(self) -> None:
        """Delete the key pair and its private key, when this run made it and does not reuse it."""
        if self._key is not None and self._key_created and not self.run.reuse_key:
            name, keyfile = self._key
            delete_key_pair(self.run.ec2, name, keyfile)
            self.run.untrack(name)
            self._key = None

    def hand_over(self) -> None:
        """The servers that stay need the pair and group: they leave the journal (no longer temporary)."""
        if self._group is not None:
            self.run.untrack(self._group)
        if self._key is not None:
            self.run.untrack(self._key[0])


def dot_directory(path: Path) -> Path:
    """``path``, created 0700 on first use (private keys and run journals live there)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


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
    """A group that lets tcp/22 in from ``cidr`` and from its own members only; returns its id."""
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
                 "IpRanges": [{"CidrIp": cidr, "Description": "staging ssh from the caller"}],
                 # server-to-server copies (rsync between two staging servers of the run)
                 "UserIdGroupPairs": [{"GroupId": group_id, "Description": "staging servers of this run"}]}
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
