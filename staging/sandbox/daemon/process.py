"""The sandbox daemon: moto's server plus the hooks, as a process (``python -m staging.sandbox daemon``).

It is started by :meth:`staging.sandbox.Sandbox.start` in a new session and writes everything it creates to
the state file first. SIGTERM while it is starting kills it at once; once it serves, SIGTERM makes it stop
serving, power off its hosts and exit. The resources are removed by ``down`` from the state file (read after
the daemon is gone), so a graceful stop, an aborted start and a crash are cleaned up by the same code.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import signal
import threading
from pathlib import Path
from typing import Any

from staging._log import get_logger
from staging.sandbox._logging import configure_logging
from staging.sandbox._state import StateFile
from staging.sandbox.faults import Faults
from staging.sandbox.machine import shared as _shared
from staging.sandbox.machine.net import (
    choose_network,
    create_bridge,
    gateway,
    link_exists,
    list_netns,
    used_networks,
)
from staging.sandbox.machine.system import become_subreaper, machine_lock

log = get_logger(__name__)

#: moto settings the sandbox relies on (validation on like AWS, no 1,300 default AMIs).
MOTO_ENV = {
    "MOTO_ENABLE_AMI_VALIDATION": "1",
    "MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION": "1",
    "MOTO_ENABLE_KEYPAIR_VALIDATION": "1",
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}


def main(argv: list[str], prog: str) -> int:
    """The internal ``daemon`` sub-command: serve the cloud until stopped (output goes to daemon.log)."""
    parser = argparse.ArgumentParser(prog=f"{prog} daemon", description="internal: run a sandbox's daemon")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    configure_logging(logging.INFO)
    return run_daemon(args.state_dir.absolute(), json.loads(args.config))


def run_daemon(state_dir: Path, config: dict[str, Any]) -> int:
    """Bring the sandbox up, serve until SIGTERM, return the exit status.

    Args:
        state_dir: The sandbox's directory (exists, created by the starter).
        config: ``token``, ``regions``, ``login_user``, ``port``, ``legacy_devices``, ``faults``.
    """
    os.environ.update(MOTO_ENV)
    token: str = config["token"]
    user: str = config["login_user"]
    regions: list[str] = list(config["regions"])
    state = StateFile(
        state_dir,
        {
            # No token yet: it is recorded only once claimed (see _bring_up).
            "state_dir": str(state_dir),
            "status": "starting",
            "daemon_pid": os.getpid(),
            "regions": regions,
            "login_user": user,
        },
    )
    become_subreaper()
    # Until it serves, SIGTERM keeps its default action (die at once): everything is recorded before it is
    # created, so teardown removes whatever exists, and an aborted start does not go on creating things.
    try:
        server, cloud = _bring_up(state, state_dir, config, token, user, regions)
    except Exception as exc:
        log.exception("sandbox.start_failed")
        state.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    thread.start()
    stop.wait()
    server.shutdown()
    with cloud.lock:
        cloud.shutdown_all()
    state.update(status="stopped")
    return 0


def _bring_up(
    state: StateFile, state_dir: Path, config: dict[str, Any], token: str, user: str, regions: list[str]
) -> tuple[Any, Any]:
    # Imported here: moto is only loaded in the daemon, after MOTO_ENV is set.
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    from staging.sandbox.daemon.cloud import SandboxCloud
    from staging.sandbox.daemon.ebs import EBSDirect
    from staging.sandbox.daemon.hooks.install import install
    from staging.sandbox.daemon.wsgi import SandboxMiddleware

    with machine_lock():
        # The bridge name claims the token: every other name (namespaces, veths, shared reference) derives
        # from it, so a token already in use must never be recorded (teardown would remove the other's).
        while link_exists(f"vsb{token}") or any(ns.startswith(f"vsb{token}-") for ns in list_netns()):
            token = secrets.token_hex(2)
        bridge = f"vsb{token}"
        net = choose_network(used_networks())
        state.update(token=token, network={"cidr": str(net), "bridge": bridge, "gateway": gateway(net)})
        create_bridge(bridge, net)
    from staging.sandbox.daemon.images import login_users

    users = list(dict.fromkeys([user, *login_users(user).values()]))
    state.update(shared=users)
    _shared.acquire(token, *users)
    cloud = SandboxCloud(
        state=state,
        state_dir=state_dir,
        token=token,
        net=net,
        bridge=bridge,
        user=user,
        faults=Faults.from_dict(config.get("faults") or {}),
        legacy_devices=bool(config.get("legacy_devices")),
    )
    hooked = install(cloud, ec2_backends[DEFAULT_ACCOUNT_ID], regions)
    images = hooked.images
    direct = EBSDirect(cloud, hooked.snapshots)
    app = SandboxMiddleware(DomainDispatcherApplication(create_backend_app), cloud, direct)
    server = make_server("127.0.0.1", int(config.get("port") or 0), app, threaded=True)
    host, port = str(server.server_address[0]), int(server.server_address[1])
    state.update(
        endpoint=f"http://{host}:{port}", images=images, login_users=login_users(user), status="running"
    )
    log.info("sandbox.running", endpoint=f"http://{host}:{port}", cidr=str(net))
    return server, cloud
