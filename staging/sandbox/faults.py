"""Faults on demand, for reliability tests of code that talks to the sandbox.

API-level faults (throttling, latency, ids unknown for a while after a create) are applied by a WSGI
middleware in front of moto, so every client sees them the same way. Time-taking states (pending instances,
attaching volumes, pending snapshots, volume modifications) and a slow sshd are applied by the daemon's
hooks. A test can also drop every SSH session of a host in the middle of a transfer
(:meth:`staging.sandbox.Sandbox.drop_ssh_connections`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["Faults"]

#: The longest duration a fault may last (seconds): longer ones would outlive any test and overflow timers.
MAX_SECONDS = 86400.0


@dataclass(frozen=True)
class Faults:
    """Which faults the sandbox injects (all off by default but those modelling what AWS always does).

    Attributes:
        throttle_rate: Fraction (0..1) of API calls answered with HTTP 503 ``RequestLimitExceeded``.
        latency: Seconds added to every API call.
        not_found_for: Seconds during which a new instance, volume, snapshot or image id is still unknown to
            calls naming it (``InvalidInstanceID.NotFound``, ...) and missing from describes without ids,
            like EC2's eventual consistency.
        pending_for: Seconds a new or started instance stays ``pending`` before ``running``.
        boot_delay: Seconds between ``running`` and sshd answering.
        attaching_for: Seconds an attachment stays ``attaching`` before ``attached``.
        snapshot_pending_for: Seconds a snapshot stays ``pending`` (its progress rising) before ``completed``.
        modifying_for: Seconds a volume modification (``ModifyVolume``) stays ``modifying``: the new size is
            not usable yet (the attached device keeps its old capacity). On by default (1 s), because AWS
            always behaves so: code that grows the file system right after ``ModifyVolume`` must wait.
        optimizing_for: Seconds it then stays ``optimizing`` (the device has its new size) before
            ``completed``; a second ``ModifyVolume`` is refused until then. Default 1 s.
        eni_linger_for: Seconds a terminated instance's network interface still uses its security groups
            (``DeleteSecurityGroup`` answers ``DependencyViolation`` meanwhile). On by default (1 s), because
            AWS always behaves so: code that deletes a group right after terminating must retry.
        snapshot_copy_limit: Concurrent snapshot copies (``pending`` copies) a destination region allows; one
            more answers ``ResourceLimitExceeded``. Default 20, as on AWS (never more lenient).
        seed: Seed for the throttling dice (None: not reproducible).
    """

    throttle_rate: float = 0.0
    latency: float = 0.0
    not_found_for: float = 0.0
    pending_for: float = 0.0
    boot_delay: float = 0.0
    attaching_for: float = 0.0
    snapshot_pending_for: float = 0.0
    modifying_for: float = 1.0
    optimizing_for: float = 1.0
    eni_linger_for: float = 1.0
    snapshot_copy_limit: float = 20.0
    seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for the state file and the control API)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        """Build from :meth:`to_dict` output (or JSON from a user), ignoring unknown keys.

        Raises:
            ValueError: A value is not a number (``seed``: not an integer or null), a rate is outside 0..1
                or a duration is negative, not finite or over :data:`MAX_SECONDS`. A bad value must fail
                here, not in every later API call (or in a timer thread).
        """
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.name == "seed":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    raise ValueError("seed must be an integer or null")
                values[f.name] = value
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{f.name} must be a number, not {value!r}")
            if value < 0:
                raise ValueError(f"{f.name} must not be negative")
            if value > MAX_SECONDS:
                raise ValueError(f"{f.name} must be at most {MAX_SECONDS:g} seconds")
            values[f.name] = float(value)
        faults = cls(**values)
        if not 0.0 <= faults.throttle_rate <= 1.0:
            raise ValueError("throttle_rate must be between 0 and 1")
        return faults
