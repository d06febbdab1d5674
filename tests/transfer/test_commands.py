"""Pure builders and parsers for mkfs, mount, resize, blkid, lsblk and df."""

from __future__ import annotations

import pytest

from transfer.commands import (
    BlockDevice,
    blkid_argv,
    blockdev_size_argv,
    df_argv,
    fs_size_argv,
    grow_fs_argv,
    lsblk_argv,
    mkfs_argv,
    mount_argv,
    parse_blkid,
    parse_blockdev_size,
    parse_df,
    parse_fs_size,
    parse_lsblk,
    umount_argv,
)
from transfer.shell import join_argv


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (("/dev/xvdf",), {}, "mkfs.ext4 -q /dev/xvdf"),
        (("/dev/xvdf", "ext4"), {"label": "data", "force": True}, "mkfs.ext4 -q -F -L data /dev/xvdf"),
        (("/dev/xvdf", "xfs"), {"label": "d", "force": True}, "mkfs.xfs -f -L d /dev/xvdf"),
        (("/dev/xvdf", "xfs"), {"options": ["-m", "reflink=1"]}, "mkfs.xfs -m reflink=1 /dev/xvdf"),
        (("/dev/sdb1", "vfat"), {"label": "EFI"}, "mkfs.vfat -n EFI /dev/sdb1"),
        (("/dev/sdb", "f2fs"), {"label": "x"}, "mkfs.f2fs -L x /dev/sdb"),
    ],
)
def test_mkfs_argv(args: tuple[str, ...], kwargs: dict[str, object], expected: str) -> None:
    """mkfs spells label/force per file system family."""
    assert join_argv(mkfs_argv(*args, **kwargs)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [("/dev/x", "ext4; rm -rf /"), ("/dev/x", "../x"), ("xvdf", "ext4")])
def test_mkfs_rejects_unsafe(bad: tuple[str, str]) -> None:
    """Odd file system names and relative devices are refused."""
    with pytest.raises(ValueError):
        mkfs_argv(*bad)


def test_mount_and_umount_argv() -> None:
    """mount puts -t/-o before the device; both use -- before paths."""
    assert join_argv(mount_argv("/dev/xvdf", "/mnt/a b")) == "mount -- /dev/xvdf '/mnt/a b'"
    assert mount_argv("/dev/x", "/m", fstype="xfs", options=["ro", "noatime"]) == [
        "mount", "-t", "xfs", "-o", "ro,noatime", "--", "/dev/x", "/m",
    ]  # fmt: skip
    assert umount_argv("/m", lazy=True) == ["umount", "-l", "--", "/m"]


def test_grow_fs_argv() -> None:
    """ext grows by device with resize2fs, xfs by mount point with xfs_growfs."""
    assert grow_fs_argv("ext4", "/dev/x") == ["resize2fs", "/dev/x"]
    assert grow_fs_argv("xfs", "/dev/x", "/mnt") == ["xfs_growfs", "/mnt"]
    with pytest.raises(ValueError):
        grow_fs_argv("xfs", "/dev/x")
    with pytest.raises(ValueError):
        grow_fs_argv("zfs", "/dev/x")
    for fstype in ("xfs", "btrfs"):  # a relative mount point could be read as an option
        with pytest.raises(ValueError, match="absolute"):
            grow_fs_argv(fstype, "/dev/x", "-n")


def test_blkid() -> None:
    """blkid -o export output becomes a dict, unescaping values."""
    assert blkid_argv("/dev/x") == ["blkid", "-p", "-o", "export", "--", "/dev/x"]
    text = "DEVNAME=/dev/loop3\nLABEL=my\\ disk\nUUID=1234-abcd\nBLOCK_SIZE=4096\nTYPE=ext4\n"
    want = {"DEVNAME": "/dev/loop3", "LABEL": "my disk", "UUID": "1234-abcd", "BLOCK_SIZE": "4096"}
    assert parse_blkid(text) == {**want, "TYPE": "ext4"}


