"""Fixtures for the migration tests: one sandbox (us-east-1, us-west-2) for the session, a source image whose
two data volumes hold files, and a census of the destination region.

The sandbox is removed (``down --force``) at the end whatever happened; it takes every instance, volume,
snapshot and image with it, so a failing test leaks nothing beyond the session.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from provisioning import EC2
from staging import StagingManager
from staging.sandbox import ACCESS_KEY, SECRET_KEY, Sandbox
from staging.sandbox.pytest_plugin import sandbox_cloud as plugin_cloud  # noqa: F401  (a fixture)

SOURCE, DEST = "us-east-1", "us-west-2"
#: Lists every file of a mounted volume with its SHA-256 (run inside the mount point).
CHECKSUMS = (
    "sh",
    "-c",
    "find . -path ./lost+found -prune -o -type f -print0 | sort -z | xargs -0 -r sha256sum",
)


@pytest.fixture(scope="session")
def migration_cloud(
    plugin_cloud: Sandbox,  # noqa: F811  (the fixture imported above)
    network_allower: Callable[[str], None],
) -> Sandbox:
    """The session's sandbox (the project's pytest plugin: skipped where none can run, removed at the end),
    reachable from this process."""
    network_allower(plugin_cloud.network)
    return plugin_cloud


def facade(cloud: Sandbox, region: str) -> EC2:
    """The façade of ``region`` on the sandbox."""
    return EC2(endpoint=cloud.endpoint, region=region, access_key=ACCESS_KEY, secret_key=SECRET_KEY)


@pytest.fixture(scope="session")
def east(migration_cloud: Sandbox) -> EC2:
    return facade(migration_cloud, SOURCE)


@pytest.fixture(scope="session")
def west(migration_cloud: Sandbox) -> EC2:
    return facade(migration_cloud, DEST)


@pytest.fixture(scope="session")
def caller_cidr(migration_cloud: Sandbox) -> str:
    return f"{next(ipaddress.ip_network(migration_cloud.network).hosts())}/32"


@pytest.fixture(scope="session")
def dotdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dot")


def checksums(volume: Any) -> str:
    """Every file of a mounted staging volume with its SHA-256, sorted."""
    return str(volume.cmd(*CHECKSUMS))


@dataclass
class SourceImage:
    """The image to migrate: root + two data volumes (``/dev/sdf``, ``/dev/sdg``) and their checksums."""

    image_id: str
    checksums: dict[str, str]


@pytest.fixture(scope="session")
def source_image(
    east: EC2, caller_cidr: str, dotdir: Path, tmp_path_factory: pytest.TempPathFactory
) -> SourceImage:
    """An image in us-east-1 with two data volumes holding different files, tagged, launchable by one more
    account."""
    tree = tmp_path_factory.mktemp("tree")
    sums: dict[str, str] = {}
    snapshots: dict[str, str] = {}
    with StagingManager(east, ssh_cidr=caller_cidr, dotdir=dotdir, reuse_volumes=False) as manager:
        for device, name in (("/dev/sdf", "data-one"), ("/dev/sdg", "data-two")):
            (tree / name).mkdir()
            (tree / name / "payload.bin").write_bytes(os.urandom(300_000))
            (tree / name / "notes.txt").write_text(f"{name}\n")
            volume = manager.provision_volume(name, size=1, temporary=True)
            volume.put(f"{tree / name}/")
            sums[device] = checksums(volume)
            volume.unmount()
            snapshot = volume.create_snapshot(f"{name} for the migration tests")
            manager.wait_for(snapshot, "completed", "snapshot")
            snapshots[device] = str(snapshot)
    root = east.describe_images(owner="136693071363")[0].blockDeviceMapping[0]
    image_id = str(
        east.register_image(
            name="migration-source", description="an image with two data volumes", architecture="x86_64",
            root_device_name="/dev/xvda", virtualization_type="hvm",
            block_device_mappings=[
                {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": str(root.ebs.snapshotId), "VolumeSize": 8}},
                *({"DeviceName": d, "Ebs": {"SnapshotId": s}} for d, s in snapshots.items()),
            ],
        )
    )  # fmt: skip
    image = east.describe_images(image_id)[0]
    image.add_tags(Team="data", Purpose="migration test")
    image.add_authorized_users("123456789012")
    return SourceImage(image_id, sums)


def census(ec2: EC2) -> list[str]:
    """Everything of ours in the façade's region that a migration could leave: images, snapshots of images or
    staging, volumes, running staging instances (empty when clean)."""
    left = [f"image {i}" for i in ec2.describe_images(owner="self")]
    left += [f"snapshot {s}" for s in ec2.describe_snapshots(owner="self")]
    left += [f"volume {v}" for v in ec2.describe_volumes()]
    left += [f"instance {i}" for i in ec2.describe_instances() if i.instanceState.name != "terminated"]
    return left


def remove_image(ec2: EC2, image_id: str) -> None:
    """Deregister an image and delete its snapshots (a test's own result)."""
    image = ec2.describe_images(image_id)[0]
    snapshots = [str(m.ebs.snapshotId) for m in image.blockDeviceMapping or [] if m.ebs]
    ec2.deregister_image(image_id)
    for snapshot in snapshots:
        ec2.delete_snapshot(snapshot)


@dataclass
class Command:
    """Runs a command's ``main(argv)`` in-process against the session's sandbox."""

    cloud: Sandbox
    dotdir: Path

    def run(self, module: str, *argv: str) -> tuple[int, str, str]:
        import importlib
        import io

        main = importlib.import_module(f"scripts.{module}").main
        out, err = io.StringIO(), io.StringIO()
        old = os.environ.get("VMEC2_SANDBOX_DIR")
        os.environ["VMEC2_SANDBOX_DIR"] = str(self.cloud.state_dir)
        try:
            code = main([*argv, "--sandbox"], stdout=out, stderr=err)
        finally:
            if old is None:
                os.environ.pop("VMEC2_SANDBOX_DIR", None)
            else:
                os.environ["VMEC2_SANDBOX_DIR"] = old
        return int(code), out.getvalue(), err.getvalue()


@pytest.fixture
def command(migration_cloud: Sandbox, dotdir: Path) -> Command:
    return Command(migration_cloud, dotdir)


@pytest.fixture
def helpers() -> SimpleNamespace:
    """This module's helpers for the tests: ``census``, ``checksums``, ``remove_image``, ``facade``."""
    return SimpleNamespace(census=census, checksums=checksums, remove_image=remove_image, facade=facade)
