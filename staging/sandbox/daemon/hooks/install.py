"""Wire the cloud model into moto (only ever inside the daemon process, before it serves).

Backend methods are wrapped on moto's ``EC2Backend`` class: AWS limits moto does not check are raised first as
moto's own ``EC2ClientError`` (so clients get proper error codes), then moto runs, then the cloud model acts
on the machine and its facts are recorded, all before the response is sent. Some calls are replaced at the
response layer, where moto drops what the backend would need (``RegisterImage``'s mappings, ``DetachVolume``'s
``Force``) or answers fixed text (``GetConsoleOutput``).

The order matters: a wrapper installed later runs first. The data hooks (instances, volumes, image
mappings) are innermost; the image rules, the security groups and the strict checks run before them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from staging.sandbox.daemon.cloud import SandboxCloud
from staging.sandbox.daemon.ebs import Snapshots
from staging.sandbox.daemon.hooks import groups, images, instances, mappings, strict, volumes
from staging.sandbox.daemon.hooks.apply import Recorder
from staging.sandbox.daemon.hooks.ebs import MotoSnapshots


@dataclass(frozen=True)
class Installed:
    """What the daemon gets from the hooks: the images registered, the snapshots for EBS direct."""

    images: dict[str, dict[str, str]]
    snapshots: Snapshots


def install(cloud: SandboxCloud, backends: Any, regions: list[str]) -> Installed:
    """Patch moto so that API calls drive ``cloud``, then register the images every region starts with.

    Args:
        cloud: The cloud model; its :attr:`~SandboxCloud.publish` becomes the hooks' recorder.
        backends: moto's EC2 backends of the account (by region).
        regions: The regions that get the sandbox images.

    Returns:
        ``{region: {image name: image id}}`` of the sandbox images, and moto's snapshots as the EBS direct
        calls see them.
    """
    record = Recorder()
    cloud.publish = record
    instances.install(cloud, record)
    volumes.install(cloud, record)
    mappings.install(cloud)
    images.install(cloud)
    groups.install(cloud)
    strict.install(cloud)
    registered = mappings.register_images(cloud, backends, regions)
    mappings.register_kernels(cloud, backends, regions)
    return Installed(registered, MotoSnapshots(backends, record))
