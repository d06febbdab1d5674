"""The issue's end-to-end flow via plain boto3, ssh and rsync: data survives a cross-region snapshot copy."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from staging.sandbox import by_id_path

from .conftest import modification_of

pytestmark = [pytest.mark.root, pytest.mark.slow]

#: The first GiB of a device, read in large blocks and checksummed with CRC (sha256 costs ~9 s/GiB here).
#: O_DIRECT skips the device's page cache: ~1 s instead of ~3.5 s through a loop device (the device is
#: unmounted or never written, so the cache holds nothing newer).
FIRST_GIB = "sudo dd bs=4M count=256 iflag=fullblock,direct status=none"


def make_tree(root: Path) -> dict[str, str]:
    """A small mixed tree (binary files, text, nested dirs, a symlink); returns sha256 per regular file."""
    rng = __import__("random").Random(4)
    (root / "a" / "b").mkdir(parents=True)
    files = {
        "big.bin": rng.randbytes(3 * 1024 * 1024),
        "a/small.txt": b"hello sandbox\n",
        "a/b/empty": b"",
        "a/b/rand.bin": os.urandom(70_000),
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    (root / "link").symlink_to("a/small.txt")
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def remote_sums(login: Any, directory: str) -> dict[str, str]:
    """sha256 of every regular file under ``directory`` on the host."""
    out = login.run(f"cd {directory} && sudo find . -type f -print0 | sudo xargs -0 sha256sum").stdout
    return {line.split(None, 1)[1].removeprefix("./"): line.split()[0] for line in out.splitlines()}


def test_launch_attach_snapshot_copy_restore(
    launcher: Any, track: Any, east: Any, west: Any, tmp_path: Path
) -> None:
    """Data written over ssh to a volume comes back byte-identical from a snapshot copied across regions."""
    key_name, key_file = launcher.key_pair("us-east-1")
    instance = launcher.instance("us-east-1", key_name, zone="us-east-1a")
    login = launcher.login("us-east-1", instance, key_file)
    assert login.run("sudo -n id -u").stdout.strip() == "0"
    # The fingerprints cloud-init printed are those of the keys we pinned (and that sshd just accepted).
    console = east.get_console_output(InstanceId=instance["InstanceId"])["Output"]
    block = console.split("-----BEGIN SSH HOST KEY FINGERPRINTS-----")[1].split("-----END")[0]
    pinned = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(login.known_hosts)], capture_output=True, text=True
    )
    assert set(re.findall(r"SHA256:\S+", pinned.stdout)) == set(re.findall(r"SHA256:\S+", block)) != set()

    volume_id = east.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
    track.volumes.append(("us-east-1", volume_id))
    east.attach_volume(VolumeId=volume_id, InstanceId=instance["InstanceId"], Device="/dev/sdf")
    device = by_id_path(volume_id)
    login.run(
        f"sudo mkfs.ext4 -q {device} && mkdir -p ~/vol && sudo mount {device} ~/vol && sudo chown admin ~/vol"
    )
    source = tmp_path / "tree"
    sums = make_tree(source)
    result = login.rsync(source, "vol/data/")
    assert result.returncode == 0, result.stderr
    login.run("sync")
    assert remote_sums(login, "~/vol/data") == sums
    # A snapshot of the mounted volume holds what was written (and synced) before it, nothing written after.
    live_snapshot = east.create_snapshot(VolumeId=volume_id, Description="while mounted")["SnapshotId"]
    track.snapshots.append(("us-east-1", live_snapshot))
    login.run("echo later | sudo tee ~/vol/later >/dev/null && sync")
    # Unmounted, the device's bytes are stable: the snapshot must carry exactly these.
    login.run("sudo umount ~/vol")
    original = login.run(f"{FIRST_GIB} if={device} | cksum").stdout.split()[0]

    snapshot_id = east.create_snapshot(VolumeId=volume_id, Description="e2e")["SnapshotId"]
    track.snapshots.append(("us-east-1", snapshot_id))
    east.get_waiter("snapshot_completed").wait(SnapshotIds=[snapshot_id])
    copy_id = west.copy_snapshot(SourceSnapshotId=snapshot_id, SourceRegion="us-east-1")["SnapshotId"]
    track.snapshots.append(("us-west-2", copy_id))
    west.get_waiter("snapshot_completed").wait(SnapshotIds=[copy_id])

    west_key, west_key_file = launcher.key_pair("us-west-2")
    west_instance = launcher.instance("us-west-2", west_key, zone="us-west-2a")
    restored = west.create_volume(SnapshotId=copy_id, Size=2, AvailabilityZone="us-west-2a")["VolumeId"]
    track.volumes.append(("us-west-2", restored))
    west.attach_volume(VolumeId=restored, InstanceId=west_instance["InstanceId"], Device="/dev/sdg")
    west_login = launcher.login("us-west-2", west_instance, west_key_file)
    # The restored volume is larger (2 GiB); its first GiB is the snapshot's bytes, the rest zeros.
    restored_dev = by_id_path(restored)
    assert west_login.run(f"{FIRST_GIB} if={restored_dev} | cksum").stdout.split()[0] == original
    assert west_login.run(f"sudo blockdev --getsize64 {restored_dev}").stdout.strip() == str(2 * 1024**3)
    west_login.run(f"mkdir -p ~/vol && sudo mount {restored_dev} ~/vol")
    assert remote_sums(west_login, "~/vol/data") == sums
    assert west_login.run("readlink ~/vol/data/link").stdout.strip() == "a/small.txt"
    assert west_login.run("cat ~/vol/later").stdout == "later\n"

    live = east.create_volume(SnapshotId=live_snapshot, AvailabilityZone="us-east-1a")["VolumeId"]
    track.volumes.append(("us-east-1", live))
    east.attach_volume(VolumeId=live, InstanceId=instance["InstanceId"], Device="/dev/sdh")
    login.run(f"mkdir -p ~/live && sudo mount {by_id_path(live)} ~/live")  # replays the journal
    assert remote_sums(login, "~/live/data") == sums
    assert login.run("test -e ~/live/later", check=False).returncode == 1


def test_host_key_pinning_rejects_a_wrong_key(launcher: Any, tmp_path: Path) -> None:
    """ssh with known_hosts from another instance's console output is refused (keys are per host)."""
    key_name, key_file = launcher.key_pair("us-east-1")
    first = launcher.instance("us-east-1", key_name)
    second = launcher.instance("us-east-1", key_name)
    first_login = launcher.login("us-east-1", first, key_file)
    second_login = launcher.login("us-east-1", second, key_file)
    wrong = tmp_path / "wrong.known"
    wrong.write_text(first_login.known_hosts.read_text().replace(first_login.address, second_login.address))
    second_login.known_hosts = wrong
    assert second_login.run("true", check=False).returncode == 255


