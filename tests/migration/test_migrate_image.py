"""migrate-ebs-image end to end on the sandbox: an image with two data volumes is copied to another region and
the copy holds the same bytes, tags, description, launch permissions, the extra ephemeral mapping and the
kernel asked for; bad input is refused before anything is made; a failure part-way leaves nothing there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from provisioning import EC2, AWSError
from staging import StagingManager
from staging.sandbox import Faults

pytestmark = [pytest.mark.root, pytest.mark.slow]


def _kernel(ec2: EC2) -> str:
    return str(ec2.describe_images(owner="amazon", filter={"image-type": "kernel"})[0])


def test_migrate_with_ephemeral_mapping_and_kernel(
    command: Any, source_image: Any, east: EC2, west: EC2, caller_cidr: str, dotdir: Path, helpers: Any
) -> None:
    """The copy is registered with /dev/sdy=ephemeral0 and the kernel given; its data snapshots hold the
    source's bytes; tags, description and launch permissions came along; an instance launches from it."""
    assert helpers.census(west) == []
    kernel = _kernel(west)
    code, out, err = command.run(
        "migrate_ebs_image", source_image.image_id, "--from", "us-east-1", "--to", "us-west-2",
        "-b", "/dev/sdy=ephemeral0", "--kernel", kernel, "--json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)["image"]
    assert summary["native"] is False and summary["kernel_id"] == kernel
    image = west.describe_images(summary["image_id"])[0]
    try:
        assert image.name == "migration-source" and image.description == "an image with two data volumes"
        assert image.kernelId == kernel and image.imageState == "available"
        assert {"Team": "data", "Purpose": "migration test"}.items() <= image.tags.items()
        assert "StagingExpires" not in image.tags
        assert [str(p) for p in image.launch_permissions()] == ["123456789012"]
        devices = {str(m.deviceName): m for m in image.blockDeviceMapping}
        assert str(devices["/dev/sdy"].virtualName) == "ephemeral0"
        assert set(devices) == {"/dev/xvda", "/dev/sdf", "/dev/sdg", "/dev/sdy"}
        with StagingManager(west, ssh_cidr=caller_cidr, dotdir=dotdir, reuse_volumes=False) as manager:
            for device in ("/dev/sdf", "/dev/sdg"):
                snapshot = str(devices[device].ebs.snapshotId)
                assert "StagingExpires" not in west.describe_snapshots(snapshot)[0].tags
                volume = manager.provision_volume(f"check{device[-1]}", snapshot_id=snapshot, temporary=True)
                assert helpers.checksums(volume) == source_image.checksums[device]
            instance = image.run_instances(instance_type="t3.micro")[0]
            west.wait_for_terminal_state(instance, "running")
            west.terminate_instances([instance])
            west.wait_for_terminal_state(instance, "terminated")
    finally:
        helpers.remove_image(west, str(image))
    assert helpers.census(west) == []


def test_native_copy_and_name_clash(
    source_image: Any, east: EC2, west: EC2, dotdir: Path, helpers: Any
) -> None:
    """Without changes the copy is CopyImage (tags carried); a second copy under a taken name is renamed,
    or refused on request before anything is made."""
    with StagingManager(east, dotdir=dotdir, ssh_cidr="127.0.0.1/32") as manager:
        plain = {"native": None}
        first = manager.copy_image(
            source_image.image_id, "us-west-2", name="native-copy", **{k: v for k, v in plain.items() if v}
        )
        try:
            assert first.name == "native-copy" and first.tags["Team"] == "data"
            assert "StagingExpires" not in first.tags
            second = manager.copy_image(source_image.image_id, "us-west-2", name="native-copy")
            try:
                assert second.name.startswith("native-copy-") and second.name != "native-copy"
            finally:
                helpers.remove_image(west, str(second))
            with pytest.raises(ValueError, match="exists"):
                manager.copy_image(
                    source_image.image_id, "us-west-2", name="native-copy", on_name_clash="refuse"
                )
        finally:
            helpers.remove_image(west, str(first))
    assert helpers.census(west) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ami-0123456789abcdef0", "--to", "us-west-2"], "not found"),
        (["SOURCE", "--to", "us-east-1"], "own region"),
        (["SOURCE", "--to", "mars-north-1"], "unknown region"),
        (["SOURCE", "--to", "us-west-2", "-b", "/dev/sdy"], "block device"),
        (["SOURCE", "--to", "us-west-2", "--kernel", "aki-00000000"], "not a kernel"),
        (["SOURCE"], "--to"),
    ],
)
def test_bad_input_is_refused_before_anything_is_made(
    command: Any, source_image: Any, west: EC2, helpers: Any, argv: list[str], message: str
) -> None:
    """Unknown AMI, same region, unknown region, a bad mapping or kernel: exit 2, one line, nothing made."""
    argv = [source_image.image_id if a == "SOURCE" else a for a in argv]
    code, out, err = command.run("migrate_ebs_image", *argv, "--region", "us-east-1")
    assert code == 2 and out == "", err
    assert message in err.splitlines()[-1] and err.splitlines()[-1].startswith("migrate-ebs-image: error:")
    assert helpers.census(west) == []