LSBLK = """{"blockdevices": [
 {"name":"nvme0n1","path":"/dev/nvme0n1","size":8589934592,"type":"disk","fstype":null,"mountpoint":null,
  "label":null,"uuid":null,"serial":"vol0abc","pkname":null,
  "children": [{"name":"nvme0n1p1","path":"/dev/nvme0n1p1","size":8588886016,"type":"part","fstype":"xfs",
                "mountpoint":"/","label":"root","uuid":"u-1","serial":null,"pkname":"nvme0n1"}]},
 {"name":"loop0","size":"1048576","type":"loop","fstype":"","mountpoint":null}
]}"""


def test_lsblk() -> None:
    """lsblk JSON is flattened, sizes are ints, empty strings become None, children know their parent."""
    assert lsblk_argv("/dev/x")[:4] == ["lsblk", "-J", "-b", "-o"]
    devs = parse_lsblk(LSBLK)
    assert [d.name for d in devs] == ["nvme0n1", "nvme0n1p1", "loop0"]
    assert devs[0].serial == "vol0abc" and devs[0].size == 8589934592
    assert devs[1] == BlockDevice(
        "nvme0n1p1", "/dev/nvme0n1p1", 8588886016, "part", "xfs", "/", "root", "u-1", None, "nvme0n1"
    )
    assert devs[2].path == "/dev/loop0" and devs[2].fstype is None and devs[2].size == 1048576


def test_df() -> None:
    """df rows parse to bytes; a mount point with spaces stays whole."""
    assert df_argv("/m") == ["df", "-B1", "--output=source,fstype,size,used,avail,target", "--", "/m"]
    text = (
        "Filesystem     Type    1B-blocks        Used       Avail Mounted on\n"
        "/dev/vda       ext4 270553174016 23386619904 85557673984 /\n"
        "/dev/loop3     xfs     520093696    30617600   489476096 /mnt/my data\n"
    )
    rows = parse_df(text)
    assert rows[0].size == 270553174016 and rows[0].target == "/"
    assert rows[1].fstype == "xfs" and rows[1].target == "/mnt/my data" and rows[1].available == 489476096


def test_blockdev_size() -> None:
    """blockdev --getsize64 prints one number of bytes; anything else is refused."""
    assert blockdev_size_argv("/dev/nvme1n1") == ["blockdev", "--getsize64", "/dev/nvme1n1"]
    assert parse_blockdev_size("2147483648\n") == 2 * 1024**3
    for bad in ("", "blockdev: cannot open /dev/x", "-1"):
        with pytest.raises(ValueError, match="not a size"):
            parse_blockdev_size(bad)


EXT_HEADER = """Filesystem volume name:   <none>
Block count:              524288
Reserved block count:     26214
Block size:               4096
Fragment size:            4096
"""

XFS_INFO = """meta-data=/dev/loop7             isize=512    agcount=8, agsize=65536 blks
         =                       sectsz=512   attr=2, projid32bit=1
data     =                       bsize=4096   blocks=524288, imaxpct=25
         =                       sunit=0      swidth=0 blks
log      =internal log           bsize=4096   blocks=16384, version=2
realtime =none                   extsz=4096   blocks=0, rtextents=0
"""


def test_fs_size() -> None:
    """The file system's own size: dumpe2fs's block count and size, xfs_info's data section (not its log)."""
    assert fs_size_argv("ext4", "/dev/nvme1n1", "/mnt/x") == ["dumpe2fs", "-h", "/dev/nvme1n1"]
    assert fs_size_argv("xfs", "/dev/nvme1n1", "/mnt/x") == ["xfs_info", "/mnt/x"]
    assert fs_size_argv("xfs", "/dev/nvme1n1") == ["xfs_info", "/dev/nvme1n1"]
    assert parse_fs_size("ext4", EXT_HEADER) == 2 * 1024**3
    assert parse_fs_size("xfs", XFS_INFO) == 2 * 1024**3
    with pytest.raises(ValueError, match="no block count"):
        parse_fs_size("ext4", "Block count:  12\n")
    with pytest.raises(ValueError, match="no block count"):
        parse_fs_size("xfs", "log = internal bsize=4096 blocks=9\n")
    for call in (lambda: fs_size_argv("vfat", "/dev/x"), lambda: parse_fs_size("btrfs", "")):
        with pytest.raises(ValueError, match="measure"):
            call()
