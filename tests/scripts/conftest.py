"""Fixtures for the commands' end-to-end tests: one sandbox cloud for the session, the commands run in-process
(``main(argv)``) or as real processes (for signals), and a census of everything staging could leave behind.

Every test ends by checking that the sandbox holds no staging instance, volume, key pair, security group or
temporary snapshot; the session removes the sandbox (``down --force``) whatever happened.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import structlog

from provisioning import EC2
from staging.sandbox import ACCESS_KEY, SECRET_KEY, EnvironmentProblem, Sandbox, check_environment


@pytest.fixture(scope="session")
def staging_cloud(
    tmp_path_factory: pytest.TempPathFactory, network_allower: Callable[[str], None]
) -> Iterator[Sandbox]:
    """A sandbox (us-east-1, us-west-2) for the commands' tests, removed at the end."""
    try:
        check_environment()
    except EnvironmentProblem as exc:
        pytest.skip(str(exc))
    sandbox = Sandbox(tmp_path_factory.mktemp("staging-sandbox") / "cloud")
    try:
        sandbox.start()
        network_allower(sandbox.network)
        yield sandbox
    finally:
        sandbox.stop(force=True)


@pytest.fixture
def ec2(staging_cloud: Sandbox) -> EC2:
    """The façade on the sandbox's us-east-1."""
    return EC2(
        endpoint=staging_cloud.endpoint, region="us-east-1", access_key=ACCESS_KEY, secret_key=SECRET_KEY
    )


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The commands configure logging as applications do; undo it after each test."""
    yield
    structlog.reset_defaults()


def census(ec2: EC2, *, all_snapshots: bool = False) -> list[str]:
    """Everything a staging run could leave behind in the façade's region (empty when clean); snapshots
    count when temporary, or all of them with ``all_snapshots``."""
    left = [f"instance {i}" for i in ec2.describe_instances({"tag-key": "StagingRole"})
            if i.instanceState.name != "terminated"]  # fmt: skip
    left += [f"volume {v}" for v in ec2.describe_volumes()]
    left += [f"key pair {k.keyName}" for k in ec2.describe_key_pairs()]
    left += [f"group {g.groupId}" for g in ec2.describe_security_groups() if g.groupName != "default"]
    left += [
        f"snapshot {s}" for s in ec2.describe_snapshots(owner="self", filter={"tag-key": "StagingExpires"})
    ]
    return left


@dataclass
class Commands:
    """Runs the commands against the sandbox: in-process (``run``) or as a real process (``spawn``)."""

    cloud: Sandbox
    dotdir: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "VMEC2_SANDBOX_DIR": str(self.cloud.state_dir)}

    def run(self, module: str, *argv: str) -> tuple[int, str, str]:
        """``main(argv)`` of ``scripts.<module>`` with ``--sandbox`` and this test's dot directory."""
        import importlib

        main: Callable[..., int] = importlib.import_module(f"scripts.{module}").main
        out, err = io.StringIO(), io.StringIO()
        old = os.environ.get("VMEC2_SANDBOX_DIR")
        os.environ["VMEC2_SANDBOX_DIR"] = str(self.cloud.state_dir)
        try:
            code = main([*argv, "--sandbox", "--dotdir", str(self.dotdir)], stdout=out, stderr=err)
        finally:
            if old is None:
                os.environ.pop("VMEC2_SANDBOX_DIR", None)
            else:
                os.environ["VMEC2_SANDBOX_DIR"] = old
        return code, out.getvalue(), err.getvalue()

    def spawn(self, module: str, *argv: str) -> subprocess.Popen[str]:
        """The command as its own process (stderr piped, line by line), to signal it."""
        return subprocess.Popen(
            [sys.executable, "-m", f"scripts.{module}", *argv, "--sandbox", "--dotdir", str(self.dotdir)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env(), bufsize=1,
        )  # fmt: skip


@pytest.fixture
def commands(staging_cloud: Sandbox, tmp_path: Path, ec2: EC2) -> Iterator[Commands]:
    """:class:`Commands` for this test; afterwards the sandbox must hold nothing of staging's."""
    yield Commands(staging_cloud, tmp_path / "dot")
    assert census(ec2) == []


def tree_state(root: Path) -> dict[bytes, tuple[Any, ...]]:
    """Everything that makes two trees identical: type, mode, owner, mtime, content, link target, and which
    files are hard links of each other (by the first path of each inode)."""
    state: dict[bytes, tuple[Any, ...]] = {}
    first_of_inode: dict[int, bytes] = {}
    base = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(base):
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, base)
            st = os.lstat(path)
            kind = stat.S_IFMT(st.st_mode)
            extra: Any = None
            if stat.S_ISREG(st.st_mode):
                extra = hashlib.sha256(Path(os.fsdecode(path)).read_bytes()).hexdigest()
                extra = (extra, first_of_inode.setdefault(st.st_ino, rel))
            elif stat.S_ISLNK(st.st_mode):
                extra = os.readlink(path)
            mtime = None if stat.S_ISDIR(st.st_mode) else st.st_mtime_ns // 1_000_000_000
            state[rel] = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, mtime, extra)
    return state


def make_hostile_tree(root: Path) -> Path:
    """A small tree with every kind of awkward name and metadata rsync must carry."""
    root.mkdir(parents=True)
    (root / "plain.txt").write_text("plain\n")
    for name in ["with space", "quote'single", 'quote"double', "$(touch pwned)", "new\nline", "-leading-dash",
                 "ünïcödé", "star*glob?[x]"]:  # fmt: skip
        (root / name).write_text(f"{name}\n")
    (root / os.fsdecode(b"latin1-\xe9")).write_bytes(b"not utf-8 name\n")
    sub = root / "sub dir"
    sub.mkdir()
    (sub / "data.bin").write_bytes(os.urandom(200_000))
    os.link(root / "plain.txt", sub / "hard link to plain")
    os.symlink("../plain.txt", sub / "symlink")
    os.symlink("/nonexistent/target", root / "dangling")
    (root / "private").write_text("secret\n")
    os.chmod(root / "private", 0o600)
    os.chown(root / "private", 1234, 5678)
    (root / "exec.sh").write_text("#!/bin/sh\n")
    os.chmod(root / "exec.sh", 0o755)
    os.utime(root / "plain.txt", (1_000_000_000, 1_000_000_000))
    return root


@pytest.fixture
def helpers() -> SimpleNamespace:
    """The helpers of this module for tests: ``make_hostile_tree``, ``tree_state``, ``census``."""
    return SimpleNamespace(make_hostile_tree=make_hostile_tree, tree_state=tree_state, census=census)
