"""The images' block device mappings in moto, and the images every region starts with.

moto ignores the mappings of ``CreateImage`` and ``RegisterImage`` and shows a placeholder root snapshot:
here an image keeps its own mappings (``sandbox_mappings``), ``CreateImage`` snapshots every volume of the
instance, and the image's root snapshot is the real one (the placeholder and its bytes go). At start the
sandbox images (:mod:`staging.sandbox.daemon.images`) and a kernel and a ramdisk image of Amazon's are
registered in every region of the sandbox.
"""

from __future__ import annotations

import copy
import secrets
from typing import Any

from moto.ec2.models.amis import Ami

from staging.sandbox.daemon.cloud import SandboxCloud
from staging.sandbox.daemon.hooks.patch import Fn, arg, wrap
from staging.sandbox.daemon.images import SPECS, login_users

Moto = Any

AMAZON_OWNER = "137112412989"
#: (id prefix, image type, name, manifest) of the kernel and ramdisk images each region has.
KERNELS = (
    (
        "aki",
        "kernel",
        "pv-grub-hd0_1.05-x86_64.gz",
        "ec2-public-images/pv-grub-hd0_1.05-x86_64.gz.manifest.xml",
    ),
    ("ari", "ramdisk", "initrd-2.6.32-x86_64", "ec2-public-images/initrd-2.6.32-x86_64.manifest.xml"),
)


def ebs_mapping(device: str, snapshot_id: str, size: int, delete_on_termination: bool) -> dict[str, Any]:
    """An image's EBS mapping of ``device`` from ``snapshot_id`` (gp3, not encrypted)."""
    return {
        "DeviceName": device,
        "Ebs": {
            "SnapshotId": snapshot_id,
            "VolumeSize": int(size),
            "DeleteOnTermination": delete_on_termination,
            "VolumeType": "gp3",
            "Encrypted": False,
        },
    }


def set_image_mappings(cloud: SandboxCloud, backend: Moto, ami: Moto, mappings: list[dict[str, Any]]) -> None:
    """Give ``ami`` its ``mappings``; moto's placeholder root snapshot is replaced by the real one."""
    if not mappings:
        return
    ami.sandbox_mappings = mappings
    root = next((m for m in mappings if m["DeviceName"] == ami.root_device_name), mappings[0])
    placeholder = ami.ebs_snapshot
    ami.ebs_snapshot = backend.get_snapshot(root["Ebs"]["SnapshotId"])
    ami.ebs_snapshot.from_ami = ami.id
    if placeholder.id != ami.ebs_snapshot.id:
        backend.snapshots.pop(placeholder.id, None)
        cloud.snapshot_deleted(placeholder.id)


_placeholder_mappings: Fn = Ami.block_device_mappings.fget  # type: ignore[attr-defined]


def _image_mappings(ami: Moto) -> list[dict[str, Any]]:
    """An image's own mappings (kernel images have none), else moto's placeholder root."""
    mappings = getattr(ami, "sandbox_mappings", None)
    return copy.deepcopy(mappings) if mappings is not None else list(_placeholder_mappings(ami))


def install(cloud: SandboxCloud) -> None:
    """Patch moto's images (call once, in the daemon, before serving)."""

    def create_image(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with cloud.lock:
            ami = original(backend, *args, **kwargs)
            instance = backend.get_instance(arg(args, kwargs, 0, "instance_id"))
            ami.root_device_name = instance.root_device_name
            mappings = []
            for device, bdt in instance.block_device_mapping.items():
                volume = backend.get_volume(bdt.volume_id)
                snap = backend.create_snapshot(
                    volume.id, f"Created by CreateImage({instance.id}) for {ami.id}", from_ami=ami.id
                )
                mappings.append(ebs_mapping(device, snap.id, volume.size, bool(bdt.delete_on_termination)))
            cloud.image_registered(ami.id, cloud.login_user_of(instance.image_id))
            set_image_mappings(cloud, backend, ami, mappings)
            return ami

    wrap("create_image", create_image)
    Ami.block_device_mappings = property(_image_mappings)  # type: ignore[method-assign,assignment]


def register_images(cloud: SandboxCloud, backends: Any, regions: list[str]) -> dict[str, dict[str, str]]:
    """Register the sandbox images in every region; returns ``{region: {name: image_id}}``."""
    out: dict[str, dict[str, str]] = {}
    users = login_users(cloud.user)
    for region in regions:
        backend = backends[region]
        for spec in SPECS:
            ami = backend.register_image(spec.name, spec.description)
            ami.owner_id = spec.owner
            ami.architecture = "x86_64"
            ami.virtualization_type = "hvm"
            ami.root_device_type = "ebs"
            ami.root_device_name = spec.root_device
            ami.hypervisor = "xen"
            ami.launch_permissions.append({"Group": "all"})
            volume = backend.create_volume(size=8, zone_name=f"{region}a")
            snapshot = backend.create_snapshot(volume.id, f"root of {spec.name}", owner_id=spec.owner)
            backend.delete_volume(volume.id)
            cloud.image_registered(ami.id, users[spec.name])
            set_image_mappings(cloud, backend, ami, [ebs_mapping(spec.root_device, snapshot.id, 8, True)])
            # Published long before the sandbox started: never "too new to be found" (not_found_for).
            cloud.published(ami.id, ami.ebs_snapshot.id)
            out.setdefault(region, {})[spec.name] = ami.id
    return out


def register_kernels(cloud: SandboxCloud, backends: Any, regions: list[str]) -> None:
    """A public kernel (``aki-``) and ramdisk (``ari-``) image of Amazon's in every region."""
    for region in regions:
        backend = backends[region]
        for prefix, kind, name, manifest in KERNELS:
            image_id = f"{prefix}-{secrets.token_hex(8)}"
            ami = Ami(backend, image_id, name=name, description=f"{kind} {name}", owner_id=AMAZON_OWNER,
                      owner_alias="amazon", public=True, architecture="x86_64", image_type=kind,
                      image_location=manifest, root_device_type="instance-store", hypervisor="xen",
                      virtualization_type="paravirtual")  # fmt: skip
            placeholder = ami.ebs_snapshot
            backend.snapshots.pop(placeholder.id, None)
            cloud.snapshot_deleted(placeholder.id)
            ami.sandbox_mappings = []  # type: ignore[attr-defined]
            backend.amis[image_id] = ami
            cloud.published(image_id)
