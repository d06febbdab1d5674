"""Connection settings, resolved once from arguments and the environment (STYLE P10).

Precedence, lowest first: defaults -> boto3's own chain (``AWS_*`` variables, profiles, SSO, instance roles)
-> VM::EC2's variables ``EC2_ACCESS_KEY`` / ``EC2_SECRET_KEY`` / ``EC2_URL`` -> constructor arguments.
Only :meth:`AwsSettings.resolve` reads the environment; everything else receives the frozen result.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import botocore
from botocore.loaders import create_loader

from .errors import ParameterError

__all__ = ["AwsSettings", "check_region", "known_regions", "normalize_endpoint", "region_from_endpoint"]

_AWS_HOST = re.compile(
    r"^(?:ec2|elasticloadbalancing|autoscaling|rds|sts)\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"
)
_REGION = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+-\d+$|^[a-z0-9-]+$")
# A host name or an IP address (urlsplit drops an IPv6 address's brackets); anything else, spaces included,
# is not a host botocore can connect to.
_HOST = re.compile(r"^[A-Za-z0-9_.-]+$|^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$")
# Variables that point boto3 at another endpoint (``vmec2-sandbox up`` exports one): any region name goes.
_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2")
_ENDPOINT_EXAMPLES = "'http://127.0.0.1:5000' or 'https://ec2.eu-west-1.amazonaws.com'"


@cache
def known_regions() -> frozenset[str]:
    """Every region name in botocore's endpoint data, over all partitions (aws, aws-cn, aws-us-gov, ...).

    Only the partitions' regions: the ``fips-...`` pseudo-regions some services list are left out.
    """
    data = create_loader().load_data("endpoints")
    return frozenset(name for part in data.get("partitions", []) for name in part.get("regions", {}))


def check_region(region: str) -> str:
    """``region`` if botocore's endpoint data knows it as an AWS region.

    Checked before any request: an unknown name would otherwise become a host name that does not resolve
    (``ec2.eu-west-9.amazonaws.com``) and fail only after botocore's connection retries.

    Raises:
        ParameterError: an unknown region; the message names the closest known ones.
    """
    known = known_regions()
    if region in known:
        return region
    close = difflib.get_close_matches(region, sorted(known), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ParameterError(
        f"region {region!r} is not an AWS region (botocore {botocore.__version__} knows {len(known)}){hint}"
    )


def normalize_endpoint(endpoint: str) -> str:
    """VM::EC2's endpoint rule: ``https://`` is added when no scheme is given; the URL must have a host.

    Raises:
        ParameterError: if the result is not an http(s) URL with a host.
    """
    url = endpoint.strip()
    if "://" not in url:
        url = f"https://{url}"
    not_url = f"endpoint {endpoint!r} is not an http(s) URL with a host name, such as {_ENDPOINT_EXAMPLES}"
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unbalanced IPv6 bracket
        raise ParameterError(not_url) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or not _HOST.match(parts.hostname):
        raise ParameterError(not_url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        raise ParameterError(f"endpoint {endpoint!r} has an invalid port") from exc
    return url.rstrip("/")


def region_from_endpoint(endpoint: str) -> str | None:
    """The region an AWS endpoint names (``https://ec2.eu-west-1.amazonaws.com`` -> ``eu-west-1``)."""
    host = urlsplit(endpoint).hostname or ""
    match = _AWS_HOST.match(host)
    return match.group(1) if match else None


@dataclass(frozen=True)
class AwsSettings:
    """Everything needed to build boto3 clients for one region.

    Attributes:
        access_key: Access key id; None lets boto3's credential chain decide.
        secret_key: Secret access key (never logged, never in ``repr``).
        security_token: STS session token, if the keys are temporary.
        endpoint: A custom EC2-compatible endpoint (moto, OpenStack, Eucalyptus); None for AWS itself.
        region: The region name.
        profile: A named AWS profile for boto3's chain.
        retry_mode: botocore's retry mode, ``standard`` or ``adaptive``.
        max_attempts: botocore's total attempts per call, throttling included.
        connect_attempts: Total attempts of a call whose connection fails (refused, unreachable, timed out):
            few, so that a wrong endpoint or a missing network is reported within about ten seconds.
        connect_timeout: Seconds to wait for a connection.
        read_timeout: Seconds to wait for an answer.
    """

    access_key: str | None = None
    secret_key: str | None = None
    security_token: str | None = None
    endpoint: str | None = None
    region: str = "us-east-1"
    profile: str | None = None
    retry_mode: str = "standard"
    max_attempts: int = 8
    connect_attempts: int = 3
    connect_timeout: float = 3.0
    read_timeout: float = 60.0

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.__dict__.items() if k not in ("secret_key", "security_token")}
        return f"AwsSettings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    @classmethod
    def resolve(
        cls, environ: Mapping[str, str] | None = None, *, default_region: str | None = None, **kwargs: Any
    ) -> AwsSettings:
        """Settings from constructor arguments over VM::EC2's variables over boto3's chain.

        Args:
            environ: The environment to read (``os.environ`` when None).
            default_region: The region boto3's configuration names, used when nothing else does.
            **kwargs: Constructor arguments; None means "not given". ``security_token`` may also be an object
                with ``access_key_id``/``secret_access_key``/``session_token`` (an STS credentials object).

        Raises:
            ParameterError: a malformed endpoint, an unknown region (unless an endpoint is given here, in
                ``EC2_URL`` or in ``AWS_ENDPOINT_URL``), a bad retry setting or a key without its secret.
        """
        env = os.environ if environ is None else environ
        given = {k: v for k, v in kwargs.items() if v is not None}
        token = given.get("security_token")
        if token is not None and not isinstance(token, str):
            given["access_key"] = str(_attr(token, "access_key_id", "AccessKeyId"))
            given["secret_key"] = str(_attr(token, "secret_access_key", "SecretAccessKey"))
            given["security_token"] = str(_attr(token, "session_token", "SessionToken"))
        if "access_key" not in given and env.get("EC2_ACCESS_KEY"):
            given["access_key"] = env["EC2_ACCESS_KEY"]
            if env.get("EC2_SECRET_KEY"):
                given["secret_key"] = env["EC2_SECRET_KEY"]
        if ("access_key" in given) != ("secret_key" in given):
            raise ParameterError("access_key and secret_key must be given together")
        endpoint = given.get("endpoint") or env.get("EC2_URL") or None
        if endpoint:
            endpoint = normalize_endpoint(endpoint)
            if region_from_endpoint(endpoint) is not None:
                # A real AWS endpoint: keep only its region, let botocore pick each service's URL.
                given.setdefault("region", region_from_endpoint(endpoint))
                endpoint = None
        given["endpoint"] = endpoint
        region = given.get("region") or default_region or cls.region
        if not isinstance(region, str) or not _REGION.match(region):
            raise ParameterError(f"region {region!r} is not a region name such as 'us-east-1'")
        if endpoint is None and not any(env.get(v) for v in _ENDPOINT_VARIABLES):
            try:
                check_region(region)
            except ParameterError as exc:
                raise ParameterError(
                    f"{exc} For another EC2-compatible cloud give endpoint=, which takes any region name."
                ) from None
        given["region"] = region
        if given.get("retry_mode", cls.retry_mode) not in ("standard", "adaptive", "legacy"):
            raise ParameterError(
                f"retry_mode must be 'standard', 'adaptive' or 'legacy', not {given['retry_mode']!r}"
            )
        for name in ("max_attempts", "connect_attempts"):
            if not isinstance(given.get(name, 1), int) or given.get(name, 1) < 1:
                raise ParameterError(f"{name} must be a whole number of at least 1, not {given[name]!r}")
        unknown = set(given) - set(cls.__dataclass_fields__)
        if unknown:
            raise ParameterError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(**given)

    def with_region(self, region: str) -> AwsSettings:
        """The same settings for another region."""
        return replace(self, region=region)


def _attr(obj: Any, *names: str) -> Any:
    for name in names:
        if isinstance(obj, Mapping) and name in obj:
            return obj[name]
        if hasattr(obj, name):
            return getattr(obj, name)
    raise ParameterError(f"security_token object {obj!r} has none of {names}")
