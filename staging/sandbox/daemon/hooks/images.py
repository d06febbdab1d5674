"""What image migration meets on AWS, where moto is more lenient or simply wrong (daemon process only).

* ``RegisterImage`` keeps every mapping kind (EBS from a snapshot or empty, ``VirtualName`` ephemeral,
  ``NoDevice``) with ``Iops``/``Encrypted``/``KmsKeyId``/``VolumeType``, and the image attributes
  ``KernelId``, ``RamdiskId`` (which must name a kernel/ramdisk image of the region), ``EnaSupport``,
  ``SriovNetSupport`` and ``BootMode``; a name the owner already uses in the region is refused
  (``InvalidAMIName.Duplicate``), as it is for ``CreateImage`` and ``CopyImage``.
* ``CopyImage`` keeps the source's root device type and EBS mappings (ephemeral ones are *not* carried,
  as on AWS), honours ``Encrypted``/``KmsKeyId``, ``CopyImageTags`` and ``TagSpecifications`` (image and
  snapshot), and leaves the image ``pending`` until its snapshots complete.
* Concurrent snapshot copies per destination region are limited (``Faults.snapshot_copy_limit``, AWS: 20);
  one more answers ``ResourceLimitExceeded``.
* Kernel (``aki-``) and ramdisk (``ari-``) images exist in every region to match against, and the image
  filters moto lacks answer (``block-device-mapping.*``, ``hypervisor``, ``ramdisk-id``,
  ``manifest-location``, ``image-type``...), instead of HTTP 500.
"""

from __future__ import annotations

import copy
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.amis import Ami
from moto.ec2.responses import EC2Response

from staging.sandbox.daemon.cloud import SandboxCloud
from staging.sandbox.daemon.hooks.mappings import set_image_mappings
from staging.sandbox.daemon.hooks.patch import Fn
from staging.sandbox.daemon.hooks.patch import arg as _arg
from staging.sandbox.daemon.hooks.patch import wrap as _wrap
from staging.sandbox.daemon.limits import device_problem

_ORIGINAL_FILTER = Ami.get_filter_value


def _filter_value(self: Any, name: str, method_name: str | None = None) -> Any:
    """moto's filters plus the ones it answers with HTTP 500."""
    mappings = self.block_device_mappings
    extra = {
        "block-device-mapping.snapshot-id": lambda: [m.get("Ebs", {}).get("SnapshotId") for m in mappings],
        "block-device-mapping.device-name": lambda: [m["DeviceName"] for m in mappings],
        "block-device-mapping.volume-size": lambda: [
            str(m.get("Ebs", {}).get("VolumeSize")) for m in mappings
        ],
        "block-device-mapping.volume-type": lambda: [m.get("Ebs", {}).get("VolumeType") for m in mappings],
        "block-device-mapping.encrypted": lambda: [
            str(m.get("Ebs", {}).get("Encrypted", False)).lower() for m in mappings
        ],
        "hypervisor": lambda: self.hypervisor or "xen",
        "ramdisk-id": lambda: getattr(self, "ramdisk_id", None),
        "kernel-id": lambda: self.kernel_id,
        "manifest-location": lambda: self.image_location,
        "image-type": lambda: self.image_type,
        "description": lambda: self.description,
        "root-device-name": lambda: self.root_device_name,
        "root-device-type": lambda: self.root_device_type,
        "ena-support": lambda: str(bool(getattr(self, "ena_support", False))).lower(),
    }
    if name in extra:
        value = extra[name]()  # type: ignore[no-untyped-call]
        return [v for v in value if v is not None] if isinstance(value, list) else value
    return _ORIGINAL_FILTER(self, name, method_name)  # type: ignore[no-untyped-call]


def _duplicate(backend: Any, name: str | None, owner: str | None = None) -> None:
    owner = owner or backend.account_id
    for ami in backend.amis.values():
        if name and ami.name == name and ami.owner_id == owner and ami.state != "deregistered":
            raise EC2ClientError(
                "InvalidAMIName.Duplicate", f"AMI name {name} is already in use by AMI {ami.id}"
            )


