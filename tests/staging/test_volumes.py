"""StagingManager's volume methods on the sandbox: provision (new, from snapshot, from volume id, reused by
name in a second manager), mount/unmount/remount/detach/delete, resize, snapshots, copies and file ops."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from staging import NotMounted, StagingManager, StagingParameterError
from staging.tags import FSTYPE, MTPT, NAME, ROLE

pytestmark = [pytest.mark.root]

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


def tags_of(client: Any, volume_id: str) -> dict[str, str]:
    """The volume's tags, described with plain boto3."""
    vol = client.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
    return {t["Key"]: t["Value"] for t in vol.get("Tags", [])}


def status_of(client: Any, volume_id: str) -> str:
    """The volume's status, described with plain boto3."""
    return str(client.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["State"])


def sha_on(volume: Any, path: str) -> str:
    """sha256 of a file on a mounted volume."""
    return volume.cmd("sha256sum", "--", path).split()[0]


def df_kib(volume: Any) -> int:
    """Size in KiB of the file system mounted from ``volume``."""
    return int(volume.df("-k", "--output=size").split()[-1])


def write_payload(volume: Any, tmp_path: Path, name: str = "payload.bin") -> str:
    """Put a 1 MiB file on the volume's root; returns its sha256."""
    src = tmp_path / name
    src.write_bytes(PAYLOAD)
    volume.put(src)
    return hashlib.sha256(PAYLOAD).hexdigest()


@pytest.mark.parametrize("fstype", ["ext4", "xfs"])
def test_provision_new_volume(manager: StagingManager, client: Any, fstype: str) -> None:
    """A new volume is created, attached, formatted with its type and label, mounted, tagged."""
    vol = manager.provision_volume(
        f"new-{fstype}", size=1, fstype=fstype, label="stg", availability_zone="us-east-1a"
    )
    assert vol.mounted and vol.mtpt == f"/mnt/Staging/new-{fstype}" and vol.fstype == fstype
    assert vol.server is not None and vol.server.zone == "us-east-1a" and vol.size == 1
    assert manager.find_volume_by_name(f"new-{fstype}") is vol
    assert manager.find_volume_by_volid(str(vol)) is vol and vol in manager.volumes()
    assert vol in vol.server.volumes()
    mounts = vol.server.scmd("findmnt", "-n", "-o", "SOURCE,FSTYPE", "--target", vol.mtpt).split()
    assert mounts == [vol.mtdev, fstype]
    assert (
        vol.server.run(["blkid", "-s", "LABEL", "-o", "value", vol.mtdev], sudo=True).stdout.strip() == "stg"
    )
    tags = tags_of(client, str(vol))
    assert tags[NAME] == f"new-{fstype}" and tags[ROLE] == "StagingVolume"
    assert tags[FSTYPE] == fstype and tags[MTPT] == vol.mtpt
    assert status_of(client, str(vol)) == "in-use"
    with pytest.raises(StagingParameterError, match="already managed"):
        manager.provision_volume(f"new-{fstype}", size=1)


def test_mount_unmount_remount_detach_delete(manager: StagingManager, client: Any, tmp_path: Path) -> None:
    """The placement methods keep the object, the host's mount table and EC2 in step; data survives them."""
    vol = manager.provision_volume("placed", size=1, availability_zone="us-east-1a")
    server = vol.server
    digest = write_payload(vol, tmp_path)
    vol.unmount()
    assert not vol.mounted and vol.server is server
    assert not server.ssh("mountpoint", "-q", "/mnt/Staging/placed")
    with pytest.raises(NotMounted):
        vol.ls()
    assert vol.remount() == "/mnt/Staging/placed" and vol.mounted
    assert sha_on(vol, "payload.bin") == digest
    vol.unmount()
    assert vol.mount(mtpt="/mnt/elsewhere") == "/mnt/elsewhere"
    assert sha_on(vol, "payload.bin") == digest
    vol.detach()
    assert vol.server is None and not vol.mounted and status_of(client, str(vol)) == "available"
    assert not server.ssh("mountpoint", "-q", "/mnt/elsewhere")
    # mount() with no server: a server of the manager in the volume's zone, attached again.
    vol.mount()
    assert vol.server is server and vol.mounted and sha_on(vol, "payload.bin") == digest
    # Moving to another server of the zone: unmounted, detached, attached and mounted there.
    other = manager.get_server("mover", availability_zone="us-east-1a")
    assert vol.mount(other) == "/mnt/elsewhere"  # where it was last mounted
    assert vol.server is other and sha_on(vol, "payload.bin") == digest
    assert not server.ssh("mountpoint", "-q", "/mnt/elsewhere")
    # A server in another zone is refused before anything is undone.
    with pytest.raises(StagingParameterError, match="us-east-1a"):
        vol.mount(manager.get_server_in_zone("us-east-1b"))
    assert vol.server is other and vol.mounted and status_of(client, str(vol)) == "in-use"
    vol.delete()
    assert manager.find_volume_by_name("placed") is None
    assert client.describe_volumes(Filters=[{"Name": "volume-id", "Values": [str(vol)]}])["Volumes"] == []


