"""StagingManager.rsync in every path form, and dd between two volumes, on the sandbox."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from staging import StagingManager, StagingParameterError

pytestmark = [pytest.mark.root]


def make_tree(root: Path) -> dict[str, str]:
    """A small tree (nested files, a hard link, a symlink, odd names); sha256 of each regular file."""
    (root / "sub" / "deep").mkdir(parents=True)
    files = {
        "top.txt": b"top\n",
        "sub/data.bin": os.urandom(200_000),
        "sub/deep/with space & 'quote'": b"odd name\n",
        "-dash": b"leading dash\n",
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    os.link(root / "top.txt", root / "sub" / "hard.txt")
    (root / "link").symlink_to("sub/data.bin")
    (root / "sub" / "data.bin").chmod(0o600)
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def sums_on(server: Any, directory: str) -> dict[str, str]:
    """sha256 of every regular file under ``directory`` on a server (hard links once per name)."""
    out = server.run(
        [
            "sh",
            "-c",
            'cd -- "$1" && find . -type f ! -name hard.txt -exec sha256sum -- {} +',
            "sh",
            directory,
        ],
        sudo=True,
    ).stdout
    return {line.split(None, 1)[1].removeprefix("./"): line.split()[0] for line in out.splitlines()}


def local_sums(root: Path) -> dict[str, str]:
    """sha256 of every regular file under a local directory (hard links once per name)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink() and p.name != "hard.txt"
    }


def same_inode(server: Any, a: str, b: str) -> bool:
    """True when two paths on a server are hard links of one file."""
    out = server.run(["stat", "-c", "%i", "--", a, b], sudo=True).stdout.split()
    return out[0] == out[1]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The source tree and its checksums."""
    root = tmp_path_factory.mktemp("tree")
    return root, make_tree(root)


def test_local_to_volume_by_name_and_id_and_back(
    manager: StagingManager, tree: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """local → ``name:/path``, local → ``vol-id:/path``, ``name:`` → local: contents, links and modes kept."""
    src, sums = tree
    vol = manager.provision_volume("rs-a", size=1, availability_zone="us-east-1a")
    server = vol.server
    result = manager.rsync(f"{src}/", "rs-a:/by-name/")
    assert result.stats.files_transferred >= len(sums)
    assert sums_on(server, f"{vol.mtpt}/by-name") == sums
    assert same_inode(server, f"{vol.mtpt}/by-name/top.txt", f"{vol.mtpt}/by-name/sub/hard.txt")
    assert server.run(["readlink", f"{vol.mtpt}/by-name/link"], sudo=True).stdout.strip() == "sub/data.bin"
    manager.rsync(f"{src}/", f"{vol}:by-id")  # relative to the volume's root as well
    assert sums_on(server, f"{vol.mtpt}/by-id") == sums
    back = tmp_path / "back"
    manager.rsync("rs-a:/by-id/", f"{back}/")
    assert local_sums(back) == sums
    assert (back / "link").readlink() == Path("sub/data.bin")
    assert (back / "sub" / "data.bin").stat().st_mode & 0o777 == 0o600
    assert (back / "top.txt").stat().st_ino == (back / "sub" / "hard.txt").stat().st_ino
    whole = tmp_path / "whole"
    manager.rsync(f"{vol}:", f"{whole}/")
    assert local_sums(whole / "by-name") == sums


def test_server_name_and_instance_id(
    manager: StagingManager, tree: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """``server-name:/path`` and ``i-id:/path`` address the server's own file system."""
    src, sums = tree
    server = manager.get_server_in_zone("us-east-1a")
    manager.rsync(f"{src}/", f"{server.name}:/home/admin/plain/")
    assert sums_on(server, "/home/admin/plain") == sums
    back = tmp_path / "back"
    manager.rsync(f"{server.instanceId}:/home/admin/plain/", f"{back}/")
    assert local_sums(back) == sums
    server.put(src / "top.txt", "/home/admin/put.txt")
    server.get("/home/admin/put.txt", tmp_path / "got.txt")
    assert (tmp_path / "got.txt").read_bytes() == b"top\n"


def test_server_put_get_with_a_volume_of_the_same_name(manager: StagingManager, tmp_path: Path) -> None:
    """server.put/get address the server itself even when a volume bears the server's name."""
    server = manager.provision_server("clash", availability_zone="us-east-1a")
    vol = manager.provision_volume("clash", size=1, server=server)
    (tmp_path / "f").write_text("server side\n")
    server.put(tmp_path / "f", "/home/admin/clash.txt")
    assert server.scmd("cat", "/home/admin/clash.txt") == "server side\n"
    assert "clash.txt" not in vol.ls()
    server.get("/home/admin/clash.txt", tmp_path / "back")
    assert (tmp_path / "back").read_text() == "server side\n"


