"""Logging: the library emits structured events and never logs secrets, keys or parameter values."""

from __future__ import annotations

import logging

import pytest
from structlog.testing import capture_logs

from provisioning import EC2


def test_calls_log_names_not_values(moto_endpoint: str, caplog: pytest.LogCaptureFixture) -> None:
    """A debug aws.call event names the operation and parameter names; no secret or key material appears."""
    ec2 = EC2(endpoint=moto_endpoint, access_key="AKIASECRETID", secret_key="very-secret-key")
    caplog.set_level(logging.DEBUG, logger="provisioning")
    with capture_logs() as events:
        key = ec2.create_key_pair("logged-key")
        ec2.run_instances(
            ec2.register_image(name="img", root_device_name="/dev/sda1", block_devices=["/dev/sda1=:8"]),
            user_data="#!/bin/sh\necho password=hunter2\n",
        )
    calls = [e for e in events if e.get("event") == "aws.call"]
    assert {e["operation"] for e in calls} >= {"CreateKeyPair", "RunInstances"}
    assert any(e["params"] == ["KeyName"] for e in calls)
    text = repr(events) + caplog.text
    for secret in ("very-secret-key", "hunter2", str(key.private_key)[40:80]):
        assert secret not in text


def test_library_is_silent_without_configuration(
    moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """With logging left unconfigured nothing is printed (records go to stdlib's NullHandler)."""
    EC2(endpoint=moto_endpoint).describe_regions()
    out = capsys.readouterr()
    assert "aws.call" not in out.out + out.err
