"""The first contact with an endpoint: region names, endpoint URLs, connection failures and retries.

Everything here talks to loopback only: a refused port, or a small HTTP server that always throttles.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from provisioning import EC2, EndpointError, ParameterError, ThrottledError
from provisioning.settings import AwsSettings, check_region, known_regions


def test_unknown_region_names_close_matches() -> None:
    """An unknown region fails at construction with ParameterError naming the nearest real regions."""
    with pytest.raises(ParameterError, match=r"'eu-west-9' is not an AWS region.*did you mean.*eu-west-1"):
        EC2(region="eu-west-9")


def test_unknown_region_in_clone_and_environment_is_refused() -> None:
    """clone(region=...) and a region from boto3's configuration are checked the same way."""
    ec2 = EC2(region="eu-west-1")
    with pytest.raises(ParameterError, match="us-east-7"):
        ec2.clone(region="us-east-7")
    with pytest.raises(ParameterError, match="mars-north-1"):
        AwsSettings.resolve({}, default_region="mars-north-1")


@pytest.mark.parametrize(
    "region", ["us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1", "ap-southeast-2"]
)
def test_regions_of_every_partition_are_known(region: str) -> None:
    """Regions of the aws, aws-cn and aws-us-gov partitions pass the check."""
    assert check_region(region) == region
    assert EC2(region=region).region == region


def test_custom_endpoint_takes_any_region_name() -> None:
    """With endpoint= (or AWS_ENDPOINT_URL, as the sandbox exports) the region is the endpoint's business."""
    assert EC2(endpoint="http://127.0.0.1:9", region="my-cloud-1").region == "my-cloud-1"
    assert EC2(region="my-cloud-1", environ={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}).region == "my-cloud-1"
    assert "my-cloud-1" not in known_regions()


@pytest.mark.parametrize(
    "endpoint", ["not a url", "http://two words:5000", "https://ex ample.com", "http://[::1"]
)
def test_endpoint_that_is_not_a_url_is_parameter_error(endpoint: str) -> None:
    """A string that is not an http(s) URL is refused at construction with one clear ParameterError."""
    with pytest.raises(ParameterError, match=r"is not an http\(s\) URL with a host name, such as"):
        EC2(endpoint=endpoint)


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [("127.0.0.1:5000", "https://127.0.0.1:5000"), ("http://[::1]:5000/", "http://[::1]:5000")],
)
def test_endpoint_without_scheme_gets_https(endpoint: str, url: str) -> None:
    """VM::EC2's rule stays: a host without a scheme is https; IPv6 literals are hosts too."""
    assert EC2(endpoint=endpoint).settings.endpoint == url


def _refused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_refused_connection_surfaces_quickly_with_notices() -> None:
    """A refused connection is retried twice (an aws.retry warning each), then EndpointError names the URL."""
    endpoint = f"http://127.0.0.1:{_refused_port()}"
    ec2 = EC2(endpoint=endpoint, region="us-east-1")
    started = time.monotonic()
    with capture_logs() as logs, pytest.raises(EndpointError) as info:
        ec2.describe_regions()
    elapsed = time.monotonic() - started
    assert endpoint in str(info.value) and "DescribeRegions" in str(info.value)
    assert "Connection refused" in str(info.value)
    retries = [e for e in logs if e["event"] == "aws.retry"]
    assert [(e["attempt"], e["of"], e["wait"], e["log_level"]) for e in retries] == [
        (1, 3, 0.5, "warning"),
        (2, 3, 1.0, "warning"),
    ]
    assert all("Connection refused" in e["reason"] and e["endpoint"] == endpoint for e in retries)
    assert elapsed < 20  # loose: the default policy ends after ~1.5 s of back-off; it used to take 40-60 s


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port whose listener never accepts and whose queue is full: connections time out."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port: int = server.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))  # the kernel drops SYNs beyond the full queue
            yield port
        finally:
            for filler in fillers:
                filler.close()


def test_connect_timeout_is_a_connection_failure(silent_port: int) -> None:
    """A connection that times out gets the few connection attempts too; EndpointError says it timed out."""
    ec2 = EC2(
        endpoint=f"http://127.0.0.1:{silent_port}",
        region="us-east-1",
        connect_timeout=0.5,
        connect_attempts=2,
    )
    with (
        capture_logs() as logs,
        pytest.raises(EndpointError, match=r"DescribeRegions\): Connection to .* timed out"),
    ):
        ec2.describe_regions()
    retries = [e for e in logs if e["event"] == "aws.retry"]
    assert [(e["attempt"], e["of"]) for e in retries] == [(1, 2)] and "timed out" in retries[0]["reason"]


def test_connect_attempts_is_a_setting() -> None:
    """connect_attempts=1 gives up at the first refused connection, and clone() keeps the setting."""
    ec2 = EC2(endpoint=f"http://127.0.0.1:{_refused_port()}", region="us-east-1", connect_attempts=1)
    assert ec2.clone().settings.connect_attempts == 1
    with capture_logs() as logs, pytest.raises(EndpointError):
        ec2.describe_regions()
    assert [e for e in logs if e["event"] == "aws.retry"] == []
    with pytest.raises(ParameterError, match="connect_attempts"):
        EC2(endpoint="http://127.0.0.1:9", connect_attempts=0)


def test_throttling_keeps_botocores_eight_attempts(
    throttling_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Throttling still gets botocore's standard policy (8 attempts, its back-off), each retry logged."""
    import botocore.endpoint

    waits: list[float] = []
    monkeypatch.setattr(botocore.endpoint.time, "sleep", waits.append)  # botocore's back-off, not slept
    throttling_server.throttled = 100
    ec2 = EC2(endpoint=throttling_server.endpoint, region="us-east-1")
    with capture_logs() as logs, pytest.raises(ThrottledError):
        ec2.describe_regions()
    assert throttling_server.calls == 8
    retries = [e for e in logs if e["event"] == "aws.retry"]
    assert [(e["attempt"], e["of"], e["reason"], e["log_level"]) for e in retries] == [
        (n, 8, "RequestLimitExceeded", "info") for n in range(1, 8)
    ]
    assert len(waits) == 7 and max(waits) <= 20  # botocore's exponential back-off with its 20 s cap
