"""Find and remove what crashed or killed staging runs left behind (``staging gc``).

A resource is a leftover when it is *temporary* (tagged ``StagingExpires`` at creation: resources the caller
keeps never are) and one of these holds:

* its expiry time has passed;
* its run crashed: the run's journal in the dot directory names a process that no longer runs on this host;
* its run was named explicitly (``runs``), or every temporary resource was asked for (``all_temporary``).

A run whose process is still alive is never touched unless named. Removal goes in dependency order:
instances (terminated and waited for), volumes, snapshots, security groups (retrying ``DependencyViolation``
while terminated instances linger), key pairs (and their private key files); journals whose resources are all
gone are deleted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioning import AWSError, NotFoundError
from staging import access
from staging._log import get_logger
from staging.journal import read_journals
from staging.tags import EXPIRES, ROLE, RUN, expired

__all__ = ["KINDS", "Leftover", "find_leftovers", "remove_leftovers"]

log = get_logger(__name__)

#: Kinds in removal order.
KINDS = ("instance", "volume", "image", "snapshot", "security-group", "key-pair")


@dataclass(frozen=True)
class Leftover:
    """One resource to remove: what, where, which run, and why it counts as left behind."""

    kind: str
    id: str
    region: str
    run: str | None
    reason: str


def _candidates(ec2: Any) -> Iterable[tuple[str, str, dict[str, str]]]:
    """``(kind, id, tags)`` of every live resource tagged by staging in the façade's region."""
    role = {"tag-key": ROLE}
    for instance in ec2.describe_instances(
        {**role, "instance-state-name": ["pending", "running", "stopping", "stopped"]}
    ):
        yield "instance", str(instance), instance.tags
    for volume in ec2.describe_volumes(role):
        yield "volume", str(volume), volume.tags
    for image in ec2.describe_images(owner="self", filter=role):
        yield "image", str(image), image.tags
    for snapshot in ec2.describe_snapshots(owner="self", filter=role):
        yield "snapshot", str(snapshot), snapshot.tags
    for group in ec2.describe_security_groups(role):
        yield "security-group", str(group.groupId), group.tags
    for pair in ec2.describe_key_pairs(role):
        yield "key-pair", str(pair.keyName), pair.tags


def find_leftovers(
    ec2: Any,
    regions: Sequence[str],
    *,
    dotdir: Path,
    runs: Sequence[str] = (),
    all_temporary: bool = False,
    now: dt.datetime | None = None,
) -> list[Leftover]:
    """Leftovers in ``regions`` (see the module docstring), in removal order."""
    journals = read_journals(dotdir)
    alive = {j["run_id"] for j in journals if j["alive"]}
    crashed = {j["run_id"] for j in journals if not j["alive"]}
    named = set(runs)
    found: list[Leftover] = []
    for region in regions:
        cloud = ec2 if region == ec2.region else ec2.clone(region=region)
        for kind, rid, tags in _candidates(cloud):
            if EXPIRES not in tags:
                continue  # the caller's to keep
            run = tags.get(RUN)
            if run in named:
                reason = f"run {run} named"
            elif run in alive:
                continue
            elif run in crashed:
                reason = f"run {run} crashed (its process is gone)"
            elif expired(tags, now):
                reason = f"expired {tags[EXPIRES]}"
            elif all_temporary:
                reason = "temporary"
            else:
                continue
            found.append(Leftover(kind, rid, region, run, reason))
    found.sort(key=lambda x: (KINDS.index(x.kind), x.region, x.id))
    return found


def remove_leftovers(ec2: Any, leftovers: Sequence[Leftover], *, dotdir: Path) -> list[str]:
    """Remove ``leftovers``; returns a message for each one that could not be removed."""
    failures: list[str] = []
    by_region: dict[str, list[Leftover]] = {}
    for item in leftovers:
        by_region.setdefault(item.region, []).append(item)
    for region, items in by_region.items():
        cloud = ec2 if region == ec2.region else ec2.clone(region=region)
        instances = [x.id for x in items if x.kind == "instance"]
        if instances:
            try:
                cloud.terminate_instances(instances)
                cloud.wait_for_terminal_state(cloud.describe_instances(instances), "terminated")
            except AWSError as exc:
                failures.append(f"instances {', '.join(instances)} ({region}): {exc}")
        for item in items:
            if item.kind == "instance":
                continue
            try:
                _remove(cloud, item, dotdir)
            except AWSError as exc:
                failures.append(f"{item.kind} {item.id} ({region}): {exc}")
    _drop_finished_journals(dotdir, failures)
    return failures


def _remove(ec2: Any, item: Leftover, dotdir: Path) -> None:
    with contextlib.suppress(NotFoundError):
        if item.kind == "volume":
            volume = ec2.describe_volumes(item.id)[0]
            if volume.status == "in-use":
                ec2.detach_volume(volume, force=True)
                ec2.wait_for_terminal_state(volume, "available")
            ec2.delete_volume(item.id)
        elif item.kind == "image":  # before its snapshots (they are in use while it is registered)
            ec2.deregister_image(item.id)
        elif item.kind == "snapshot":
            ec2.delete_snapshot(item.id)
        elif item.kind == "security-group":
            access.delete_security_group(ec2, item.id)
        elif item.kind == "key-pair":
            access.delete_key_pair(ec2, item.id, dotdir / f"{item.id}.pem")
    log.info("staging.gc.removed", kind=item.kind, id=item.id, region=item.region)


def _drop_finished_journals(dotdir: Path, failures: list[str]) -> None:
    """Delete the journals of dead runs once nothing failed (their resources were just removed)."""
    if failures:
        return
    for journal in read_journals(dotdir):
        if not journal["alive"]:
            Path(journal["path"]).unlink(missing_ok=True)
