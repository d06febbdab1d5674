"""Issue 11's "Done when": a user's workload completes through the façade on a faulty sandbox, every byte
intact, and nothing is left after ``down``.

The workload itself is ``bench/bench_workload.py``'s :func:`run_workload` (the benchmark records its time and
retry counts); this test runs it on a sandbox of its own, so that ``down`` can be checked afterwards.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from staging.sandbox import Sandbox

pytestmark = [pytest.mark.root, pytest.mark.slow]

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_workload.py"


def bench_module() -> ModuleType:
    """``bench/bench_workload.py`` (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_workload", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_workload_under_faults_then_nothing_left(needs_sandbox: None, tmp_path: Path) -> None:
    """5 instances, 5 volumes, attach, write over ssh, snapshot, copy to another region, read back: all
    through the façade with no retry of the test's own, under throttling, latency and eventual consistency."""
    bench = bench_module()
    state_dir = tmp_path / "cloud"
    cloud = Sandbox(state_dir)
    try:
        cloud.start()
        result = bench.run_workload(cloud, tmp_path)
        netns = [host["netns"] for host in cloud.status()["hosts"].values()]
    finally:
        cloud.stop(force=True)
    print(bench.report(result))  # shown with -s
    assert result.intact
    assert result.throttle_retries > 0 and result.consistency_retries > 0  # the faults really were on
    assert len(netns) == bench.COUNT + 1
    assert not state_dir.exists()
    assert str(state_dir) not in Path("/proc/self/mounts").read_text()
    assert str(state_dir) not in subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    assert not set(netns) & set(listed)
