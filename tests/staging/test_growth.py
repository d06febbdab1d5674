"""The waits of a resize (pure logic: a scripted DescribeVolumesModifications and shell, no sleeping)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from staging import StagingError, growth
from transfer import CommandResult

from .conftest import Recorded


def mod(state: str, target: int = 2, start: str = "2026-01-01T00:00:01", message: str | None = None) -> Any:
    """A modification as the façade describes it."""
    return SimpleNamespace(
        modification_state=state, target_size=target, start_time=start, status_message=message
    )


class Scripted:
    """A façade whose DescribeVolumesModifications answers one scripted list per call (the last repeats)."""

    def __init__(self, *answers: list[Any]) -> None:
        self.answers = list(answers)

    def describe_volumes_modifications(self, volume_ids: list[str]) -> list[Any]:
        assert volume_ids == ["vol-1"]
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(growth, "POLL", 0.0)
    monkeypatch.setattr(growth.time, "sleep", lambda _: None)


def test_waits_through_lag_and_modifying_until_optimizing() -> None:
    """Not listed yet, then an older modification to another size, then modifying: each a reported wait."""
    reporter = Recorded()
    ec2 = Scripted([], [mod("completed", 1)], [mod("completed", 1), mod("modifying")], [mod("optimizing")])
    assert growth.wait_for_modification(ec2, "vol-1", 2, reporter) == "optimizing"
    assert len(reporter.waits) == 3 and "vol-1 to 2 GiB to be optimizing" in reporter.waits[0]


def test_latest_modification_counts() -> None:
    """Of two modifications to the same size, the later one decides (an old failure does not)."""
    ec2 = Scripted(
        [mod("failed", start="2026-01-01T00:00:00"), mod("completed", start="2026-01-01T00:00:09")]
    )
    assert growth.wait_for_modification(ec2, "vol-1", 2, Recorded()) == "completed"


def test_failed_modification_is_an_error() -> None:
    ec2 = Scripted([mod("modifying")], [mod("failed", message="transient fault")])
    with pytest.raises(StagingError, match="to 2 GiB failed: transient fault"):
        growth.wait_for_modification(ec2, "vol-1", 2, Recorded())


def test_deadline() -> None:
    with pytest.raises(StagingError, match="gave up waiting for the modification of vol-1"):
        growth.wait_for_modification(Scripted([mod("modifying")]), "vol-1", 2, Recorded(), timeout=0.0)


class Host:
    """A server whose ``blockdev --getsize64`` prints one scripted answer per call (the last repeats)."""

    def __init__(self, *answers: tuple[int, str]) -> None:
        self.answers = list(answers)
        self.argv: list[str] = []

    def run(self, command: list[str], *, sudo: bool = False, check: bool = True) -> CommandResult:
        self.argv = command
        code, out = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return CommandResult(
            command="blockdev", exit_code=code, stdout=out, stderr="no such device" if code else ""
        )


def test_device_wait() -> None:
    """The device is polled until it shows the new size; a failing blockdev or garbage ends the wait."""
    reporter = Recorded()
    host = Host((0, f"{1024**3}\n"), (0, f"{2 * 1024**3}\n"))
    assert growth.wait_for_device_size(host, "/dev/nvme1n1", 2, reporter, "i-1") == 2 * 1024**3
    assert host.argv == ["blockdev", "--getsize64", "/dev/nvme1n1"]
    assert reporter.waits == ["/dev/nvme1n1 on i-1 to show 2 GiB"]
    with pytest.raises(StagingError, match="no such device"):
        growth.wait_for_device_size(Host((1, "")), "/dev/nvme1n1", 2, reporter, "i-1")
    with pytest.raises(StagingError, match="not a size"):
        growth.wait_for_device_size(Host((0, "garbage")), "/dev/nvme1n1", 2, reporter, "i-1")


def test_falls_short_allows_layout_leftovers_but_not_a_missed_growth() -> None:
    """A grown file system may fall short of its device by what its layout leaves (64 MiB, or 1 % of large
    devices); one still at its old size on a device twice as big is far outside that."""
    from staging.server import falls_short

    gib, mib = 1 << 30, 1 << 20
    assert falls_short(gib, 2 * gib)  # 1 GiB file system left on a 2 GiB device: an error
    assert not falls_short(2 * gib - 4 * mib, 2 * gib)  # a few MiB of layout: fine
    assert not falls_short(2 * gib - 64 * mib, 2 * gib) and falls_short(2 * gib - 65 * mib, 2 * gib)
    assert not falls_short(990 * gib, 1000 * gib) and falls_short(989 * gib, 1000 * gib)  # 1 % of large
    assert not falls_short(2 * gib, 2 * gib)  # already filling it: growing again is no error
