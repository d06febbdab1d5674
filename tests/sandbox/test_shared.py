"""Machine-wide resources (login users, sudoers drop-in, mount points) shared by concurrent sandboxes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from staging.sandbox.machine import shared as _shared


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """``_shared`` pointed at a fake machine under tmp_path; returns the set of existing user names."""
    users = {"carol"}
    for name, path in (
        ("REGISTRY", tmp_path / "run" / "vmec2-sandbox"),
        ("SUDOERS", tmp_path / "sudoers.d" / "vmec2-sandbox"),
        ("PRIVSEP_DIR", tmp_path / "run" / "sshd"),
        ("HOME_ROOT", tmp_path / "home"),
        ("DEV_DISK", tmp_path / "dev" / "disk"),
    ):
        monkeypatch.setattr(_shared, name, path)
    (tmp_path / "home").mkdir()
    (tmp_path / "dev").mkdir()

    def fake_run(argv: Sequence[str], *, check: bool = True, input: bytes | None = None) -> str:
        if argv[0] == "useradd":
            users.add(argv[-1])
        elif argv[0] == "userdel":
            users.discard(argv[-1])
        return ""

    monkeypatch.setattr(_shared, "run", fake_run)
    monkeypatch.setattr(_shared, "_user_exists", lambda user: user in users)
    return users


def test_two_sandboxes_with_different_login_users(machine: set[str]) -> None:
    """Both users get sudo while their sandboxes run; the last sandbox to leave removes both."""
    _shared.acquire("aaaa", "alice")
    _shared.acquire("bbbb", "bob")
    lines = _shared.SUDOERS.read_text().splitlines()
    assert lines == ["alice ALL=(ALL) NOPASSWD:ALL", "bob ALL=(ALL) NOPASSWD:ALL"]
    _shared.release("aaaa")
    assert machine >= {"alice", "bob"}
    assert _shared.SUDOERS.exists()
    _shared.release("bbbb")
    assert machine == {"carol"}
    assert not _shared.SUDOERS.exists()
    assert not (_shared.HOME_ROOT / "alice").exists()
    assert not (_shared.HOME_ROOT / "bob").exists()
    assert not _shared.DEV_DISK.exists()
    assert not _shared.REGISTRY.exists()


def test_a_preexisting_user_gets_no_sudo_and_is_kept(machine: set[str]) -> None:
    """A login user the machine already had is neither given sudo rights nor deleted."""
    (_shared.HOME_ROOT / "carol").mkdir()
    _shared.acquire("cccc", "carol")
    assert not _shared.SUDOERS.exists()
    _shared.release("cccc")
    assert "carol" in machine
    assert (_shared.HOME_ROOT / "carol").exists()


def test_a_lost_record_still_removes_the_sudoers_drop_in(machine: set[str]) -> None:
    """The drop-in is the sandbox's own file: the last sandbox removes it even if created.json was lost
    (e.g. /run was emptied by a reboot while a sandbox's state directory survived)."""
    _shared.acquire("dddd", "dave")
    (_shared.REGISTRY / "created.json").unlink()
    tmp = _shared.SUDOERS.with_name(".vmec2-sandbox.tmp")  # as if a daemon died while writing the drop-in
    tmp.write_text("")
    _shared.release("dddd")
    assert not _shared.SUDOERS.exists()
    assert not tmp.exists()


def test_the_record_is_replaced_atomically(machine: set[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """created.json is written beside and renamed over: a write cut short leaves the previous record."""
    _shared.acquire("eeee", "erin")
    before = (_shared.REGISTRY / "created.json").read_text()
    real_replace = _shared.os.replace

    def cut_short(src: object, dst: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_shared.os, "replace", cut_short)
    with pytest.raises(KeyboardInterrupt):
        _shared.placeholder(_shared.DEV_DISK.parent / "xvdf")
    assert (_shared.REGISTRY / "created.json").read_text() == before
    monkeypatch.setattr(_shared.os, "replace", real_replace)  # not undo(): that would unfake the machine
    _shared.release("eeee")
    assert machine == {"carol"}


def test_one_sandbox_with_several_login_users(machine: set[str]) -> None:
    """A sandbox holding two login users (Debian's and Ubuntu's) creates both and the last release removes
    both; a pre-existing one among them is left alone."""
    _shared.acquire("ffff", "admin", "ubuntu", "carol")
    assert _shared.SUDOERS.read_text().splitlines() == [
        "admin ALL=(ALL) NOPASSWD:ALL",
        "ubuntu ALL=(ALL) NOPASSWD:ALL",
    ]
    assert (_shared.HOME_ROOT / "ubuntu").is_dir()
    _shared.release("ffff")
    assert machine == {"carol"}
    assert not (_shared.HOME_ROOT / "ubuntu").exists()
