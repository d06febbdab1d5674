"""Machine-wide things every sandbox host needs, reference-counted across sandboxes.

All hosts share the machine's /etc, so the login user (e.g. ``admin``, password-less sudo like a cloud image's
default user) exists once for the machine, with its sudoers drop-in, the ``/home/<user>`` mount point (each
host binds its own home over it) and the ``/dev/disk`` mount point (each host mounts its own tmpfs there). The
first sandbox creates whatever is missing and records it in ``/run/vmec2-sandbox/created.json``; each sandbox
holds a reference file; the last one to leave undoes exactly what was created (a pre-existing user is never
touched).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import structlog

from staging.sandbox._system import machine_lock, run

log = structlog.stdlib.get_logger(__name__)

REGISTRY = Path("/run/vmec2-sandbox")
SUDOERS = Path("/etc/sudoers.d/vmec2-sandbox")
PRIVSEP_DIR = Path("/run/sshd")


def _user_exists(user: str) -> bool:
    return bool(run(["getent", "passwd", user], check=False).strip())


def acquire(token: str, user: str) -> None:
    """Make sure the shared resources exist and take a reference for sandbox ``token``."""
    with machine_lock():
        (REGISTRY / "refs").mkdir(parents=True, exist_ok=True)
        created_file = REGISTRY / "created.json"
        created: dict[str, Any] = json.loads(created_file.read_text()) if created_file.exists() else {}
        (REGISTRY / "refs" / token).touch()

        def record(key: str, value: Any) -> None:
            created[key] = value
            created_file.write_text(json.dumps(created))

        # sshd's privilege separation directory is openssh-server's own (its init script makes it); other
        # sshd users on the machine rely on it, so it is created if missing but never removed.
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        for key, path in (("dev_disk", Path("/dev/disk")), ("home", Path("/home") / user)):
            if not path.exists():
                record(key, str(path))
                path.mkdir(mode=0o755, parents=True)
        if not _user_exists(user):
            record("user", user)
            run(
                [
                    "useradd",
                    "--no-create-home",
                    "--home-dir",
                    f"/home/{user}",
                    "--shell",
                    "/bin/bash",
                    "-U",
                    user,
                ]
            )
            # "*" instead of useradd's "!": sshd without PAM refuses key logins to locked ("!") accounts.
            run(["usermod", "-p", "*", user])
        if not SUDOERS.exists():
            record("sudoers", str(SUDOERS))
            SUDOERS.parent.mkdir(mode=0o750, exist_ok=True)
            SUDOERS.write_text(f"{user} ALL=(ALL) NOPASSWD:ALL\n")
            SUDOERS.chmod(0o440)
    log.info("sandbox.shared_acquired", token=token, user=user)


def placeholder(path: Path) -> None:
    """Make sure the empty file ``path`` (e.g. ``/dev/xvdf``) exists as a mount point for legacy device names.

    /dev is shared by all hosts, so the file is machine-wide; it is removed with the other shared resources by
    the last sandbox to leave (removing it earlier would detach the device in other sandboxes' hosts).
    """
    with machine_lock():
        created_file = REGISTRY / "created.json"
        created: dict[str, Any] = json.loads(created_file.read_text()) if created_file.exists() else {}
        if path.exists():
            return
        created.setdefault("placeholders", []).append(str(path))
        created_file.write_text(json.dumps(created))
        path.touch(mode=0o600)


def release(token: str) -> None:
    """Drop sandbox ``token``'s reference; the last sandbox removes what the first one created."""
    with machine_lock():
        ref = REGISTRY / "refs" / token
        ref.unlink(missing_ok=True)
        refs = REGISTRY / "refs"
        if refs.exists() and any(refs.iterdir()):
            return
        created_file = REGISTRY / "created.json"
        created: dict[str, Any] = json.loads(created_file.read_text()) if created_file.exists() else {}
        for path in created.get("placeholders", []):
            if Path(path).is_file():
                Path(path).unlink()
        if "sudoers" in created:
            Path(created["sudoers"]).unlink(missing_ok=True)
        if "user" in created and _user_exists(created["user"]):
            run(["userdel", created["user"]], check=False)
            run(["groupdel", created["user"]], check=False)
        for key in ("home", "dev_disk"):
            if key in created:
                try:
                    Path(created[key]).rmdir()
                except OSError as exc:
                    log.warning("sandbox.shared_dir_kept", path=created[key], error=str(exc))
        shutil.rmtree(REGISTRY, ignore_errors=True)
    log.info("sandbox.shared_released", token=token)
