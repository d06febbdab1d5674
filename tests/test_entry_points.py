"""The demo and the benchmarks as a user starts them: ``--help`` explains and does nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = sorted(p.name for p in (ROOT / "bench").glob("bench_*.py"))


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run a command from the repository's root (where a user runs the README's commands)."""
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_demo_help_prints_usage_and_runs_nothing() -> None:
    """`python3 -m scripts.demo --help` prints the usage and exits 0 without starting the tour."""
    result = run(sys.executable, "-m", "scripts.demo", "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python3 -m scripts.demo")
    assert "EC2 endpoint" not in result.stdout


def test_demo_refuses_unknown_arguments() -> None:
    """An unknown argument is a usage error (exit 2), not a run of the tour."""
    result = run(sys.executable, "-m", "scripts.demo", "--bogus")
    assert result.returncode == 2 and "unrecognized arguments: --bogus" in result.stderr


@pytest.mark.parametrize("bench", BENCHMARKS)
def test_benchmarks_have_help_and_a_write_option(bench: str) -> None:
    """Every benchmark explains itself with --help, where --write is the option that records the results."""
    assert len(BENCHMARKS) >= 4
    result = run(sys.executable, f"bench/{bench}", "--help")
    assert result.returncode == 0, result.stderr
    assert "--write" in result.stdout and "results" in result.stdout
