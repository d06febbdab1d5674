"""Machine-wide things every sandbox host needs, reference-counted across sandboxes.

All hosts share the machine's /etc, so each login user (e.g. ``admin``, password-less sudo like a cloud
image's default user) exists once for the machine, with its line in the sudoers drop-in, the
``/home/<user>`` mount point (each host binds its own home over it) and the ``/dev/disk`` mount point (each
host mounts its own tmpfs there). Sandboxes may use different login users at the same time. The first sandbox
needing a thing creates it if missing and records that in ``/run/vmec2-sandbox/created.json``; each sandbox
holds a reference file; the last one to leave undoes exactly what was created. A pre-existing user is never
touched: it is not given sudo rights (it keeps its own) and is never deleted. The sudoers drop-in is the
sandbox's own file.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from staging._log import get_logger
from staging.sandbox.machine.system import machine_lock, run

log = get_logger(__name__)

REGISTRY = Path("/run/vmec2-sandbox")
SUDOERS = Path("/etc/sudoers.d/vmec2-sandbox")
PRIVSEP_DIR = Path("/run/sshd")
HOME_ROOT = Path("/home")
DEV_DISK = Path("/dev/disk")


def _user_exists(user: str) -> bool:
    return bool(run(["getent", "passwd", user], check=False).strip())


def _load() -> dict[str, Any]:
    created_file = REGISTRY / "created.json"
    data = json.loads(created_file.read_text()) if created_file.exists() else {}
    return data if isinstance(data, dict) else {}


def _save(created: dict[str, Any]) -> None:
    """Replace the record atomically: a daemon killed while writing must not leave half a JSON file (every
    later acquire and release would fail on it)."""
    tmp = REGISTRY / ".created.json.tmp"
    tmp.write_text(json.dumps(created))
    os.replace(tmp, REGISTRY / "created.json")


def _sudoers_tmp() -> Path:
    return SUDOERS.with_name(f".{SUDOERS.name}.tmp")


def _write_sudoers(users: list[str]) -> None:
    """Give exactly ``users`` password-less sudo (atomically: sudo ignores names with a dot)."""
    SUDOERS.parent.mkdir(mode=0o750, exist_ok=True)
    tmp = _sudoers_tmp()
    tmp.write_text("".join(f"{u} ALL=(ALL) NOPASSWD:ALL\n" for u in users))
    tmp.chmod(0o440)
    os.replace(tmp, SUDOERS)


def acquire(token: str, *users: str) -> None:
    """Make sure the shared resources exist (for every login user) and take a reference for ``token``."""
    with machine_lock():
        (REGISTRY / "refs").mkdir(parents=True, exist_ok=True)
        created = _load()
        (REGISTRY / "refs" / token).touch()

        def record(key: str, value: str) -> None:
            if value not in created.setdefault(key, []):
                created[key].append(value)
            _save(created)

        # sshd's privilege separation directory is openssh-server's own (its init script makes it); other
        # sshd users on the machine rely on it, so it is created if missing but never removed.
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        if not DEV_DISK.exists():
            record("dirs", str(DEV_DISK))
            DEV_DISK.mkdir(mode=0o755, parents=True)
        for user in users:
            _acquire_user(user, created, record)
        if any(user in created.get("users", []) for user in users):
            _write_sudoers(created["users"])
    log.info("sandbox.shared_acquired", token=token, users=list(users))


def _acquire_user(user: str, created: dict[str, Any], record: Callable[[str, str], None]) -> None:
    """Create ``user`` (and its home mount point) unless it exists; a pre-existing user is left alone."""
    home = HOME_ROOT / user
    if not home.exists():
        record("dirs", str(home))
        home.mkdir(mode=0o755, parents=True)
    if not _user_exists(user):
        record("users", user)
        run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/bash", "-U", user])
        # "*" instead of useradd's "!": sshd without PAM refuses key logins to locked ("!") accounts.
        run(["usermod", "-p", "*", user])
    if user not in created.get("users", []):
        log.warning("sandbox.login_user_preexisting", user=user, note="not given sudo; keeps its own rights")


def placeholder(path: Path) -> None:
    """Make sure the empty file ``path`` (e.g. ``/dev/xvdf``) exists as a mount point for legacy device names.

    /dev is shared by all hosts, so the file is machine-wide; it is removed with the other shared resources by
    the last sandbox to leave (removing it earlier would detach the device in other sandboxes' hosts).
    """
    with machine_lock():
        if path.exists():
            return
        created = _load()
        created.setdefault("placeholders", []).append(str(path))
        _save(created)
        path.touch(mode=0o600)


def release(token: str) -> None:
    """Drop sandbox ``token``'s reference; the last sandbox removes what the first ones created."""
    with machine_lock():
        refs = REGISTRY / "refs"
        (refs / token).unlink(missing_ok=True)
        if refs.exists() and any(refs.iterdir()):
            return
        created = _load()
        for path in created.get("placeholders", []):
            if Path(path).is_file():
                Path(path).unlink()
        # The drop-in is the sandbox's own file: removed even if the record of creating it was lost (and so
        # is its temporary file, left if a daemon died while writing it).
        SUDOERS.unlink(missing_ok=True)
        _sudoers_tmp().unlink(missing_ok=True)
        for user in created.get("users", []):
            if _user_exists(user):
                run(["userdel", user], check=False)
                run(["groupdel", user], check=False)
        for path in reversed(created.get("dirs", [])):
            try:
                Path(path).rmdir()
            except OSError as exc:
                log.warning("sandbox.shared_dir_kept", path=path, error=str(exc))
        shutil.rmtree(REGISTRY, ignore_errors=True)
    log.info("sandbox.shared_released", token=token)
