"""Snapshot progress while the ``snapshot_pending_for`` fault holds a snapshot ``pending``."""

from __future__ import annotations

from types import SimpleNamespace

from staging.sandbox.daemon.hooks.volumes import snapshot_progress


def test_progress_rises_over_the_pending_time() -> None:
    """Progress is the elapsed fraction of the pending time (below 100% until completed)."""
    snapshot = SimpleNamespace(status="pending", sandbox_pending=(1000.0, 20.0))
    assert snapshot_progress(snapshot, now=1000.0) == "0%"
    assert snapshot_progress(snapshot, now=1010.0) == "50%"
    assert snapshot_progress(snapshot, now=1030.0) == "99%"
    snapshot.status = "completed"
    assert snapshot_progress(snapshot, now=1010.0) == "100%"
    assert snapshot_progress(SimpleNamespace(status="pending"), now=0.0) == "100%"
