"""Fixtures shared by the provisioning tests: a façade on a fresh moto, in one or both error modes, a
loopback endpoint that throttles, a fake clock and a Stubber on the façade's ec2 client."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.stub import Stubber

from provisioning import EC2, AWSError

Fails = Callable[..., None]


@pytest.fixture
def ec2(moto_endpoint: str) -> EC2:
    """A raising façade on a fresh moto."""
    return EC2(endpoint=moto_endpoint, region="us-east-1")


@pytest.fixture(params=[True, False], ids=["raise", "no-raise"])
def mode(request: pytest.FixtureRequest, ec2: EC2) -> EC2:
    """The same façade in each error mode."""
    ec2.raise_error = request.param
    return ec2


class FakeTime:
    """A clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 50.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        """The current fake time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the sleep and advance the clock."""
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeTime:
    """A fresh fake clock."""
    return FakeTime()


@pytest.fixture
def stub(ec2: EC2) -> Iterator[Stubber]:
    """A Stubber on the façade's ec2 client."""
    with Stubber(ec2._pool.client("ec2")) as stubber:
        yield stubber


def _fails(ec2: EC2, call: Callable[[], Any], error: type[Exception] = AWSError, default: Any = None) -> None:
    """Assert ``call`` fails the façade's way: raises ``error``, or returns ``default`` and sets ``error``."""
    if ec2.raise_error:
        with pytest.raises(error):
            call()
    else:
        assert call() == default
        assert ec2.is_error and isinstance(ec2.error, error)


@pytest.fixture
def fails() -> Fails:
    """The assertion that a call fails in the façade's current error mode (see :func:`_fails`)."""
    return _fails


_THROTTLED = (
    b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded."
    b"</Message></Error></Errors><RequestID>r1</RequestID></Response>"
)
_REGIONS = (
    b'<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r2'
    b"</requestId><regionInfo><item><regionName>us-east-1</regionName><regionEndpoint>x</regionEndpoint>"
    b"</item></regionInfo></DescribeRegionsResponse>"
)


@dataclass
class ThrottlingServer:
    """A loopback endpoint: the first ``throttled`` calls get RequestLimitExceeded (HTTP 503), later ones
    a DescribeRegions answer listing us-east-1. ``calls`` counts the requests it received."""

    endpoint: str = ""
    throttled: int = 2
    calls: int = 0


@pytest.fixture
def throttling_server() -> Iterator[ThrottlingServer]:
    """A :class:`ThrottlingServer` for the test (set ``throttled`` before the first call)."""
    state = ThrottlingServer()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            state.calls += 1
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            throttle = state.calls <= state.throttled
            body = _THROTTLED if throttle else _REGIONS
            self.send_response(503 if throttle else 200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
