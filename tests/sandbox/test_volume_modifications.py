"""Volume modifications on the sandbox go through AWS's states over time (moto completes them at once):
``modifying`` (the new size not usable yet), ``optimizing`` (usable), ``completed``; while one runs, another
``ModifyVolume`` of the same volume is refused with AWS's ``IncorrectModificationState``."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import modification_of

pytestmark = [pytest.mark.root]

#: A bound on polling only, against a hang (the default model's states take about 2 s in all).
PATIENCE = 60.0


def refusal(client: Any, volume_id: str, size: int) -> str:
    """The error code of ``ModifyVolume`` to ``size`` GiB (the call must be refused)."""
    with pytest.raises(ClientError) as info:
        client.modify_volume(VolumeId=volume_id, Size=size)
    return str(info.value.response["Error"]["Code"])


def test_states_in_order_and_no_second_modification_meanwhile(east: Any, track: Any) -> None:
    """modifying -> optimizing -> completed (Progress 100 and an EndTime only then); the volume's Size is
    the target at once; a second ModifyVolume is refused until the first completes, then accepted."""
    volume_id = east.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
    track.volumes.append(("us-east-1", volume_id))
    answer = east.modify_volume(VolumeId=volume_id, Size=2)["VolumeModification"]
    assert (answer["ModificationState"], answer["OriginalSize"], answer["TargetSize"]) == ("modifying", 1, 2)
    assert "EndTime" not in answer and answer["Progress"] < 100
    assert east.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["Size"] == 2
    seen = ["modifying"]
    refusals = set()
    deadline = time.monotonic() + PATIENCE
    while seen[-1] != "completed" and time.monotonic() < deadline:
        modification = modification_of(east, volume_id)
        state = modification["ModificationState"]
        if state != seen[-1]:
            seen.append(state)
        if state in ("modifying", "optimizing") and state not in refusals:
            assert refusal(east, volume_id, 3) == "IncorrectModificationState", state
            refusals.add(state)
        time.sleep(0.1)
    assert seen == ["modifying", "optimizing", "completed"]
    assert refusals == {"modifying", "optimizing"}
    assert modification["Progress"] == 100 and "EndTime" in modification
    assert east.modify_volume(VolumeId=volume_id, Size=3)["VolumeModification"]["TargetSize"] == 3
