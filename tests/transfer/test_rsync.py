"""rsync over SSH with real sshd servers and real rsync, in all three directions."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from transfer.errors import ConnectError, HostKeyMismatch, RemoteCommandError, TransferError
from transfer.hostkeys import HostKeyPins
from transfer.rsync_parse import RsyncProgress
from transfer.shell import LocalShell
from transfer.ssh import SSHShell
from transfer.sync import _REMOVE_KEY, RsyncOptions, rsync
from transfer.testing import SshdServer

from .conftest import KeyPair

HOSTILE_NAMES = [
    b"with space", b"quote'single", b'quote"double', b"$(touch PWNED)", b"`touch PWNED2`", b"new\nline",
    b"-leading-dash", b"--delete", b"\xff\xfe not utf8", "ünïcødé ☃ 日本".encode(), b"back\\slash",
    b"*glob?[x]", b"a:colon", b"semi;colon&amp", b" leading space", b"tab\there", b"\x1b[31mansi",
]  # fmt: skip


@pytest.fixture
def shell(sshd: SshdServer, client_key: KeyPair, sshd_pins: HostKeyPins) -> Iterator[SSHShell]:
    """An SSHShell to the session sshd."""
    with SSHShell(sshd.address, port=sshd.port, key_filename=client_key.private, host_keys=sshd_pins) as sh:
        yield sh


def snapshot(root: bytes) -> dict[bytes, tuple[str, bytes, int]]:
    """Every entry below ``root`` as relative path → (kind, content or link target, mode), names as bytes."""
    out: dict[bytes, tuple[str, bytes, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if os.path.islink(p):
                out[rel] = ("link", os.readlink(p), 0)
            elif os.path.isdir(p):
                out[rel] = ("dir", b"", st.st_mode & 0o7777)
            else:
                out[rel] = ("file", Path(os.fsdecode(p)).read_bytes(), st.st_mode & 0o7777)
    return out


def make_hostile_tree(root: bytes) -> None:
    """A tree where every name is hostile: files, a subdirectory, a symlink and a hard link."""
    os.makedirs(root)
    for i, name in enumerate(HOSTILE_NAMES):
        with open(os.path.join(root, name), "wb") as f:
            f.write(name * (i + 1) + os.urandom(i * 100))
        os.chmod(os.path.join(root, name), 0o600 + i % 8)
    sub = os.path.join(root, b"sub dir $(x) \xff")
    os.makedirs(sub)
    with open(os.path.join(sub, b"-n"), "wb") as f:
        f.write(b"inner")
    os.symlink(b"../with space", os.path.join(sub, b"link to \xfe"))
    os.link(os.path.join(sub, b"-n"), os.path.join(root, b"hard link"))


def test_hostile_names_round_trip_byte_identical(shell: SSHShell, tmp_path: Path) -> None:
    """Push then pull a tree of hostile names (and hostile top-level paths): all comes back identical."""
    base = os.fsencode(tmp_path)
    src = base + b"/-src $(touch PWNED3) 'q\" \xff"
    make_hostile_tree(src)
    remote = base + b"/remote [a]* \n \xfe"
    back = base + b"/--back"
    seen: list[RsyncProgress] = []
    pushed = rsync(src + b"/", remote, dest_shell=shell, progress=seen.append)
    assert pushed.stats.files_transferred == len(HOSTILE_NAMES) + 1 and seen
    pulled = rsync(remote + b"/", back, src_shell=shell)
    assert pulled.stats.files_transferred == len(HOSTILE_NAMES) + 1
    assert snapshot(src) == snapshot(remote) == snapshot(back)
    assert os.stat(back + b"/hard link").st_ino == os.stat(back + b"/sub dir $(x) \xff/-n").st_ino
    for where in (tmp_path, Path.home(), Path.cwd(), Path("/")):  # a command substitution would land here
        assert not list(where.glob("PWNED*"))


def test_progress_and_stats(shell: SSHShell, tmp_path: Path) -> None:
    """Progress callbacks report growing byte counts and the final stats count what was sent."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(4):
        (src / f"f{i}").write_bytes(os.urandom(512 * 1024))
    seen: list[RsyncProgress] = []
    r = rsync(f"{src}/", str(tmp_path / "dst"), dest_shell=shell, progress=seen.append)
    assert [p.bytes_done for p in seen] == sorted(p.bytes_done for p in seen)
    assert seen[-1].bytes_done == 4 * 512 * 1024 and seen[-1].percent == 100
    assert r.stats.files_transferred == 4 and r.stats.literal_data == 4 * 512 * 1024
    assert r.stats.bytes_sent >= 4 * 512 * 1024 and r.compression is None and r.exit_code == 0
    again = rsync(f"{src}/", str(tmp_path / "dst"), dest_shell=shell)
    assert again.stats.files_transferred == 0 and again.stats.literal_data == 0


