"""The Manager's API under the sandbox's AWS-like delays: pending instances, slow sshd, slow attachments,
pending snapshots and eventual consistency."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from staging.sandbox import Faults

pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.fixture
def slow_cloud(cloud: Any) -> Iterator[Any]:
    """The session's sandbox with AWS-like delays for one test (reset afterwards)."""
    cloud.set_faults(
        Faults(
            pending_for=0.3, boot_delay=0.3, attaching_for=0.5, snapshot_pending_for=0.5, not_found_for=0.5
        )
    )
    try:
        yield cloud
    finally:
        cloud.set_faults(Faults())


def test_api_with_delays(slow_cloud: Any, make_manager: Any, tmp_path: Path) -> None:
    """A server, a volume, a transfer and a snapshot wait through every delay instead of failing."""
    m = make_manager()
    vol = m.provision_volume("slow", size=1, availability_zone="us-east-1a")
    (tmp_path / "f").write_text("slow\n")
    vol.put(tmp_path / "f")
    snap = vol.create_snapshot(freeze=True)
    m.wait_for(snap, "completed", "snapshot")
    assert snap.state == "completed" and vol.cmd("cat", "f") == "slow\n"
    snap.delete()
    m.close()