def test_dry_run_prints_the_plan_and_makes_nothing(
    command: Any, source_image: Any, west: EC2, helpers: Any
) -> None:
    """--dry-run --json: the plan (register path for an extra mapping), and nothing made."""
    code, out, err = command.run(
        "migrate_ebs_image", source_image.image_id, "--from", "us-east-1", "--to", "us-west-2", "-b",
        "/dev/sdy=ephemeral0", "--dry-run", "--json",
    )  # fmt: skip
    assert code == 0, err
    plan = json.loads(out)["plan"]
    assert plan["native"] is False and plan["to"] == "us-west-2" and "/dev/sdy=ephemeral0" in plan["devices"]
    assert plan["launch_users"] == ["123456789012"] and plan["public"] is False
    assert helpers.census(west) == []


def test_instance_store_image_is_refused(command: Any, east: EC2, helpers: Any, west: EC2) -> None:
    """A kernel image (instance-store) is not an EBS-backed image to migrate."""
    code, _, err = command.run("migrate_ebs_image", _kernel(east), "--from", "us-east-1", "--to", "us-west-2")
    assert code == 2 and "instance-store" in err, err
    assert helpers.census(west) == []


def test_failure_part_way_removes_everything_in_the_destination(
    source_image: Any, east: EC2, west: EC2, dotdir: Path, helpers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RegisterImage refused after the snapshots were copied: the copies are deleted, the error comes out."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AWSError("InternalError", "injected failure", operation="RegisterImage")

    with StagingManager(east, dotdir=dotdir) as manager, StagingManager(west, dotdir=dotdir) as peer:
        monkeypatch.setattr(peer.ec2, "register_image", refuse, raising=False)
        with pytest.raises(AWSError, match="injected"):
            manager.copy_image(source_image.image_id, peer, block_devices=["/dev/sdy=ephemeral0"])
        assert helpers.census(west) == [] and peer.leftovers() == []
    assert helpers.census(west) == []


def test_copies_finish_within_the_destination_limit(
    migration_cloud: Any, source_image: Any, east: EC2, west: EC2, dotdir: Path, helpers: Any
) -> None:
    """With room for one pending copy in the destination, the image's 3 copies go one after another
    (ResourceLimitExceeded waits for ours to finish) and the image is made."""
    migration_cloud.set_faults(Faults(snapshot_pending_for=0.5, snapshot_copy_limit=1))
    try:
        with StagingManager(east, dotdir=dotdir) as manager:
            image = manager.copy_image(source_image.image_id, "us-west-2", block_devices=["/dev/sdz=none"])
    finally:
        migration_cloud.set_faults(Faults())
    try:
        assert image.imageState == "available" and len([m for m in image.blockDeviceMapping if m.ebs]) == 3
    finally:
        helpers.remove_image(west, str(image))
    assert helpers.census(west) == []
