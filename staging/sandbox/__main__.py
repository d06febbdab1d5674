"""Command line: ``python -m staging.sandbox up|down|status`` (and the internal ``daemon``)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
from pathlib import Path

import structlog

from staging.sandbox._api import DEFAULT_REGIONS, Sandbox
from staging.sandbox.errors import SandboxError
from staging.sandbox.faults import Faults

DEFAULT_STATE_DIR = os.environ.get("VMEC2_SANDBOX_DIR", "/var/tmp/vmec2-sandbox")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m staging.sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start a sandbox and print the environment to export")
    down = sub.add_parser("down", help="remove everything the sandbox made")
    status = sub.add_parser("status", help="show the sandbox's endpoint, network and hosts")
    daemon = sub.add_parser("daemon", help=argparse.SUPPRESS)
    for p in (up, down, status, daemon):
        p.add_argument("--state-dir", type=Path, default=Path(DEFAULT_STATE_DIR), help="default: %(default)s")
    up.add_argument(
        "--region", action="append", dest="regions", help="repeatable; default: us-east-1, us-west-2"
    )
    up.add_argument("--login-user", default="admin")
    up.add_argument("--legacy-devices", action="store_true", help="also show volumes as /dev/xvdX")
    up.add_argument("--port", type=int, default=0)
    up.add_argument("--boot-delay", type=float, default=0.0, help="seconds from 'running' to sshd answering")
    up.add_argument("--throttle-rate", type=float, default=0.0, help="fraction of API calls throttled")
    up.add_argument("--latency", type=float, default=0.0, help="seconds added to every API call")
    up.add_argument("--faults", default="{}", help="more faults as JSON, e.g. '{\"not_found_for\": 5}'")
    down.add_argument("--force", action="store_true", help="clean up even if the daemon crashed")
    daemon.add_argument("--config", required=True)
    return parser


def _configure_logging(level: int) -> None:
    """Send structlog and stdlib logging to stderr at ``level`` (this entry point is an application)."""
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "daemon":
        from staging.sandbox._daemon import run_daemon

        _configure_logging(logging.INFO)  # into daemon.log
        return run_daemon(args.state_dir.absolute(), json.loads(args.config))
    # stdout is for the environment lines (`eval "$(python -m staging.sandbox up)"`); logs go to stderr.
    _configure_logging(logging.WARNING)
    try:
        if args.command == "up":
            faults = Faults.from_dict(
                {
                    "boot_delay": args.boot_delay,
                    "throttle_rate": args.throttle_rate,
                    "latency": args.latency,
                    **json.loads(args.faults),
                }
            )
            cloud = Sandbox(
                args.state_dir,
                regions=args.regions or DEFAULT_REGIONS,
                faults=faults,
                login_user=args.login_user,
                legacy_devices=args.legacy_devices,
                port=args.port,
            ).start()
            print(f"# sandbox up: endpoint {cloud.endpoint}, hosts in {cloud.network}")
            for region, images in cloud.images.items():
                for name, image_id in images.items():
                    user = cloud.login_users.get(name, cloud.login_user)
                    print(f"# image {name} in {region}: {image_id} (login user {user})")
            print(f"# your address as the hosts see it (for security group rules): {cloud.caller_address}")
            for key, value in cloud.env().items():
                print(f"export {key}={shlex.quote(value)}")
        elif args.command == "down":
            Sandbox(args.state_dir).stop(force=args.force)
            print(f"# sandbox in {args.state_dir} is down")
        else:
            cloud = Sandbox.attach(args.state_dir)
            live = cloud.status()
            print(json.dumps({"endpoint": cloud.endpoint, "network": cloud.network, **live}, indent=1))
    except (SandboxError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # start() removes what it made before the interrupt reaches here; a stop may be half done.
        if args.command == "up":
            print("error: interrupted; the sandbox was removed again", file=sys.stderr)
        else:
            print(f"error: interrupted; 'down --force --state-dir {args.state_dir}' ends it", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
