"""Fault settings are checked when they are set (CLI --faults JSON, the control API), not on every call."""

from __future__ import annotations

from typing import Any

import pytest

from staging.sandbox import Faults


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"latency": "1"}, "latency must be a number"),
        ({"pending_for": None}, "pending_for must be a number"),
        ({"boot_delay": True}, "boot_delay must be a number"),
        ({"latency": float("nan")}, "latency must be a number"),
        ({"latency": -1}, "latency must not be negative"),
        ({"throttle_rate": 2}, "throttle_rate must be between 0 and 1"),
        ({"seed": 1.5}, "seed must be an integer"),
    ],
)
def test_bad_values_are_refused(data: dict[str, Any], message: str) -> None:
    """Wrong types, negative or non-finite durations and rates above 1 raise ValueError naming the field."""
    with pytest.raises(ValueError, match=message):
        Faults.from_dict(data)


def test_round_trip_and_ints_become_floats() -> None:
    """to_dict/from_dict round-trips; integer durations are accepted as seconds; unknown keys are ignored."""
    faults = Faults.from_dict({"latency": 2, "throttle_rate": 0.5, "seed": 7, "unknown": "x"})
    assert faults == Faults(latency=2.0, throttle_rate=0.5, seed=7)
    assert isinstance(faults.latency, float)
    assert Faults.from_dict(faults.to_dict()) == faults