def test_relative_delete_excludes_checksum_sudo(shell: SSHShell, tmp_path: Path) -> None:
    """-R keeps the path below /./, --delete removes extras, excludes skip, sudo rsync writes as root."""
    (tmp_path / "data/keep/sub").mkdir(parents=True)
    (tmp_path / "data/keep/sub/a.txt").write_text("a")
    (tmp_path / "data/keep/skip.tmp").write_text("tmp")
    dst = tmp_path / "dst"
    (dst / "keep").mkdir(parents=True)
    (dst / "keep/stale").write_text("old")
    opts = RsyncOptions(relative=True, delete=True, excludes=["*.tmp"], checksum=True, acls=True, xattrs=True)
    rsync(f"{tmp_path}/data/./keep", str(dst), dest_shell=shell, options=opts, sudo=True)
    assert sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*")) == [
        "keep",
        "keep/sub",
        "keep/sub/a.txt",
    ]


def _wait_for_receiver(dest: Path, deadline: float = 20.0) -> None:
    """Wait until the killed transfer's receiver has saved its partial file (no rsync temp files left)."""
    end = time.monotonic() + deadline
    while any(p.name.startswith(".") for p in dest.iterdir()) and time.monotonic() < end:
        time.sleep(0.05)


def test_killed_transfer_resumes_sending_only_the_rest(shell: SSHShell, tmp_path: Path) -> None:
    """A transfer killed half-way and run again completes, sending only the data still missing."""
    src = tmp_path / "src"
    src.mkdir()
    size = 6 * 512 * 1024
    for i in range(6):
        (src / f"part{i}").write_bytes(os.urandom(512 * 1024))
    dest = tmp_path / "dst"

    class Dropped(Exception):
        pass

    def drop_halfway(p: RsyncProgress) -> None:
        if p.bytes_done >= size // 2:
            raise Dropped

    slow = RsyncOptions(bwlimit=2048)  # slow enough that the kill lands mid-way
    with pytest.raises(Dropped):
        rsync(f"{src}/", str(dest), dest_shell=shell, options=slow, progress=drop_halfway)
    _wait_for_receiver(dest)
    present = sum(p.stat().st_size for p in dest.iterdir())
    assert 0 < present < size
    r = rsync(f"{src}/", str(dest), dest_shell=shell)
    assert r.stats.literal_data <= size - present + 64 * 1024
    assert r.stats.matched_data + r.stats.literal_data <= size
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == {p.name: p.read_bytes() for p in src.iterdir()}


@pytest.fixture
def second(
    sshd_factory: Callable[..., SshdServer], client_key: KeyPair
) -> Iterator[tuple[SshdServer, SSHShell]]:
    """A second sshd and a shell to it (the destination of server-to-server copies)."""
    server = sshd_factory()
    pins = HostKeyPins.from_public_keys(server.host_public_keys())
    with SSHShell("127.0.0.1", port=server.port, key_filename=client_key.private, host_keys=pins) as sh:
        yield server, sh


def test_server_to_server_leaves_no_key_behind(
    shell: SSHShell, second: tuple[SshdServer, SSHShell], tmp_path: Path
) -> None:
    """A pushes to B with a one-time key; afterwards B's authorized_keys and A's temp dir are as before."""
    server_b, shell_b = second
    auth = server_b.workdir / "authorized_keys"
    before_auth = auth.read_text()
    base = os.fsencode(tmp_path)
    src = base + b"/on A \xff"
    make_hostile_tree(src)
    dest = base + b"/on B $(x)"
    seen: list[RsyncProgress] = []
    with capture_logs() as logs:
        r = rsync(
            src + b"/", dest, src_shell=shell, dest_shell=shell_b, sudo=True, sudo_src=True,
            authorized_keys_file=str(auth), progress=seen.append,
        )  # fmt: skip
    assert snapshot(src) == snapshot(dest)
    assert r.stats.files_transferred == len(HOSTILE_NAMES) + 1 and seen
    assert_key_gone(logs, auth, before_auth)


def assert_key_gone(logs: list[dict[str, object]], auth: Path, before_auth: str) -> None:
    """The one-time key's directory is gone from the source and its line from the destination."""
    created = next(e for e in logs if e["event"] == "rsync.ephemeral_key_created")
    assert any(e["event"] == "rsync.ephemeral_key_removed" for e in logs)
    assert not Path(str(created["tmpdir"])).exists()
    assert str(created["marker"]) not in auth.read_text()
    assert auth.read_text() == before_auth