def test_hosts_have_their_own_mounts_and_homes(launcher: Any, east: Any, track: Any) -> None:
    """A volume attached to one host is invisible on another, and so are files in ~ and /mnt."""
    key_name, key_file = launcher.key_pair("us-east-1")
    one = launcher.login("us-east-1", launcher.instance("us-east-1", key_name, zone="us-east-1a"), key_file)
    two_instance = launcher.instance("us-east-1", key_name, zone="us-east-1a")
    two = launcher.login("us-east-1", two_instance, key_file)
    volume_id = east.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
    track.volumes.append(("us-east-1", volume_id))
    east.attach_volume(VolumeId=volume_id, InstanceId=two_instance["InstanceId"], Device="/dev/sdf")
    one.run("echo mine > ~/note && sudo mkdir /mnt/only-here")
    assert two.run("test -e ~/note || test -e /mnt/only-here", check=False).returncode == 1
    assert not Path("/mnt/only-here").exists()  # /mnt is the host's own, not the machine's
    assert one.run(f"test -e {by_id_path(volume_id)}", check=False).returncode == 1
    assert two.run(f"test -b {by_id_path(volume_id)}", check=False).returncode == 0
    east.detach_volume(VolumeId=volume_id)
    assert two.run(f"test -e {by_id_path(volume_id)}", check=False).returncode == 1


