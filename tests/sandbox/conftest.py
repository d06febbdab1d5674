"""Fixtures for the sandbox tests: one sandbox cloud per session, boto3 clients, and plain-ssh helpers.

Every resource a test creates is registered with :class:`Tracker` and removed by its id in the fixture's
finalizer, even when the test fails. The sandbox itself is always removed with ``down --force`` semantics.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from staging.sandbox import EnvironmentProblem, Faults, Sandbox, check_environment


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


@pytest.fixture
def needs_sandbox() -> None:
    """Skip the test when this machine cannot run a sandbox (not root, tools missing)."""
    reason = sandbox_usable()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox for the whole session (regions us-east-1 and us-west-2), removed at the end."""
    reason = sandbox_usable()
    if reason:
        pytest.skip(reason)
    sandbox = Sandbox(tmp_path_factory.mktemp("sandbox") / "cloud")
    users = [sandbox.login_user, "ubuntu"]
    had_users = [user_exists(u) for u in users]
    had_dev_disk = Path("/dev/disk").exists()
    # Another sandbox already up on the machine (another test run, a demo) owns the shared resources we see.
    alone = not Path("/run/vmec2-sandbox").exists()
    try:
        sandbox.start()
        allow_network(sandbox.network)
        yield sandbox
    finally:
        sandbox.stop(force=True)
    if alone and not Path("/run/vmec2-sandbox").exists():
        # First and last sandbox on the machine: the shared resources are as they were before.
        assert [user_exists(u) for u in users] == had_users, "a login user was not removed"
        assert not Path("/etc/sudoers.d/vmec2-sandbox").exists()
        assert Path("/dev/disk").exists() == had_dev_disk


def user_exists(user: str) -> bool:
    """True if the machine has a user called ``user``."""
    return bool(subprocess.run(["getent", "passwd", user], capture_output=True).stdout)


def ssh_group(client: Any, caller_address: str, name: str = "sandbox-tests-ssh") -> str:
    """A security group letting ``caller_address`` (this machine, as hosts see it) in on tcp/22."""
    group_id: str = client.create_security_group(GroupName=name, Description="ssh from the tests")["GroupId"]
    client.authorize_security_group_ingress(
        GroupId=group_id, IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp=f"{caller_address}/32"
    )
    return group_id


@pytest.fixture(scope="session")
def ssh_groups(cloud: Sandbox) -> dict[str, str]:
    """``{region: group id}``: one group per region letting the tests ssh in (lives as long as the cloud)."""
    return {r: ssh_group(make_client(cloud, r), cloud.caller_address) for r in cloud.regions}


@pytest.fixture
def faulty(cloud: Sandbox) -> Iterator[Sandbox]:
    """The session sandbox, with the default faults again after the test."""
    try:
        yield cloud
    finally:
        cloud.set_faults(Faults())


def make_client(cloud: Sandbox, region: str, *, retries: int = 3) -> Any:
    """A plain boto3 EC2 client pointed at the sandbox."""
    env = cloud.env(region)
    return boto3.client(
        "ec2",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=region,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"mode": "standard", "max_attempts": retries}),
    )


def modification_of(client: Any, volume_id: str) -> dict[str, Any]:
    """The volume's latest modification, as DescribeVolumesModifications answers it."""
    found: list[dict[str, Any]] = client.describe_volumes_modifications(VolumeIds=[volume_id])[
        "VolumesModifications"
    ]
    return found[-1]


@dataclass
class Tracker:
    """Records what a test created, per region, and deletes it by id afterwards."""

    clients: dict[str, Any]
    instances: list[tuple[str, str]] = field(default_factory=list)
    volumes: list[tuple[str, str]] = field(default_factory=list)
    snapshots: list[tuple[str, str]] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)
    key_pairs: list[tuple[str, str]] = field(default_factory=list)

    def cleanup(self) -> None:
        """Terminate, detach and delete everything recorded (errors are ignored: best effort)."""
        for region, iid in self.instances:
            _quietly(self.clients[region].terminate_instances, InstanceIds=[iid])
        for region, image_id in self.images:
            _quietly(self.clients[region].deregister_image, ImageId=image_id)
        for region, vid in self.volumes:
            _quietly(self.clients[region].detach_volume, VolumeId=vid, Force=True)
            _quietly(self.clients[region].delete_volume, VolumeId=vid)
        for region, sid in self.snapshots:
            _quietly(self.clients[region].delete_snapshot, SnapshotId=sid)
        for region, name in self.key_pairs:
            _quietly(self.clients[region].delete_key_pair, KeyName=name)


def _quietly(call: Callable[..., Any], **kwargs: Any) -> None:
    with contextlib.suppress(Exception):
        call(**kwargs)


@pytest.fixture
def track(cloud: Sandbox) -> Iterator[Tracker]:
    """A :class:`Tracker` whose resources are removed after the test."""
    tracker = Tracker({r: make_client(cloud, r) for r in cloud.regions})
    try:
        yield tracker
    finally:
        tracker.cleanup()


