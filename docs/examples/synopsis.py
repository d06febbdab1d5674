"""VM::EC2's SYNOPSIS, translated line by line into Python.

Run it against any EC2 endpoint; by default it starts moto's server in-process (the sandbox cloud)::

    python docs/examples/synopsis.py                    # moto, in-process
    python docs/examples/synopsis.py http://host:port   # an EC2-compatible endpoint you name

Differences from the Perl text, each forced by the text itself or by the sandbox:

* moto starts empty, so :func:`prepare` registers an image and creates the key pair ``My_key`` and an
  available volume that the synopsis takes for granted (they stand for ``ami-12345`` and existing ones).
* The synopsis tags with ``Role => 'server'`` and then searches ``'tag:Role' => 'Server'``; tag values are
  case-sensitive, so the search found nothing. Both use ``Server`` here.
* ``'run-state-name' => $stopped`` is no EC2 filter and ``$stopped`` is undefined; it is
  ``instance-state-name: stopped`` here. The ``source_ip`` list, garbled in the manual, is two CIDRs.
* Like VM::EC2's default, the façade does not raise (``raise_error=False``): failures return None/False and
  ``ec2.error_str`` says why, which is what the synopsis' ``or die``/``or warn`` expect. moto 5.2.1 rejects
  the user data that botocore correctly base64-encodes for ModifyInstanceAttribute (it wants it encoded
  twice), so that one step warns on moto.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from provisioning import EC2
from provisioning.testing import moto_server

#: An existing public key (the manual elides its ssh-rsa one).
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICkH7BoJ41SHUkB2Qj4KewhKw79auqtuVrqV6fXm9wpq example"


def prepare(ec2: EC2) -> str:
    """Sandbox setup: the image, key pair and volume the synopsis assumes exist; returns the image id."""
    ec2.create_key_pair("My_key")
    ec2.create_volume(availability_zone="us-east-1a", size=1)
    image_id: str = ec2.register_image(
        name="synopsis-image",
        description="stands in for ami-12345",
        architecture="x86_64",
        root_device_name="/dev/sda1",
        block_device_mapping=["/dev/sda1=:8"],
    )
    return image_id


def synopsis(ec2: EC2, image_id: str, out: Callable[..., Any] = print) -> dict[str, Any]:
    """The SYNOPSIS; returns the objects it made so a test can check them."""
    # fetch an image by its ID
    image = ec2.describe_images(image_id)[0]

    # get some information about the image
    architecture = image.architecture
    description = image.description
    devices = image.blockDeviceMapping
    out(architecture, description)
    for d in devices:
        out(d.deviceName)
        out(d.snapshotId)
        out(d.volumeSize)

    # run two instances
    instances = image.run_instances(key_name="My_key", min_count=2, instance_type="t1.micro")
    if not instances:
        sys.exit(ec2.error_str)

    # wait for both instances to reach "running" or other terminal state
    ec2.wait_for_instances(instances)

    # print out both instance's current state and DNS name
    for i in instances:
        status = i.current_status()
        dns = i.dnsName
        out(f"{i}: [{status}] {dns}")

    # tag both instances with Role "server"
    for i in instances:
        i.add_tag("Role", "Server")

    # stop both instances
    for i in instances:
        i.stop()

    # find instances tagged with Role=Server that are
    # stopped, change the user data and restart.
    instances = ec2.describe_instances({"tag:Role": "Server", "instance-state-name": "stopped"})
    for i in instances:
        if not i.set_user_data("Secure-mode: off"):
            out(f"Couldn't set user data of {i}: {i.error_str}")
        if not i.start():
            out(f"Couldn't start {i}: {i.error_str}")

    # create an image from both instance, tag them, and make
    # them public
    images = []
    for i in instances:
        img = i.create_image(f"Autoimage from {i}", "Test image")
        img.add_tags(Name=f"Autoimage from {i}", Role="Server", Status="Production")
        img.make_public(True)
        images.append(img)

    # retrieve the name and fingerprint of the first instance's
    # key pair
    kp = instances[0].key_pair()
    out(f"{instances[0]}: keypair {kp}={kp.fingerprint}")

    # create a new key pair
    kp = ec2.create_key_pair("My Key")

    # get the private key from this key pair and write it to a disk file
    # in ssh-compatible format
    private_key = kp.private_key
    with tempfile.NamedTemporaryFile("w", prefix="MyKeypair", suffix=".rsa", delete=False) as f:
        f.write(private_key)
    os.chmod(f.name, 0o600)

    # Import a preexisting SSH key
    public_key = PUBLIC_KEY
    key = ec2.import_key_pair("NewKey", public_key)

    # Create a new security group
    group = ec2.create_security_group(name="NewGroup", description="example")

    # Add a firewall rule
    group.authorize_incoming(protocol="tcp", port=80, source_ip=["192.168.2.0/24", "192.168.3.0/24"])

    # Write rules back to Amazon
    group.update()

    # Print current firewall rules
    out("\n".join(str(p) for p in group.ipPermissions))

    # find existing volumes that are available
    volumes = ec2.describe_volumes({"status": "available"})

    # back 'em all up to snapshots
    snapshots = [v.snapshot(f"Backup on {time.ctime()}") for v in volumes]

    # find a stopped instance in first volume's availability zone and
    # attach the volume to the instance using /dev/sdg
    vol = volumes[0] if volumes else None
    attachment = None
    if vol is not None:
        zone = vol.availabilityZone
        stopped = ec2.describe_instances({"availability-zone": zone, "instance-state-name": "stopped"})
        if stopped:
            attachment = stopped[0].attach_volume(vol, "/dev/sdg")

    # create a new 20 gig volume
    vol = ec2.create_volume(availability_zone="us-east-1a", size=20)
    if vol.current_status() == "available":
        out(f"Volume {vol} is ready!")

    # create a new elastic address and associate it with an instance
    address = ec2.allocate_address()
    address.associate(instances[0])
    out(f"Address {address} is associated with {address.instanceId}")

    return {
        "image": image,
        "instances": instances,
        "images": images,
        "key_file": f.name,
        "imported_key": key,
        "group": group,
        "snapshots": snapshots,
        "attachment": attachment,
        "volume": vol,
        "address": address,
    }


def main(argv: list[str]) -> int:
    """Run the synopsis against ``argv[0]`` or against moto's server started here."""
    if argv:
        return run(argv[0])
    with moto_server() as endpoint:
        return run(endpoint)


def run(endpoint: str) -> int:
    """The example against ``endpoint``."""
    # get new EC2 object (VM::EC2's default error mode: return None and set ec2.error)
    ec2 = EC2(endpoint=endpoint, region="us-east-1", raise_error=False)
    synopsis(ec2, prepare(ec2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