@pytest.mark.parametrize("fstype", ["ext4", "xfs"])
def test_resize_grows_the_file_system(manager: StagingManager, tmp_path: Path, fstype: str) -> None:
    """resize() grows the EBS volume and its file system; the data stays and the volume stays mounted."""
    vol = manager.provision_volume(f"grow-{fstype}", size=1, fstype=fstype, availability_zone="us-east-1a")
    digest = write_payload(vol, tmp_path)
    before = df_kib(vol)
    vol.resize(2)
    assert vol.size == 2
    assert vol.mounted, "resize left the volume unmounted"
    after = df_kib(vol)
    assert after > before * 1.8, (before, after)
    assert sha_on(vol, "payload.bin") == digest
    with pytest.raises(Exception, match="cannot shrink"):
        vol.resize(1)


def test_resize_of_a_detached_volume_then_grow_on_a_server(manager: StagingManager, client: Any) -> None:
    """A detached volume gets only the EBS part (its modification usable, no server touched); its file
    system grows once grown on a server, and growing it again (it fills its device) changes nothing."""
    vol = manager.provision_volume("grow-later", size=1, fstype="ext4", availability_zone="us-east-1a")
    server = vol.server
    assert server is not None
    vol.detach()
    vol.resize(2)
    assert vol.size == 2 and vol.server is None
    modification = client.describe_volumes_modifications(VolumeIds=[str(vol)])["VolumesModifications"][-1]
    assert modification["ModificationState"] in ("optimizing", "completed")
    vol.mount(server)
    before = df_kib(vol)
    server.grow_filesystem(vol)
    assert vol.mounted and df_kib(vol) > before * 1.8
    grown = df_kib(vol)
    server.grow_filesystem(vol)
    assert vol.mounted and df_kib(vol) == grown


def test_snapshots_and_volumes_from_them(manager: StagingManager, client: Any, tmp_path: Path) -> None:
    """Snapshots of an unmounted and of a frozen volume hold the data; a larger volume from one is grown."""
    vol = manager.provision_volume("snapped", size=1, availability_zone="us-east-1a")
    digest = write_payload(vol, tmp_path)
    plain = vol.create_snapshot("unmounted snapshot")
    assert vol.mounted  # remounted after the snapshot
    frozen = vol.create_snapshot("frozen snapshot", freeze=True)
    assert vol.mounted and vol.mkdir("still-writable")  # unfrozen after
    manager.wait_for([plain, frozen], "completed", "snapshots")
    for snap in (plain, frozen):
        described = client.describe_snapshots(SnapshotIds=[str(snap)])["Snapshots"][0]
        tags = {t["Key"]: t["Value"] for t in described["Tags"]}
        assert tags[NAME] == "snapped" and tags[ROLE] == "StagingSnapshot"
    grown = manager.provision_volume(
        "from-snap", snapshot_id=str(frozen), size=3, availability_zone="us-east-1b"
    )
    assert grown.size == 3 and grown.fstype == "ext4" and grown.mounted
    assert grown.server is not None and grown.server.zone == "us-east-1b"
    assert df_kib(grown) > 2.5 * 1024 * 1024
    assert sha_on(grown, "payload.bin") == digest
    assert "still-writable" not in grown.ls()  # the frozen snapshot is of its moment
    same = manager.provision_volume("from-snap-same", snapshot_id=str(plain), availability_zone="us-east-1a")
    assert same.size == 1 and sha_on(same, "payload.bin") == digest
    bigger = grown.create_snapshot()
    with pytest.raises(StagingParameterError, match="cannot be 2 GiB"):
        manager.provision_volume("too-small", snapshot_id=str(bigger), size=2)
    assert manager.find_volume_by_name("too-small") is None
    for snap in (plain, frozen, bigger):
        client.delete_snapshot(SnapshotId=str(snap))


