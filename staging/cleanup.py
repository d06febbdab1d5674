"""How a run ends (the body of ``StagingManager.close``): what becomes of each resource, and in which order.

The order matters: first the managers of other regions this run made (they hold its copies there), then the
servers this run created (terminated or stopped as ``on_exit`` says, their volumes unmounted first), then the
temporary volumes, then the security group (retried while terminated instances still hold it), then the key
pair. When the run's servers stay (stopped or running), the key pair and the security group stay with them:
they leave the journal instead of the cloud.

Each step runs even when an earlier one failed (the failure is logged); the manager then reports what is
left, from the journals.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence

from staging._log import get_logger
from staging.access import RunAccess
from staging.errors import CleanupIncomplete
from staging.fleet import Fleet
from staging.server import StagingServer
from staging.volume import StagingVolume

__all__ = ["close_run"]

log = get_logger(__name__)


def close_run(
    manager: Fleet, ours: Sequence[StagingServer], access: RunAccess, peers: Iterable[Fleet]
) -> None:
    """Apply ``manager.on_exit`` to ``ours`` (the servers the run created) and remove the run's temporary
    resources, closing ``peers`` (the managers of other regions) first."""
    steps: list[tuple[str, Callable[[], None]]] = [("close other regions", lambda: _close_all(peers))]
    if manager.on_exit == "terminate":
        steps.append(("terminate servers", lambda: manager.terminate_servers(ours)))
    elif manager.on_exit == "stop":
        steps.append(("stop servers", lambda: manager.stop_servers(ours)))
    steps.append(("delete temporary volumes", lambda: _delete_temporary(manager.volumes())))
    if manager.on_exit == "terminate" or not ours:
        steps.append(("delete security group", access.delete_group))
        steps.append(("delete key pair", access.delete_key))
    else:  # the servers left stopped or running need them: they are no longer temporary
        steps.append(("keep key pair and security group", access.hand_over))
    for what, step in steps:
        try:
            step()
        except Exception as exc:
            log.error("staging.cleanup_step_failed", step=what, error=str(exc))


def _close_all(peers: Iterable[Fleet]) -> None:
    """Close every peer, even after one of them failed; then report everything any of them left."""
    failed: list[str] = []
    for peer in peers:
        try:
            peer.close()
        except CleanupIncomplete as exc:
            failed += exc.leftovers
        except Exception as exc:  # one region's failure never keeps the other regions' cleanup from running
            log.error("staging.cleanup_region_failed", region=peer.region, error=str(exc))
            failed.append(f"the run's resources in {peer.region} ({exc})")
    if failed:
        raise CleanupIncomplete(failed)


def _delete_temporary(volumes: Iterable[StagingVolume]) -> None:
    for volume in [v for v in volumes if v.temporary]:
        if volume.server is not None and volume.mounted:
            with contextlib.suppress(Exception):
                volume.server.unmount_volume(volume)
        volume.delete()
