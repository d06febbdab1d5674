"""The nftables script built from security-group ingress rules (pure); moto stays out of the importer."""

from __future__ import annotations

import subprocess
import sys

from staging.sandbox.machine.firewall import TABLE, Permission, ruleset


def rules(*permissions: Permission) -> list[str]:
    """The accept rules of the script (without the fixed head: drop policy, established, loopback)."""
    lines = [line.strip() for line in ruleset(permissions).splitlines()]
    body = lines[lines.index('iif "lo" accept') + 1 :]
    return body[: body.index("}")]


def test_the_script_replaces_the_table_atomically_and_drops_by_default() -> None:
    """One transaction: add, delete and define the table; policy drop; replies and loopback accepted."""
    script = ruleset([])
    assert script.splitlines()[:3] == [
        f"add table inet {TABLE}",
        f"delete table inet {TABLE}",
        f"table inet {TABLE} {{",
    ]
    assert "policy drop;" in script
    assert "ct state established,related accept" in script
    assert rules() == []


def test_protocols_ports_and_sources() -> None:
    """tcp/udp port ranges, icmp type and code, all traffic, numeric protocols; sources sorted and masked."""
    assert rules(Permission("tcp", 22, 22, ("10.0.0.9/8", "1.2.3.4/32"))) == [
        "tcp dport 22 ip saddr { 1.2.3.4/32, 10.0.0.0/8 } accept"
    ]
    assert rules(Permission("udp", 1000, 2000, ("0.0.0.0/0",))) == ["udp dport 1000-2000 accept"]
    assert rules(Permission("icmp", 8, -1, ("0.0.0.0/0",))) == ["icmp type 8 accept"]
    assert rules(Permission("icmp", 3, 4, ("0.0.0.0/0",))) == ["icmp type 3 icmp code 4 accept"]
    assert rules(Permission("icmp", -1, -1, ("0.0.0.0/0",))) == ["meta l4proto icmp accept"]
    assert rules(Permission("-1", None, None, ("5.6.7.0/24",))) == ["ip saddr { 5.6.7.0/24 } accept"]
    assert rules(Permission("50", None, None, ("0.0.0.0/0",))) == ["meta l4proto 50 accept"]


def test_a_rule_without_sources_allows_nothing() -> None:
    """A source group with no members (or an IPv6-only rule) adds no rule: nothing is let in by it."""
    assert rules(Permission("tcp", 22, 22, ())) == []


def test_importing_the_sandbox_does_not_import_moto() -> None:
    """moto reads its settings (AMI validation, ...) at import: only the daemon may import it, after setting
    them, so the public package and the cloud model must not."""
    code = "import sys, staging.sandbox, staging.sandbox.daemon.cloud\n"
    code += "print(any(m.startswith('moto') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
