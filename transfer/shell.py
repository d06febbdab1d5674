"""The ``Shell`` protocol, quoting helpers, and ``LocalShell`` (subprocess).

Commands are data: an argv list (``str`` or ``bytes`` items, so file names that are not UTF-8 can be passed)
or a shell string. An argv is quoted with :func:`join_argv` only at the edge, where a remote sshd needs one
string. ``sudo=True`` always means ``sudo -n`` (no tty, no password prompt: fail instead of hanging).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, Protocol, runtime_checkable

from transfer._log import get_logger
from transfer.commands import parse_which, which_argv
from transfer.errors import CommandTimeout, RemoteCommandError
from transfer.result import CommandResult

__all__ = [
    "Command",
    "LocalShell",
    "OutputCallback",
    "Shell",
    "build_command",
    "decode",
    "encode",
    "join_argv",
    "kill_process",
    "loggable",
    "missing_tools",
    "quote",
    "strip_sudo_noise",
    "supervised",
]

log = get_logger(__name__)

#: A command: an argv (items may be bytes) or a shell string.
Command = Sequence[str | bytes] | str
#: Receives raw stdout chunks as they arrive (for progress parsing).
OutputCallback = Callable[[bytes], None]


def decode(data: bytes) -> str:
    """Bytes to str without loss (UTF-8 + surrogateescape, like ``os.fsdecode``)."""
    return data.decode("utf-8", "surrogateescape")


def encode(text: str) -> bytes:
    """Inverse of :func:`decode`."""
    return text.encode("utf-8", "surrogateescape")


def quote(arg: str | bytes | os.PathLike[str]) -> str:
    """Quote one argument for a POSIX shell; bytes survive through surrogateescape."""
    if isinstance(arg, bytes):
        arg = decode(arg)
    return shlex.quote(os.fspath(arg))


def join_argv(argv: Sequence[str | bytes | os.PathLike[str]]) -> str:
    """Quote an argv into one POSIX shell command line (the inverse of ``sh -c``)."""
    return " ".join(quote(a) for a in argv)


def build_command(command: Command, *, sudo: bool = False, env: Mapping[str, str] | None = None) -> str:
    """The shell command line that runs ``command`` with optional ``sudo -n`` and environment.

    The environment is passed through ``env`` on the command line (sshd drops ``AcceptEnv``-less variables,
    and ``sudo`` would reset them anyway). A shell string runs under ``sh -c`` when sudo or env is used, so
    pipes and redirections apply to the whole string, not just its first word.
    """
    env_argv: list[str] = []
    if env:
        for key in env:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise ValueError(f"bad environment variable name: {key!r}")
        env_argv = ["env", *(f"{k}={v}" for k, v in env.items())]
    prefix = ["sudo", "-n", "--"] if sudo else []
    if isinstance(command, str):
        if not prefix and not env_argv:
            return command
        return join_argv([*prefix, *env_argv, "sh", "-c", command])
    if not command:
        raise ValueError("empty command")
    return join_argv([*prefix, *env_argv, *command])


def loggable(command: Command, *, sudo: bool, env: Mapping[str, str] | None) -> dict[str, object]:
    """Log fields for a command: the command line without the environment values, and the variable names.

    Environment values are often secrets (tokens, passwords); they must not reach the logs (STYLE P11).
    """
    fields: dict[str, object] = {"command": build_command(command, sudo=sudo)}
    if env:
        fields["env"] = sorted(env)
    return fields


_SUDO_NOISE = re.compile(r"^sudo: unable to resolve host .*$\n?", re.MULTILINE)


def strip_sudo_noise(stderr: str) -> str:
    """Drop the warnings a cloud image's sudo prints when its hostname is not in /etc/hosts."""
    return _SUDO_NOISE.sub("", stderr)