def test_server_to_server_cleans_up_after_failure(
    shell: SSHShell, second: tuple[SshdServer, SSHShell], tmp_path: Path
) -> None:
    """When the copy fails, the one-time key is still removed from both servers."""
    server_b, shell_b = second
    auth = server_b.workdir / "authorized_keys"
    before_auth = auth.read_text()
    with capture_logs() as logs, pytest.raises(RemoteCommandError, match="No such file"):
        rsync(str(tmp_path / "missing"), str(tmp_path / "x"), src_shell=shell, dest_shell=shell_b,
              authorized_keys_file=str(auth))  # fmt: skip
    assert_key_gone(logs, auth, before_auth)


def test_local_copy_and_pull_with_wildcards_in_source(shell: SSHShell, tmp_path: Path) -> None:
    """A remote source named like a wildcard copies itself, not a sibling the pattern would match."""
    (tmp_path / "x [a]*").mkdir()
    (tmp_path / "x [a]*" / "right").write_text("r")
    (tmp_path / "x a").mkdir()
    (tmp_path / "x a" / "wrong").write_text("w")
    rsync(f"{tmp_path}/x [a]*/", str(tmp_path / "out"), src_shell=shell, sudo_src=True)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["right"]
    local = rsync(f"{tmp_path}/x a/", str(tmp_path / "local"))
    assert local.stats.files_transferred == 1
    assert (tmp_path / "local/wrong").read_bytes() == (tmp_path / "x a" / "wrong").read_bytes() == b"w"


def test_server_to_server_keeps_last_key_without_newline(
    shell: SSHShell, second: tuple[SshdServer, SSHShell], tmp_path: Path
) -> None:
    """An authorized_keys whose last line lacks a newline keeps that key; only the one-time line goes."""
    server_b, shell_b = second
    auth = server_b.workdir / "authorized_keys"
    before = auth.read_text().rstrip("\n")
    auth.write_text(before)  # the user's key is the last line, with no newline after it
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f").write_text("data")
    with capture_logs() as logs:
        rsync(f"{tmp_path}/src/", str(tmp_path / "dst"), src_shell=shell, dest_shell=shell_b,
              authorized_keys_file=str(auth))  # fmt: skip
    assert (tmp_path / "dst" / "f").read_text() == "data"
    assert auth.read_text().splitlines() == before.splitlines()
    assert_key_gone(logs, auth, auth.read_text())


def test_key_removal_never_truncates_on_read_error(tmp_path: Path) -> None:
    """If grep fails (exit 2), authorized_keys is left as it was and the removal reports failure."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "grep").write_text("#!/bin/sh\necho 'grep: read error' >&2\nexit 2\n")
    (fake_bin / "grep").chmod(0o755)
    auth = tmp_path / "authorized_keys"
    auth.write_text("ssh-ed25519 AAAA user\nrestrict ssh-ed25519 BBBB transfer-rsync-1\n")
    r = LocalShell().run(
        ["sh", "-c", _REMOVE_KEY, "sh", str(auth), "transfer-rsync-1"],
        env={"PATH": f"{fake_bin}:/usr/bin:/bin"},
        check=False,
    )
    assert r.exit_code != 0
    assert auth.read_text() == "ssh-ed25519 AAAA user\nrestrict ssh-ed25519 BBBB transfer-rsync-1\n"


def test_server_to_server_reports_a_key_it_could_not_remove(
    shell: SSHShell, second: tuple[SshdServer, SSHShell], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed removal after a good copy raises TransferError naming the marker; the source is cleaned."""
    server_b, shell_b = second
    auth = server_b.workdir / "authorized_keys"
    before_auth = auth.read_text()
    real_run = shell_b.run

    def failing_removal(command: Any, **kwargs: Any) -> Any:
        if _REMOVE_KEY in command:
            raise ConnectError("connection lost")
        return real_run(command, **kwargs)

    monkeypatch.setattr(shell_b, "run", failing_removal)
    (tmp_path / "src").mkdir()
    try:
        with capture_logs() as logs, pytest.raises(TransferError, match="one-time key transfer-rsync-"):
            rsync(f"{tmp_path}/src/", str(tmp_path / "dst"), src_shell=shell, dest_shell=shell_b,
                  authorized_keys_file=str(auth))  # fmt: skip
        created = next(e for e in logs if e["event"] == "rsync.ephemeral_key_created")
        assert not Path(str(created["tmpdir"])).exists()
        assert any(e["event"] == "rsync.ephemeral_key_not_removed" for e in logs)
    finally:
        auth.write_text(before_auth)


