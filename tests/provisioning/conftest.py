"""Fixtures shared by the provisioning tests: a façade on a fresh moto, in one or both error modes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

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
