"""Which image a staging server boots, and which user logs into it.

The default is the newest *official* Debian 12 image (then Ubuntu LTS), found by owner + name + architecture +
root device type ``ebs`` — never by name alone: the original searched every public image by name, so anyone
could publish a matching AMI and be chosen (staging.md §5).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from staging._log import get_logger
from staging.errors import StagingParameterError

__all__ = ["OFFICIAL_IMAGES", "ImageSource", "find_image", "login_user"]

log = get_logger(__name__)

DEBIAN = "136693071363"
CANONICAL = "099720109477"
AMAZON = "137112412989"

#: Login user of each publisher's images.
_USERS = {DEBIAN: "admin", CANONICAL: "ubuntu", AMAZON: "ec2-user"}
#: Login user by image name, for images published elsewhere (copies, marketplace).
_USERS_BY_NAME = (("debian-*", "admin"), ("*ubuntu*", "ubuntu"), ("al20*", "ec2-user"), ("amzn*", "ec2-user"))
#: Names in images: the architecture as each publisher spells it.
_ARCH = {"x86_64": "amd64", "arm64": "arm64"}


@dataclass(frozen=True)
class ImageSource:
    """An official image family: publisher account, name pattern (``{arch}`` filled in) and login user."""

    owner: str
    pattern: str
    user: str


OFFICIAL_IMAGES = (
    ImageSource(DEBIAN, "debian-12-{arch}-*", "admin"),
    ImageSource(CANONICAL, "ubuntu/images/hvm-ssd*/ubuntu-*-24.04-{arch}-server-*", "ubuntu"),
)


def login_user(image: Any) -> str | None:
    """The login user of ``image`` by its publisher, else by its name; None when unknown."""
    user = _USERS.get(str(image.ownerId or ""))
    if user:
        return user
    name = str(image.name or "")
    return next((u for pattern, u in _USERS_BY_NAME if fnmatch.fnmatch(name, pattern)), None)


def find_image(ec2: Any, image_name: str | None, architecture: str, owners: list[str] | None = None) -> Any:
    """The image to boot: an ``ami-`` id as given, else the newest matching image of trusted owners.

    Args:
        ec2: The façade of the region.
        image_name: None (official Debian 12, then Ubuntu 24.04), an ``ami-...`` id, or a name pattern
            (``*`` wildcards; without one it matches anywhere in the name).
        architecture: ``x86_64`` or ``arm64``.
        owners: Accounts to trust for a name pattern (default: the official publishers and your own).

    Raises:
        StagingParameterError: No such image, or not EBS-backed, or the wrong architecture.
    """
    if image_name and image_name.startswith("ami-"):
        found = ec2.describe_images(image_name)
        if not found:
            raise StagingParameterError(f"image {image_name} not found")
        image = found[0]
        if image.rootDeviceType != "ebs":
            raise StagingParameterError(f"image {image_name} is not EBS-backed (staging needs an EBS root)")
        return image
    arch = _ARCH.get(architecture)
    if arch is None:
        raise StagingParameterError(f"unknown architecture {architecture!r} (x86_64 or arm64)")
    if image_name:
        pattern = image_name if "*" in image_name else f"*{image_name}*"
        searches = [(owners or [*_USERS, "self"], pattern)]
    else:
        searches = [([src.owner], src.pattern.format(arch=arch)) for src in OFFICIAL_IMAGES]
    for owner_ids, pattern in searches:
        images = ec2.describe_images(
            owner=owner_ids,
            filter={
                "name": pattern,
                "architecture": architecture,
                "root-device-type": "ebs",
                "state": "available",
            },
        )
        if images:
            best = max(images, key=lambda i: (str(i.creationDate or ""), str(i.name or "")))
            log.info("staging.image.chosen", image=str(best), name=best.name, owner=best.ownerId)
            return best
    wanted = image_name or "an official Debian 12 / Ubuntu 24.04 image"
    raise StagingParameterError(f"no {architecture} EBS-backed image matching {wanted} in {ec2.region}")
