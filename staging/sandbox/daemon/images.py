"""The images every sandbox region starts with (moto's 1,300 default AMIs are switched off for speed).

Each region gets two official-looking images, found as on AWS by owner + name + architecture + root device
type, both public, HVM, x86_64, with an EBS root of 8 GiB backed by an (empty) root snapshot owned by the
image's owner:

* ``debian-12-amd64-sandbox``: owner ``136693071363`` (the account that publishes Debian's cloud images), root
  ``/dev/xvda``, login user the sandbox's (``admin`` by default, as on Debian's images);
* ``ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250101``: owner ``099720109477`` (Canonical),
  root ``/dev/sda1``, login user ``ubuntu``.

They are registered in moto by :func:`staging.sandbox.daemon.hooks.mappings.register_images`.
"""

from __future__ import annotations

from dataclasses import dataclass

DEBIAN_OWNER = "136693071363"
CANONICAL_OWNER = "099720109477"


@dataclass(frozen=True)
class ImageSpec:
    """One image the sandbox registers in every region.

    Attributes:
        name: The image name (in its publisher's naming scheme).
        description: The image description.
        owner: The publisher's account id.
        root_device: The root device name of the image's block device mapping.
        login_user: The cloud-init default user; None means the sandbox's own login user.
    """

    name: str
    description: str
    owner: str
    root_device: str
    login_user: str | None = None


SPECS = (
    ImageSpec(
        "debian-12-amd64-sandbox",
        "Debian 12 (bookworm) amd64, sandbox cloud image",
        DEBIAN_OWNER,
        "/dev/xvda",
    ),
    ImageSpec(
        "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250101",
        "Canonical, Ubuntu, 24.04, amd64 noble image",
        CANONICAL_OWNER,
        "/dev/sda1",
        "ubuntu",
    ),
)
#: name -> description of the images registered in every region.
IMAGES = {spec.name: spec.description for spec in SPECS}


def login_users(default_user: str) -> dict[str, str]:
    """``{image name: login user}`` for a sandbox whose own login user is ``default_user``."""
    return {spec.name: spec.login_user or default_user for spec in SPECS}
