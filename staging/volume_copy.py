"""``StagingVolume.copy``: a volume's contents in another zone or region (staging.md §1.7).

* **Block copy** (the default): a snapshot of the volume, copied to the destination region if it is another
  (CopySnapshot), and a new volume from it in the wanted zone. The temporary snapshots are deleted.
* **File copy** (a different ``size`` or ``fstype``): a new formatted volume in the destination, and rsync
  from the source volume's staging server straight to the destination's. Across regions the destination's
  security group admits only the caller and its own members, so a rule for the source server's public
  address is added for the copy and removed after it.

The copy is a managed volume of the destination's manager (not attached for a block copy, mounted for a file
copy). A failure or Ctrl-C removes what was made for it.
"""

from __future__ import annotations

import contextlib
from typing import Any

from staging._log import get_logger
from staging.errors import StagingParameterError
from staging.fleet import Fleet
from staging.migrate import copy_snapshots, forget
from staging.transfer_ops import peer_address
from staging.volume import StagingVolume
from transfer import RsyncOptions, rsync

__all__ = ["copy_volume"]

log = get_logger(__name__)


def copy_volume(
    manager: Fleet,
    volume: StagingVolume,
    *,
    availability_zone: str | None = None,
    dest: Any = None,
    name: str | None = None,
    size: int | None = None,
    fstype: str | None = None,
) -> StagingVolume:
    """A copy of ``volume`` in another zone or region: ``StagingManager.copy_volume`` (``manager``: the
    volume's), which :meth:`StagingVolume.copy` calls; see there."""
    same = dest is None or dest is manager or str(dest) == manager.region
    peer = manager if same else manager.peer(dest)
    zone = availability_zone or (volume.zone if peer is manager else peer.default_zone())
    name = name or f"{volume.name}-copy"
    if size is not None and size < volume.size and fstype is None:
        fstype = volume.fstype  # shrinking is a file copy too
    if size is not None or (fstype is not None and fstype != volume.fstype):
        fstype = fstype or volume.fstype or "ext4"
        return _file_copy(manager, volume, peer, zone, name, size or volume.size, fstype)
    if peer is manager and zone == volume.zone:
        raise StagingParameterError(
            f"{volume} is in {zone} already; give another zone, region, size or fstype"
        )
    return _block_copy(manager, volume, peer, zone, name)


def _block_copy(manager: Fleet, volume: StagingVolume, peer: Fleet, zone: str, name: str) -> StagingVolume:
    snapshot = volume.create_snapshot(f"copy of {volume.name}")
    manager.track("snapshot", str(snapshot))
    temporary: list[tuple[Fleet, Any]] = [(manager, snapshot)]
    try:
        manager.wait_for(snapshot, "completed", f"{snapshot} to complete")
        if peer is not manager:
            (snapshot,) = copy_snapshots(peer, manager.region, [snapshot], name=name)
            temporary.append((peer, snapshot))
        return peer.volume_from_snapshot(snapshot, availability_zone=zone, name=name, fstype=volume.fstype)
    finally:
        for owner, made in temporary:
            forget(owner, "snapshot", str(made))


def _file_copy(
    manager: Fleet, volume: StagingVolume, peer: Fleet, zone: str, name: str, size: int, fstype: str
) -> StagingVolume:
    copy = peer.provision_volume(name, size=size, fstype=fstype, availability_zone=zone, reuse=False)
    try:
        volume.mount()
        source, target = volume.server, copy.server
        assert source is not None and target is not None and volume.mtpt and copy.mtpt
        rule = None
        if peer is not manager:
            rule = _admit(peer, str(source.instance.publicIpAddress))
        try:
            manager.reporter.step(
                f"copying the files of {volume} to {copy} ({peer.region}, {size} GiB {fstype})"
            )
            # Across regions a VPC id may repeat: the public address (the destination shell's) then.
            address = peer_address(source, target) if peer is manager else None
            rsync(
                [f"{volume.mtpt}/"], f"{copy.mtpt}/", src_shell=source.connection,
                dest_shell=target.connection, options=RsyncOptions(excludes=("/lost+found",)), sudo=True,
                sudo_src=True, dest_address=address,
                progress=lambda p: manager.reporter.transfer(p.bytes_done, p.total, p.rate),
            )  # fmt: skip
        finally:
            manager.reporter.transfer_done()
            if rule is not None:
                _revoke(peer, *rule)
    except BaseException:
        with contextlib.suppress(Exception):
            copy.delete()
        raise
    return copy


def _admit(peer: Fleet, address: str) -> tuple[str, str]:
    """Let ``address`` (the source server) ssh into the destination's servers; the rule, to revoke."""
    group, cidr = peer.security_group(), f"{address}/32"
    peer.ec2.authorize_security_group_ingress(
        group_id=group,
        ip_permissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                         "IpRanges": [{"CidrIp": cidr, "Description": "staging copy from another region"}]}],
    )  # fmt: skip
    log.info("staging.copy.admitted", group=group, cidr=cidr)
    return group, cidr


def _revoke(peer: Fleet, group: str, cidr: str) -> None:
    try:
        peer.ec2.revoke_security_group_ingress(
            group_id=group, ip_permissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                             "IpRanges": [{"CidrIp": cidr}]}],
        )  # fmt: skip
    except Exception as exc:  # the group goes at cleanup anyway
        log.error("staging.copy.rule_not_revoked", group=group, cidr=cidr, error=str(exc))