def test_rsync_refuses_a_wrong_host_key(
    sshd: SshdServer, sshd_factory: Callable[..., SshdServer], client_key: KeyPair, tmp_path: Path
) -> None:
    """rsync's own ssh checks the pinned key: pins of another server make the push fail, nothing lands."""
    other = sshd_factory()
    wrong = HostKeyPins.from_public_keys(other.host_public_keys())
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f").write_text("x")
    with SSHShell(sshd.address, port=sshd.port, key_filename=client_key.private, host_keys=wrong) as sh:
        with pytest.raises(RemoteCommandError) as info:
            rsync(f"{tmp_path}/src/", str(tmp_path / "dst"), dest_shell=sh)
    assert "Host key verification failed" in info.value.result.stderr
    assert not (tmp_path / "dst").exists()


def test_server_to_server_refuses_an_impostor_at_dest_address(
    shell: SSHShell,
    second: tuple[SshdServer, SSHShell],
    sshd_factory: Callable[..., SshdServer],
    tmp_path: Path,
) -> None:
    """If dest_address leads to another server than the pinned destination, the source's ssh refuses it."""
    server_b, shell_b = second
    impostor = sshd_factory()  # accepts the same client keys, but has its own host key
    auth = server_b.workdir / "authorized_keys"
    before_auth = auth.read_text()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f").write_text("x")
    with capture_logs() as logs, pytest.raises(RemoteCommandError) as info:
        rsync(f"{tmp_path}/src/", str(tmp_path / "dst"), src_shell=shell, dest_shell=shell_b,
              dest_address="127.0.0.1", dest_port=impostor.port, authorized_keys_file=str(auth))  # fmt: skip
    assert "Host key verification failed" in info.value.result.stderr
    assert not (tmp_path / "dst").exists()
    assert_key_gone(logs, auth, before_auth)


def test_rsync_after_a_key_rotation(
    shell: SSHShell,
    sshd_factory: Callable[..., SshdServer],
    client_key: KeyPair,
    tmp_path: Path,
) -> None:
    """Pins of a rotated server: its old full key and the new one's fingerprint. The server shows the new key;
    paramiko accepts it by fingerprint, so OpenSSH must be pinned to the key verified there (a push from here,
    and from another server)."""
    server_b = sshd_factory()
    stale = sshd_factory()  # stands for B's key before the rotation
    fingerprints = HostKeyPins.from_public_keys(server_b.host_public_keys()).fingerprints
    old_key = HostKeyPins.from_public_keys(stale.host_public_keys())
    pins = old_key + HostKeyPins.from_fingerprints(fingerprints)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f").write_text("rotated")
    auth = server_b.workdir / "authorized_keys"
    key = client_key.private
    with SSHShell("127.0.0.1", port=server_b.port, key_filename=key, host_keys=pins) as shell_b:
        rsync(f"{tmp_path}/src/", str(tmp_path / "between"), src_shell=shell, dest_shell=shell_b,
              authorized_keys_file=str(auth))  # fmt: skip
    with SSHShell("127.0.0.1", port=server_b.port, key_filename=key, host_keys=pins) as shell_b:
        rsync(f"{tmp_path}/src/", str(tmp_path / "pushed"), dest_shell=shell_b)
    assert (tmp_path / "between" / "f").read_text() == (tmp_path / "pushed" / "f").read_text() == "rotated"


def test_server_to_server_refused_destination_creates_nothing_on_the_source(
    shell: SSHShell, second: tuple[SshdServer, SSHShell], sshd_pins: HostKeyPins, tmp_path: Path
) -> None:
    """A destination that refuses us (here: its key is not pinned) fails before the one-time key is made, with
    the connection's own error and no claim that a key may be left behind."""
    server_b, _ = second
    (tmp_path / "src").mkdir()
    with (
        SSHShell(
            "127.0.0.1", port=server_b.port, key_filename=shell.key_filename, host_keys=sshd_pins
        ) as wrong,
        capture_logs() as logs,
        pytest.raises(HostKeyMismatch) as info,
    ):
        rsync(f"{tmp_path}/src/", str(tmp_path / "dst"), src_shell=shell, dest_shell=wrong,
              authorized_keys_file=str(server_b.workdir / "authorized_keys"))  # fmt: skip
    assert not any(e["event"] == "rsync.ephemeral_key_created" for e in logs)
    assert not getattr(info.value, "__notes__", None)
