"""Fixtures for the staging API tests: one sandbox cloud per session and staging managers on it.

Managers are closed by their fixtures; whatever a failing test leaves behind (instances, volumes, snapshots,
key pairs, security groups tagged with one of the session's run ids) is removed by id at the end, with plain
boto3 calls, so a failed test never leaks into the next one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

import staging
from provisioning import EC2
from staging.sandbox import EnvironmentProblem, Sandbox, check_environment
from staging.tags import EXPIRES, RUN

REGION = "us-east-1"


def allow_network(cidr: str) -> None:
    """Let this process's sockets reach the sandbox's hosts (tests/conftest.py's network guard)."""
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", "") or ""
        if path.endswith(os.path.join("tests", "conftest.py")) and hasattr(module, "allow_network"):
            module.allow_network(cidr)


def sandbox_usable() -> str | None:
    """Why a sandbox cannot run here (None if it can)."""
    try:
        check_environment()
    except EnvironmentProblem as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox for the whole session (regions us-east-1 and us-west-2), removed at the end."""
    reason = sandbox_usable()
    if reason:
        pytest.skip(reason)
    sandbox = Sandbox(tmp_path_factory.mktemp("sandbox") / "cloud")
    try:
        sandbox.start()
        allow_network(sandbox.network)
        yield sandbox
    finally:
        sandbox.stop(force=True)


@pytest.fixture(scope="session")
def gateway(cloud: Sandbox) -> str:
    """The caller's address as the sandbox's hosts see it (the first host of its network)."""
    return str(next(ipaddress.ip_network(cloud.network).hosts()))


@pytest.fixture(scope="session")
def client(cloud: Sandbox) -> Any:
    """A plain boto3 EC2 client of us-east-1 (describes the sandbox independently of the code under test)."""
    return boto3.client(
        "ec2",
        endpoint_url=cloud.endpoint,
        region_name=REGION,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )


@pytest.fixture(scope="session")
def ec2(cloud: Sandbox) -> EC2:
    """The façade of us-east-1 on the sandbox."""
    return EC2(endpoint=cloud.endpoint, region=REGION, access_key="sandbox", secret_key="sandbox")


class RunSweeper:
    """Remembers the run ids of the session's managers and removes whatever is tagged with them."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.runs: set[str] = set()

    def sweep(self) -> None:
        """Terminate, detach and delete every resource of the remembered runs (best effort, by id)."""
        if not self.runs:
            return
        tag = [{"Name": f"tag:{RUN}", "Values": sorted(self.runs)}]
        c = self.client
        ids = [
            i["InstanceId"]
            for r in c.describe_instances(Filters=tag)["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ]
        if ids:
            c.terminate_instances(InstanceIds=ids)
            with contextlib.suppress(Exception):
                c.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig={"Delay": 1})
        calls: list[tuple[Callable[..., Any], dict[str, Any]]] = []
        for v in c.describe_volumes(Filters=tag)["Volumes"]:
            calls.append((c.detach_volume, {"VolumeId": v["VolumeId"], "Force": True}))
            calls.append((c.delete_volume, {"VolumeId": v["VolumeId"]}))
        for s in c.describe_snapshots(Filters=tag, OwnerIds=["self"])["Snapshots"]:
            calls.append((c.delete_snapshot, {"SnapshotId": s["SnapshotId"]}))
        for k in c.describe_key_pairs(Filters=tag)["KeyPairs"]:
            calls.append((c.delete_key_pair, {"KeyName": k["KeyName"]}))
        for g in c.describe_security_groups(Filters=tag)["SecurityGroups"]:
            calls.append((c.delete_security_group, {"GroupId": g["GroupId"]}))
        for call, kwargs in calls:
            with contextlib.suppress(Exception):
                call(**kwargs)


@pytest.fixture(scope="session")
def sweeper(client: Any) -> Iterator[RunSweeper]:
    """The session's :class:`RunSweeper` (swept at the end of the session)."""
    sweeper = RunSweeper(client)
    try:
        yield sweeper
    finally:
        sweeper.sweep()


ManagerFactory = Callable[..., staging.StagingManager]


def _factory(ec2: EC2, gateway: str, dotdir: Path, sweeper: RunSweeper, made: list[Any]) -> ManagerFactory:
    def make(**options: Any) -> staging.StagingManager:
        options.setdefault("dotdir", dotdir)
        manager = staging.StagingManager(ec2, ssh_cidr=f"{gateway}/32", **options)
        sweeper.runs.add(manager.run_id)
        made.append(manager)
        return manager

    return make


def _close_all(made: list[Any]) -> None:
    for manager in made:
        with contextlib.suppress(Exception):
            manager.close()


@pytest.fixture
def make_manager(ec2: EC2, gateway: str, tmp_path: Path, sweeper: RunSweeper) -> Iterator[ManagerFactory]:
    """``make_manager(**options)``: a new manager (dot directory in ``tmp_path``), closed after the test."""
    made: list[Any] = []
    try:
        yield _factory(ec2, gateway, tmp_path / "dot", sweeper, made)
    finally:
        _close_all(made)


class Recorded:
    """A :class:`staging.progress.Reporter` that keeps what it was told: ``lines`` (each step, and each wait
    as ``waiting for ...``) and ``waits`` (what each wait was for)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.waits: list[str] = []

    def step(self, message: str) -> None:
        self.lines.append(message)

    def waiting(self, what: str, elapsed: float) -> None:
        self.lines.append(f"waiting for {what}")
        self.waits.append(what)

    def transfer(self, done: int, total: int | None, rate: float) -> None:
        pass

    def transfer_done(self) -> None:
        pass


def leftovers(client: Any, run_id: str) -> list[str]:
    """What a closed run must not leave: live instances, temporary volumes, key pairs, security groups."""
    tag = [{"Name": f"tag:{RUN}", "Values": [run_id]}]
    found = [
        i["InstanceId"]
        for r in client.describe_instances(Filters=tag)["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    ]
    temporary = [*tag, {"Name": "tag-key", "Values": [EXPIRES]}]
    found += [v["VolumeId"] for v in client.describe_volumes(Filters=temporary)["Volumes"]]
    found += [k["KeyName"] for k in client.describe_key_pairs(Filters=tag)["KeyPairs"]]
    found += [g["GroupId"] for g in client.describe_security_groups(Filters=tag)["SecurityGroups"]]
    return found


@pytest.fixture(scope="module")
def manager(
    ec2: EC2, gateway: str, tmp_path_factory: pytest.TempPathFactory, sweeper: RunSweeper, client: Any
) -> Iterator[staging.StagingManager]:
    """One manager shared by a module's tests (its servers are reused between them), closed at the end;
    its close must leave nothing temporary behind, nor its journal."""
    made: list[Any] = []
    dotdir = tmp_path_factory.mktemp("dot")
    manager = _factory(ec2, gateway, dotdir, sweeper, made)()
    try:
        yield manager
    finally:
        manager.close()
        assert leftovers(client, manager.run_id) == []
        assert not (dotdir / "runs" / f"{manager.run_id}.json").exists()
