"""The sandbox's command line, ``vmec2-sandbox up|down|status`` (also ``python3 -m staging.sandbox``).

The help is plain text, names the program as it was invoked and shows every option's default. The internal
``daemon`` sub-command (what :class:`~staging.sandbox.Sandbox` starts the cloud with) never reaches this
parser, so it never shows in the help: :mod:`staging.sandbox.__main__` turns it into the daemon process.
Errors are one line on stderr, exit status 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from staging.sandbox._logging import configure_logging
from staging.sandbox.client.api import DEFAULT_REGIONS, Sandbox
from staging.sandbox.errors import SandboxError
from staging.sandbox.faults import Faults

__all__ = ["main", "program_name"]

#: The state directory when neither --state-dir nor $VMEC2_SANDBOX_DIR names one.
BUILTIN_STATE_DIR = "/var/tmp/vmec2-sandbox"
STATE_DIR_VARIABLE = "VMEC2_SANDBOX_DIR"

DESCRIPTION = """\
A local EC2 cloud made of real parts, for tests and demos: moto's EC2 API on a loopback port, one sshd per
running instance in its own network namespace, one loop device per EBS volume. Needs root.

  eval "$(%(prog)s up)"
      start one and export what boto3 needs (AWS_ENDPOINT_URL, fake keys, the region)
  %(prog)s status
      its endpoint, network, hosts and faults, as JSON
  %(prog)s down
      remove everything it made: processes, mounts, loop devices, namespaces, the login user
"""

ENVIRONMENT = f"""\
environment:
  {STATE_DIR_VARIABLE}   the state directory when --state-dir is not given (else {BUILTIN_STATE_DIR})
"""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written; each option's default after its help (flags, which default to off, aside)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        shown = not any(action.default is nothing for nothing in (None, False, argparse.SUPPRESS))
        if shown and action.option_strings and "default" not in text:
            text += " (default: %(default)s)"
        return text


def program_name(argv0: str | None = None) -> str:
    """The name the command line was invoked as: ``vmec2-sandbox``, or ``python3 -m staging.sandbox``."""
    name = os.path.basename(sys.argv[0] if argv0 is None else argv0)
    return "python3 -m staging.sandbox" if name in ("", "__main__.py", "-c", "-m") else name


def _parser(prog: str, state_dir: str) -> argparse.ArgumentParser:
    common: dict[str, Any] = {"formatter_class": _HelpFormatter, "epilog": ENVIRONMENT}
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION, **common)
    sub = parser.add_subparsers(dest="command", required=True, metavar="{up,status,down}")
    up = sub.add_parser(
        "up",
        help="start a sandbox and print the environment to export",
        description='Start a sandbox; prints `export` lines for boto3 (use: eval "$(%(prog)s)").',
        **common,
    )
    status = sub.add_parser(
        "status",
        help="show the sandbox's endpoint, network, hosts and faults",
        description="Show the running sandbox's endpoint, network, hosts and faults, as JSON.",
        **common,
    )
    down = sub.add_parser(
        "down",
        help="remove everything the sandbox made",
        description="Remove everything the sandbox made; says so when none was up.",
        **common,
    )
    for p in (up, status, down):
        p.add_argument("--state-dir", type=Path, default=Path(state_dir), help="the sandbox's directory")
    up.add_argument(
        "--region",
        action="append",
        dest="regions",
        metavar="REGION",
        help=f"an AWS region with the sandbox images; repeatable (default: {', '.join(DEFAULT_REGIONS)})",
    )
    up.add_argument(
        "--login-user", default="admin", help="the user the hosts accept the launch key for, with sudo"
    )
    up.add_argument("--legacy-devices", action="store_true", help="also show volumes as /dev/xvdX")
    up.add_argument("--port", type=int, default=0, help="loopback port of the API; 0 picks a free one")
    up.add_argument("--boot-delay", type=float, default=0.0, help="seconds from 'running' to sshd answering")
    up.add_argument("--throttle-rate", type=float, default=0.0, help="fraction of API calls throttled")
    up.add_argument("--latency", type=float, default=0.0, help="seconds added to every API call")
    up.add_argument("--faults", default="{}", help="more faults as JSON, e.g. '{\"not_found_for\": 5}'")
    down.add_argument("--force", action="store_true", help="clean up even if the daemon crashed")
    return parser


def main(argv: list[str] | None = None, *, environ: dict[str, str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Args:
        argv: The arguments (``sys.argv[1:]`` when None).
        environ: The environment to read ``VMEC2_SANDBOX_DIR`` from (``os.environ`` when None).
    """
    argv = sys.argv[1:] if argv is None else argv
    prog = program_name()
    env = os.environ if environ is None else environ
    args = _parser(prog, env.get(STATE_DIR_VARIABLE) or BUILTIN_STATE_DIR).parse_args(argv)
    # stdout is for the environment lines (`eval "$(vmec2-sandbox up)"`); logs go to stderr.
    configure_logging(logging.WARNING)
    try:
        if args.command == "up":
            _up(args)
        elif args.command == "down":
            if Sandbox(args.state_dir).stop(force=args.force):
                print(f"# sandbox in {args.state_dir} is down")
            else:
                print(f"# no sandbox was up in {args.state_dir}; nothing to do")
        else:
            cloud = Sandbox.attach(args.state_dir)
            live = cloud.status()
            print(json.dumps({"endpoint": cloud.endpoint, "network": cloud.network, **live}, indent=1))
    except SandboxError as exc:
        print(f"{prog}: error: {exc.hint(prog)}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a malformed --faults (bad JSON, an unknown fault, a bad value)
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # start() removes what it made before the interrupt reaches here; a stop may be half done.
        if args.command == "up":
            print(f"{prog}: error: interrupted; the sandbox was removed again", file=sys.stderr)
        else:
            print(f"{prog}: error: interrupted; '{prog} down --force' ends it", file=sys.stderr)
        return 130
    return 0


def _up(args: argparse.Namespace) -> None:
    """``up``: start the sandbox, then print what it is and the environment to export."""
    try:
        more = json.loads(args.faults)
    except ValueError as exc:
        raise ValueError(f"--faults is not JSON ({exc})") from exc
    known = [f.name for f in dataclasses.fields(Faults)]
    unknown = sorted(set(more) - set(known)) if isinstance(more, dict) else ["(not a JSON object)"]
    if unknown:
        raise ValueError(f"--faults: unknown {', '.join(unknown)}; known: {', '.join(known)}")
    faults = Faults.from_dict(
        {"boot_delay": args.boot_delay, "throttle_rate": args.throttle_rate, "latency": args.latency, **more}
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
