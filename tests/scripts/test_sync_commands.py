"""sync_to_snapshot / sync_from_snapshot end to end on the sandbox: versions, increments, an identical
restore with hostile names, and clear one-line errors for bad input before anything is created."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from provisioning import EC2

pytestmark = [pytest.mark.root, pytest.mark.slow]


def test_versions_increments_and_identical_restore(
    commands: Any, ec2: EC2, tmp_path: Path, helpers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = helpers
    src = h.make_hostile_tree(tmp_path / "work" / "tree")
    monkeypatch.chdir(tmp_path / "work")  # restored afterwards: later tests spawn commands by relative path

    code, out, err = commands.run("sync_to_snapshot", "-s", "e2e", "tree", "--json")
    assert code == 0, err
    first = json.loads(out)["snapshot"]
    assert first["version"] == 1 and first["parent"] is None

    big = src / "sub dir" / "data.bin"
    big.write_bytes(big.read_bytes()[:100_000] + os.urandom(1000) + big.read_bytes()[101_000:])
    (src / "added.txt").write_text("added in version 2\n")
    (src / "with space").unlink()
    code, out, err = commands.run("sync_to_snapshot", "-s", "e2e", "tree", "--delete", "--json")
    assert code == 0, err
    second = json.loads(out)["snapshot"]
    assert second["version"] == 2 and second["parent"] == first["snapshot_id"]
    # only the changes travel: 1,000 changed bytes + a 19-byte file, plus rsync's block checksums
    assert second["literal_bytes"] < 40_000, second
    snap = ec2.describe_snapshots(second["snapshot_id"])[0]
    assert snap.tags["Name"] == "e2e" and snap.tags["Version"] == "2" and snap.description == "e2e"

    restore = tmp_path / "restore"
    code, out, err = commands.run("sync_from_snapshot", "-s", "e2e", str(restore))
    assert code == 0, err
    assert out.startswith(second["snapshot_id"])
    assert h.tree_state(restore / "tree") == h.tree_state(src)

    old = tmp_path / "old"
    code, _, err = commands.run("sync_from_snapshot", "-s", "e2e", "--version", "1", str(old))
    assert code == 0, err
    assert (old / "tree" / "with space").exists() and not (old / "tree" / "added.txt").exists()
    for snapshot in ec2.describe_snapshots(owner="self", filter={"tag:Name": "e2e"}):
        ec2.delete_snapshot(snapshot)


def test_dry_run_creates_nothing(commands: Any, ec2: EC2, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    code, out, err = commands.run("sync_to_snapshot", "-s", "dry", str(tmp_path / "d"), "--dry-run")
    assert code == 0, err
    assert "version 1" in out and "1 GiB ext4" in out
    assert ec2.describe_snapshots(owner="self", filter={"tag:Name": "dry"}) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-s", "x", "/no/such/path"], "no such file or directory: /no/such/path"),
        (["-s", "x", "{src}", "--owner", "someone"], "bad snapshot owner 'someone'"),
        (
            ["-s", "x", "{src}", "--owner", "999999999999"],
            "no completed snapshot named 'x' owned by 999999999999",
        ),
        (["-s", "x", "{src}", "--size", "20000"], "--size must be 1..16384 GiB"),
        (["-s", "x", "{src}", "--region", "eu-west-9"], "eu-west-9"),
        (["-s", "x", "{src}", "--zone", "us-east-1z"], "unknown availability zone 'us-east-1z'"),
        (["-s", "x", "{src}", "--filesystem", "zfs"], "invalid choice: 'zfs'"),
        (["-s", "x", "{src}", "--lock-timeout", "-1"], "--lock-timeout must be 0 or more seconds, not -1"),
    ],
)
def test_bad_input_is_one_line_and_creates_nothing(
    commands: Any, ec2: EC2, tmp_path: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "src").mkdir()
    args = [a.replace("{src}", str(tmp_path / "src")) for a in argv]
    try:
        code, _, err = commands.run("sync_to_snapshot", *args)
    except SystemExit as exc:  # argparse's own usage errors
        code, err = int(exc.code or 0), capsys.readouterr().err
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert message in last
    assert "Traceback" not in err


def test_unreachable_endpoint_fails_fast_and_clearly(tmp_path: Path) -> None:
    from scripts import sync_to_snapshot

    (tmp_path / "src").mkdir()
    import io

    err = io.StringIO()
    code = sync_to_snapshot.main(
        ["-s", "x", str(tmp_path / "src"), "--endpoint", "http://127.0.0.1:9", "--region", "us-east-1",
         "--access_key", "a", "--secret_key", "b", "--dotdir", str(tmp_path / "dot")],
        stdout=io.StringIO(), stderr=err,
    )  # fmt: skip
    assert code == 1
    assert "127.0.0.1:9" in err.getvalue().strip().splitlines()[-1]
    assert not (tmp_path / "dot").exists()  # nothing was created, not even the dot directory


def test_sandbox_with_an_unknown_region_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No sandbox is up in this state directory: the region is refused before one is started."""
    import io

    from scripts import sync_to_snapshot

    monkeypatch.setenv("VMEC2_SANDBOX_DIR", str(tmp_path / "no-cloud"))
    (tmp_path / "src").mkdir()
    err = io.StringIO()
    code = sync_to_snapshot.main(
        ["-s", "x", str(tmp_path / "src"), "--sandbox", "--region", "eu-west-9", "--dotdir", "d"],
        stdout=io.StringIO(), stderr=err,
    )  # fmt: skip
    assert code == 2
    assert "eu-west-9" in err.getvalue().strip().splitlines()[-1] and "Traceback" not in err.getvalue()
    assert not (tmp_path / "no-cloud").exists()
