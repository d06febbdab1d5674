"""e2fsck, fsfreeze, mkfs with label and UUID, label limits, and tool lookups where sudo looks.

The builders are checked as strings, then run for real on loop devices (mkfs, blkid, e2fsck, mount,
fsfreeze) and with real shells (a login PATH without /sbin and /usr/sbin).
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from transfer import CommandResult, LocalShell, RemoteCommandError, missing_tools
from transfer.commands import (
    TOOL_SEARCH_DIRS,
    blkid_argv,
    check_label,
    check_uuid,
    e2fsck_argv,
    e2fsck_exit_meaning,
    e2fsck_ok,
    fsfreeze_argv,
    mkfs_argv,
    mount_argv,
    parse_blkid,
    parse_which,
    umount_argv,
    which_argv,
)
from transfer.shell import Command, join_argv
from transfer.testing import FakeShell

U = "0f3c2a8e-5d41-4b7a-9c3e-2b1d0e9f8a76"


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (("/dev/x", "ext4"), {"uuid": U}, f"mkfs.ext4 -q -U {U} /dev/x"),
        (("/dev/x", "ext4"), {"label": "data", "uuid": uuid.UUID(U)}, f"mkfs.ext4 -q -L data -U {U} /dev/x"),
        (("/dev/x", "ext3"), {"uuid": U.upper(), "force": True}, f"mkfs.ext3 -q -F -U {U} /dev/x"),
        (
            ("/dev/x", "xfs"),
            {"label": "twelve-chars", "uuid": U},
            f"mkfs.xfs -L twelve-chars -m uuid={U} /dev/x",
        ),
        (("/dev/x", "btrfs"), {"uuid": U, "force": True}, f"mkfs.btrfs -f -U {U} /dev/x"),
        (
            ("/dev/x", "vfat"),
            {"label": "ELEVENCHARS", "uuid": "abcd-1234"},
            "mkfs.vfat -n ELEVENCHARS -i ABCD1234 /dev/x",
        ),
    ],
)
def test_mkfs_with_uuid(args: tuple[str, ...], kwargs: dict[str, object], expected: str) -> None:
    """The UUID is spelled per family: -U for ext*/btrfs, -m uuid= for xfs, -i (volume id) for vfat."""
    assert join_argv(mkfs_argv(*args, **kwargs)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fstype", "label", "limit"),
    [
        ("xfs", "thirteen-char", 12),
        ("ext4", "seventeen-chars-x", 16),
        ("ext2", "é" * 9, 16),
        ("vfat", "TWELVECHARSX", 11),
    ],
)
def test_labels_longer_than_the_file_system_allows_are_refused(fstype: str, label: str, limit: int) -> None:
    """A too-long label fails before anything runs, naming the file system's limit."""
    with pytest.raises(ValueError, match=f"{fstype} labels are at most {limit} characters") as info:
        mkfs_argv("/dev/x", fstype, label=label)
    assert "\n" not in str(info.value)
    assert check_label(fstype, label[:limit] if fstype != "ext2" else "é" * 8) in (label[:limit], "é" * 8)


def test_bad_uuids_and_labels() -> None:
    """Malformed UUIDs, ids for unknown file systems, and labels with newlines are refused."""
    with pytest.raises(ValueError, match="not a UUID"):
        mkfs_argv("/dev/x", "ext4", uuid="not-a-uuid")
    with pytest.raises(ValueError, match="volume id is 8 hex digits"):
        check_uuid("vfat", U)
    with pytest.raises(ValueError, match="don't know how to set the UUID of a f2fs"):
        mkfs_argv("/dev/x", "f2fs", uuid=U)
    with pytest.raises(ValueError, match="newline"):
        check_label("btrfs", "a\nb")
    assert check_uuid("xfs", "{" + U.upper() + "}") == U
    assert check_label("f2fs", "x" * 100) == "x" * 100  # unknown limits are left to mkfs


