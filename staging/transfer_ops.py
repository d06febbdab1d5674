"""Moving data between local paths, staging volumes and staging servers (``rsync`` and ``dd``).

The transfer layer knows hosts and paths; this module turns the manager's path forms (:mod:`staging.paths`)
into them: a volume becomes its server plus its mount point, a server name its shell. Direction (push, pull,
server to server with a one-time key) is then the transfer layer's choice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from staging.errors import StagingParameterError
from staging.fleet import Fleet
from staging.paths import Location, parse_location
from staging.tags import FSTYPE
from staging.volume import Host, StagingVolume
from transfer import LocalShell, RsyncOptions, RsyncProgress, block_copy, rsync
from transfer.rsync_build import local_path_arg, rsync_argv

__all__ = ["block_copy_volumes", "peer_address", "rsync_paths"]

_OPTION_FIELDS = frozenset(f.name for f in dataclasses.fields(RsyncOptions))


@dataclass(frozen=True)
class _End:
    """One resolved side: a staging server (None: this machine, or ``host`` for a foreign one) and a path."""

    server: Host | None
    path: str
    host: str | None = None


def _volume_path(volume: StagingVolume, path: str) -> str:
    """``path`` on a volume (always relative to its mount point, even with a leading ``/``)."""
    if not volume.mounted:
        volume.mount()
    rest = path.lstrip("/")
    return f"{volume.mtpt}/{rest}" if rest else f"{volume.mtpt}/"


def _resolve(manager: Fleet, where: Location, spec: str) -> _End:
    if where.kind == "local":
        return _End(None, where.path)
    if where.kind == "host":
        return _End(None, where.path, host=where.ref)
    if where.kind == "volume-id":
        volume = manager.find_volume_by_volid(where.ref)
        if volume is None:
            raise StagingParameterError(f"{where.ref} is not a volume of this manager")
        end_path = _volume_path(volume, where.path)  # mounts it first: only then is its server known
        return _End(volume.server, end_path)
    if where.kind == "instance-id":
        server = manager.find_server_by_instance(where.ref)
        if server is None:
            raise StagingParameterError(f"{where.ref} is not a server of this manager")
        return _End(server, where.path or ".")
    named = [v for v in manager.volumes() if v.name == where.ref]
    if len(named) > 1:  # scan_region adopts every staging volume, and names may repeat across runs
        ids = ", ".join(str(v) for v in named)
        raise StagingParameterError(
            f"{len(named)} volumes are named {where.ref!r} ({ids}); name one by its id"
        )
    if named:
        volume = named[0]
        end_path = _volume_path(volume, where.path)
        return _End(volume.server, end_path)
    server = manager.find_server_by_name(where.ref)
    if server is not None:
        return _End(server, where.path or ".")
    raise StagingParameterError(
        f"no volume or server named {where.ref!r} (for a local path with a colon, write ./{spec})"
    )


def peer_address(source: Host | None, dest: Host | None) -> str | None:
    """How a source server reaches a destination server: its private address inside one VPC.

    The run's security group lets its own members in; on AWS such a rule matches traffic between private
    addresses only (a packet to a public address arrives from the sender's public address). Elsewhere (None)
    the destination's public address is used.
    """
    if source is None or dest is None:
        return None
    same_vpc = source.instance.vpcId and source.instance.vpcId == dest.instance.vpcId
    private = dest.instance.privateIpAddress
    return str(private) if same_vpc and private else None


def _options(fields: dict[str, Any]) -> RsyncOptions:
    unknown = sorted(set(fields) - _OPTION_FIELDS)
    if unknown:
        raise StagingParameterError(f"unknown rsync option(s) {unknown}; valid: {sorted(_OPTION_FIELDS)}")
    return RsyncOptions(**fields)


def rsync_paths(
    manager: Fleet,
    args: list[str],
    *,
    progress: Callable[[RsyncProgress], None] | None = None,
    timeout: float | None = None,
    **fields: Any,
) -> Any:
    """See :meth:`StagingManager.rsync` (``args``: its positional arguments)."""
    if len(args) < 2:
        raise StagingParameterError("rsync needs at least one source and a destination")
    options = _options(fields)
    ends = [_resolve(manager, parse_location(a), a) for a in args]
    *sources, dest = ends
    if len({(id(s.server), s.host) for s in sources}) > 1:
        raise StagingParameterError("all rsync sources must be on one host (or all local)")
    src_server, src_host = sources[0].server, sources[0].host
    paths = [s.path for s in sources]
    report = progress or (lambda p: manager.reporter.transfer(p.bytes_done, p.total, p.rate))
    try:
        if src_host or dest.host:
            if src_server is not None or dest.server is not None:
                raise StagingParameterError("user@host paths work only with local paths on the other side")
            srcs = [f"{src_host}:{p}" for p in paths] if src_host else [local_path_arg(p) for p in paths]
            dst = f"{dest.host}:{dest.path}" if dest.host else local_path_arg(dest.path)
            argv = rsync_argv(srcs, dst, options=options, rsh="ssh")
            return LocalShell().run(argv, timeout=timeout)
        if src_server is not None and src_server is dest.server:  # both ends on one server: rsync runs there
            return rsync(
                paths, dest.path, options=options, sudo=True, progress=report, timeout=timeout,
                local=src_server.connection,
            )  # fmt: skip
        return rsync(
            paths,
            dest.path,
            src_shell=src_server.connection if src_server is not None else None,
            dest_shell=dest.server.connection if dest.server is not None else None,
            options=options,
            sudo=dest.server is not None,
            sudo_src=src_server is not None,
            progress=report,
            timeout=timeout,
            dest_address=peer_address(src_server, dest.server),
        )
    finally:
        manager.reporter.transfer_done()


def block_copy_volumes(manager: Fleet, source: StagingVolume, dest: StagingVolume, **options: Any) -> Any:
    """See :meth:`StagingManager.dd`: both volumes attached and unmounted (they are made so)."""
    if dest.size < source.size:
        raise StagingParameterError(f"{dest} ({dest.size} GiB) is smaller than {source} ({source.size} GiB)")
    for volume in (source, dest):
        if volume.server is None:
            manager.get_server_in_zone(volume.zone).attach_volume(volume)
        elif volume.mounted:
            volume.server.unmount_volume(volume)
    assert source.server is not None and dest.server is not None
    assert source.mtdev is not None and dest.mtdev is not None
    manager.reporter.step(f"copying the blocks of {source} to {dest}")
    try:
        result = block_copy(
            source.server.connection,
            source.mtdev,
            dest.server.connection,
            dest.mtdev,
            progress=lambda done, total: manager.reporter.transfer(done, total, 0.0),
            **options,
        )
    finally:
        manager.reporter.transfer_done()
    # The destination now holds the source's file system (and what it was before is gone).
    dest.fstype = dest.server.fstype_of(dest)
    dest.volume.add_tags(**{FSTYPE: dest.fstype})
    return result
