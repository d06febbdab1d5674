"""Device discovery (pure, polling with a fake clock, real by-id links) and real file system commands."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from transfer.commands import (
    blkid_argv,
    df_argv,
    grow_fs_argv,
    lsblk_argv,
    mkfs_argv,
    mount_argv,
    parse_blkid,
    parse_df,
    parse_lsblk,
    umount_argv,
)
from transfer.devices import device_candidates, find_block_device, probe_argv
from transfer.errors import DeviceNotFound
from transfer.hostkeys import HostKeyPins
from transfer.ssh import SSHShell
from transfer.testing import FakeShell, SshdServer

from .conftest import KeyPair

BY_ID = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_"


@pytest.mark.parametrize(
    ("volume", "requested", "expected"),
    [
        ("vol-0abc", "/dev/sdf", [f"{BY_ID}vol0abc", "/dev/sdf", "/dev/xvdf"]),
        (None, "/dev/xvdg1", ["/dev/xvdg1", "/dev/sdg1"]),
        (None, "sdh", ["/dev/sdh", "/dev/xvdh"]),
        ("vol-0abc", None, [f"{BY_ID}vol0abc"]),
        (None, "/dev/nvme1n1", ["/dev/nvme1n1"]),
    ],
)
def test_device_candidates(volume: str | None, requested: str | None, expected: list[str]) -> None:
    """By-id NVMe link first, then the requested name and its sd/xvd twin."""
    assert device_candidates(volume, requested) == expected


@pytest.mark.parametrize(("volume", "requested"), [(None, None), ("vol-$(x)", None), (None, "/dev/sd f")])
def test_device_candidates_rejects(volume: str | None, requested: str | None) -> None:
    """Missing or malformed input is refused."""
    with pytest.raises(ValueError):
        device_candidates(volume, requested)


class Clock:
    """Advances only when slept on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


def test_polls_until_the_device_appears() -> None:
    """Rounds without a device sleep with backoff; the first hit returns the resolved path."""
    probe = probe_argv(device_candidates("vol-0abc", "/dev/sdf"))
    fake = FakeShell().expect(probe, exit=1, times=2).expect(probe, stdout="/dev/nvme1n1\n")
    clock = Clock()
    assert find_block_device(fake, "vol-0abc", "/dev/sdf", clock=clock, sleep=clock.sleep) == "/dev/nvme1n1"
    assert len(clock.slept) == 2 and clock.slept[1] >= clock.slept[0]
    fake.assert_all_called()


def test_gives_up_at_the_deadline() -> None:
    """No device before the deadline raises DeviceNotFound listing what was tried."""
    probe = probe_argv(device_candidates(None, "/dev/sdf"))
    fake = FakeShell().expect(probe, exit=1, times=1000)
    clock = Clock()
    with pytest.raises(DeviceNotFound, match="xvdf"):
        find_block_device(fake, None, "/dev/sdf", timeout=30, clock=clock, sleep=clock.sleep)
    assert clock.now == 30  # the last probe is at the deadline: no sleeping past it
    assert all(call.timeout is not None for call in fake.calls)  # a hung probe cannot outlive the deadline


@pytest.fixture
def shell(sshd: SshdServer, client_key: KeyPair, sshd_pins: HostKeyPins) -> Iterator[SSHShell]:
    """An SSHShell to the session sshd."""
    with SSHShell(sshd.address, port=sshd.port, key_filename=client_key.private, host_keys=sshd_pins) as sh:
        yield sh


def test_finds_loop_device_through_nvme_by_id_link(
    shell: SSHShell, loop_device: Callable[..., str], dev_links: Callable[[str, str], None]
) -> None:
    """A by-id symlink named after the volume id resolves to the real loop device."""
    dev = loop_device(1 << 20)
    vol = "vol-0" + secrets.token_hex(8)
    dev_links(BY_ID + vol.replace("-", ""), dev)
    assert find_block_device(shell, vol, "/dev/sdf", timeout=5) == dev


def test_finds_xen_twin_of_requested_name(
    shell: SSHShell, loop_device: Callable[..., str], dev_links: Callable[[str, str], None]
) -> None:
    """/dev/sdX requested but /dev/xvdX present: the xvd name is found."""
    dev = loop_device(1 << 20)
    name = "zq" + secrets.choice("abcdefghij")
    dev_links(f"/dev/xvd{name}", dev)
    assert find_block_device(shell, None, f"/dev/sd{name}", timeout=5) == dev


def _grow_image(shell: SSHShell, dev: str, size: int) -> None:
    image = shell.run(["losetup", "-n", "-O", "BACK-FILE", dev], sudo=True).stdout.strip()
    os.truncate(image, size)
    shell.run(["losetup", "-c", dev], sudo=True)


@pytest.mark.parametrize(
    ("fstype", "size", "grown"), [("ext4", 64 << 20, 96 << 20), ("xfs", 320 << 20, 400 << 20)]
)
def test_mkfs_mount_df_blkid_lsblk_and_grow(
    shell: SSHShell, loop_device: Callable[..., str], tmp_path: Path, fstype: str, size: int, grown: int
) -> None:
    """The pure builders and parsers drive real ext4 (grown offline) and xfs (grown online) file systems."""
    dev = loop_device(size)
    mnt = tmp_path / f"mnt {fstype}"
    mnt.mkdir()
    shell.run(mkfs_argv(dev, fstype, label="data"), sudo=True)
    info = parse_blkid(shell.run(blkid_argv(dev), sudo=True).stdout)
    assert (info["TYPE"], info["LABEL"]) == (fstype, "data")
    assert parse_lsblk(shell.run(lsblk_argv(dev)).stdout)[0].size == size
    if (
        fstype == "ext4"
    ):  # online ext4 resizing needs a capability containers often lack; offline works anywhere
        _grow_image(shell, dev, grown)
        shell.run(["e2fsck", "-f", "-p", dev], sudo=True)
        shell.run(grow_fs_argv(fstype, dev), sudo=True)
    shell.run(mount_argv(dev, str(mnt), fstype=fstype, options=["noatime"]), sudo=True)
    try:
        before = parse_df(shell.run(df_argv(str(mnt))).stdout)[0]
        assert (before.source, before.fstype, before.target) == (dev, fstype, str(mnt))
        if fstype == "xfs":
            _grow_image(shell, dev, grown)
            shell.run(grow_fs_argv(fstype, dev, str(mnt)), sudo=True)
        after = parse_df(shell.run(df_argv(str(mnt))).stdout)[0]
        assert after.size > (size if fstype == "ext4" else before.size)  # ext4 grew before the mount
    finally:
        shell.run(umount_argv(str(mnt)), sudo=True)
