"""A peer that vanishes without a word (no FIN, no RST) is given up after dead_peer_timeout.

The server is an sshd in a network namespace of the test's own, behind a veth pair; taking the namespace's
end of the link down makes the host vanish silently, as a powered-off machine or a cut cable would.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from transfer import ConnectError, SSHShell
from transfer.hostkeys import HostKeyPins
from transfer.testing import SshdServer

from .conftest import KeyPair

pytestmark = pytest.mark.skipif(not Path("/usr/sbin/ip").exists(), reason="needs iproute2")


def _used_networks() -> list[ipaddress.IPv4Network]:
    routes = json.loads(
        subprocess.run(
            ["ip", "-j", "route", "show", "table", "all"], capture_output=True, text=True, check=True
        ).stdout
        or "[]"
    )
    addrs = json.loads(
        subprocess.run(["ip", "-j", "addr"], capture_output=True, text=True, check=True).stdout
    )
    used = []
    for r in routes:
        dst = r.get("dst", "")
        if dst and dst != "default" and ":" not in dst:
            with contextlib.suppress(ValueError):
                used.append(ipaddress.ip_network(dst, strict=False))
    for link in addrs:
        for a in link.get("addr_info", []):
            if a.get("family") == "inet":
                used.append(ipaddress.ip_network(f"{a['local']}/{a['prefixlen']}", strict=False))
    return used


def _free_pair() -> ipaddress.IPv4Network:
    """A /30 in 198.19.128.0/17 (benchmarking range) that overlaps nothing the machine routes."""
    used = _used_networks()
    for net in ipaddress.ip_network("198.19.128.0/17").subnets(new_prefix=30):
        if not any(net.overlaps(u) for u in used):
            return net
    pytest.skip("no free /30 for a test namespace")


def _allow(cidr: str) -> None:
    for module in list(sys.modules.values()):  # tests/conftest.py's network guard
        if (getattr(module, "__file__", "") or "").endswith("tests/conftest.py") and hasattr(
            module, "allow_network"
        ):
            module.allow_network(cidr)


@pytest.fixture
def namespaced_sshd(tmp_path: Path, client_key: KeyPair) -> Iterator[tuple[SshdServer, str, str]]:
    """An sshd on port 22 in a fresh namespace reached over a veth pair; everything removed afterwards."""
    token = secrets.token_hex(3)
    ns, outer, inner = f"tdp-{token}", f"tdpo{token}", f"tdpi{token}"
    net = _free_pair()
    here, there = (str(h) for h in list(net.hosts())[:2])
    ip = ["ip"]
    server = None
    try:
        subprocess.run([*ip, "netns", "add", ns], check=True)
        subprocess.run(
            [*ip, "link", "add", outer, "type", "veth", "peer", "name", inner, "netns", ns], check=True
        )
        subprocess.run([*ip, "addr", "add", f"{here}/30", "dev", outer], check=True)
        subprocess.run([*ip, "link", "set", outer, "up"], check=True)
        for cmd in (
            ["addr", "add", f"{there}/30", "dev", inner],
            ["link", "set", inner, "up"],
            ["link", "set", "lo", "up"],
        ):
            subprocess.run([*ip, "netns", "exec", ns, "ip", *cmd], check=True)
        _allow(str(net))
        server = SshdServer(
            tmp_path / "sshd",
            authorized_keys=[client_key.public],
            listen_address=there,
            port=22,
            prefix_argv=["ip", "netns", "exec", ns],
        )
        server.start()
        yield server, there, ns
    finally:
        if server is not None:
            server.stop()
        subprocess.run([*ip, "link", "del", outer], capture_output=True)
        subprocess.run([*ip, "netns", "del", ns], capture_output=True)


def test_vanished_peer_fails_with_connect_error(
    namespaced_sshd: tuple[SshdServer, str, str], client_key: KeyPair
) -> None:
    """A command running when the host vanishes fails with ConnectError once dead_peer_timeout passes."""
    server, address, ns = namespaced_sshd
    pins = HostKeyPins.from_public_keys(server.host_public_keys())
    shell = SSHShell(
        address, key_filename=client_key.private, host_keys=pins, keepalive=1, dead_peer_timeout=3
    )
    with shell:
        assert shell.run(["echo", "up"]).stdout.strip() == "up"
        outcome: list[BaseException | str] = []

        def long_command() -> None:
            try:
                shell.run(["sleep", "600"])
                outcome.append("finished")
            except BaseException as exc:  # the test inspects whatever ended it
                outcome.append(exc)

        worker = threading.Thread(target=long_command, daemon=True)
        worker.start()
        inner = json.loads(
            subprocess.run(["ip", "-n", ns, "-j", "link"], capture_output=True, text=True, check=True).stdout
        )
        veth = next(link["ifname"] for link in inner if link["ifname"] != "lo")
        subprocess.run(["ip", "-n", ns, "link", "set", "dev", veth, "down"], check=True)  # silently gone
        worker.join(timeout=120)  # a bound for the test itself, far above the 3 s being checked
        assert not worker.is_alive(), "the command still hangs after the peer vanished"
        assert len(outcome) == 1 and isinstance(outcome[0], ConnectError), outcome
