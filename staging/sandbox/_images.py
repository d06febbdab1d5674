"""The images every sandbox region starts with (moto's 1,300 default AMIs are switched off for speed).

Each region gets ``debian-12-amd64-sandbox``: owner ``136693071363`` (the account that publishes the official
Debian cloud images, so code that looks images up as on AWS works unchanged), public, HVM, x86_64, EBS root
``/dev/xvda`` of 8 GiB backed by an (empty) root snapshot. Its login user is the sandbox's (``admin`` by
default, as on Debian's images).
"""

from __future__ import annotations

from typing import Any

from staging.sandbox._cloud import SandboxCloud, _mapping

DEBIAN_OWNER = "136693071363"
#: name -> description of the images registered in every region.
IMAGES = {"debian-12-amd64-sandbox": "Debian 12 (bookworm) amd64, sandbox cloud image"}


def register_images(cloud: SandboxCloud, backends: Any, regions: list[str]) -> dict[str, dict[str, str]]:
    """Register :data:`IMAGES` in every region; returns ``{region: {name: image_id}}``."""
    out: dict[str, dict[str, str]] = {}
    for region in regions:
        backend = backends[region]
        for name, description in IMAGES.items():
            ami = backend.register_image(name, description)
            ami.owner_id = DEBIAN_OWNER
            ami.architecture = "x86_64"
            ami.virtualization_type = "hvm"
            ami.root_device_type = "ebs"
            ami.root_device_name = "/dev/xvda"
            ami.hypervisor = "xen"
            ami.launch_permissions.append({"Group": "all"})
            volume = backend.create_volume(size=8, zone_name=f"{region}a")
            snapshot = backend.create_snapshot(volume.id, f"root of {name}", owner_id=DEBIAN_OWNER)
            backend.delete_volume(volume.id)
            cloud.set_image_mappings(backend, ami, [_mapping("/dev/xvda", snapshot.id, 8, True)])
            out.setdefault(region, {})[name] = ami.id
    return out
