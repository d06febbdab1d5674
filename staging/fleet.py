"""The manager's servers and volumes, as the helpers that do its work see them (a Protocol).

:mod:`staging.volume_provision`, :mod:`staging.server_ops`, :mod:`staging.transfer_ops` and
:mod:`staging.volume_copy` hold the bodies of the manager's bigger operations. They take a :class:`Fleet`
(the :class:`staging.StagingManager` itself) and never import the manager: see :mod:`staging.context`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from staging.server import ServerContext, StagingServer
from staging.volume import StagingVolume, VolumeContext

__all__ = ["Fleet"]


class Fleet(ServerContext, VolumeContext, Protocol):
    """A manager's options, servers and volumes (a :class:`staging.StagingManager`; see its arguments).

    Attributes:
        on_exit: What closing does with the servers this run created (``terminate``, ``stop``, ``run``).
        reuse_volumes: ``provision_volume`` reuses a volume or snapshot of the same name by default.
        username: ssh login user of new servers, or None (from the image).
        architecture: Of new servers' images.
        instance_type: Of new servers.
        image_name: Of new servers (``ami-...`` or a name pattern), or None (the default image).
        dotdir: Where private keys and journals live.
        server_class: Class of the servers.
        volume_class: Class of the volumes.
    """

    on_exit: str
    reuse_volumes: bool
    username: str | None
    architecture: str
    instance_type: str
    image_name: str | None
    dotdir: Path
    server_class: type[StagingServer]
    volume_class: type[StagingVolume]

    def close(self) -> None:
        """Apply ``on_exit`` and remove the run's temporary resources."""

    def stop_servers(self, servers: Iterable[StagingServer]) -> None:
        """Stop ``servers`` (their volumes unmounted first)."""

    def default_zone(self) -> str:
        """The manager's availability zone, else the region's first available one."""

    def keypair(self) -> tuple[str, Path]:
        """The run's key pair ``(name, private key path)``."""

    def security_group(self) -> str:
        """The run's security group id."""

    def get_server_in_zone(self, availability_zone: str | None = None, **options: Any) -> StagingServer:
        """A running server of the manager in that zone (launched if needed)."""

    def find_server_by_instance(self, instance_id: str) -> StagingServer | None:
        """The managed server of that instance id."""

    def find_server_by_name(self, name: str) -> StagingServer | None:
        """The managed server of that name."""

    def find_volume_by_volid(self, volume_id: str) -> StagingVolume | None:
        """The managed volume with that id."""

    def find_volume_by_name(self, name: str) -> StagingVolume | None:
        """The managed volume with that name."""

    def manage(self, volume: StagingVolume) -> None:
        """Start managing a volume."""

    def volume_from_snapshot(
        self, snapshot: Any, *, availability_zone: str, name: str, temporary: bool = False,
        fstype: str | None = None,
    ) -> StagingVolume:  # fmt: skip
        """A new, unattached managed volume from ``snapshot``."""