def _mapping(backend: Any, given: dict[str, Any]) -> dict[str, Any]:
    """One RegisterImage mapping as EC2 keeps it (checked first: a bad one must not leave an image)."""
    device = given.get("DeviceName")
    problem = device_problem(device)
    if problem is not None:
        raise EC2ClientError(*problem)
    if "NoDevice" in given:
        return {"DeviceName": device, "NoDevice": ""}
    if given.get("VirtualName"):
        return {"DeviceName": device, "VirtualName": given["VirtualName"]}
    ebs = given.get("Ebs") or {}
    snapshot = backend.get_snapshot(ebs["SnapshotId"]) if ebs.get("SnapshotId") else None
    if snapshot is None and not ebs.get("VolumeSize"):
        raise EC2ClientError(
            "InvalidBlockDeviceMapping", f"{device}: an EBS mapping needs a snapshot or a size"
        )
    size = int(ebs.get("VolumeSize") or (snapshot.volume_size if snapshot is not None else 0))
    if snapshot is not None and size < int(snapshot.volume_size):
        raise EC2ClientError(
            "InvalidBlockDeviceMapping",
            f"Volume of size {size}GB is smaller than snapshot '{snapshot.id}',"
            f" expect size >= {snapshot.volume_size}GB",
        )
    encrypted = ebs.get("Encrypted", snapshot.encrypted if snapshot is not None else False)
    out: dict[str, Any] = {
        "DeleteOnTermination": _true(ebs.get("DeleteOnTermination", True)),
        "VolumeSize": size,
        "VolumeType": ebs.get("VolumeType") or "gp3",
        "Encrypted": _true(encrypted),
    }
    if snapshot is not None:
        out["SnapshotId"] = snapshot.id
    for key in ("Iops", "KmsKeyId", "Throughput"):
        if ebs.get(key) is not None:
            out[key] = int(ebs[key]) if key != "KmsKeyId" else ebs[key]
    return {"DeviceName": device, "Ebs": out}


def _true(value: Any) -> bool:
    return str(value).lower() == "true"


def _image_of_type(backend: Any, image_id: str | None, kind: str) -> str | None:
    if not image_id:
        return None
    ami = backend.amis.get(image_id)
    if ami is None or ami.image_type != kind:
        raise EC2ClientError("InvalidAMIID.NotFound", f"The {kind} image id '{image_id}' does not exist")
    return str(image_id)


