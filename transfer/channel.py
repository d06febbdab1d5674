"""Running one command on one paramiko channel: output pumping, stdin, timeouts, and killing it on the host.

:class:`transfer.SSHShell` opens the channel; :func:`run_on_channel` does the rest. Closing a channel does
not stop a remote command (sshd lets it run until it writes to the closed pipe, and it refuses SSH
"signal" requests from root logins), so every command reports its process group first and a command we
give up on (timeout, a raising ``on_stdout``, an interrupt) is handed to a ``kill`` callback.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import paramiko

from transfer.errors import CommandTimeout, ConnectError, translate_ssh_errors
from transfer.result import CommandResult
from transfer.shell import OutputCallback, decode, encode, join_argv, strip_sudo_noise

__all__ = ["run_on_channel", "split_pid_report"]

#: The command line ($1) runs in a sh that first reports its pid on stderr. sshd makes the login shell a
#: session and process group leader and both execs keep its pid, so that pid is the group of the whole
#: command tree: what ``kill`` of :func:`run_on_channel` gets when a timeout or an abort gives up on it.
_REPORT_PID = 'printf "transfer-pid:%s\\n" "$$" >&2; exec sh -c "$1"'
_PID_MARK = b"transfer-pid:"
#: Seconds to wait for that pid line before giving up on killing (the command may never have started).
_PID_WAIT = 5.0


def split_pid_report(stderr: bytes) -> tuple[int | None, bytes]:
    """(pid reported by :data:`_REPORT_PID`, the command's own stderr) (pure)."""
    if stderr.startswith(_PID_MARK):
        head, sep, rest = stderr.partition(b"\n")
        digits = head[len(_PID_MARK) :]
        if sep and digits.isdigit() and int(digits) > 1:
            return int(digits), rest
    return None, stderr


def run_on_channel(
    chan: paramiko.Channel,
    line: str,
    *,
    host: str,
    port: int,
    sudo: bool,
    input: bytes | str | None,
    timeout: float | None,
    on_stdout: OutputCallback | None,
    status_timeout: float,
    kill: Callable[[int], None] | None,
) -> CommandResult:
    """Run the shell command ``line`` on the open session ``chan`` and collect its result (not checked).

    Args:
        chan: A fresh session channel (the caller closes it).
        line: The command line as :func:`transfer.shell.build_command` made it.
        host: For messages.
        port: For messages.
        sudo: The command runs through sudo (its hostname noise is dropped from stderr).
        input: Data for stdin, or None.
        timeout: Seconds before :class:`CommandTimeout`.
        on_stdout: Called with each stdout chunk; if it raises, the command is given up and it propagates.
        status_timeout: Seconds to wait for the exit status after the output ended.
        kill: Called with the remote process group of a command that was given up; None: don't.

    Raises:
        CommandTimeout: ``timeout`` passed.
        ConnectError: The connection died before an exit status arrived.
    """
    out: list[bytes] = []
    err: list[bytes] = []
    failures: list[BaseException] = []
    finished = threading.Event()  # both streams are at EOF, or reading one failed
    pid_seen = threading.Event()  # the pid line (or the end of stderr) has arrived
    streams_open = [2]
    count_lock = threading.Lock()

    def pump(recv: Callable[[int], bytes], sink: list[bytes], callback: OutputCallback | None) -> None:
        try:
            while data := recv(65536):
                sink.append(data)
                if sink is err and not pid_seen.is_set() and b"\n" in b"".join(err):
                    pid_seen.set()
                if callback is not None and not failures:
                    callback(data)
        except BaseException as exc:  # a callback abort or a dropped connection: stop waiting
            failures.append(exc)
            finished.set()
        finally:
            if sink is err:
                pid_seen.set()
            with count_lock:
                streams_open[0] -= 1
                if not streams_open[0]:
                    finished.set()

    deadline = time.monotonic() + timeout if timeout is not None else None
    over = False  # True once the output is at EOF: then the command has ended and nothing needs killing
    try:
        with translate_ssh_errors(host, port):
            chan.exec_command(encode(join_argv(["exec", "sh", "-c", _REPORT_PID, "sh", line])))
            for recv, sink, callback in ((chan.recv, out, on_stdout), (chan.recv_stderr, err, None)):
                threading.Thread(target=pump, args=(recv, sink, callback), daemon=True).start()
            if input is not None:
                chan.settimeout(timeout)
                try:
                    chan.sendall(encode(input) if isinstance(input, str) else input)
                except TimeoutError as exc:
                    raise CommandTimeout(line, timeout or 0, host=host) from exc
                except OSError:  # the command closed its stdin early; its exit status tells the story
                    pass
                chan.settimeout(None)
            chan.shutdown_write()
            if not finished.wait(None if deadline is None else max(0.0, deadline - time.monotonic())):
                raise CommandTimeout(line, timeout or 0, host=host)
            if failures:
                raise failures[0]
            over = True
            # Output is at EOF; the exit status follows on the wire right behind it.
            got_status = chan.status_event.wait(
                status_timeout if deadline is None else max(0.0, deadline - time.monotonic()) + 1
            )
    finally:
        if not over:
            if kill is not None:  # the pid line comes first; wait (briefly) while the channel is open
                pid_seen.wait(min(status_timeout, _PID_WAIT))
            chan.close()
            if kill is not None:
                pgid, _ = split_pid_report(b"".join(err))
                if pgid is not None:
                    kill(pgid)
    exit_code = chan.exit_status if got_status else -1
    # paramiko leaves -1 when no exit status arrived: the command was killed by a signal, or the
    # connection died (then the transport is inactive, and an exit code would be a lie).
    transport = chan.get_transport()
    if exit_code == -1 and (transport is None or not transport.is_active()):
        raise ConnectError(f"connection to {host}:{port} lost while running: {line}")
    _, raw_err = split_pid_report(b"".join(err))
    stderr = decode(raw_err)
    result = CommandResult(
        line, exit_code, decode(b"".join(out)), strip_sudo_noise(stderr) if sudo else stderr
    )
    return result
