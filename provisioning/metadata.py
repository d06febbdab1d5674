"""The instance metadata service client (VM::EC2::Instance::Metadata), IMDSv2 only.

Every request first holds a session token: ``PUT /latest/api/token`` with a TTL header, then each ``GET``
carries ``X-aws-ec2-metadata-token``. A token that stops working (HTTP 401) is renewed once. Values are
cached per path, as VM::EC2 did; :meth:`InstanceMetadata.clear` forgets them. Off EC2 the first call fails
quickly with :class:`MetadataError` naming the address, instead of hanging.

Proxies are never used: the service is link-local. The base URL, timeouts and token TTL are injectable,
so tests point the client at a loopback server that plays the service.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._log import get_logger
from .errors import VMEC2Error
from .naming import normalize

if TYPE_CHECKING:
    from .sts import Credentials

__all__ = ["DEFAULT_BASE_URL", "InstanceMetadata", "MetadataError"]

log = get_logger(__name__)

DEFAULT_BASE_URL = "http://169.254.169.254"
_TOKEN_PATH = "/latest/api/token"
_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
_TOKEN_HEADER = "X-aws-ec2-metadata-token"


class MetadataError(VMEC2Error):
    """The metadata service cannot be reached or refused a request (e.g. not running on EC2)."""


#: VM::EC2's other names for fields (its mixedCase spellings resolve through :meth:`__getattr__` too).
ALIASES: dict[str, str] = {
    "image_location": "ami_manifest_path",
    "image_ancestor_ids": "ancestor_ami_ids",
    "private_dns_name": "local_hostname",
    "private_ip_address": "local_ipv4",
    "dns_name": "public_hostname",
    "ip_address": "public_ipv4",
    "zone": "availability_zone",
}


def _simple(name: str, path: str) -> property:
    def get(self: InstanceMetadata) -> str | None:
        return self.fetch(path)

    get.__doc__ = f"``meta-data/{path}`` (None when the instance has none)."
    get.__name__ = name
    return property(get)


class InstanceMetadata:
    """Read the metadata of the EC2 instance this code runs on.

    Args:
        base_url: The service's address (default ``http://169.254.169.254``).
        timeout: Seconds to wait for each request (the service answers in milliseconds on EC2).
        token_ttl: Lifetime in seconds requested for the IMDSv2 session token.
        clock: Monotonic clock, for tests of token expiry.

    Every field is a property that makes (at most) one request and caches the answer::

        md = ec2.instance_metadata()
        md.instance_id, md.availability_zone, md.region, md.security_groups, md.interfaces
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 2.0,
        token_ttl: int = 21600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.token_ttl = token_ttl
        self._clock = clock
        self._token: str | None = None
        self._token_expires = 0.0
        self._cache: dict[str, str | None] = {}
        self._lock = threading.Lock()
        # The service is link-local: never go through an HTTP proxy from the environment.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def __repr__(self) -> str:
        return f"<InstanceMetadata {self.base_url}>"

    # --- transport --------------------------------------------------------------------------------------

    def _open(self, request: urllib.request.Request) -> bytes:
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError:
            raise
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:  # refused, no HTTP...
            reason = getattr(exc, "reason", exc)
            raise MetadataError(
                f"instance metadata service at {self.base_url} is unreachable ({reason}); "
                "is this running on an EC2 instance with the metadata service enabled?"
            ) from exc

    def token(self, *, renew: bool = False) -> str:
        """The IMDSv2 session token, fetched (``PUT``) when missing, expired or ``renew`` is set."""
        with self._lock:
            if renew or self._token is None or self._clock() >= self._token_expires:
                request = urllib.request.Request(
                    self.base_url + _TOKEN_PATH, method="PUT", headers={_TTL_HEADER: str(self.token_ttl)}
                )
                try:
                    self._token = self._open(request).decode("ascii").strip()
                except urllib.error.HTTPError as exc:
                    raise MetadataError(f"metadata token request refused: HTTP {exc.code}") from exc
                # Renew a little early so a token never expires between check and use.
                self._token_expires = self._clock() + max(1.0, self.token_ttl - 30)
            return self._token

    def get(self, path: str) -> str | None:
        """``GET /latest/<path>`` with the session token; None for 404. Not cached."""
        url = f"{self.base_url}/latest/{path.lstrip('/')}"
        for attempt in (1, 2):
            request = urllib.request.Request(url, headers={_TOKEN_HEADER: self.token(renew=attempt == 2)})
            try:
                return self._open(request).decode("utf-8")
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    return None
                if exc.code == 401 and attempt == 1:
                    log.debug("metadata.token_renewed", path=path)
                    continue
                raise MetadataError(f"metadata request for {path} failed: HTTP {exc.code}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def fetch(self, path: str) -> str | None:
        """``meta-data/<path>``, URL-unescaped and cached (VM::EC2's ``fetch``); None when absent."""
        if path not in self._cache:
            value = self.get(f"meta-data/{path}")
            self._cache[path] = None if value is None else urllib.parse.unquote(value)
        return self._cache[path]

    def clear(self) -> None:
        """Forget cached values (the token is kept)."""
        self._cache.clear()

    def _list(self, path: str) -> list[str]:
        value = self.fetch(path)
        return value.split() if value else []

    def _keys(self, path: str) -> list[str]:
        """The entries of a metadata directory listing, without trailing slashes."""
        return [line.rstrip("/") for line in self._list(path)]

    # --- fields -----------------------------------------------------------------------------------------

    image_id = _simple("image_id", "ami-id")
    ami_manifest_path = _simple("ami_manifest_path", "ami-manifest-path")
    instance_action = _simple("instance_action", "instance-action")
    instance_id = _simple("instance_id", "instance-id")
    instance_type = _simple("instance_type", "instance-type")
    local_hostname = _simple("local_hostname", "local-hostname")
    local_ipv4 = _simple("local_ipv4", "local-ipv4")
    kernel_id = _simple("kernel_id", "kernel-id")
    mac = _simple("mac", "mac")
    availability_zone = _simple("availability_zone", "placement/availability-zone")
    public_hostname = _simple("public_hostname", "public-hostname")
    public_ipv4 = _simple("public_ipv4", "public-ipv4")
    ramdisk_id = _simple("ramdisk_id", "ramdisk-id")
    reservation_id = _simple("reservation_id", "reservation-id")
    profile = _simple("profile", "profile")

    @property
    def image_launch_index(self) -> int | None:
        """``meta-data/ami-launch-index`` as an int."""
        value = self.fetch("ami-launch-index")
        return None if value is None else int(value)

    @property
    def ancestor_ami_ids(self) -> list[str]:
        """``meta-data/ancestor-ami-ids`` as a list."""
        return self._list("ancestor-ami-ids")

    @property
    def product_codes(self) -> list[str]:
        """``meta-data/product-codes`` as a list."""
        return self._list("product-codes")

    @property
    def security_groups(self) -> list[str]:
        """``meta-data/security-groups``: the names of the instance's security groups."""
        return self._list("security-groups")

    @property
    def region(self) -> str | None:
        """The region (``placement/region``, else the zone without its letter)."""
        region = self.fetch("placement/region")
        if region:
            return region
        zone = self.availability_zone
        return zone[:-1] if zone else None

    @property
    def endpoint(self) -> str | None:
        """The EC2 endpoint of the instance's region."""
        region = self.region
        return None if region is None else f"https://ec2.{region}.amazonaws.com"

    @property
    def user_data(self) -> str | None:
        """The instance's user data (``/latest/user-data``), None when it has none."""
        return self.get("user-data")

    @property
    def block_device_mapping(self) -> dict[str, str]:
        """``{virtual name: device}`` (``{"root": "/dev/xvda", "ebs1": "sdf", ...}``)."""
        return {
            name: self.fetch(f"block-device-mapping/{name}") or ""
            for name in self._keys("block-device-mapping/")
        }

    @property
    def public_keys(self) -> list[str]:
        """The names of the instance's public keys (``0=my-key`` -> ``my-key``)."""
        return [entry.partition("=")[2] or entry for entry in self._list("public-keys/")]

    @property
    def interfaces(self) -> dict[str, dict[str, Any]]:
        """The network interfaces by MAC: addresses, subnet, VPC and security groups of each."""
        out: dict[str, dict[str, Any]] = {}
        for mac in self._keys("network/interfaces/macs/"):
            base = f"network/interfaces/macs/{mac}/"

            def one(name: str, base: str = base) -> str | None:
                return self.fetch(base + name)

            def many(name: str, base: str = base) -> list[str]:
                return self._list(base + name)

            out[mac] = {
                "mac": mac,
                "local_hostname": one("local-hostname"),
                "local_ipv4s": many("local-ipv4s"),
                "public_ipv4s": many("public-ipv4s"),
                "security_group_ids": many("security-group-ids"),
                "subnet_id": one("subnet-id"),
                "subnet_ipv4_cidr_block": one("subnet-ipv4-cidr-block"),
                "vpc_id": one("vpc-id"),
                "vpc_ipv4_cidr_block": one("vpc-ipv4-cidr-block"),
            }
        return out

    @property
    def iam_info(self) -> dict[str, Any] | None:
        """``meta-data/iam/info`` decoded (the instance profile), None without a role."""
        value = self.fetch("iam/info")
        return None if value is None else dict(json.loads(value))

    @property
    def iam_role(self) -> str | None:
        """The name of the instance's IAM role, None without one."""
        roles = self._keys("iam/security-credentials/")
        return roles[0] if roles else None

    def iam_credentials(self) -> Credentials | None:
        """The role's current temporary credentials (fetched fresh each call), None without a role.

        Pass them as ``EC2(security_token=...)`` or call ``new_ec2(region=md.region)`` on them.
        """
        from .sts import Credentials

        role = self.iam_role
        if role is None:
            return None
        document = self.get(f"meta-data/iam/security-credentials/{role}")
        return None if document is None else Credentials.new_from_json(document)

    def __getattr__(self, name: str) -> Any:
        """VM::EC2's spellings and aliases: ``imageId``, ``privateIpAddress``, ``ipAddress``..."""
        if name.startswith("_"):
            raise AttributeError(name)
        key = normalize(name)
        for alias, target in ALIASES.items():
            if normalize(alias) == key:
                return getattr(self, target)
        for attr in dir(type(self)):
            if not attr.startswith("_") and normalize(attr) == key:
                return getattr(self, attr)
        raise AttributeError(f"InstanceMetadata has no field {name!r}")