@pytest.fixture
def east(cloud: Sandbox) -> Any:
    """EC2 client for us-east-1."""
    return make_client(cloud, "us-east-1")


@pytest.fixture
def west(cloud: Sandbox) -> Any:
    """EC2 client for us-west-2."""
    return make_client(cloud, "us-west-2")


@dataclass
class Login:
    """How to reach one sandbox host with plain ssh: address, user, key file, pinned known_hosts file."""

    address: str
    user: str
    key_file: Path
    known_hosts: Path
    #: Seconds ssh waits for the TCP connection (a security group drops what it does not allow).
    connect_timeout: int = 10

    def ssh_argv(self) -> list[str]:
        """ssh options that verify the host key strictly and ignore the user's own ssh config."""
        return [
            "ssh",
            "-F",
            "/dev/null",
            "-i",
            str(self.key_file),
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            f"ConnectTimeout={self.connect_timeout}",
            "-o",
            "LogLevel=ERROR",
        ]

    def run(self, script: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a shell script on the host as the login user."""
        proc = subprocess.run(
            [*self.ssh_argv(), f"{self.user}@{self.address}", script],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"ssh {script!r} failed ({proc.returncode}): {proc.stderr}")
        return proc

    def rsync(self, source: Path, dest: str, extra: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
        """rsync ``source/`` to ``dest`` on the host over the same strict ssh."""
        return subprocess.run(
            [
                "rsync",
                "-a",
                *extra,
                "-e",
                " ".join(self.ssh_argv()),
                f"{source}/",
                f"{self.user}@{self.address}:{dest}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )


def known_hosts_from_console(console: str, address: str, path: Path) -> Path:
    """Write a known_hosts file for ``address`` from cloud-init's host key block in the console output."""
    block = console.split("-----BEGIN SSH HOST KEY KEYS-----", 1)[1].split("-----END SSH HOST KEY KEYS-----")[
        0
    ]
    keys = [line.split()[:2] for line in block.strip().splitlines()]
    path.write_text("".join(f"{address} {kind} {blob}\n" for kind, blob in keys))
    return path


@dataclass
class Launcher:
    """Creates key pairs and instances for a test (tracked for cleanup) and logs in to them."""

    cloud: Sandbox
    track: Tracker
    workdir: Path
    groups: dict[str, str]

    def key_pair(self, region: str) -> tuple[str, Path]:
        """A new key pair made by the API; returns its name and the private key file."""
        name = f"test-{uuid.uuid4().hex[:8]}"
        material = self.track.clients[region].create_key_pair(KeyName=name, KeyType="ed25519")["KeyMaterial"]
        self.track.key_pairs.append((region, name))
        path = self.workdir / f"{name}.pem"
        path.write_text(material)
        path.chmod(0o600)
        return name, path

    def instance(self, region: str, key_name: str, zone: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """Run one instance of the sandbox's Debian image (tracked for termination) that the tests may ssh
        into (unless ``SecurityGroupIds`` says otherwise)."""
        params: dict[str, Any] = {
            "ImageId": self.cloud.images[region]["debian-12-amd64-sandbox"],
            "MinCount": 1,
            "MaxCount": 1,
            "InstanceType": "t3.micro",
            "KeyName": key_name,
            "SecurityGroupIds": [self.groups[region]],
            **kwargs,
        }
        if zone:
            params["Placement"] = {"AvailabilityZone": zone}
        instance: dict[str, Any] = self.track.clients[region].run_instances(**params)["Instances"][0]
        self.track.instances.append((region, instance["InstanceId"]))
        return instance

    def login(self, region: str, instance: dict[str, Any], key_file: Path) -> Login:
        """A :class:`Login` whose known_hosts comes from the instance's console output."""
        client = self.track.clients[region]
        console = client.get_console_output(InstanceId=instance["InstanceId"])["Output"]
        address = instance["PublicIpAddress"]
        known = known_hosts_from_console(console, address, self.workdir / f"{instance['InstanceId']}.known")
        names = {image_id: name for name, image_id in self.cloud.images[region].items()}
        user = self.cloud.login_users.get(names.get(instance["ImageId"], ""), self.cloud.login_user)
        return Login(address, user, key_file, known)


@pytest.fixture
def launcher(cloud: Sandbox, track: Tracker, tmp_path: Path, ssh_groups: dict[str, str]) -> Launcher:
    """A :class:`Launcher` for this test."""
    return Launcher(cloud, track, tmp_path, ssh_groups)


@pytest.fixture
def client_for(cloud: Sandbox) -> Callable[..., Any]:
    """``client_for(region, retries=N)``: a new plain boto3 EC2 client (e.g. with retries switched off)."""

    def build(region: str, *, retries: int = 3) -> Any:
        return make_client(cloud, region, retries=retries)

    return build
