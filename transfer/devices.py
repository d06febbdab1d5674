"""Find the block device that an attached volume really became on the host.

EC2 attaches a volume under a requested name (``/dev/sdf``), but the kernel may call it ``/dev/xvdf``
(Xen) or ``/dev/nvme1n1`` (Nitro, in unstable order). On Nitro the NVMe serial is the volume id without
its dash, visible as ``/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123...``. The volume id is
plain data here; this module knows nothing about EC2's API.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence

import tenacity

from transfer._log import get_logger
from transfer.errors import DeviceNotFound
from transfer.shell import Shell

__all__ = [
    "BY_ID_DIR",
    "NVME_EBS_PREFIX",
    "PROBE_TIMEOUT",
    "device_candidates",
    "find_block_device",
    "probe_argv",
]

log = get_logger(__name__)

BY_ID_DIR = "/dev/disk/by-id"
NVME_EBS_PREFIX = "nvme-Amazon_Elastic_Block_Store_"

# Prints the first candidate that is a block device, resolved through symlinks (by-id links are symlinks).
_PROBE = 'for p in "$@"; do if [ -b "$p" ]; then readlink -f -- "$p"; exit 0; fi; done; exit 1'


def device_candidates(volume_id: str | None, requested: str | None) -> list[str]:
    """Paths to look for, best first (pure).

    1. The NVMe by-id link for ``volume_id`` (``vol-0abc`` → ``nvme-Amazon_Elastic_Block_Store_vol0abc``).
    2. The requested name, then its Xen twin: ``/dev/sdX`` ↔ ``/dev/xvdX`` (partition digits kept).

    Raises:
        ValueError: Neither argument given, or a malformed one.
    """
    out: list[str] = []
    if volume_id:
        if not re.fullmatch(r"vol-?[0-9a-f]+", volume_id):
            raise ValueError(f"not a volume id: {volume_id!r}")
        out.append(f"{BY_ID_DIR}/{NVME_EBS_PREFIX}{volume_id.replace('-', '')}")
    if requested:
        if not requested.startswith("/"):
            requested = f"/dev/{requested}"
        if not re.fullmatch(r"/dev/[\w/.-]+", requested):
            raise ValueError(f"not a device path: {requested!r}")
        out.append(requested)
        m = re.fullmatch(r"/dev/(sd|xvd)([a-z]+\d*)", requested)
        if m:
            out.append(f"/dev/{'xvd' if m.group(1) == 'sd' else 'sd'}{m.group(2)}")
    if not out:
        raise ValueError("need a volume id or a requested device name")
    return out


def probe_argv(candidates: Sequence[str]) -> list[str]:
    """One command that prints the first existing candidate's real path (exit 1 if none exists)."""
    return ["sh", "-c", _PROBE, "sh", *candidates]


def find_block_device(
    shell: Shell,
    volume_id: str | None,
    requested: str | None,
    *,
    timeout: float = 60.0,
    interval: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Poll ``shell`` until the volume's block device appears; return its real path (e.g. ``/dev/nvme1n1``).

    Each round is one remote command checking every candidate. Polling backs off from ``interval`` up
    to 5 s. The probe is read-only, so retrying it is safe.

    Raises:
        DeviceNotFound: Nothing appeared within ``timeout`` seconds (the message lists the paths tried).
        CommandTimeout: One probe hung for :data:`PROBE_TIMEOUT` seconds.
    """
    candidates = device_candidates(volume_id, requested)
    start = clock()
    backoff = tenacity.wait_exponential(multiplier=interval, min=interval, max=max(interval, 5.0))

    def wait(state: tenacity.RetryCallState) -> float:
        # Never sleep past the deadline: the last probe happens at the deadline, not seconds after it.
        return min(backoff(state), max(0.0, timeout - (clock() - start)))

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_result(lambda path: path is None),
        stop=lambda state: clock() - start >= timeout,
        wait=wait,
        sleep=sleep,
        retry_error_callback=lambda state: None,
    )
    found: str | None = retrying(_probe_once, shell, candidates)
    if found is None:
        raise DeviceNotFound(
            f"no block device for {volume_id or requested} after {timeout:g}s; tried {candidates}"
        )
    log.info("device.found", volume=volume_id, requested=requested, device=found)
    return found


#: Seconds one probe may take: a hung host must not hold the poll beyond its deadline for good.
PROBE_TIMEOUT = 30.0


def _probe_once(shell: Shell, candidates: Sequence[str]) -> str | None:
    result = shell.run(probe_argv(candidates), check=False, timeout=PROBE_TIMEOUT)
    path = result.stdout.strip()
    return path if result.ok and path else None
