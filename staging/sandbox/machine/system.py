"""Small process helpers shared by the sandbox modules: run a tool, find a tool, stop a process by pid."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from staging._log import get_logger
from staging.sandbox.errors import SandboxError

log = get_logger(__name__)

#: sbin directories are not on every user's PATH, but the tools we need live there.
SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"]
)


def which(tool: str) -> str | None:
    """Absolute path of ``tool`` on PATH plus the sbin directories, or None."""
    return shutil.which(tool, path=SEARCH_PATH)


def run(argv: Sequence[str], *, check: bool = True, input: bytes | None = None) -> str:
    """Run ``argv`` and return its stdout (text); raise :class:`SandboxError` with stderr on failure.

    Args:
        argv: Command and arguments (never a shell string).
        check: Raise when the exit status is not zero.
        input: Bytes to feed on stdin.
    """
    proc = subprocess.run(
        list(argv),
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    if check and proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise SandboxError(f"{' '.join(argv)} failed with status {proc.returncode}: {err}")
    return proc.stdout.decode("utf-8", "replace")


def pid_alive(pid: int) -> bool:
    """True if a process with ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def pid_argv(pid: int) -> list[str]:
    """The command line of ``pid`` as its argument list ([] when it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [arg.decode("utf-8", "surrogateescape") for arg in raw.split(b"\0")[:-1]]


def terminate_pid(pid: int, *, timeout: float = 5.0) -> None:
    """SIGTERM ``pid``, wait up to ``timeout`` seconds, then SIGKILL it (no error if it is gone)."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap(pid)
            if not pid_alive(pid):
                return
            time.sleep(0.02)
    log.warning("sandbox.process_survived", pid=pid)


def become_subreaper() -> None:
    """Make orphaned descendants (sshd sessions) our children, so :func:`reap_orphans` can collect them.

    Without this they would be re-parented to pid 1, which on minimal containers never reaps them.
    """
    import ctypes

    pr_set_child_subreaper = 36
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)


def reap_orphans() -> None:
    """Collect every exited child. Only call where no ``subprocess`` call of ours can be running."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _reap(pid: int) -> None:
    """Collect ``pid`` if it is our own child (otherwise it would stay a zombie until we exit)."""
    with suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


@contextmanager
def machine_lock(timeout: float = 60.0) -> Iterator[None]:
    """Hold the machine-wide sandbox lock (choosing a network, taking or releasing shared resources).

    The lock is an abstract unix socket name: binding it is exclusive, the kernel drops it when the holder
    dies, and it leaves no file behind (a lock file would be one more thing ``down`` could not remove).
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock.bind("\0vmec2-sandbox-lock")
            break
        except OSError:
            if time.monotonic() > deadline:
                sock.close()
                raise SandboxError("timed out waiting for the machine-wide sandbox lock") from None
            time.sleep(0.05)
    try:
        yield
    finally:
        sock.close()
