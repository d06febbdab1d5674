"""A local EC2 cloud made of real parts, for end-to-end tests and AWS-free staging runs.

moto's server answers the EC2 API on loopback; every running instance is a real host (its own network
namespace, sshd and mount table) and every attached volume a real loop device. See docs/sandbox.md.

Example::

    from staging.sandbox import Sandbox

    with Sandbox("/var/tmp/my-cloud") as cloud:
        ec2 = boto3.client("ec2", endpoint_url=cloud.endpoint, region_name=cloud.region, ...)
"""

from __future__ import annotations

from staging.sandbox._api import DEFAULT_REGIONS, Sandbox
from staging.sandbox._hosts import by_id_path
from staging.sandbox._images import IMAGES
from staging.sandbox._preflight import REQUIRED_TOOLS, check_environment
from staging.sandbox.errors import EnvironmentProblem, SandboxError
from staging.sandbox.faults import Faults

__all__ = [
    "DEFAULT_REGIONS",
    "IMAGES",
    "REQUIRED_TOOLS",
    "EnvironmentProblem",
    "Faults",
    "Sandbox",
    "SandboxError",
    "by_id_path",
    "check_environment",
]
