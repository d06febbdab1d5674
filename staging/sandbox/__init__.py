"""A local EC2 cloud made of real parts, for end-to-end tests and AWS-free staging runs.

moto's server answers the EC2 API on loopback; every running instance is a real host (its own network
namespace, sshd and mount table) and every attached volume a real loop device. See docs/sandbox.md.

The code is grouped by the process that runs it: :mod:`~staging.sandbox.client` (the caller's process:
:class:`Sandbox`, the command line, preflight, teardown), :mod:`~staging.sandbox.daemon` (the daemon: moto's
server, the cloud model, the hooks) and :mod:`~staging.sandbox.machine` (the hosts' parts both of them drive);
``errors``, ``faults`` and the state file are shared by all.

Example::

    from staging.sandbox import Sandbox

    with Sandbox("/var/tmp/my-cloud") as cloud:
        ec2 = boto3.client("ec2", endpoint_url=cloud.endpoint, region_name=cloud.region, ...)
"""

from __future__ import annotations

from staging.sandbox.client.api import ACCESS_KEY, DEFAULT_REGIONS, SECRET_KEY, Sandbox
from staging.sandbox.client.preflight import REQUIRED_TOOLS, check_environment
from staging.sandbox.daemon.images import IMAGES
from staging.sandbox.errors import EnvironmentProblem, SandboxError
from staging.sandbox.faults import Faults
from staging.sandbox.machine.hosts import by_id_path

__all__ = [
    "ACCESS_KEY",
    "DEFAULT_REGIONS",
    "IMAGES",
    "REQUIRED_TOOLS",
    "SECRET_KEY",
    "EnvironmentProblem",
    "Faults",
    "Sandbox",
    "SandboxError",
    "by_id_path",
    "check_environment",
]
