"""The bodies of the manager's server methods: launch, bring up, adopt, start, stop, terminate.

* :func:`launch` (the body of ``StagingManager.provision_server``): image, login user, zone, the run's key
  pair and security group, tags at creation, then the instance, journaled before it is used. The manager
  registers the server and waits until SSH answers.
* :func:`bring_up`: a known server from its *current* state (it may have been stopped or terminated behind
  the manager's back).
* :func:`adopt_servers`, :func:`adopt_volumes` (the body of ``scan_region``): what earlier runs left.
* :func:`start`, :func:`stop`, :func:`terminate`: several servers in one call each, then one wait for all.

The manager keeps the list of its servers; these functions return what it should add or forget.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterable

from staging.errors import StagingParameterError
from staging.fleet import Fleet
from staging.images import find_image, login_user
from staging.names import check_name
from staging.server import StagingServer
from staging.tags import FSTYPE, MTPT, NAME, ROLE, USERNAME, Role
from staging.volume import StagingVolume

__all__ = ["adopt_servers", "adopt_volumes", "bring_up", "launch", "start", "stop", "terminate"]


def launch(
    manager: Fleet, name: str | None, *, zone: str | None, instance_type: str | None, image_name: str | None,
    architecture: str | None, username: str | None,
) -> StagingServer:  # fmt: skip
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
    zone = zone or manager.default_zone()
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


def start(manager: Fleet, servers: Iterable[StagingServer]) -> None:
    """Start those of ``servers`` that are stopped now, at once, and wait until all answer over SSH."""
    stopped = [s for s in servers if s.instance.refresh() and s.instance.instanceState.name == "stopped"]
    if stopped:
        manager.ec2.start_instances([s.instance for s in stopped])
        manager.wait_for_servers(stopped)


def stop(manager: Fleet, servers: Iterable[StagingServer]) -> None:
    """Stop the running ``servers`` at once (volumes unmounted first) and wait until they are stopped."""
    running = [s for s in servers if s.instance.instanceState.name in ("pending", "running")]
    for server in running:
        server.unmount_all(forget_devices=True)
        server.close()
    if running:
        manager.ec2.stop_instances([s.instance for s in running])
        manager.wait_for([s.instance for s in running], "stopped", "servers to stop")


def terminate(
    manager: Fleet, servers: Iterable[StagingServer], *, wait: bool = True, unmount: bool = True
) -> list[StagingServer]:
    """Terminate ``servers`` in one call (after unmounting their volumes unless ``unmount`` is false) and
    wait until they are gone (``wait``); returns them, for the manager to forget."""
    doomed = list(servers)
    if not doomed:
        return []
    for server in doomed:
        if unmount:
            with contextlib.suppress(Exception):
                server.unmount_all()
        server.close()
    manager.reporter.step("terminating " + ", ".join(str(s) for s in doomed))
    manager.ec2.terminate_instances([s.instance for s in doomed])
    if wait:
        manager.wait_for([s.instance for s in doomed], "terminated", "servers to terminate")
    for server in doomed:
        server.powered_off(terminated=True)  # EC2 detaches the volumes with the instance
    return doomed


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
