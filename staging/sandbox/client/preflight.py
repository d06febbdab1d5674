"""Check, before anything is created, that this machine can host a sandbox (root, tools, kernel features)."""

from __future__ import annotations

import os
from pathlib import Path

from staging.sandbox.errors import EnvironmentProblem
from staging.sandbox.machine.system import which

#: Each tool the sandbox runs, and the Debian package that ships it.
REQUIRED_TOOLS: dict[str, str] = {
    "sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
    "rsync": "rsync",
    "losetup": "mount",
    "nsenter": "util-linux",
    "unshare": "util-linux",
    "ip": "iproute2",
    "mkfs.ext4": "e2fsprogs",
    "useradd": "passwd",
    "userdel": "passwd",
    "sudo": "sudo",
    "nft": "nftables",
}


def missing_tools() -> dict[str, str]:
    """Tools of :data:`REQUIRED_TOOLS` that are not installed, mapped to their package."""
    return {tool: pkg for tool, pkg in REQUIRED_TOOLS.items() if which(tool) is None}


def check_environment() -> None:
    """Raise :class:`EnvironmentProblem` naming what to fix, or return if a sandbox can start here.

    Raises:
        EnvironmentProblem: Not root, a tool is missing (the message has the ``apt-get install`` line), or the
            kernel lacks loop devices / network namespaces.
    """
    problems: list[str] = []
    if os.geteuid() != 0:
        problems.append(
            "the sandbox needs root (it creates network namespaces, loop devices and a login user); "
            "run it as root or with sudo"
        )
    missing = missing_tools()
    if missing:
        packages = " ".join(sorted(set(missing.values())))
        problems.append(
            f"missing tools: {', '.join(sorted(missing))}; install them with: apt-get install -y {packages}"
        )
    if not Path("/dev/loop-control").exists():
        problems.append("no /dev/loop-control: load the loop module (modprobe loop; Debian package kmod)")
    if not Path("/proc/self/ns/net").exists():
        problems.append("this kernel has no network namespaces")
    if problems:
        raise EnvironmentProblem("cannot start a sandbox: " + "; ".join(problems))
