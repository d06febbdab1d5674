"""VM::EC2's VPC example, line by line, then a load balancer and a federation token on top of it.

Run it against any EC2 endpoint; by default it starts moto's server in-process (the sandbox cloud)::

    python docs/examples/vpc.py                    # moto, in-process
    python docs/examples/vpc.py http://host:port   # an EC2-compatible endpoint you name

The Perl text (manual, "VPC" section)::

    $vpc       = $ec2->create_vpc('10.0.0.0/16')     or die $ec2->error_str;
    $subnet1   = $vpc->create_subnet('10.0.0.0/24')  or die $vpc->error_str;
    $gateway   = $vpc->create_internet_gateway       or die $vpc->error_str;
    $routeTbl  = $subnet->create_route_table         or die $vpc->error_str;
    $routeTbl->create_route('0.0.0.0/0' => $gateway) or die $vpc->error_str;

The CIDR blocks are blank in the manual's rendering; the usual ``10.0.0.0/16`` and ``10.0.0.0/24`` are used.
``$subnet`` in the fourth line is the ``$subnet1`` of the second.
"""

from __future__ import annotations

import sys
from typing import Any

from provisioning import EC2
from provisioning.testing import moto_server


def die(ec2: EC2, what: str) -> None:
    """VM::EC2's ``or die $ec2->error_str``."""
    raise SystemExit(f"{what}: {ec2.error_str}")


def vpc_chain(ec2: EC2) -> dict[str, Any]:
    """The manual's chain: VPC, subnet, attached gateway, associated route table, default route."""
    vpc = ec2.create_vpc("10.0.0.0/16") or die(ec2, "create_vpc")
    subnet1 = vpc.create_subnet("10.0.0.0/24") or die(ec2, "create_subnet")
    gateway = vpc.create_internet_gateway() or die(ec2, "create_internet_gateway")
    route_tbl = subnet1.create_route_table() or die(ec2, "create_route_table")
    route_tbl.create_route("0.0.0.0/0", gateway) or die(ec2, "create_route")
    print(f"{vpc}: subnet {subnet1} routes 0.0.0.0/0 via {gateway} in {route_tbl}")
    return {"vpc": vpc, "subnet": subnet1, "gateway": gateway, "route_table": route_tbl}


def load_balancer(ec2: EC2, subnet: Any) -> Any:
    """A balancer in the subnet with two instances behind it, and their health."""
    listener = {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 8080}
    ec2.create_load_balancer(lb_name="web", listeners=[listener], subnets=[subnet]) or die(ec2, "create_lb")
    lb = ec2.describe_load_balancers("web")[0]
    instances = ec2.run_instances("ami-12345678", min_count=2, subnet_id=subnet) or die(ec2, "run_instances")
    lb.register_instances(*instances)
    for state in lb.describe_instance_health():
        print(f"{lb}: {state} {state.state}")
    return lb


def federation(ec2: EC2) -> None:
    """A read-only federation token handed over as a string, and the visitor's façade."""
    from provisioning.sts import Credentials, Policy

    policy = Policy().allow("describe_*")
    token = ec2.get_federation_token(name="visitor", duration=3600, policy=policy) or die(ec2, "federation")
    wire = token.credentials.serialize()
    visitor = EC2(security_token=Credentials.new_from_serialized(wire), endpoint=ec2.endpoint)
    print(f"visitor {token.federated_user} sees {len(visitor.describe_vpcs())} VPCs; policy {policy}")


def main(argv: list[str]) -> int:
    """Run the example against ``argv[0]`` or against moto's server started here."""
    if argv:
        return run(argv[0])
    with moto_server() as endpoint:
        return run(endpoint)


def run(endpoint: str) -> int:
    """The example against ``endpoint``."""
    ec2 = EC2(endpoint=endpoint, region="us-east-1", raise_error=False)
    made = vpc_chain(ec2)
    load_balancer(ec2, made["subnet"])
    federation(ec2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
