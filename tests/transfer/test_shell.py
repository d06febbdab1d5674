"""Quoting, command building and LocalShell."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from transfer.errors import CommandTimeout, RemoteCommandError
from transfer.result import CommandResult
from transfer.shell import LocalShell, build_command, join_argv, quote, strip_sudo_noise

HOSTILE = ["a b", "it's", '"dq"', "$(touch x)", "`id`", "new\nline", "-rf", "*", "ünï ☃", "", "back\\slash"]


@pytest.mark.parametrize("arg", HOSTILE)
def test_quote_round_trips_through_sh(arg: str) -> None:
    """sh receives exactly the argument that was quoted."""
    out = subprocess.run(["sh", "-c", f"printf %s {quote(arg)}"], capture_output=True, check=True).stdout
    assert out == arg.encode()


def test_quote_bytes_non_utf8_round_trip() -> None:
    """Non-UTF-8 bytes survive quoting (surrogateescape) and reach the program unchanged."""
    raw = b"\xff\xfe name"
    out = subprocess.run(["sh", "-c", "printf %s " + quote(raw)], capture_output=True, check=True).stdout
    assert out == raw


@pytest.mark.parametrize(
    ("command", "kwargs", "expected"),
    [
        (["ls", "-l", "a b"], {}, "ls -l 'a b'"),
        ("echo $HOME | wc", {}, "echo $HOME | wc"),
        (["id"], {"sudo": True}, "sudo -n -- id"),
        ("a | b", {"sudo": True}, "sudo -n -- sh -c 'a | b'"),
        (["env"], {"env": {"A": "1 2"}}, "env 'A=1 2' env"),
        (["x"], {"sudo": True, "env": {"K": "v"}}, "sudo -n -- env K=v x"),
    ],
)
def test_build_command(command: list[str] | str, kwargs: dict[str, object], expected: str) -> None:
    """sudo is always non-interactive, env goes after sudo, strings run under sh -c when wrapped."""
    assert build_command(command, **kwargs) == expected  # type: ignore[arg-type]


def test_build_command_rejects_bad_env_name_and_empty_argv() -> None:
    """Environment names are validated; an empty argv is an error."""
    with pytest.raises(ValueError):
        build_command(["x"], env={"A B": "1"})
    with pytest.raises(ValueError):
        build_command([])


def test_join_argv_is_shlex_compatible() -> None:
    """join_argv output splits back into the same argv."""
    assert shlex.split(join_argv(HOSTILE)) == HOSTILE


def test_strip_sudo_noise() -> None:
    """Only sudo's hostname warnings are removed from stderr."""
    err = "sudo: unable to resolve host ip-10-0-0-1: Name or service not known\nreal error\n"
    assert strip_sudo_noise(err) == "real error\n"


def test_result_ok_and_tail() -> None:
    """CommandResult.ok reflects the exit code; tail() gives the last lines of a stream."""
    r = CommandResult("c", 1, "o1\no2\n", "\n".join(f"e{i}" for i in range(20)))
    assert not r.ok and CommandResult("c", 0).ok
    assert r.tail(2) == "e18\ne19"
    assert r.tail(1, stream="stdout") == "o2"


def test_local_shell_runs_and_reports() -> None:
    """LocalShell returns stdout, stderr and the exit code."""
    r = LocalShell().run("echo out; echo err >&2; exit 3", check=False)
    assert (r.exit_code, r.stdout, r.stderr) == (3, "out\n", "err\n")


def test_local_shell_failure_message_has_command_code_and_stderr() -> None:
    """A failing command raises RemoteCommandError naming the command, exit code and stderr tail."""
    with pytest.raises(RemoteCommandError) as info:
        LocalShell().run(["sh", "-c", "echo boom >&2; exit 7"])
    assert info.value.result.exit_code == 7
    assert "exit code 7" in str(info.value) and "boom" in str(info.value) and "sh -c" in str(info.value)


def test_local_shell_input_env_sudo_and_bytes() -> None:
    """stdin, env, sudo -n and non-UTF-8 argv items all work locally."""
    sh = LocalShell()
    assert sh.run(["cat"], input=b"x" * 200_000).stdout == "x" * 200_000
    assert sh.run("echo $GREETING", env={"GREETING": "hi there"}).stdout == "hi there\n"
    assert sh.run(["id", "-u"], sudo=True).stdout.strip() == "0"
    assert os.fsencode(sh.run(["printf", "%s", b"\xff"]).stdout) == b"\xff"


def test_local_shell_timeout_kills() -> None:
    """A command past its timeout is killed and CommandTimeout raised."""
    with pytest.raises(CommandTimeout):
        LocalShell().run(["sleep", "30"], timeout=0.2)


def test_local_shell_callback_can_abort() -> None:
    """An exception from on_stdout kills the command and propagates."""

    class Stop(Exception):
        pass

    def cb(chunk: bytes) -> None:
        raise Stop

    with pytest.raises(Stop):
        LocalShell().run("echo start; sleep 30", on_stdout=cb)


def _gone(pid: int) -> bool:
    """True when ``pid`` has exited (no such process, or only a zombie waiting for its new parent)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_local_popen_kills_the_whole_pipeline(tmp_path: Path) -> None:
    """When the popen block ends, every program of the pipeline is killed, not only the sh running it."""
    pidfile = tmp_path / "pid"
    inner = f"sh -c 'echo $$ > {pidfile}; exec sleep 300' | cat"
    with LocalShell().popen(inner, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        deadline = time.monotonic() + 30
        while not (pidfile.exists() and pidfile.read_text().endswith("\n")):
            assert time.monotonic() < deadline, "the pipeline did not start"
            time.sleep(0.01)
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 30
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        assert _gone(pid), "sleep of the pipeline survived"
    finally:
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)


def test_local_shell_timeout_holds_when_stdin_is_not_read() -> None:
    """A command that never reads its (large) input still times out instead of blocking the writer."""
    with pytest.raises(CommandTimeout):
        LocalShell().run(["sleep", "10"], input=b"x" * (4 << 20), timeout=0.5)
    assert LocalShell().run(["wc", "-c"], input=b"x" * (4 << 20)).stdout.strip() == str(4 << 20)
