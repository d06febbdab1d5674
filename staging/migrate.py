"""Copies across regions: snapshots, EBS-backed images, and the kernel an image needs there.

``copy_image`` has two paths:

* **native** (``CopyImage``) when the copy needs no change: encryption with a key of the destination is one of
  its options, and AWS copies the snapshots itself;
* **register** when it does — extra block device mappings (ephemeral ones never travel with a copy), another
  kernel or ramdisk, or a source that has ephemeral mappings of its own: every snapshot is copied
  (``CopySnapshot``, all at once but never more than the destination allows: ``ResourceLimitExceeded`` backs
  off and retries), then the image is registered there with the changed mappings.

Everything made in the destination is tagged at creation (``StagingExpires`` until it is done) and journaled
by the destination's manager, so ``staging gc`` finds what a crashed run left; a failure or Ctrl-C part-way
removes it at once. Tags, description, the public flag and launch permissions are carried; a name taken in
the destination is renamed ``NAME-xxxxxxxx`` (or refused with ``on_name_clash="refuse"``).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from provisioning import AWSError, NotFoundError, ParameterError
from provisioning.conventions import parse_block_device
from staging._log import get_logger
from staging.context import RunContext
from staging.errors import StagingError, StagingParameterError
from staging.tags import EXPIRES, Role

__all__ = [
    "COPY_LIMIT",
    "copy_snapshots",
    "forget",
    "keep",
    "known_region",
    "match_kernel",
    "user_tags",
]

log = get_logger(__name__)

#: Concurrent snapshot copies AWS allows per destination region.
COPY_LIMIT = 20
#: Seconds a copy may take: a base plus this much per GiB of the snapshots.
_WAIT_BASE, _WAIT_PER_GIB = 600.0, 60.0


def copy_timeout(gib: int) -> float:
    """Seconds to wait for copies of ``gib`` GiB (a base, plus a minute per GiB)."""
    return _WAIT_BASE + _WAIT_PER_GIB * gib


def user_tags(tags: dict[str, str]) -> dict[str, str]:
    """The caller's own tags of a resource (staging's bookkeeping and ``aws:`` tags left out)."""
    return {k: v for k, v in tags.items() if not k.startswith(("Staging", "aws:"))}


def known_region(manager: RunContext, dest: Any) -> str:
    """The name of region ``dest`` (a name or a region object), checked against the regions ``manager`` sees.

    Raises:
        StagingParameterError: ``dest``, or the manager's own region, is not a region of the cloud.
    """
    region = str(dest)
    known = sorted(str(r) for r in manager.ec2.describe_regions())
    for name in (manager.region, region):
        if name not in known:
            raise StagingParameterError(f"unknown region {name!r}; try one of {', '.join(known)}")
    return region


def forget(peer: RunContext, kind: str, resource_id: str) -> None:
    """Remove one thing made in the destination (it may be gone already) and drop it from the journal."""
    try:
        with contextlib.suppress(NotFoundError):
            if kind == "image":
                peer.ec2.deregister_image(resource_id)
            else:
                peer.ec2.delete_snapshot(resource_id)
        peer.untrack(resource_id)
    except AWSError as exc:
        log.error("staging.migrate.not_removed", kind=kind, id=resource_id, error=str(exc))


@dataclass
class _Copy:
    source: Any
    made: Any = None
    done: bool = False


def copy_snapshots(
    peer: RunContext,
    source_region: str,
    snapshots: Sequence[Any],
    *,
    name: str,
    encrypted: bool = False,
    kms_key_id: str | None = None,
    limit: int = COPY_LIMIT,
    timeout: float | None = None,
) -> list[Any]:
    """Copy ``snapshots`` of ``source_region`` into ``peer``'s region at once, at most ``limit`` in flight.

    Copies are tagged temporary (the source's own tags, plus staging's with ``name``) and journaled until the
    caller keeps them (:func:`keep`). ``ResourceLimitExceeded`` waits for one in flight to finish and retries.
    Returns the copies (completed) in the order given; on any failure, Ctrl-C included, every copy made so
    far is deleted.
    """
    copies = [_Copy(s) for s in snapshots]
    gib = sum(int(s.volumeSize or 0) for s in snapshots)
    deadline = time.monotonic() + (timeout if timeout is not None else copy_timeout(gib))
    start, full_at = time.monotonic(), -1  # copies done when the region said it was full (-1: it did not)
    peer.reporter.step(f"copying {len(copies)} snapshot(s) ({gib} GiB) from {source_region} to {peer.region}")
    try:
        while not all(c.done for c in copies):
            in_flight = sum(1 for c in copies if c.made is not None and not c.done)
            for item in [c for c in copies if c.made is None]:
                if in_flight >= limit or (full_at >= 0 and in_flight > 0):
                    break
                try:
                    item.made = _copy_one(peer, source_region, item.source, name, encrypted, kms_key_id)
                except AWSError as exc:
                    if exc.code != "ResourceLimitExceeded":
                        raise
                    full_at = sum(1 for c in copies if c.done)  # full: wait for one of ours to finish
                    log.info("staging.migrate.copy_limit", region=peer.region, in_flight=in_flight)
                    break
                in_flight += 1
            _poll(peer, copies)
            if all(c.done for c in copies):
                break
            elapsed = time.monotonic() - start
            if time.monotonic() > deadline:
                raise StagingError(f"snapshot copies to {peer.region} did not finish in {elapsed:.0f} s")
            done = sum(1 for c in copies if c.done)
            peer.reporter.waiting(f"{done}/{len(copies)} snapshot copies to {peer.region}", elapsed)
            time.sleep(min(max(0.2, elapsed / 20), 15.0))  # scales with how long copies take
            if full_at >= 0 and done > full_at:
                full_at = -1  # one of ours finished: there is room again
    except BaseException:
        for item in copies:
            if item.made is not None:
                forget(peer, "snapshot", str(item.made))
        raise
    return [c.made for c in copies]


def _copy_one(
    peer: RunContext, region: str, source: Any, name: str, encrypted: bool, kms_key_id: str | None
) -> Any:
    tags = {**user_tags(dict(source.tags)), **peer.run_tags.temporary(Role.SNAPSHOT, name)}
    options: dict[str, Any] = {"encrypted": True, "kms_key_id": kms_key_id} if encrypted else {}
    made = peer.ec2.copy_snapshot(
        source_region=region, source_snapshot_id=str(source), tag_specifications=tags,
        description=str(source.description or f"copy of {source} from {region}"),
        **{k: v for k, v in options.items() if v is not None},
    )  # fmt: skip
    peer.track("snapshot", str(made))
    return made


def _poll(peer: RunContext, copies: list[_Copy]) -> None:
    """One DescribeSnapshots for every copy in flight; a copy in ``error`` fails the whole batch."""
    flying = {str(c.made): c for c in copies if c.made is not None and not c.done}
    if not flying:
        return
    for snapshot in peer.ec2.describe_snapshots(filter={"snapshot-id": list(flying)}):
        item = flying[str(snapshot)]
        if snapshot.status == "error":
            raise StagingError(f"copy {snapshot} of {item.source} failed in {peer.region}")
        if snapshot.status == "completed":
            item.made, item.done = snapshot, True


def keep(peer: RunContext, resources: Sequence[Any]) -> None:
    """The run is done with these: they lose ``StagingExpires`` (``gc`` leaves them) and leave the journal."""
    for resource in resources:
        peer.ec2.delete_tags([str(resource)], tags={EXPIRES: None})
        peer.untrack(str(resource))


def match_kernel(manager: RunContext, kernel: Any, dest: Any, kind: str = "kernel") -> str:
    """The ``kind`` (``kernel`` or ``ramdisk``) image in ``dest`` matching ``kernel`` of the source region.

    Matched by name, then by the file name of its manifest (the original's first two rules; its fuzzy third
    rule could pick an unrelated kernel, so none matching is an error instead).

    Raises:
        StagingParameterError: No such image in the source, or no match in the destination.
    """
    peer = manager.peer(dest)
    try:
        source = manager.ec2.describe_images(str(kernel))
    except NotFoundError:
        source = []
    if not source:
        raise StagingParameterError(f"{kind} {kernel} not found in {manager.region}")
    wanted = source[0]
    candidates = peer.ec2.describe_images(executable_users=["all", "self"], filter={"image-type": kind})
    by_name = [i for i in candidates if wanted.name and i.name == wanted.name]
    manifest = str(wanted.imageLocation or "").rsplit("/", 1)[-1]
    by_manifest = [i for i in candidates if manifest and str(i.imageLocation or "").endswith("/" + manifest)]
    found = by_name or by_manifest
    if not found:
        raise StagingParameterError(f"no {kind} like {kernel} ({wanted.name}) in {peer.region}; give one")
    return str(found[0])


def check_image_in(peer: RunContext, image_id: str, kind: str) -> str:
    """``image_id`` when it is a ``kind`` image of the destination (``--kernel ID``, ``--ramdisk ID``)."""
    try:
        found = peer.ec2.describe_images(image_id)
    except (NotFoundError, ParameterError):
        found = []
    if not found or str(found[0].imageType) != kind:
        raise StagingParameterError(f"{image_id} is not a {kind} image in {peer.region}")
    return image_id


def new_name(peer: RunContext, name: str, on_name_clash: str) -> str:
    """``name``, or ``name-xxxxxxxx`` when the destination has an image of that name of ours."""
    if on_name_clash not in ("rename", "refuse"):
        raise StagingParameterError(f"on_name_clash must be rename or refuse, not {on_name_clash!r}")
    if not peer.ec2.describe_images(owner="self", filter={"name": name}):
        return name
    if on_name_clash == "refuse":
        raise StagingParameterError(f"an image named {name!r} exists in {peer.region} already")
    renamed = f"{name[:119]}-{secrets.token_hex(4)}"
    peer.reporter.step(f"an image named {name!r} exists in {peer.region}: naming the copy {renamed!r}")
    return renamed


def block_device_list(specs: Sequence[str]) -> list[dict[str, Any]]:
    """``-b`` strings (``/dev/sdy=ephemeral0``) as mappings; a bad one is bad input."""
    try:
        return [parse_block_device(spec) for spec in specs]
    except ParameterError as exc:
        raise StagingParameterError(str(exc)) from exc
