"""``--sandbox``: run a command on the local sandbox cloud instead of AWS.

The sandbox that is up (``$VMEC2_SANDBOX_DIR``, default ``/var/tmp/vmec2-sandbox``) is used; with none up, one
is started for the run and *left up*, so the snapshots it made can be inspected and restored afterwards.
Either way the command says so on stderr.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
from pathlib import Path
from typing import TextIO

from provisioning import EC2
from staging import StagingError, StagingParameterError
from staging.sandbox import ACCESS_KEY, DEFAULT_REGIONS, SECRET_KEY, EnvironmentProblem, Sandbox, SandboxError

__all__ = ["sandbox_cloud", "state_dir"]


def state_dir() -> Path:
    """Where the sandbox lives: ``$VMEC2_SANDBOX_DIR`` or ``/var/tmp/vmec2-sandbox``."""
    return Path(os.environ.get("VMEC2_SANDBOX_DIR") or "/var/tmp/vmec2-sandbox")


def _running(path: Path) -> Sandbox | None:
    try:
        sandbox = Sandbox.attach(path)
        sandbox.status()  # the daemon answers
    except SandboxError:
        return None
    return sandbox


def sandbox_cloud(args: argparse.Namespace, stderr: TextIO) -> tuple[EC2, str]:
    """The sandbox's EC2 façade for ``args.region`` (default: the sandbox's first region), and the caller's
    address as the sandbox's hosts see it (a /32, for the security group).

    Raises:
        StagingParameterError: The machine cannot run a sandbox (not root, a tool missing), or the region is
            not one the sandbox serves.
    """
    path = state_dir()
    sandbox = _running(path)
    if sandbox is None:
        if (path / "state.json").exists() or (path.exists() and any(path.iterdir())):
            raise StagingParameterError(
                f"{path} holds a sandbox that does not answer; run 'vmec2-sandbox down --force' first"
            )
        regions = list(dict.fromkeys([args.region or DEFAULT_REGIONS[0], *DEFAULT_REGIONS]))
        print(
            f"starting a sandbox cloud in {path} (regions {', '.join(regions)}) ...", file=stderr, flush=True
        )
        try:
            fresh = Sandbox(path, regions=regions)  # an unknown region is refused here
        except SandboxError as exc:
            raise StagingParameterError(f"--sandbox: {exc}") from exc
        try:
            sandbox = fresh.start()
        except EnvironmentProblem as exc:
            raise StagingParameterError(f"--sandbox: {exc}") from exc
        except SandboxError as exc:
            raise StagingError(f"--sandbox: {exc}") from exc
        print("the sandbox stays up for inspection: 'vmec2-sandbox down' removes it", file=stderr)
    region = args.region or sandbox.region
    if region not in sandbox.regions:
        raise StagingParameterError(
            f"the sandbox in {path} serves {', '.join(sandbox.regions)}, not {region!r}"
        )
    print(f"using the sandbox cloud at {sandbox.endpoint} ({path}), region {region}", file=stderr)
    ec2 = EC2(endpoint=sandbox.endpoint, region=region, access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    gateway = next(ipaddress.ip_network(sandbox.network).hosts())  # the caller as the hosts see it
    return ec2, f"{gateway}/32"