def test_e2fsck_and_fsfreeze_argv() -> None:
    """e2fsck -f -y by default; exit 0-3 leave a consistent file system; fsfreeze both ways."""
    assert e2fsck_argv("/dev/x") == ["e2fsck", "-f", "-y", "/dev/x"]
    assert e2fsck_argv("/dev/x", force=False, repair=False) == ["e2fsck", "-n", "/dev/x"]
    assert [e2fsck_ok(c) for c in (0, 1, 2, 3, 4, 8, 12, 16, 32)] == [True] * 4 + [False] * 5
    assert e2fsck_exit_meaning(1) == "errors corrected"
    assert e2fsck_exit_meaning(12) == "errors left uncorrected, operational error"
    assert e2fsck_exit_meaning(0) == "no errors"
    assert fsfreeze_argv("/mnt/a b") == ["fsfreeze", "--freeze", "/mnt/a b"]
    assert fsfreeze_argv("/m", freeze=False) == ["fsfreeze", "--unfreeze", "/m"]
    for bad in (lambda: e2fsck_argv("-n"), lambda: fsfreeze_argv("m")):
        with pytest.raises(ValueError, match="absolute"):
            bad()


def test_which_argv_and_parse() -> None:
    """The lookup appends the sbin directories to PATH; names that are not commands are refused."""
    argv = which_argv("mkfs.ext4", "fsfreeze")
    assert argv[:2] == ["sh", "-c"] and argv[3:] == ["sh", "mkfs.ext4", "fsfreeze"]
    assert ":".join(TOOL_SEARCH_DIRS) in argv[2] and "/usr/sbin" in TOOL_SEARCH_DIRS
    assert parse_which("a /usr/sbin/a\nb\n") == {"a": "/usr/sbin/a", "b": None}
    for bad in ("-v", "/usr/bin/x", "a b", "", "a;b"):
        with pytest.raises(ValueError):
            which_argv(bad)
    with pytest.raises(ValueError):
        which_argv()


def test_missing_tools_with_a_fake_shell() -> None:
    """One command, under sudo by default; duplicates asked once; order kept."""
    fake = FakeShell().expect(
        which_argv("e2fsck", "pv", "fsfreeze"), sudo=True, stdout="e2fsck /sbin/e2fsck\npv\n"
    )
    assert missing_tools(fake, ["e2fsck", "pv", "e2fsck", "fsfreeze"]) == ["pv", "fsfreeze"]
    fake.assert_all_called()
    assert missing_tools(FakeShell(), []) == []


class LoginPathShell(LocalShell):
    """A LocalShell whose commands see a login PATH, without /sbin and /usr/sbin (as on Debian)."""

    login_path = "/usr/local/bin:/usr/bin:/bin"

    def run(self, command: Command, **kwargs: Any) -> CommandResult:
        """Run with PATH set to :attr:`login_path`."""
        kwargs["env"] = {"PATH": self.login_path}
        return super().run(command, **kwargs)


def test_missing_tools_finds_sbin_tools_on_a_login_path() -> None:
    """On a login PATH without the sbin directories, command -v misses mkfs.ext4; missing_tools finds it."""
    shell = LoginPathShell()
    assert not shell.run(["sh", "-c", "command -v mkfs.ext4"], check=False).ok
    wanted = ["mkfs.ext4", "e2fsck", "fsfreeze", "blkid", "losetup", "no-such-tool-here"]
    assert missing_tools(shell, wanted, sudo=False) == ["no-such-tool-here"]
    assert missing_tools(shell, wanted) == ["no-such-tool-here"]  # through sudo -n (we are root)


