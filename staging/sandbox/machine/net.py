"""The sandbox's private network: one bridge, one network namespace + veth pair per host.

Addresses come from the first /24 inside 100.64.0.0/10 (then 198.18.0.0/15) that overlaps no route and no
address this machine already has (read from ``ip route show table all`` and ``ip addr``), so the sandbox never
shadows a real network. The bridge has no uplink, the namespaces have no default route, and forwarding is
switched off for packets arriving on the bridge, so no sandbox packet can leave the machine even if a user
inside a host adds a route.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Iterator
from pathlib import Path

from staging._log import get_logger
from staging.sandbox.errors import SandboxError
from staging.sandbox.machine.system import run

log = get_logger(__name__)

#: Ranges the sandbox picks its /24 from, in order: shared address space, then the benchmarking range.
CANDIDATE_RANGES = ("100.64.0.0/10", "198.18.0.0/15")

Network = ipaddress.IPv4Network


def used_networks() -> list[Network]:
    """Every IPv4 network this machine routes or holds an address in (the default route excluded)."""
    nets: list[Network] = []
    for route in json.loads(run(["ip", "-j", "-4", "route", "show", "table", "all"]) or "[]"):
        dst = route.get("dst", "")
        if dst and dst != "default":
            nets.append(ipaddress.IPv4Network(dst, strict=False))
    for link in json.loads(run(["ip", "-j", "-4", "addr"]) or "[]"):
        for info in link.get("addr_info", []):
            nets.append(ipaddress.IPv4Network(f"{info['local']}/{info['prefixlen']}", strict=False))
    return nets


def choose_network(used: list[Network]) -> Network:
    """The first /24 of :data:`CANDIDATE_RANGES` that overlaps none of ``used`` (pure).

    Raises:
        SandboxError: Every candidate overlaps something.
    """
    for candidate_range in CANDIDATE_RANGES:
        for net in ipaddress.IPv4Network(candidate_range).subnets(new_prefix=24):
            if not any(net.overlaps(u) for u in used):
                return net
    raise SandboxError(f"no free /24 left in {', '.join(CANDIDATE_RANGES)}")


def _sysctl(path: str, value: str) -> None:
    Path("/proc/sys/net", path).write_text(value)


def create_bridge(bridge: str, net: Network) -> None:
    """Create ``bridge`` with the first address of ``net``; packets arriving on it are never forwarded."""
    run(["ip", "link", "add", bridge, "type", "bridge"])
    _sysctl(f"ipv4/conf/{bridge}/forwarding", "0")
    _sysctl(f"ipv6/conf/{bridge}/disable_ipv6", "1")
    run(["ip", "addr", "add", f"{gateway(net)}/{net.prefixlen}", "dev", bridge])
    run(["ip", "link", "set", bridge, "up"])
    log.info("sandbox.bridge_created", bridge=bridge, cidr=str(net))


def gateway(net: Network) -> str:
    """The bridge's own address in ``net`` (the machine's address as seen from the hosts)."""
    return str(net.network_address + 1)


def host_addresses(net: Network) -> Iterator[str]:
    """Addresses handed to hosts, in order (everything after the gateway)."""
    for ip in list(net.hosts())[1:]:
        yield str(ip)


def create_host_net(netns: str, veth: str, bridge: str, address: str, prefixlen: int) -> None:
    """Create namespace ``netns`` whose ``eth0`` has ``address`` and is plugged into ``bridge`` via ``veth``.

    The namespace gets no default route: it can reach the bridge's /24 (the machine and other hosts) only.
    """
    run(["ip", "netns", "add", netns])
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns])
    _sysctl(f"ipv6/conf/{veth}/disable_ipv6", "1")
    run(["ip", "link", "set", veth, "master", bridge, "up"])
    run(["ip", "-n", netns, "addr", "add", f"{address}/{prefixlen}", "dev", "eth0"])
    run(["ip", "-n", netns, "link", "set", "eth0", "up"])
    run(["ip", "-n", netns, "link", "set", "lo", "up"])


def netns_pids(netns: str) -> list[int]:
    """Pids of every process inside ``netns`` ([] if it does not exist)."""
    out = run(["ip", "netns", "pids", netns], check=False)
    return [int(p) for p in out.split() if p.isdigit()]


def delete_host_net(netns: str, veth: str) -> None:
    """Remove ``netns`` and ``veth`` if they exist (callers stop the namespace's processes first)."""
    if netns in list_netns():
        run(["ip", "netns", "del", netns], check=False)
    if link_exists(veth):
        run(["ip", "link", "del", veth], check=False)


def delete_link(name: str) -> None:
    """Remove a network link (the bridge) if it exists."""
    if link_exists(name):
        run(["ip", "link", "del", name], check=False)


def link_exists(name: str) -> bool:
    """True if a network link called ``name`` exists in this namespace."""
    return os.path.exists(f"/sys/class/net/{name}")


def list_netns() -> list[str]:
    """Names of all named network namespaces."""
    return [
        line.split()[0] for line in run(["ip", "netns", "list"], check=False).splitlines() if line.strip()
    ]
