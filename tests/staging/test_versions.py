"""Concurrent ``sync_to_snapshot`` runs of one name: the version rule as pure logic (table), the check on
moto's server (two snapshots of one Name/Version: the later one moves), and the per-machine lock with two
real processes."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from provisioning import EC2
from staging import SyncLocked, find_snapshot
from staging.synclock import lock_path, sync_lock
from staging.versions import RENUMBERED, Claim, make_unique, settle_version

from .conftest import Recorded

T0 = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def c(version: int, start: int, sid: str, renumbered: bool = False) -> Claim:
    return Claim(version, at(start), sid, renumbered)


MINE = "snap-b"


@pytest.mark.parametrize(
    ("mine", "others", "expected"),
    [
        pytest.param(c(3, 5, MINE), [c(1, 0, "snap-1"), c(2, 1, "snap-2")], 3, id="alone-keeps"),
        pytest.param(c(3, 5, MINE), [c(2, 1, "snap-2"), c(3, 4, "snap-a")], 4, id="started-later-moves"),
        pytest.param(c(3, 4, MINE), [c(2, 1, "snap-2"), c(3, 5, "snap-a")], 3, id="started-first-keeps"),
        pytest.param(c(3, 4, MINE), [c(3, 4, "snap-a")], 4, id="same-second-larger-id-moves"),
        pytest.param(c(3, 4, MINE), [c(3, 4, "snap-c")], 3, id="same-second-smaller-id-keeps"),
        pytest.param(c(3, 5, MINE), [c(3, 4, "snap-a"), c(7, 6, "snap-x")], 8, id="moves-above-highest"),
        pytest.param(c(3, 5, MINE), [c(3, 4, "snap-a"), c(3, 3, "snap-c")], 4, id="three-way-clash"),
        pytest.param(c(4, 2, MINE, True), [c(4, 9, "snap-d")], 5, id="moved-yields-to-made-with-it"),
        pytest.param(c(4, 1, MINE), [c(4, 2, "snap-d", True)], 5, id="made-with-it-meets-moved-moves-too"),
        pytest.param(c(4, 2, MINE, True), [c(4, 9, "snap-d", True)], 5, id="moved-meets-moved-yields"),
        pytest.param(c(4, 2, MINE, True), [c(3, 1, "snap-a")], 4, id="moved-alone-keeps"),
        pytest.param(c(3, 5, MINE), [c(3, 5, MINE)], 3, id="itself-in-the-list"),
    ],
)
def test_settle_version(mine: Claim, others: list[Claim], expected: int) -> None:
    assert settle_version(mine, [*others, mine]) == expected


@pytest.mark.parametrize("version", [2, 3, 4])
def test_two_sides_of_a_clash_agree(version: int) -> None:
    """Whatever the order the two runs look in, exactly one of them keeps the number."""
    a, b = c(version, 1, "snap-z"), c(version, 2, "snap-a")
    assert (settle_version(a, [a, b]), settle_version(b, [b, a])) == (version, version + 1)


class Snapshots:
    """Snapshots named 'data' on moto's server, tagged as given."""

    def __init__(self, endpoint: str) -> None:
        self.ec2 = EC2(endpoint=endpoint, region="us-east-1", access_key="testing", secret_key="testing")
        self.volume = self.ec2.create_volume(size=1, availability_zone="us-east-1a")

    def __call__(self, version: int, **tags: str) -> str:
        tags = {"Name": "data", "Version": str(version), **tags}
        return str(self.ec2.create_snapshot(self.volume, description="data", tag_specifications=tags))


def test_later_duplicate_is_renumbered_on_moto(moto_endpoint: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)  # whatever level a command run in this process left behind
    snapshot = Snapshots(moto_endpoint)
    ec2 = snapshot.ec2
    snapshot(1)
    first = snapshot(2)
    time.sleep(1.1)  # StartTime has whole seconds: the second one really starts later
    second = snapshot(2)
    assert str(find_snapshot(ec2, "data")) == first  # an old duplicate: the one started first, and a warning
    assert "staging.duplicate_version" in caplog.text and second in caplog.text

    steps = Recorded()
    assert make_unique(ec2, first, "data", steps) == 2 and steps.lines == []  # the earlier side keeps it
    assert make_unique(ec2, second, "data", steps) == 3
    assert steps.lines == [
        f"warning: version 2 of 'data' is also {first} (another sync at the same time; it started earlier): "
        f"{second} becomes version 3"
    ]
    assert "staging.snapshot_renumbered" in caplog.text
    tags = ec2.describe_snapshots(second)[0].tags
    assert (tags["Version"], tags[RENUMBERED]) == ("3", "2")
    assert make_unique(ec2, first, "data", steps) == 2  # settled: checking again changes nothing
    assert str(find_snapshot(ec2, "data")) == second
    assert str(find_snapshot(ec2, "data", version=2)) == first


def test_a_clash_with_a_moved_snapshot_on_moto(moto_endpoint: str) -> None:
    """A snapshot made with version 3 meets one moved to 3 (which may have finished its check): after a
    pause it moves on; the moved one, alone again, keeps 3."""
    snapshot = Snapshots(moto_endpoint)
    moved, made = snapshot(3, **{RENUMBERED: "2"}), snapshot(3)
    steps = Recorded()
    assert make_unique(snapshot.ec2, made, "data", steps) == 4
    assert steps.lines == [
        f"warning: version 3 of 'data' is also {moved} (another sync at the same time; one of them was moved "
        f"there: neither keeps it): {made} becomes version 4"
    ]
    assert make_unique(snapshot.ec2, moved, "data", steps) == 3


WHAT = "another sync_to_snapshot of 'data'"
HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from staging.progress import LogReporter
    from staging.synclock import sync_lock

    with sync_lock(Path(sys.argv[1]), "another sync_to_snapshot of 'data'", LogReporter()):
        print("held", flush=True)
        sys.stdin.read()
    """
)


def test_second_process_waits_for_the_lock_until_the_holder_dies(tmp_path: Path) -> None:
    path = lock_path(tmp_path / "dot", "http://127.0.0.1:5000", "us-east-1", "data")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert path.read_text() == f"{holder.pid}\n"
        with pytest.raises(SyncLocked, match=rf"waiting for {WHAT} \(pid {holder.pid}\) to finish"):
            with sync_lock(path, WHAT, Recorded(), timeout=0):
                pass
        steps = Recorded()

        class KillOnWait(Recorded):
            def waiting(self, what: str, elapsed: float) -> None:
                steps.lines.append(f"waiting for {what}")
                if holder.poll() is None:
                    os.kill(holder.pid, signal.SIGKILL)  # no cleanup of its own: the kernel frees the flock

        with sync_lock(path, WHAT, KillOnWait()):
            assert path.read_text() == f"{os.getpid()}\n"
        assert steps.lines[0] == f"waiting for {WHAT} (pid {holder.pid}) to finish"
        assert holder.wait() == -signal.SIGKILL
        assert path.read_text() == ""  # released: no pid left behind
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()