def test_stop_start_keeps_host_keys_and_terminate_removes_host(launcher: Any, east: Any, cloud: Any) -> None:
    """Stop takes sshd down, start and reboot bring it back with the same keys, terminate removes the host."""
    key_name, key_file = launcher.key_pair("us-east-1")
    instance = launcher.instance("us-east-1", key_name)
    iid = instance["InstanceId"]
    login = launcher.login("us-east-1", instance, key_file)
    east.stop_instances(InstanceIds=[iid])
    assert login.run("true", check=False).returncode == 255
    east.start_instances(InstanceIds=[iid])
    assert login.run("true", check=False).returncode == 0  # same known_hosts: same host keys
    login.run("echo kept > ~/file")
    east.reboot_instances(InstanceIds=[iid])
    assert login.run("cat ~/file").stdout == "kept\n"
    east.terminate_instances(InstanceIds=[iid])
    assert iid not in cloud.status()["hosts"]


def test_modify_volume_grows_the_device(launcher: Any, east: Any, track: Any) -> None:
    """Once the modification is ``optimizing`` the attached block device has the new size; shrinking is
    refused."""
    key_name, key_file = launcher.key_pair("us-east-1")
    instance = launcher.instance("us-east-1", key_name, zone="us-east-1a")
    volume_id = east.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
    track.volumes.append(("us-east-1", volume_id))
    east.attach_volume(VolumeId=volume_id, InstanceId=instance["InstanceId"], Device="/dev/sdf")
    east.modify_volume(VolumeId=volume_id, Size=3)
    login = launcher.login("us-east-1", instance, key_file)
    while modification_of(east, volume_id)["ModificationState"] == "modifying":
        time.sleep(0.1)
    assert login.run(f"sudo blockdev --getsize64 {by_id_path(volume_id)}").stdout.strip() == str(3 * 1024**3)
    with pytest.raises(ClientError):
        east.modify_volume(VolumeId=volume_id, Size=2)


def test_console_output_parses_with_the_transfer_layer(launcher: Any, east: Any) -> None:
    """transfer.hostkeys pins the real host keys from the console; transfer.SSHShell logs in with them."""
    from transfer.hostkeys import parse_cloud_init_console

    key_name, key_file = launcher.key_pair("us-east-1")
    instance = launcher.instance("us-east-1", key_name)
    login = launcher.login("us-east-1", instance, key_file)
    pins = parse_cloud_init_console(east.get_console_output(InstanceId=instance["InstanceId"])["Output"])
    known = {" ".join(line.split()[1:3]) for line in login.known_hosts.read_text().splitlines()}
    assert {k.public_key for k in pins.keys if k.public_key} == known
    assert {k.family for k in pins.keys} == {"ed25519", "ecdsa"}
    # The same pins let the transfer layer's paramiko shell in (sudo included), as the staging layer will.
    from transfer import SSHShell

    with SSHShell(login.address, user=login.user, key_filename=key_file, host_keys=pins) as shell:
        assert shell.run(["id", "-u"], sudo=True).stdout.strip() == "0"


def test_hosts_cannot_route_off_the_machine(launcher: Any, cloud: Any) -> None:
    """A host's namespace knows only the sandbox /24 (no default route); the bridge forwards nothing; the
    sandbox /24 overlaps no other route of the machine."""
    key_name, _ = launcher.key_pair("us-east-1")
    iid = launcher.instance("us-east-1", key_name)["InstanceId"]
    netns = cloud.status()["hosts"][iid]["netns"]
    routes = json.loads(subprocess.run(["ip", "-n", netns, "-j", "route"], capture_output=True).stdout)
    assert [r["dst"] for r in routes] == [cloud.network]
    six = subprocess.run(
        ["ip", "-n", netns, "-6", "route", "show", "default"], capture_output=True, text=True
    )
    assert six.stdout.strip() == ""
    bridge = cloud._state["network"]["bridge"]
    assert Path(f"/proc/sys/net/ipv4/conf/{bridge}/forwarding").read_text().strip() == "0"
    assert Path(f"/proc/sys/net/ipv6/conf/{bridge}/disable_ipv6").read_text().strip() == "1"
    machine = json.loads(subprocess.run(["ip", "-j", "-4", "route"], capture_output=True).stdout)
    sandbox = ipaddress.ip_network(cloud.network)
    others = [r for r in machine if r.get("dev") != bridge and r["dst"] != "default"]
    assert not [r for r in others if ipaddress.ip_network(r["dst"], strict=False).overlaps(sandbox)]
