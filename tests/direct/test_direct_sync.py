"""End to end on the sandbox: ``sync_to_snapshot(direct=True)`` and ``sync_from_snapshot(direct=True)``, mixed
with the server path on one snapshot name in both orders, and a failure that leaves nothing behind."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import structlog

from provisioning import EC2
from provisioning.ebs import BLOCK_SIZE
from scripts.sync_from_snapshot import main as from_main
from scripts.sync_to_snapshot import main as to_main
from staging import SyncResult, download_image, sync_from_snapshot, sync_to_snapshot, upload_image
from staging.gc import find_leftovers, remove_leftovers
from staging.sandbox import Faults, Sandbox
from staging.versions import RENUMBERED, version_of

pytestmark = [pytest.mark.root, pytest.mark.slow]

#: The worktree's root: the spawned commands run this tree's code whatever the current directory.
ROOT = Path(__file__).resolve().parents[2]


def to_snapshot(src: Path, name: str, dot: Path, **options: Any) -> SyncResult:
    """One version (``direct=True`` or the server path) of ``src`` (given relative: it lands at ``src``)."""
    result = sync_to_snapshot(["src"], name, dotdir=dot, delete=True, **options)
    assert isinstance(result, SyncResult)
    return result


def restored(ec2: EC2, name: str, version: int, dest: Path, dot: Path, *, direct: bool) -> Path:
    """Where ``version``'s copy of ``src`` is after restoring it into ``dest`` by one path."""
    result = sync_from_snapshot(dest, name, version=version, ec2=ec2, dotdir=dot, direct=direct)
    assert result.version == version
    return dest / "src"


def test_direct_versions_upload_only_changed_blocks_and_mix_with_the_server_path(
    ec2: EC2, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helpers: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    state = helpers.tree_state
    src, dot, name = helpers.make_hostile_tree(tmp_path / "src"), tmp_path / "dot", "direct-e2e"
    (src / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))

    v1 = to_snapshot(src, name, dot, ec2=ec2, direct=True)
    assert (v1.version, v1.parent) == (1, None) and v1.blocks_put
    (src / "sub dir" / "data.bin").write_bytes(os.urandom(200_000))  # a one-file change
    v2 = to_snapshot(src, name, dot, ec2=ec2, direct=True)
    assert (v2.version, v2.parent) == (2, v1.snapshot_id)
    assert v2.blocks_put is not None and 0 < v2.blocks_put <= 4 < v1.blocks_put
    expected = state(src)
    assert state(restored(ec2, name, 2, tmp_path / "d-direct", dot, direct=True)) == expected
    # The server path mounts a direct snapshot's volume in a sandbox host and reads the tree from it.
    assert state(restored(ec2, name, 2, tmp_path / "d-server", dot, direct=False)) == expected

    # direct -> server -> direct on one name; the last one has no cached hashes of its parent.
    (src / "plain.txt").write_text("changed by the server path\n")
    v3 = to_snapshot(src, name, dot, ec2=ec2)
    assert (v3.version, v3.parent, v3.blocks_put) == (3, v2.snapshot_id, None)
    (src / "exec.sh").write_text("#!/bin/sh\necho changed by the direct path\n")
    v4 = to_snapshot(src, name, dot, ec2=ec2, direct=True)
    assert (v4.version, v4.parent) == (4, v3.snapshot_id)
    assert state(restored(ec2, name, 4, tmp_path / "d4", dot, direct=True)) == state(src)
    tags = ec2.describe_snapshots(v4.snapshot_id)[0].tags
    assert (tags["Name"], tags["Version"], "StagingExpires" in tags) == (name, "4", False)
    for made in (v1, v2, v3, v4):
        ec2.delete_snapshot(made.snapshot_id)


class Interrupt(Exception):
    """What the test's reporter raises in the middle of the block writes."""


class InterruptingReporter:
    """Progress that fails at the first block written (a Ctrl-C or a crash in the middle of the upload)."""

    def step(self, message: str) -> None:
        pass

    def waiting(self, what: str, elapsed: float) -> None:
        pass

    def transfer(self, done: int, total: int | None, rate: float) -> None:
        raise Interrupt("stop")

    def transfer_done(self) -> None:
        pass