def install(cloud: SandboxCloud) -> None:
    """Patch moto's image handling (call once, in the daemon, before serving)."""
    Ami.get_filter_value = _filter_value  # type: ignore[method-assign,assignment]
    Ami.ramdisk_id = None  # type: ignore[attr-defined]
    Ami.ena_support = None  # type: ignore[attr-defined]
    Ami.sriov_net_support = None  # type: ignore[attr-defined]

    def register_image(self: Any) -> ActionResult:
        mappings = self._get_param("BlockDeviceMappings", [])  # moto's parser wants Ebs in every one
        root = self._get_param("RootDeviceName")
        name = self._get_param("Name")
        tags = self._parse_tag_specification()
        self.error_on_dryrun()
        backend = self.ec2_backend
        with cloud.lock:
            _duplicate(backend, name)
            kept = [_mapping(backend, m) for m in mappings]
            kernel = _image_of_type(backend, self._get_param("KernelId"), "kernel")
            ramdisk = _image_of_type(backend, self._get_param("RamdiskId"), "ramdisk")
            ami = backend.register_image(name, self._get_param("Description", ""))
            ami.architecture = self._get_param("Architecture") or "x86_64"
            ami.virtualization_type = self._get_param("VirtualizationType") or (
                "paravirtual" if kernel else "hvm"
            )
            location = self._get_param("ImageLocation")
            ami.root_device_type = "instance-store" if location and not kept else "ebs"
            ami.image_location = location
            ami.kernel_id, ami.ramdisk_id = kernel, ramdisk
            ena = self._get_param("EnaSupport")
            ami.ena_support = None if ena is None else _true(ena)
            ami.sriov_net_support = self._get_param("SriovNetSupport")
            ami.boot_mode = self._get_param("BootMode") or ami.boot_mode
            if root:
                ami.root_device_name = root
            cloud.image_registered(ami.id, cloud.user)
            set_image_mappings(cloud, backend, ami, kept)
            if kept and not any(m.get("Ebs", {}).get("SnapshotId") for m in kept):
                ami.sandbox_mappings = kept  # empty EBS volumes only: keep them as given
            ami.add_tags(tags.get("image", {}))  # tagged at creation, as TagSpecifications promise
        return ActionResult({"ImageId": ami.id})

    def copy_image(self: Any) -> ActionResult:
        from moto.ec2.models import ec2_backends

        backend = self.ec2_backend
        source_region = self._get_param("SourceRegion")
        source_id = self._get_param("SourceImageId")
        encrypted = _true(self._get_param("Encrypted", False))
        kms_key = self._get_param("KmsKeyId")
        if kms_key and not encrypted:
            raise EC2ClientError("InvalidParameterDependency", "KmsKeyId requires Encrypted to be true")
        copy_tags = _true(self._get_param("CopyImageTags", False))
        tags = self._parse_tag_specification()
        self.error_on_dryrun()
        with cloud.lock:
            source = ec2_backends[backend.account_id][source_region].describe_images(ami_ids=[source_id])[0]
            name = self._get_param("Name") or source.name
            _duplicate(backend, name)
            ebs = [m for m in source.block_device_mappings if m.get("Ebs", {}).get("SnapshotId")]
            _check_copy_room(cloud, backend, len(ebs))
            ami = backend.copy_image(source_id, source_region, name, self._get_param("Description"))
            ami.root_device_type, ami.root_device_name = source.root_device_type, source.root_device_name
            ami.hypervisor, ami.boot_mode = source.hypervisor, source.boot_mode
            ami.ramdisk_id, ami.ena_support = (
                getattr(source, "ramdisk_id", None),
                getattr(source, "ena_support", None),
            )
            ami.sriov_net_support = getattr(source, "sriov_net_support", None)
            mappings = []
            for mapping in ebs:
                snap = backend.copy_snapshot(
                    mapping["Ebs"]["SnapshotId"], source_region, f"Copied for {ami.id}", kms_key
                )
                snap.from_ami = ami.id
                if encrypted:
                    snap.encrypted = True
                snap.add_tags(tags.get("snapshot", {}))
                new = copy.deepcopy(mapping)
                new["Ebs"]["SnapshotId"] = snap.id
                new["Ebs"]["Encrypted"] = bool(encrypted or new["Ebs"].get("Encrypted"))
                if kms_key:
                    new["Ebs"]["KmsKeyId"] = kms_key
                mappings.append(new)
            cloud.image_registered(ami.id, cloud.login_user_of(source.id))
            set_image_mappings(cloud, backend, ami, mappings)
            if copy_tags:
                ami.add_tags({t["key"]: t["value"] for t in source.get_tags()})
            ami.add_tags(tags.get("image", {}))
            _pending_until_snapshots(
                cloud, ami, [backend.get_snapshot(m["Ebs"]["SnapshotId"]) for m in mappings]
            )
        return ActionResult({"ImageId": ami.id})

    def copy_snapshot(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with cloud.lock:  # the count and the copy are one step
            _check_copy_room(cloud, backend, 1)
            snapshot = original(backend, *args, **kwargs)
            snapshot.sandbox_copy = True
            return snapshot

    def describe_images(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        ids = list(_arg(args, kwargs, 0, "ami_ids") or [])
        others = [i for i in ids if not str(i).startswith(("aki-", "ari-"))]
        if len(others) == len(ids):
            return original(backend, *args, **kwargs)
        kwargs = {**kwargs, "ami_ids": None}
        found = original(backend, *args[1:], **kwargs) if args else original(backend, **kwargs)
        missing = [i for i in ids if i not in backend.amis]
        if missing:
            raise EC2ClientError(
                "InvalidAMIID.NotFound", f"The image id '[{', '.join(missing)}]' does not exist"
            )
        return [a for a in found if a.id in ids]

    def create_image(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        _duplicate(backend, _arg(args, kwargs, 1, "name"))
        return original(backend, *args, **kwargs)

    EC2Response.register_image = register_image  # type: ignore[method-assign]
    EC2Response.copy_image = copy_image  # type: ignore[method-assign]
    _wrap("copy_snapshot", copy_snapshot)  # outermost: checked before the data hook copies bytes
    _wrap("describe_images", describe_images)
    _wrap("create_image", create_image)


def _check_copy_room(cloud: SandboxCloud, backend: Any, wanted: int) -> None:
    """``ResourceLimitExceeded`` when ``wanted`` more copies would exceed the region's concurrent copies."""
    limit = int(cloud.faults.snapshot_copy_limit)
    running = sum(
        1 for s in backend.snapshots.values() if getattr(s, "sandbox_copy", False) and s.status == "pending"
    )
    if running + wanted > limit:
        raise EC2ClientError(
            "ResourceLimitExceeded",
            f"You have reached the limit of {limit} concurrent snapshot copies in {backend.region_name};"
            f" {running} are in progress.",
        )


def _pending_until_snapshots(cloud: SandboxCloud, ami: Any, snapshots: list[Any]) -> None:
    """A copied image is ``pending`` while any of its snapshots is (AWS never shows it available before)."""
    if not any(s.status == "pending" for s in snapshots):
        return
    ami.state = "pending"

    def check() -> None:
        if ami.state != "pending":
            return
        if any(s.status == "pending" for s in snapshots):
            cloud.later(0.1, check)
        else:
            ami.state = "available"

    cloud.later(0.1, check)