def test_provision_from_volume_id(manager: StagingManager, client: Any, tmp_path: Path) -> None:
    """An existing available volume is adopted by id: attached, its file system detected, mounted."""
    vol = manager.provision_volume("by-id-src", size=1, fstype="xfs", availability_zone="us-east-1a")
    digest = write_payload(vol, tmp_path)
    vol.detach()
    manager.forget_volume(vol)
    again = manager.provision_volume("by-id", volume_id=str(vol), availability_zone="us-east-1a")
    assert str(again) == str(vol) and again.fstype == "xfs" and again.mounted
    assert sha_on(again, "payload.bin") == digest
    with pytest.raises(StagingParameterError, match="us-east-1a"):
        manager.provision_volume("by-id-zone", volume_id=str(vol), availability_zone="us-east-1b")


def test_copy_to_another_zone(manager: StagingManager, client: Any, tmp_path: Path) -> None:
    """copy() makes a volume with the same data in another zone (through a snapshot it deletes)."""
    vol = manager.provision_volume("copied", size=1, fstype="xfs", availability_zone="us-east-1a")
    digest = write_payload(vol, tmp_path)
    snaps_before = {s["SnapshotId"] for s in client.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    copy = vol.copy(availability_zone="us-east-1b")
    assert copy.zone == "us-east-1b" and copy.name == "copied-copy" and copy.server is None
    assert manager.find_volume_by_name("copied-copy") is copy
    assert {
        s["SnapshotId"] for s in client.describe_snapshots(OwnerIds=["self"])["Snapshots"]
    } == snaps_before
    copy.mount()
    assert copy.server is not None and copy.server.zone == "us-east-1b"
    assert copy.fstype == "xfs" and tags_of(client, str(copy))[FSTYPE] == "xfs"
    assert sha_on(copy, "payload.bin") == digest
    # A volume from a snapshot of an xfs volume is tagged with the file system it really holds.
    snap = vol.create_snapshot()
    manager.wait_for(snap, "completed", "snapshot")
    again = manager.provision_volume("copied-again", snapshot_id=str(snap), availability_zone="us-east-1a")
    assert again.fstype == "xfs" and tags_of(client, str(again))[FSTYPE] == "xfs"
    assert sha_on(again, "payload.bin") == digest  # mounted beside the original (same xfs UUID)
    client.delete_snapshot(SnapshotId=str(snap))


def test_file_operations(manager: StagingManager, tmp_path: Path) -> None:
    """df, ls, mkdir, chown, chmod, cp, mv, rm, put and get act inside the mount point."""
    vol = manager.provision_volume("files", size=1, availability_zone="us-east-1a")
    assert vol.mtpt in vol.df() or "/mnt/Staging/files" in vol.df()
    assert vol.mkdir("-p", "d/e") and vol.mkdir("-p", "d/e")
    assert not vol.mkdir("d")  # exists: False, no exception
    (tmp_path / "f.txt").write_text("hello\n")
    vol.put(tmp_path / "f.txt", "d/")
    assert vol.chown("1234:2345", "d/f.txt") and vol.chmod("640", "d/f.txt")
    assert vol.cp("d/f.txt", "d/e/g.txt") and vol.mv("d/e/g.txt", "d/h.txt")
    listing = vol.ls("-ln", "d")
    assert "h.txt" in listing and "f.txt" in listing and "e" in listing
    assert vol.cmd("stat", "-c", "%u:%g %a", "d/f.txt").strip() == "1234:2345 640"
    out = tmp_path / "out"
    vol.get("d/f.txt", out)
    assert out.read_text() == "hello\n"
    whole = tmp_path / "whole"
    vol.get(whole)
    assert (whole / "d" / "h.txt").read_text() == "hello\n"
    assert vol.rm("d/h.txt") and "h.txt" not in vol.ls("d")
    assert not vol.rm("d/nothing-here")
    assert vol.rmdir("d/e") and vol.ls("d").split() == ["f.txt"]
