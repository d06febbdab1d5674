"""Security groups enforced on the hosts: each host's ingress rules as an nftables table in its namespace.

A host accepts a new connection only if an ingress rule of one of its instance's security groups allows it
(protocol, port range, source CIDR or source security group); everything else arriving on its ``eth0`` is
dropped. As on AWS the filter is stateful (replies to the host's own connections are accepted) and loopback
traffic is never filtered. Egress rules are not enforced (hosts have no route off the sandbox network anyway).

The rules come from the instance's security groups (the union over its network interfaces, the VPC's
``default`` group when none was named), read from the API by the hooks into a :class:`SecurityView`; a rule
naming a source group allows its members' addresses. The
table is built by a pure function (:func:`ruleset`) and replaced atomically (``nft -f`` of "add, delete,
define" in one transaction), so a rule change never leaves a host open or closed in between. The table lives
in the host's network namespace and goes with it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from staging.sandbox.machine.hosts import Host
from staging.sandbox.machine.system import run

#: The nftables table (family inet) holding a host's security-group filter.
TABLE = "vmec2_sandbox_sg"


@dataclass(frozen=True)
class Permission:
    """One ingress rule, reduced to what the packet filter needs.

    Attributes:
        protocol: ``tcp``, ``udp``, ``icmp``, ``-1`` (all traffic) or an IP protocol number.
        from_port: First port (tcp/udp) or ICMP type; None or -1 means all.
        to_port: Last port (tcp/udp) or ICMP code; None or -1 means all.
        sources: IPv4 networks allowed (CIDRs, and the addresses of a source group's members).
    """

    protocol: str
    from_port: int | None
    to_port: int | None
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    """One ingress rule of a security group as the API has it: a CIDR or a source group (or both).

    Attributes:
        protocol: ``tcp``, ``udp``, ``icmp``, ``-1`` (all traffic) or an IP protocol number.
        from_port: First port or ICMP type (None or -1: all).
        to_port: Last port or ICMP code (None or -1: all).
        cidr: The IPv4 source CIDR, if any.
        source_group: The id of the source security group, if any (its members' addresses are allowed).
    """

    protocol: str
    from_port: int | None
    to_port: int | None
    cidr: str | None = None
    source_group: str | None = None


@dataclass(frozen=True)
class SecurityView:
    """The security groups of one region, as the packet filters need them (read from the API by the hooks).

    Attributes:
        instances: Every instance of the region that is not terminated -> the ids of its groups.
        rules: Each of those groups -> its ingress rules.
    """

    instances: dict[str, frozenset[str]]
    rules: dict[str, tuple[Rule, ...]]


def _match(permission: Permission) -> str:
    """The nft match of a permission's protocol and ports (empty: any packet)."""
    proto, low, high = permission.protocol, permission.from_port, permission.to_port
    if proto == "-1":
        return ""
    if proto in ("tcp", "udp"):
        if low is None or low < 0:
            return f"meta l4proto {proto}"
        ports = str(low) if high in (None, low) else f"{low}-{high}"
        return f"{proto} dport {ports}"
    if proto == "icmp":
        if low is None or low < 0:
            return "meta l4proto icmp"
        code = f" icmp code {high}" if high is not None and high >= 0 else ""
        return f"icmp type {low}{code}"
    return f"meta l4proto {int(proto)}"


def _sources(sources: Iterable[str]) -> str | None:
    """The nft source match: '' for anywhere, None when nothing is allowed (the rule is skipped)."""
    nets = sorted({ipaddress.IPv4Network(s, strict=False) for s in sources})
    if not nets:
        return None
    if any(n.prefixlen == 0 for n in nets):
        return ""
    return "ip saddr { " + ", ".join(str(n) for n in nets) + " }"


def ruleset(permissions: Sequence[Permission]) -> str:
    """The nft script that replaces a host's filter with one accepting exactly ``permissions`` (pure)."""
    rules = []
    for permission in permissions:
        source = _sources(permission.sources)
        if source is None:
            continue
        words = [w for w in (_match(permission), source, "accept") if w]
        rules.append("    " + " ".join(words))
    return "\n".join(
        [
            f"add table inet {TABLE}",
            f"delete table inet {TABLE}",
            f"table inet {TABLE} {{",
            "  chain input {",
            "    type filter hook input priority filter; policy drop;",
            "    ct state established,related accept",
            '    iif "lo" accept',
            *rules,
            "  }",
            "}",
            "",
        ]
    )


def apply(netns: str, script: str) -> None:
    """Load ``script`` (from :func:`ruleset`) into namespace ``netns`` in one transaction."""
    run(["ip", "netns", "exec", netns, "nft", "-f", "-"], input=script.encode())


def permissions(
    view: SecurityView, groups: frozenset[str], members: dict[str, list[str]]
) -> list[Permission]:
    """The ingress permissions of ``groups``; a source group stands for its members' addresses."""
    out = []
    for gid in sorted(groups):
        for rule in view.rules.get(gid, ()):
            sources: list[str] = []
            if rule.cidr:
                sources.append(rule.cidr)
            if rule.source_group:
                sources += [f"{address}/32" for address in members.get(rule.source_group, [])]
            out.append(Permission(rule.protocol, rule.from_port, rule.to_port, tuple(sources)))
    return out


def refresh_firewalls(hosts: dict[str, Host], view: SecurityView) -> None:
    """Bring every host of ``view``'s region in line with its groups' current ingress rules."""
    live = [(iid, hosts[iid], groups) for iid, groups in view.instances.items() if iid in hosts]
    members: dict[str, list[str]] = {}
    for _iid, host, groups in live:
        for gid in groups:
            members.setdefault(gid, []).append(host.address)
    for _iid, host, groups in live:
        script = ruleset(permissions(view, groups, members))
        if script != host.firewall:
            apply(host.netns, script)
            host.firewall = script