def test_a_failure_in_the_middle_leaves_no_snapshot_and_no_journal(
    ec2: EC2, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helpers: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    src, dot = helpers.make_hostile_tree(tmp_path / "src"), tmp_path / "dot"
    with pytest.raises(Interrupt):
        sync_to_snapshot(
            ["src"], "direct-fail", ec2=ec2, dotdir=dot, direct=True, reporter=InterruptingReporter()
        )
    assert ec2.describe_snapshots(owner="self", filter={"tag:Name": "direct-fail"}) == []
    assert list((dot / "runs").glob("*.json")) == []
    assert not list(dot.glob("direct-*"))  # the image is gone too
    assert src.exists()


def spawn(cloud: Sandbox, dot: Path, *argv: str) -> subprocess.Popen[str]:
    """``sync_to_snapshot --direct`` as its own process on the sandbox (stderr piped line by line)."""
    return subprocess.Popen(
        [sys.executable, "-m", "scripts.sync_to_snapshot", *argv, "--direct", "--concurrency", "1",
         "--sandbox", "--dotdir", str(dot)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        env={**os.environ, "VMEC2_SANDBOX_DIR": str(cloud.state_dir), "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def signalled_while_writing(proc: subprocess.Popen[str], signum: int) -> int:
    """Send ``signum`` once the blocks are being written; the exit code."""
    assert proc.stderr is not None
    for line in proc.stderr:
        if "writing" in line:
            proc.send_signal(signum)
            break
    proc.communicate(timeout=120)
    return proc.wait()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL])
def test_a_signal_while_writing_leaves_nothing_or_gc_removes_it(
    ec2: EC2, staging_cloud: Sandbox, tmp_path: Path, helpers: Any, signum: int
) -> None:
    """Ctrl-C deletes the pending snapshot and the journal; after SIGKILL ``gc`` finds and removes it."""
    src, dot, name = helpers.make_hostile_tree(tmp_path / "src"), tmp_path / "dot", f"direct-sig{signum}"
    (src / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    staging_cloud.set_faults(Faults(latency=0.2))  # the writes take a few seconds
    try:
        code = signalled_while_writing(spawn(staging_cloud, dot, str(src), "-s", name), signum)
    finally:
        staging_cloud.set_faults(Faults())
    if signum == signal.SIGINT:
        assert code == 130
    else:
        assert code == -signal.SIGKILL
        (left,) = find_leftovers(ec2, ["us-east-1"], dotdir=dot)
        assert left.kind == "snapshot" and "crashed" in left.reason
        assert remove_leftovers(ec2, [left], dotdir=dot) == []
    assert ec2.describe_snapshots(owner="self", filter={"tag:Name": name}) == []
    assert list((dot / "runs").glob("*.json")) == []


def read_until(run: subprocess.Popen[str], text: str) -> str:
    """``run``'s stderr up to the first line that holds ``text`` (which must come)."""
    assert run.stderr is not None
    told = ""
    for line in run.stderr:
        told += line
        if text in line:
            return told
    raise AssertionError(f"{text!r} never came: {told}")


def test_runs_of_one_name_take_turns_here_and_settle_across_machines(
    ec2: EC2, staging_cloud: Sandbox, tmp_path: Path
) -> None:
    """Two ``sync_to_snapshot`` processes of one name on one machine: the second waits for the first's lock,
    says for whom, then makes the next version. Two on "two machines" (two dot directories: no shared lock)
    that both found that version: both make the next one, and the one that started later moves up."""
    src, name = tmp_path / "src", "direct-turns"
    src.mkdir()
    (src / "f").write_text("one\n")
    runs: list[subprocess.Popen[str]] = []

    def start(dot: str) -> subprocess.Popen[str]:
        runs.append(spawn(staging_cloud, tmp_path / dot, str(src), "-s", name))
        return runs[-1]

    def finish(*pair: subprocess.Popen[str]) -> list[tuple[str, str]]:
        done = [run.communicate(timeout=120) for run in pair]
        assert [run.returncode for run in pair] == [0, 0], done
        return [(out.strip(), err) for out, err in done]

    try:
        first = start("dot")
        read_until(first, "building")  # it holds the lock by then, and keeps it while stopped
        first.send_signal(signal.SIGSTOP)
        second = start("dot")
        read_until(second, f"waiting for another sync_to_snapshot of {name!r} (pid {first.pid}) to finish")
        first.send_signal(signal.SIGCONT)
        here = [made for made, _ in finish(first, second)]
        assert [ec2.describe_snapshots(m)[0].tags["Version"] for m in here] == ["1", "2"]

        one = start("dot")
        read_until(one, "building")  # it found version 2 and makes 3; it waits until the other found it too
        one.send_signal(signal.SIGSTOP)
        other = start("other-dot")
        read_until(other, "building")
        one.send_signal(signal.SIGCONT)
        there = dict(finish(one, other))
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()  # stopped or not
            run.communicate()
    snapshots = sorted(ec2.describe_snapshots(list(there)), key=version_of)
    settled = [(version_of(s), s.tags.get(RENUMBERED)) for s in snapshots]
    assert settled == [(3, None), (4, "3")], (there, [(str(s), s.startTime) for s in snapshots])
    kept, moved = snapshots
    assert (kept.startTime, str(kept)) < (moved.startTime, str(moved))  # the one that started first keeps 3
    told = there[str(moved)]
    assert f"version 3 of {name!r} is also {kept} " in told and f"{moved} becomes version 4" in told
    assert f"==> {name!r} version 4:" in told
    for snapshot_id in [*here, *there]:
        ec2.delete_snapshot(snapshot_id)


def test_the_commands_take_direct(
    ec2: EC2, staging_cloud: Sandbox, tmp_path: Path, helpers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--direct`` on both commands (``--dry-run`` names no server), restoring the tree as it was."""
    src, dot = helpers.make_hostile_tree(tmp_path / "src"), tmp_path / "dot"
    monkeypatch.setenv("VMEC2_SANDBOX_DIR", str(staging_cloud.state_dir))
    common = ["--sandbox", "--dotdir", str(dot), "--direct", "-q"]

    def run(main: Callable[..., int], *argv: str) -> str:
        out, err = io.StringIO(), io.StringIO()
        try:
            assert main([*argv, *common], stdout=out, stderr=err) == 0, err.getvalue()
        finally:
            structlog.reset_defaults()  # the commands configure logging as applications do
        return out.getvalue()

    assert "none (EBS direct APIs)" in run(to_main, str(src), "-s", "direct-cli", "-n")
    snapshot_id = run(to_main, str(src), "-s", "direct-cli").strip()
    run(from_main, str(tmp_path / "back"), "-s", "direct-cli")
    assert helpers.tree_state(tmp_path / "back" / str(src).lstrip("/")) == helpers.tree_state(src)
    ec2.delete_snapshot(snapshot_id)


def test_plain_images_go_up_and_come_back_byte_for_byte(ec2: EC2, tmp_path: Path) -> None:
    """upload_image / download_image: a sparse image with data, a zero block and a hole; the child sends
    only the blocks that differ from its parent (one changed, one emptied)."""
    image = tmp_path / "disk.img"
    with image.open("wb") as f:
        f.truncate(1024**3)
        for index, data in ((0, os.urandom(BLOCK_SIZE)), (3, bytes(BLOCK_SIZE)), (9, os.urandom(100))):
            f.seek(index * BLOCK_SIZE)
            f.write(data)
    parent = upload_image(ec2, image, dotdir=tmp_path / "dot")
    assert (parent.blocks_put, parent.size_gib) == (2, 1)  # the zero block is not sent
    with image.open("r+b") as f:
        f.seek(9 * BLOCK_SIZE)
        f.write(bytes(BLOCK_SIZE))  # emptied: written as zeros
        f.write(os.urandom(BLOCK_SIZE))  # block 10: new
    child = upload_image(ec2, image, parent=parent.snapshot_id)  # no cache: the parent's blocks are read back
    assert child.blocks_put == 2
    back = tmp_path / "back.img"
    download_image(ec2, child.snapshot_id, back)
    assert back.read_bytes() == image.read_bytes()
    for made in (parent, child):
        ec2.delete_snapshot(made.snapshot_id)
