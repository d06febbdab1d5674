"""Remove everything a sandbox made, from its state file alone (works after a crash: ``down --force``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

from staging._log import get_logger
from staging.sandbox._state import DAEMON_LOG, STATE_FILE, read_state
from staging.sandbox.errors import EnvironmentProblem, SandboxError
from staging.sandbox.machine import shared as _shared
from staging.sandbox.machine.net import delete_host_net, delete_link, list_netns, netns_pids
from staging.sandbox.machine.system import pid_alive, pid_argv, run, terminate_pid
from staging.sandbox.machine.volumes import loop_detach, loops_backed_under

log = get_logger(__name__)


def is_daemon(pid: int, state_dir: Path) -> bool:
    """True if ``pid`` is this sandbox's daemon (not a recycled pid, nor the daemon of another state dir).

    The daemon's ``--state-dir`` argument must name ``state_dir`` itself (symlinks resolved), not merely
    contain it as a substring (``/tmp/cloud`` is not ``/tmp/cloud2``).
    """
    argv = pid_argv(pid)
    if not pid_alive(pid) or "staging.sandbox" not in argv or "--state-dir" not in argv:
        return False
    index = argv.index("--state-dir") + 1
    return index < len(argv) and Path(argv[index]).resolve() == Path(state_dir).resolve()


def teardown(state_dir: Path) -> None:
    """Stop the daemon and remove hosts, loop devices, namespaces, bridge, shared references and files.

    Each step tolerates resources that are already gone, so it can be repeated after a partial failure.

    Raises:
        SandboxError: ``state_dir`` exists but holds no sandbox state (nothing is deleted then).
        EnvironmentProblem: Not root (nothing is touched: a half-done teardown would strand the hosts).
    """
    state_dir = Path(state_dir).absolute()
    if not state_dir.exists():
        return
    state = read_state(state_dir)
    if not state and any(not _starter_file(p.name) for p in state_dir.iterdir()):
        raise SandboxError(f"{state_dir} holds no sandbox state; refusing to delete it")
    if os.geteuid() != 0:
        raise EnvironmentProblem(
            f"removing the sandbox in {state_dir} needs root; run it as root or with sudo"
        )
    pid = state.get("daemon_pid")
    if isinstance(pid, int) and is_daemon(pid, state_dir):
        terminate_pid(pid, timeout=20.0)
        # Read again: a daemon still starting may have recorded (and created) more until it died.
        state = read_state(state_dir)
    token = str(state.get("token", ""))
    hosts: dict[str, dict[str, str]] = state.get("hosts", {})
    # Namespaces named after our token that the state may not list (defence in depth).
    extra = [ns for ns in list_netns() if token and ns.startswith(f"vsb{token}-")]
    all_netns = {h["netns"]: h.get("veth", "") for h in hosts.values()}
    for ns in extra:
        all_netns.setdefault(ns, f"vsb{token}h{ns.rsplit('-', 1)[1]}")
    _kill_namespaces(list(all_netns))
    _unmount_under(state_dir.resolve())  # /proc/mounts shows resolved paths
    for device in loops_backed_under(state_dir):
        loop_detach(device)
    for ns, veth in all_netns.items():
        delete_host_net(ns, veth)
    network = state.get("network") or {}
    if network.get("bridge"):
        delete_link(network["bridge"])
    if state.get("shared") and token:
        _shared.release(token)
    shutil.rmtree(state_dir, ignore_errors=True)
    log.info("sandbox.down", state_dir=str(state_dir))


def _starter_file(name: str) -> bool:
    """True for the files a sandbox has before its state holds anything (the daemon's log, the state)."""
    return name in (STATE_FILE, DAEMON_LOG) or name.startswith(f".{STATE_FILE}.")


def _kill_namespaces(namespaces: list[str]) -> None:
    """SIGKILL every process of the hosts and wait until they are gone (their mounts go with them)."""
    pids: list[int] = []
    for ns in namespaces:
        pids += netns_pids(ns)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        for p in pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(p, os.WNOHANG)
        time.sleep(0.02)


def _unmount_under(directory: Path) -> None:
    """Lazily unmount anything mounted below ``directory`` in this mount namespace (deepest first)."""
    prefix = str(directory) + "/"
    mounts = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        target = line.split()[1].replace("\\040", " ")
        if target.startswith(prefix):
            mounts.append(target)
    for target in sorted(mounts, reverse=True):
        run(["umount", "-l", target], check=False)