def test_user_at_host(manager: StagingManager, tmp_path: Path, monkeypatch: Any) -> None:
    """``user@host:/path`` goes through the caller's own ssh (here an ``ssh`` on PATH with its own config)."""
    server = manager.get_server_in_zone("us-east-1a")
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host {server.address}\n  IdentityFile {server.keyfile}\n  IdentitiesOnly yes\n  BatchMode yes\n"
        f"  StrictHostKeyChecking accept-new\n  UserKnownHostsFile {tmp_path / 'known_hosts'}\n"
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ssh").write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {config} "$@"\n')
    (bin_dir / "ssh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    (tmp_path / "f").write_text("foreign\n")
    remote = f"{server.username}@{server.address}"
    manager.rsync(str(tmp_path / "f"), f"{remote}:/home/admin/foreign.txt")
    assert server.scmd("cat", "/home/admin/foreign.txt") == "foreign\n"
    manager.rsync(f"{remote}:/home/admin/foreign.txt", str(tmp_path / "back"))
    assert (tmp_path / "back").read_text() == "foreign\n"
    with pytest.raises(StagingParameterError, match="user@host"):
        manager.rsync(f"{remote}:/home/admin/foreign.txt", f"{server.instance_id}:/tmp/x")


def test_local_names_with_colons(manager: StagingManager, tmp_path: Path, monkeypatch: Any) -> None:
    """``./a:b`` is a local file (and a bare ``a:b`` that names nothing is refused with a hint)."""
    vol = manager.provision_volume("rs-colon", size=1, availability_zone="us-east-1a")
    monkeypatch.chdir(tmp_path)
    Path("a:b").write_text("colon\n")
    manager.rsync("./a:b", "rs-colon:/")
    assert vol.cmd("cat", "a:b") == "colon\n"
    manager.rsync("rs-colon:/a:b", "./c:d")
    assert Path("c:d").read_text() == "colon\n"
    with pytest.raises(StagingParameterError, match=r"\./a:b"):
        manager.rsync("a:b", "rs-colon:/")


def test_volume_to_volume_same_server_and_two_servers(
    manager: StagingManager, tree: tuple[Path, dict[str, str]]
) -> None:
    """volume → volume on one server (rsync runs there) and across zones (server to server, one-time key)."""
    src, sums = tree
    a = manager.provision_volume("rs-src", size=1, availability_zone="us-east-1a")
    b = manager.provision_volume("rs-same", size=1, availability_zone="us-east-1a")
    c = manager.provision_volume("rs-far", size=1, availability_zone="us-east-1b")
    assert a.server is b.server and c.server is not a.server
    manager.rsync(f"{src}/", "rs-src:/t/")
    same = manager.rsync("rs-src:/t/", "rs-same:/t/")
    assert same.stats.files_transferred >= len(sums)
    assert sums_on(b.server, f"{b.mtpt}/t") == sums
    assert same_inode(b.server, f"{b.mtpt}/t/top.txt", f"{b.mtpt}/t/sub/hard.txt")
    far = manager.rsync("rs-src:/t/", f"{c}:/t/")
    assert far.stats.files_transferred >= len(sums)
    assert sums_on(c.server, f"{c.mtpt}/t") == sums
    assert same_inode(c.server, f"{c.mtpt}/t/top.txt", f"{c.mtpt}/t/sub/hard.txt")
    # Server to server: the run's group admits its own members (the sandbox enforces groups as AWS does).
    group = manager.security_group()
    rules = manager.ec2.describe_security_groups(group)[0].ipPermissions
    assert any(p.fromPort == 22 and group in [g.groupId for g in p.groups] for p in rules)
    # The one-time key is gone from the destination.
    keys = c.server.run(["cat", ".ssh/authorized_keys"], check=False).stdout
    assert "transfer-rsync-" not in keys
    with pytest.raises(StagingParameterError, match="one host"):
        manager.rsync("rs-src:/t/top.txt", "rs-far:/t/top.txt", "rs-same:/x/")


def test_rsync_to_a_detached_volume_by_id(manager: StagingManager, tree: tuple[Path, dict[str, str]]) -> None:
    """A volume that is not attached is attached and mounted first, whichever form names it."""
    src, sums = tree
    vol = manager.provision_volume("rs-detached", size=1, availability_zone="us-east-1a")
    vol.detach()
    manager.rsync(f"{src}/", f"{vol}:/t/")
    assert vol.mounted and vol.server is not None
    assert sums_on(vol.server, f"{vol.mtpt}/t") == sums
    vol.detach()
    manager.rsync(f"{src}/", "rs-detached:/u/")
    assert sums_on(vol.server, f"{vol.mtpt}/u") == sums


def test_dd_between_two_volumes(manager: StagingManager, tree: tuple[Path, dict[str, str]]) -> None:
    """dd copies a volume block for block to a volume on another server, verified; the copy mounts there."""
    src, sums = tree
    a = manager.provision_volume("dd-src", size=1, fstype="raw", availability_zone="us-east-1a")
    b = manager.provision_volume("dd-dst", size=1, fstype="raw", availability_zone="us-east-1b")
    assert not a.mounted and not b.mounted and b.fstype == "raw"
    # A 64 MiB file system at the start of the source keeps the copy (and both checksums) small.
    a.server.run(["mkfs.ext4", "-q", "--", a.mtdev, "64M"], sudo=True)
    a.mount()
    manager.rsync(f"{src}/", "dd-src:/t/")
    result = manager.dd(a, b, size=64 * 1024**2)
    assert result.size == 64 * 1024**2 and result.sha256
    assert not a.mounted and not b.mounted
    assert b.fstype == "ext4"
    b.mount()
    assert sums_on(b.server, f"{b.mtpt}/t") == sums
    # On one server as well.
    near = manager.provision_volume("dd-near", size=1, fstype="raw", server=a.server)
    assert near.server is a.server
    assert manager.dd(a, near, size=64 * 1024**2).sha256 == result.sha256
    near.mount()
    assert sums_on(near.server, f"{near.mtpt}/t") == sums
    big = manager.provision_volume("dd-big", size=2, fstype="raw", availability_zone="us-east-1a")
    with pytest.raises(StagingParameterError, match="smaller"):
        manager.dd(big, a)
