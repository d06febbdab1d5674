"""Shared fixtures: fake credentials, a network guard, and moto's HTTP server.

Every test runs with fake AWS credentials and a guard that refuses any TCP connection outside loopback
(and the networks a test explicitly allows, e.g. the sandbox's own namespaces), so nothing can reach real AWS.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}
# VM::EC2's own variables must not leak in from the developer's shell.
CLEARED_ENV = ("EC2_ACCESS_KEY", "EC2_SECRET_KEY", "EC2_URL", "AWS_PROFILE", "AWS_ENDPOINT_URL")

for _k in CLEARED_ENV:
    os.environ.pop(_k, None)
os.environ.update(FAKE_ENV)

#: Networks tests may connect to besides loopback; sandbox fixtures add their bridge network here.
ALLOWED_NETWORKS: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = [
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
]


def allow_network(cidr: str) -> None:
    """Let tests connect to ``cidr`` (a network the test suite created itself)."""
    ALLOWED_NETWORKS.append(ipaddress.ip_network(cidr, strict=False))


@pytest.fixture(scope="session")
def network_allower() -> Callable[[str], None]:
    """:func:`allow_network` for fixtures of other directories (a conftest is not importable by name)."""
    return allow_network


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = address[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = ipaddress.ip_address(socket.gethostbyname(host))
    if not any(ip in net for net in ALLOWED_NETWORKS):
        raise ConnectionRefusedError(f"network guard: tests may not connect to {host}")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check(self, address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]

logging.getLogger("werkzeug").setLevel(logging.ERROR)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's HTTP server on loopback for the whole session; yields its endpoint URL."""
    from provisioning.testing import moto_server as running_moto

    with running_moto() as endpoint:
        yield endpoint


@pytest.fixture
def moto_endpoint(moto_server: str) -> Iterator[str]:
    """The session's moto server, reset to an empty state before the test."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")).read()
    yield moto_server