@pytest.fixture
def mountpoints(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount point directories; whatever is still frozen or mounted there is thawed and unmounted after."""
    made: list[Path] = []

    def make(name: str) -> Path:
        path = tmp_path / name
        path.mkdir()
        made.append(path)
        return path

    try:
        yield make
    finally:
        for path in made:
            if path.is_mount():
                subprocess.run(fsfreeze_argv(str(path), freeze=False), check=False, capture_output=True)
                subprocess.run(umount_argv(str(path)), check=False)


def test_on_a_loop_device(loop_device: Callable[..., str], mountpoints: Callable[[str], Path]) -> None:
    """Real mkfs with label and UUID (ext4, xfs) shown by blkid; e2fsck exit 1 is a repair; fsfreeze works."""
    shell = LocalShell()
    ext_dev = loop_device(64 << 20)
    shell.run(mkfs_argv(ext_dev, "ext4", label="x" * 16, uuid=U, force=True))
    info = parse_blkid(shell.run(blkid_argv(ext_dev)).stdout)
    assert (info["TYPE"], info["LABEL"], info["UUID"]) == ("ext4", "x" * 16, U)

    clean = shell.run(e2fsck_argv(ext_dev), check=False)
    assert clean.exit_code == 0 and e2fsck_ok(clean.exit_code)
    # Damage the superblock's free block count: e2fsck corrects it and exits 1, which is a success.
    shell.run(["debugfs", "-w", "-R", "ssv free_blocks_count 0", ext_dev])
    repaired = shell.run(e2fsck_argv(ext_dev), check=False)
    assert repaired.exit_code == 1 and e2fsck_ok(repaired.exit_code)
    assert e2fsck_exit_meaning(repaired.exit_code) == "errors corrected"
    assert shell.run(e2fsck_argv(ext_dev), check=False).exit_code == 0

    mnt = mountpoints("ext")
    shell.run(mount_argv(ext_dev, str(mnt)))
    (mnt / "f").write_text("before freeze\n")
    shell.run(fsfreeze_argv(str(mnt)))
    try:
        # A frozen file system refuses a second freeze (EBUSY): proof that it is frozen, with no timing.
        again = shell.run(fsfreeze_argv(str(mnt)), check=False)
        assert not again.ok and "busy" in again.stderr.lower()
    finally:
        shell.run(fsfreeze_argv(str(mnt), freeze=False))
    (mnt / "f").write_text("after thaw\n")
    with pytest.raises(RemoteCommandError):  # not frozen any more
        shell.run(fsfreeze_argv(str(mnt), freeze=False))
    shell.run(umount_argv(str(mnt)))

    xfs_dev = loop_device(320 << 20)  # sparse; mkfs.xfs wants 300 MiB at least
    other = str(uuid.uuid4())
    shell.run(mkfs_argv(xfs_dev, "xfs", label="twelve-chars", uuid=other, force=True))
    info = parse_blkid(shell.run(blkid_argv(xfs_dev)).stdout)
    assert (info["TYPE"], info["LABEL"], info["UUID"]) == ("xfs", "twelve-chars", other)


@pytest.mark.root
def test_blkid_probes_a_reused_device_number_afresh(tmp_path: Path) -> None:
    """A device number reused for another volume reads as the new file system, not blkid's cached old one."""
    ext, xfs = tmp_path / "ext.img", tmp_path / "xfs.img"
    for image, fstype in ((ext, "ext4"), (xfs, "xfs")):
        image.write_bytes(b"")
        subprocess.run(["truncate", "-s", "300M", str(image)], check=True)
        subprocess.run(
            [f"mkfs.{fstype}", "-q", *(["-F"] if fstype == "ext4" else ["-f"]), str(image)], check=True
        )
    shell = LocalShell()
    dev = subprocess.run(["losetup", "-f", "--show", str(ext)], capture_output=True, text=True, check=True)
    device = dev.stdout.strip()
    try:
        assert parse_blkid(shell.run(blkid_argv(device)).stdout)["TYPE"] == "ext4"  # now in blkid's cache
    finally:
        subprocess.run(["losetup", "-d", device], check=False)
    again = subprocess.run(["losetup", "--show", device, str(xfs)], capture_output=True, text=True)
    if again.returncode != 0:
        pytest.skip(f"{device} was taken by someone else in between")
    try:
        assert parse_blkid(shell.run(blkid_argv(device)).stdout)["TYPE"] == "xfs"
    finally:
        subprocess.run(["losetup", "-d", device], check=False)