def kill_process(proc: subprocess.Popen[bytes]) -> None:
    """Kill ``proc`` if it still runs: its whole process group when it leads one (``LocalShell.popen``
    starts a new session for that), else just the process (an ``ssh`` client shares our group)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(proc.pid) == proc.pid:
            with contextlib.suppress(
                PermissionError
            ):  # a member we may not signal (sudo): the leader still goes
                os.killpg(proc.pid, signal.SIGKILL)
        proc.kill()


@contextlib.contextmanager
def supervised(proc: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    """Yield ``proc``; when the block ends (normally, on an error or an interrupt) kill and reap it."""
    try:
        yield proc
    finally:
        kill_process(proc)
        proc.wait()


@runtime_checkable
class Shell(Protocol):
    """Something that runs commands: :class:`LocalShell`, :class:`transfer.SSHShell`, :class:`FakeShell`."""

    def run(
        self,
        command: Command,
        *,
        sudo: bool = False,
        check: bool = True,
        input: bytes | str | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        on_stdout: OutputCallback | None = None,
    ) -> CommandResult:
        """Run ``command`` and return its result.

        Args:
            command: argv list or shell string.
            sudo: Run through ``sudo -n``.
            check: Raise :class:`RemoteCommandError` on a non-zero exit.
            input: Data for the command's stdin (stdin is closed afterwards, or at once when None).
            timeout: Seconds before the command is killed and :class:`CommandTimeout` raised.
            env: Extra environment variables, passed as ``env NAME=value`` on the command line. Their
                values are kept out of the logs, but the host's process list and a failed command's
                :class:`RemoteCommandError` show them: pass secrets through ``input`` instead.
            on_stdout: Called with each stdout chunk as it arrives. If it raises, the command is killed
                (this is how a caller aborts a transfer) and the exception propagates from ``run``.
        """
        ...


def missing_tools(shell: Shell, tools: Iterable[str], *, sudo: bool = True) -> list[str]:
    """The tools among ``tools`` that ``shell``'s host cannot run, in the order given (one command).

    Tools are looked up as ``sudo`` finds them: the PATH the command runs with, then /usr/local/sbin,
    /usr/sbin and /sbin (:data:`transfer.commands.TOOL_SEARCH_DIRS`), which a login PATH leaves out.
    With ``sudo=True`` (the default, for tools that will run under sudo) the lookup itself runs under
    ``sudo -n``, so a host where sudo is refused fails here with :class:`RemoteCommandError`.

    Raises:
        ValueError: A name that is not a plain command name.
        RemoteCommandError: The lookup could not run (e.g. ``sudo -n`` refused).
    """
    wanted = list(dict.fromkeys(tools))
    if not wanted:
        return []
    found = parse_which(shell.run(which_argv(*wanted), sudo=sudo).stdout)
    return [tool for tool in wanted if found.get(tool) is None]


def _pump(
    stream: IO[bytes],
    sink: list[bytes],
    callback: OutputCallback | None,
    failures: list[BaseException],
    abort: Callable[[], None],
) -> None:
    while chunk := stream.read1(65536):  # type: ignore[attr-defined]
        sink.append(chunk)
        if callback is not None and not failures:
            try:
                callback(chunk)
            except BaseException as exc:  # re-raised by the caller's thread once the command is gone
                failures.append(exc)
                abort()


def _feed(stream: IO[bytes], data: bytes) -> None:
    try:
        stream.write(data)
        stream.close()
    except OSError:  # BrokenPipe: the command did not read all of it (or was killed); its exit code tells
        pass


class LocalShell:
    """Runs commands on this machine with :mod:`subprocess` (the local side of rsync and tests)."""

    host = "localhost"

    def run(
        self,
        command: Command,
        *,
        sudo: bool = False,
        check: bool = True,
        input: bytes | str | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        on_stdout: OutputCallback | None = None,
    ) -> CommandResult:
        """Run ``command`` locally (see :meth:`Shell.run`)."""
        line = build_command(command, sudo=sudo, env=env)
        argv: Sequence[str | bytes]
        argv = ["sh", "-c", line] if isinstance(command, str) or sudo or env else list(command)
        log.debug("local.run", **loggable(command, sudo=sudo, env=env))
        # A new session so that a timeout can kill the whole process group we started, and nothing else.
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        out: list[bytes] = []
        err: list[bytes] = []
        assert proc.stdout is not None and proc.stderr is not None
        failures: list[BaseException] = []

        def abort() -> None:
            os.killpg(proc.pid, signal.SIGKILL)

        readers = [
            threading.Thread(target=_pump, args=(proc.stdout, out, on_stdout, failures, abort), daemon=True),
            threading.Thread(target=_pump, args=(proc.stderr, err, None, failures, abort), daemon=True),
        ]
        if input is not None:
            # Fed from a thread too: a command that does not read its stdin must not block us past the
            # timeout (a blocking write would only return when the command exits).
            assert proc.stdin is not None
            data = encode(input) if isinstance(input, str) else input
            readers.append(threading.Thread(target=_feed, args=(proc.stdin, data), daemon=True))
        for t in readers:
            t.start()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise CommandTimeout(line, timeout or 0) from exc
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        finally:
            for t in readers:
                t.join()
        if failures:
            raise failures[0]
        stderr = decode(b"".join(err))
        result = CommandResult(
            line, proc.returncode, decode(b"".join(out)), strip_sudo_noise(stderr) if sudo else stderr
        )
        if check and not result.ok:
            raise RemoteCommandError(result, host=self.host)
        return result

    @contextlib.contextmanager
    def popen(
        self, command: Command, *, sudo: bool = False, **popen_kwargs: Any
    ) -> Iterator[subprocess.Popen[bytes]]:
        """Start ``command`` here for byte streams, in a new session of its own.

        When the block ends, whatever of it still runs is killed: the whole process group, so that the
        programs of a pipeline (``dd | zstd``) go too, not only the ``sh`` that started them.
        """
        argv = ["sh", "-c", build_command(command, sudo=sudo)]
        with supervised(subprocess.Popen(argv, start_new_session=True, **popen_kwargs)) as proc:
            yield proc

    def __repr__(self) -> str:
        return "LocalShell()"
