"""Fixtures for the direct path's end-to-end tests: one sandbox for the session, the façade on it, and the
tree helpers of tests/scripts (loaded from their file, so there is one copy of them)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from provisioning import EC2
from staging.sandbox import ACCESS_KEY, SECRET_KEY, Sandbox


def _scripts_helpers() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "scripts" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_direct_scripts_helpers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


#: ``make_hostile_tree``, ``tree_state``, ``census`` and ``staging_cloud`` of tests/scripts/conftest.py.
_HELPERS = _scripts_helpers()


@pytest.fixture
def helpers() -> ModuleType:
    """tests/scripts/conftest.py as a module (``make_hostile_tree``, ``tree_state``, ``census``)."""
    return _HELPERS


#: The session sandbox of tests/scripts, for this directory too (its own instance: one per directory).
staging_cloud = _HELPERS.staging_cloud


@pytest.fixture
def ec2(staging_cloud: Sandbox) -> Iterator[EC2]:
    """The façade on the sandbox's us-east-1; afterwards nothing of staging's may be left."""
    cloud = EC2(
        endpoint=staging_cloud.endpoint, region="us-east-1", access_key=ACCESS_KEY, secret_key=SECRET_KEY
    )
    yield cloud
    assert _HELPERS.census(cloud) == []
