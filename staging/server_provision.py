"""How the manager gets a running server: a new one launched, a known one brought up again, or adopted.

* :func:`launch` (the body of ``StagingManager.provision_server``): image, login user, zone, the run's key
  pair and security group, tags at creation, then the instance, journaled before it is used. The manager
  registers the server and waits until SSH answers.
* :func:`bring_up`: a known server from its *current* state (it may have been stopped or terminated behind
  the manager's back).
* :func:`adopt_servers`, :func:`adopt_volumes` (the body of ``scan_region``): what earlier runs left.
"""

from __future__ import annotations

import secrets

from staging.errors import StagingParameterError
from staging.fleet import Fleet
from staging.images import find_image, login_user
from staging.names import check_name
from staging.server import StagingServer
from staging.tags import FSTYPE, MTPT, NAME, ROLE, USERNAME, Role
from staging.volume import StagingVolume

__all__ = ["adopt_servers", "adopt_volumes", "bring_up", "launch"]


def launch(
    manager: Fleet,
    name: str | None,
    *,
    availability_zone: str | None = None,
    instance_type: str | None = None,
    image_name: str | None = None,
    architecture: str | None = None,
    username: str | None = None,
) -> StagingServer:
    """A new instance as a server of ``manager`` (not yet registered, not waited for).

    Raises:
        StagingParameterError: A bad name or one already managed, or an image whose login user is unknown.
    """
    name = check_name(name or f"server-{secrets.token_hex(4)}", "server")
    if manager.find_server_by_name(name) is not None:
        raise StagingParameterError(f"a server named {name!r} is already managed (get_server reuses it)")
    image = find_image(manager.ec2, image_name or manager.image_name, architecture or manager.architecture)
    user = username or manager.username or login_user(image)
    if not user:
        raise StagingParameterError(f"cannot tell the login user of {image} ({image.name}); pass username=")
    zone = availability_zone or manager.default_zone()
    key_name, keyfile = manager.keypair()
    group = manager.security_group()
    tags = {"Name": f"Staging server {name}", USERNAME: user}
    temporary = manager.on_exit == "terminate"
    tag_fn = manager.run_tags.temporary if temporary else manager.run_tags.kept
    instance_type = instance_type or manager.instance_type
    manager.reporter.step(f"launching staging server {name} ({instance_type}) in {zone}")
    instance = manager.ec2.run_instances(
        image,
        instance_type=instance_type,
        key_name=key_name,
        security_group_ids=[group],
        zone=zone,
        tag_specifications=tag_fn(Role.INSTANCE, name, **tags),
    )[0]
    if temporary:
        manager.track("instance", str(instance))
    return manager.server_class(manager, instance, name=name, username=user, keyfile=keyfile)


def bring_up(manager: Fleet, server: StagingServer) -> bool:
    """Make a known server run, from its current state; False when it is gone (the caller forgets it)."""
    server.instance.refresh()
    state = server.instance.instanceState.name
    if state in ("shutting-down", "terminated"):
        server.powered_off(terminated=True)
        return False
    if state == "stopping":
        manager.wait_for(server.instance, "stopped", f"{server} to stop")
        state = "stopped"
    if state == "stopped":
        server.powered_off()
        server.start()
    elif state == "pending":
        manager.wait_for_servers([server])
    return True


def adopt_servers(manager: Fleet) -> list[StagingServer]:
    """The running or stopped staging servers of the region that ``manager`` does not know yet and can
    reach (their private key is in its dot directory)."""
    found: list[StagingServer] = []
    for instance in manager.ec2.describe_instances(
        {f"tag:{ROLE}": Role.INSTANCE, "instance-state-name": ["running", "stopped"]}
    ):
        keyfile = manager.dotdir / f"{instance.keyName}.pem"
        if manager.find_server_by_instance(str(instance)) or not keyfile.is_file():
            continue
        tags = instance.tags
        user = tags.get(USERNAME) or manager.username or "admin"
        name = tags.get(NAME, str(instance))
        found.append(manager.server_class(manager, instance, name=name, username=user, keyfile=keyfile))
    return found


def adopt_volumes(manager: Fleet) -> list[StagingVolume]:
    """The staging volumes of the region that ``manager`` does not know yet: available ones, and those
    attached to one of its servers (adopt the servers first)."""
    found: list[StagingVolume] = []
    for ebs in manager.ec2.describe_volumes({f"tag:{ROLE}": Role.VOLUME}):
        if manager.find_volume_by_volid(str(ebs)) or ebs.status not in ("available", "in-use"):
            continue
        tags = ebs.tags
        volume = manager.volume_class(manager, ebs, name=tags.get(NAME, str(ebs)), fstype=tags.get(FSTYPE),
                                      mtpt=tags.get(MTPT))  # fmt: skip
        attachment = ebs.attachment
        if attachment is not None:
            volume.server = manager.find_server_by_instance(str(attachment.instanceId))
            volume.device = str(attachment.device)
            if volume.server is None:
                continue  # attached to a server we cannot reach
        found.append(volume)
    return found
