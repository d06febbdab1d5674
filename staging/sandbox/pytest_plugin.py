"""A pytest plugin for users who test their own staging pipelines against the sandbox.

Enable it with ``pytest -p staging.sandbox.pytest_plugin`` (or ``pytest_plugins =
["staging.sandbox.pytest_plugin"]`` in a conftest). It provides ``sandbox_cloud``: one
:class:`~staging.sandbox.Sandbox` per session, skipped with the reason when the machine cannot run one (not
root, a tool missing), and always removed at the end.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from staging.sandbox.client.api import Sandbox
from staging.sandbox.client.preflight import check_environment
from staging.sandbox.errors import EnvironmentProblem


@pytest.fixture(scope="session")
def sandbox_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A running sandbox for the test session (``.endpoint``, ``.env()``, ``.images``, ``.login_user``)."""
    try:
        check_environment()
    except EnvironmentProblem as exc:
        pytest.skip(str(exc))
    with Sandbox(tmp_path_factory.mktemp("sandbox-cloud") / "cloud") as cloud:
        yield cloud
