"""A failure, Ctrl-C or SIGTERM at any step of sync_to_snapshot leaves nothing behind; a SIGKILLed run's
leftovers are found and removed by ``staging gc``.

Failures are injected through the reporter (fault injection: the step itself is real, the exception comes
at its start); signals are real, sent to a real process when its step line appears on stderr.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

import staging
from provisioning import EC2

pytestmark = [pytest.mark.root, pytest.mark.slow]

#: The step lines of a first sync, in order, up to the snapshot (cleanup steps follow).
STEPS = (
    "creating a",
    "launching staging server",
    "waiting for ssh",
    "attaching",
    "making a ext4 file system",
    "copying",
    "detaching",
    "snapshotting",
)


class Injected(RuntimeError):
    """The injected failure."""


class FailAt:
    """A reporter that raises when the step starting with ``prefix`` begins (once)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.fired = False

    def step(self, message: str) -> None:
        if not self.fired and message.startswith(self.prefix):
            self.fired = True
            raise Injected(f"injected at {message!r}")

    def waiting(self, what: str, elapsed: float) -> None:
        pass

    def transfer(self, done: int, total: int | None, rate: float) -> None:
        pass

    def transfer_done(self) -> None:
        pass


def _source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "file").write_bytes(b"x" * 100_000)
    return src


@pytest.mark.parametrize("step", STEPS)
def test_a_failure_at_any_step_leaves_nothing(
    ec2: EC2, staging_cloud: Any, tmp_path: Path, step: str, helpers: Any
) -> None:
    reporter = FailAt(step)
    gateway = staging_cloud.network.rsplit(".", 1)[0] + ".1/32"
    with pytest.raises(Injected):
        staging.sync_to_snapshot(
            [_source(tmp_path)], f"fail-{step.split()[0]}", ec2=ec2, ssh_cidr=gateway,
            dotdir=tmp_path / "dot", reporter=reporter,
        )  # fmt: skip
    assert reporter.fired
    assert helpers.census(ec2, all_snapshots=True) == []
    assert list((tmp_path / "dot" / "runs").glob("*.json")) == []  # the journal went with the resources


def _run_until(commands: Any, marker: str, *argv: str) -> subprocess.Popen[str]:
    """Start sync_to_snapshot and return once ``marker`` appears on its stderr."""
    proc = commands.spawn("sync_to_snapshot", *argv)
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if marker in line:
            return proc
    proc.wait()
    raise AssertionError(f"never saw {marker!r}: {''.join(seen)}")


@pytest.mark.parametrize("step", STEPS)
def test_ctrl_c_at_any_step_cleans_up(
    commands: Any, ec2: EC2, tmp_path: Path, step: str, helpers: Any
) -> None:
    proc = _run_until(commands, f"==> {step}", "-s", "sigint", str(_source(tmp_path)))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err.strip().splitlines()[-1]
    assert "Traceback" not in err
    assert helpers.census(ec2, all_snapshots=True) == []


def test_sigterm_cleans_up_and_a_second_ctrl_c_does_not_abandon_cleanup(
    commands: Any, ec2: EC2, tmp_path: Path, helpers: Any
) -> None:
    proc = _run_until(commands, "==> copying", "-s", "sigterm", str(_source(tmp_path)))
    proc.send_signal(signal.SIGTERM)
    assert proc.stderr is not None
    for line in proc.stderr:  # cleanup has begun: interrupt it once more
        if "==> terminating" in line:
            proc.send_signal(signal.SIGINT)
            break
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert helpers.census(ec2, all_snapshots=True) == []


def test_gc_removes_what_a_killed_run_left(commands: Any, ec2: EC2, tmp_path: Path, helpers: Any) -> None:
    proc = _run_until(commands, "==> copying", "-s", "sigkill", str(_source(tmp_path)))
    proc.kill()
    proc.communicate(timeout=60)
    assert (
        helpers.census(ec2, all_snapshots=True) != []
    )  # the kill left the run's server, volume, group and key

    code, out, err = commands.run("gc", "gc", "--regions", "us-east-1", "--json")
    assert code == 0, err
    listed = json.loads(out)["leftovers"]
    assert {x["kind"] for x in listed} == {"instance", "volume", "security-group", "key-pair"}
    assert all("crashed" in x["reason"] for x in listed)
    assert helpers.census(ec2, all_snapshots=True) != []  # listing removes nothing

    code, _, err = commands.run("gc", "gc", "--regions", "us-east-1", "--delete")
    assert code == 0, err
    assert helpers.census(ec2, all_snapshots=True) == []
    code, out, _ = commands.run("gc", "gc", "--regions", "us-east-1", "--json")
    assert json.loads(out)["leftovers"] == []
