"""SSHShell against real sshd servers on loopback."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from transfer.channel import split_pid_report
from transfer.errors import (
    AuthenticationError,
    CommandTimeout,
    ConnectError,
    HostKeyMismatch,
    RemoteCommandError,
)
from transfer.hostkeys import HostKeyPins
from transfer.openssh import ssh_argv
from transfer.shell import LocalShell, missing_tools
from transfer.ssh import SSHShell, load_private_key
from transfer.testing import SshdServer, free_port

from .conftest import KeyPair


@pytest.fixture
def shell(sshd: SshdServer, client_key: KeyPair, sshd_pins: HostKeyPins) -> Iterator[SSHShell]:
    """An SSHShell to the session sshd with its host keys pinned."""
    with SSHShell(sshd.address, port=sshd.port, key_filename=client_key.private, host_keys=sshd_pins) as sh:
        yield sh


def test_run_argv_and_string(shell: SSHShell) -> None:
    """argv items arrive intact (spaces, quotes, $(), non-UTF-8); strings run through the shell."""
    args = ["a b", "it's", "$(echo no)", "new\nline", "-n"]
    out = shell.run(["printf", "%s|", *args]).stdout
    assert out == "|".join(args) + "|"
    assert os.fsencode(shell.run(["printf", "%s", b"\xff\xfe"]).stdout) == b"\xff\xfe"
    assert shell.run("echo $((6 * 7)) | tr 4 X").stdout == "X2\n"


def test_exit_code_and_error_message(shell: SSHShell) -> None:
    """A failure raises RemoteCommandError with command, exit code and stderr tail; check=False returns."""
    r = shell.run("echo out; echo err >&2; exit 5", check=False)
    assert (r.exit_code, r.stdout, r.stderr, r.ok) == (5, "out\n", "err\n", False)
    with pytest.raises(RemoteCommandError) as info:
        shell.run(["sh", "-c", "for i in 1 2 3; do echo line$i >&2; done; exit 9"])
    msg = str(info.value)
    assert "exit code 9" in msg and "line3" in msg and "sh -c" in msg and info.value.result.exit_code == 9


def test_sudo_env_input(shell: SSHShell) -> None:
    """sudo -n works without a tty, hostname noise is dropped, env and stdin reach the command."""
    assert shell.run(["id", "-u"], sudo=True).stdout == "0\n"
    noisy = "echo 'sudo: unable to resolve host ip-10-1-2-3: Name or service not known' >&2; echo ok"
    r = shell.run(noisy, sudo=True)
    assert (r.stdout, r.stderr) == ("ok\n", "")
    assert shell.run("test -t 0 || echo notty").stdout == "notty\n"
    assert shell.run(["sh", "-c", 'echo "$X"'], env={"X": "a b"}, sudo=True).stdout == "a b\n"
    data = os.urandom(1 << 20)
    assert (
        shell.run(["sha256sum"], input=data).stdout.split()[0]
        == __import__("hashlib").sha256(data).hexdigest()
    )


def test_timeout_and_abort(shell: SSHShell) -> None:
    """A timeout raises CommandTimeout; a raising on_stdout aborts; the shell stays usable."""
    with pytest.raises(CommandTimeout):
        shell.run(["sleep", "30"], timeout=0.3)

    class Stop(Exception):
        pass

    def stop(chunk: bytes) -> None:
        raise Stop

    with pytest.raises(Stop):
        shell.run("echo go; sleep 30", on_stdout=stop)
    assert shell.run(["echo", "still"]).stdout == "still\n"


def test_wrong_host_key_refused_naming_both(
    sshd: SshdServer, sshd_factory: Callable[..., SshdServer], client_key: KeyPair
) -> None:
    """Pins of another server are refused with HostKeyMismatch naming the presented and expected prints."""
    other = sshd_factory()
    pins = HostKeyPins.from_public_keys(other.host_public_keys())
    sh = SSHShell(sshd.address, port=sshd.port, key_filename=client_key.private, host_keys=pins)
    with pytest.raises(HostKeyMismatch) as info:
        sh.run(["true"])
    msg = str(info.value)
    assert sshd.host_key_fingerprints()[0][1] in msg and other.host_key_fingerprints()[0][1] in msg


def test_no_pins_refused_unless_tofu(sshd: SshdServer, client_key: KeyPair) -> None:
    """Without pins every server is refused; trust_on_first_use accepts and then pins the first key."""
    with pytest.raises(HostKeyMismatch, match="none pinned"):
        SSHShell(sshd.address, port=sshd.port, key_filename=client_key.private).connect()
    with SSHShell(
        sshd.address, port=sshd.port, key_filename=client_key.private, trust_on_first_use=True
    ) as sh:
        sh.run(["true"])
        assert sh.pins.fingerprints == (sshd.host_key_fingerprints()[0][1],)


def test_fingerprint_pins_any_type(sshd: SshdServer, client_key: KeyPair) -> None:
    """A bare SHA256 fingerprint of the server's RSA key is accepted even though ed25519 is preferred."""
    rsa_fp = dict(sshd.host_key_fingerprints())["ssh-rsa"]
    with SSHShell(sshd.address, port=sshd.port, key_filename=client_key.private, host_keys=[rsa_fp]) as sh:
        assert sh.run(["true"]).ok
        assert sh.host_key is not None and sh.host_key.fingerprint == rsa_fp
    typed = [("RSA", rsa_fp)]
    with SSHShell(sshd.address, port=sshd.port, key_filename=client_key.private, host_keys=typed) as sh:
        assert sh.run(["true"]).ok


def test_pins_from_cloud_init_console(sshd: SshdServer, client_key: KeyPair) -> None:
    """Keys printed in a cloud-init console block pin the connection."""
    fps = "\n".join(
        f"ec2: 256 {fp} root@host ({t.split('-')[-1].upper()})" for t, fp in sshd.host_key_fingerprints()
    )
    console = "boot\nec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\n"
    console += f"{fps}\nec2: -----END SSH HOST KEY FINGERPRINTS-----\n"
    pins = HostKeyPins.from_cloud_init_console(console)
    with SSHShell(sshd.address, port=sshd.port, key_filename=client_key.private, host_keys=pins) as sh:
        assert sh.run(["true"]).ok


def test_private_key_in_memory(sshd: SshdServer, client_key: KeyPair, sshd_pins: HostKeyPins) -> None:
    """A private key given as text logs in; garbage key text is refused without echoing it."""
    text = client_key.private.read_text()
    with SSHShell(sshd.address, port=sshd.port, private_key=text, host_keys=sshd_pins) as sh:
        assert sh.run(["true"]).ok
        with sh.openssh_target() as target:
            assert target.key_file is not None
            assert stat.S_IMODE(os.stat(target.key_file).st_mode) == 0o600
            tmp = Path(target.key_file).parent
        assert not tmp.exists()
    with pytest.raises(ValueError, match="unreadable") as info:
        load_private_key("-----BEGIN OPENSSH PRIVATE KEY-----\nsecretgarbage\n")
    assert "secretgarbage" not in str(info.value)


def test_wrong_client_key(sshd: SshdServer, sshd_pins: HostKeyPins, tmp_path: Path) -> None:
    """A key the server does not know raises AuthenticationError."""
    key = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    with pytest.raises(AuthenticationError):
        SSHShell(sshd.address, port=sshd.port, key_filename=key, host_keys=sshd_pins).connect()


class FakeClock:
    """A clock that advances only when the code under test sleeps."""

    def __init__(self, on_sleep: Callable[[int], None] | None = None) -> None:
        self.now = 0.0
        self.sleeps = 0
        self.on_sleep = on_sleep

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep(self.sleeps)


def test_wait_until_reachable_gives_up_with_clear_error(client_key: KeyPair) -> None:
    """Connection refused is retried with backoff until the deadline, then ConnectError names the target."""
    port = free_port()
    clock = FakeClock()
    sh = SSHShell("127.0.0.1", port=port, key_filename=client_key.private, host_keys=["SHA256:" + "A" * 43])
    with pytest.raises(ConnectError, match=f"127.0.0.1:{port} not reachable within 20s") as info:
        sh.wait_until_reachable(20, clock=clock, sleep=clock.sleep)
    assert clock.sleeps >= 3 and isinstance(info.value.__cause__, ConnectError)
    assert clock.now == 20  # no sleeping past the deadline


def test_wait_until_reachable_while_server_boots(tmp_path: Path, client_key: KeyPair) -> None:
    """Refused while the host boots is retried; then success."""
    server = SshdServer(
        tmp_path / "late", authorized_keys=[client_key.public], port=free_port(), host_key_types=["ed25519"]
    )
    clock = FakeClock(lambda n: server.start() if n == 2 else None)
    try:
        sh = SSHShell("127.0.0.1", port=server.port, key_filename=client_key.private, trust_on_first_use=True)
        with sh.wait_until_reachable(60, clock=clock, sleep=clock.sleep):
            assert sh.run(["true"]).ok
        assert clock.sleeps == 2
    finally:
        server.stop()


def test_authentication_failure_is_not_retried(tmp_path: Path, client_key: KeyPair) -> None:
    """Refused is retried; a key the server refuses is not: AuthenticationError at once, naming the key."""
    server = SshdServer(tmp_path / "nokey", authorized_keys=[], port=free_port(), host_key_types=["ed25519"])
    clock = FakeClock(lambda n: server.start() if n == 1 else None)
    try:
        sh = SSHShell("127.0.0.1", port=server.port, key_filename=client_key.private, trust_on_first_use=True)
        key = re.escape(f"with key {client_key.private} (ssh-ed25519 SHA256:")
        with pytest.raises(AuthenticationError, match=key):
            sh.wait_until_reachable(60, clock=clock, sleep=clock.sleep)
        assert clock.sleeps == 1
    finally:
        server.stop()


def test_host_key_mismatch_is_not_retried(sshd: SshdServer, client_key: KeyPair) -> None:
    """wait_until_reachable stops at once on a wrong host key."""
    clock = FakeClock()
    sh = SSHShell(
        sshd.address, port=sshd.port, key_filename=client_key.private, host_keys=["SHA256:" + "B" * 43]
    )
    with pytest.raises(HostKeyMismatch):
        sh.wait_until_reachable(60, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == 0


def test_sftp_put_get_and_atomic_write(shell: SSHShell, tmp_path: Path) -> None:
    """put/get round-trip; write_file replaces atomically with the mode and no temp file left; sudo too."""
    src = tmp_path / "in.bin"
    src.write_bytes(os.urandom(100_000))
    src.chmod(0o640)
    remote = str(tmp_path / "remote dir")
    shell.run(["mkdir", "-p", remote])
    shell.put(src, f"{remote}/f")
    assert stat.S_IMODE(os.stat(f"{remote}/f").st_mode) == 0o640
    shell.get(f"{remote}/f", tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == src.read_bytes()
    shell.write_file(f"{remote}/conf", "one\n", mode=0o600)
    shell.write_file(f"{remote}/conf", "two\n", mode=0o600)
    assert shell.read_file(f"{remote}/conf") == b"two\n"
    assert stat.S_IMODE(os.stat(f"{remote}/conf").st_mode) == 0o600
    shell.write_file(f"{remote}/root", b"\x00\xff", mode=0o644, sudo=True)
    assert shell.read_file(f"{remote}/root", sudo=True) == b"\x00\xff"
    assert stat.S_IMODE(os.stat(f"{remote}/root").st_mode) == 0o644
    assert sorted(os.listdir(remote)) == ["conf", "f", "root"]


def test_lazy_connect_close_and_reconnect(shell: SSHShell) -> None:
    """The shell connects on first use, close() is idempotent and the next command reconnects."""
    assert not shell.is_connected
    shell.run(["true"])
    assert shell.is_connected
    shell.close()
    shell.close()
    assert not shell.is_connected
    assert shell.run(["echo", "again"]).stdout == "again\n"


def test_jump_host(
    shell: SSHShell, sshd_factory: Callable[..., SshdServer], client_key: KeyPair, tmp_path: Path
) -> None:
    """A shell tunnels through a jump host, and OpenSSH's client does the same through ProxyCommand."""
    inner = sshd_factory()
    pins = HostKeyPins.from_public_keys(inner.host_public_keys())
    with SSHShell(
        "127.0.0.1", port=inner.port, key_filename=client_key.private, host_keys=pins, jump=shell
    ) as sh:
        assert sh.run(["echo", "inside"]).stdout == "inside\n"
        with sh.openssh_target() as target:
            assert target.jump is not None
            r = subprocess.run(ssh_argv(target, "echo via-proxy"), capture_output=True, text=True, timeout=30)
            assert r.stdout == "via-proxy\n", r.stderr


def test_dropped_connection_raises_connect_error(shell: SSHShell) -> None:
    """If the connection dies under a running command, ConnectError says so (no fake exit code)."""
    shell.connect()
    assert shell._client is not None
    transport = shell._client.get_transport()
    assert transport is not None

    def drop(chunk: bytes) -> None:
        transport.sock.close()  # type: ignore[union-attr]  # the network goes away mid-command

    with pytest.raises(ConnectError):
        shell.run("echo started; sleep 30", on_stdout=drop)
    assert shell.run(["echo", "reconnected"]).stdout == "reconnected\n"


@pytest.fixture
def unprivileged_login(client_key: KeyPair) -> Iterator[tuple[str, SSHShell]]:
    """A throw-away non-root user (no sudo rights yet) and a shell logged in as it; all removed afterwards."""
    name = "trt" + secrets.token_hex(4)
    workdir = Path(tempfile.mkdtemp(prefix="transfer-sshd-", dir="/tmp"))
    server = SshdServer(workdir, authorized_keys=[client_key.public], host_key_types=("ed25519",))
    try:
        workdir.chmod(0o755)  # sshd reads authorized_keys with the user's rights
        # "*": no password, yet not "locked" (sshd without PAM refuses locked accounts even with a key).
        subprocess.run(
            ["useradd", "--create-home", "--shell", "/bin/sh", "--password", "*", name], check=True
        )
        server.start()
        (workdir / "authorized_keys").chmod(0o644)
        pins = HostKeyPins.from_public_keys(server.host_public_keys())
        with SSHShell(
            "127.0.0.1", port=server.port, user=name, key_filename=client_key.private, host_keys=pins
        ) as sh:
            yield name, sh
    finally:
        server.stop()
        Path(f"/etc/sudoers.d/{name}").unlink(missing_ok=True)
        subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


def test_sudo_n_as_unprivileged_user(unprivileged_login: tuple[str, SSHShell], tmp_path: Path) -> None:
    """sudo -n fails at once without rights (no prompt, no tty), then works with NOPASSWD; write_file too."""
    name, sh = unprivileged_login
    assert sh.run(["id", "-u"]).stdout.strip() != "0"
    denied = sh.run(["id", "-u"], sudo=True, check=False, timeout=30)
    assert denied.exit_code == 1 and "password is required" in denied.stderr
    rules = Path(f"/etc/sudoers.d/{name}")
    rules.write_text(f"{name} ALL=(ALL) NOPASSWD: ALL\n")
    rules.chmod(0o440)
    assert sh.run(["id", "-u"], sudo=True).stdout == "0\n"
    target = tmp_path / "root-only"
    target.mkdir(mode=0o755)
    with pytest.raises(PermissionError):
        sh.write_file(str(target / "f"), "x")
    sh.write_file(str(target / "f"), "as root\n", mode=0o640, sudo=True)
    assert (target / "f").read_text() == "as root\n" and (target / "f").stat().st_uid == 0


def test_missing_tools_looks_where_sudo_looks(unprivileged_login: tuple[str, SSHShell]) -> None:
    """A user's login PATH lacks /usr/sbin, yet missing_tools finds mkfs.ext4 there (and under sudo -n)."""
    name, sh = unprivileged_login
    assert "/usr/sbin" not in sh.run('printf "%s" "$PATH"').stdout.split(":")
    assert not sh.run("command -v mkfs.ext4", check=False).ok
    wanted = ["mkfs.ext4", "e2fsck", "fsfreeze", "rsync", "no-such-tool-here"]
    assert missing_tools(sh, wanted, sudo=False) == ["no-such-tool-here"]
    with pytest.raises(RemoteCommandError, match="password is required"):
        missing_tools(sh, wanted)  # under sudo -n without rights: an error, not "everything is missing"
    rules = Path(f"/etc/sudoers.d/{name}")
    rules.write_text(f"{name} ALL=(ALL) NOPASSWD: ALL\n")
    rules.chmod(0o440)
    assert missing_tools(sh, wanted) == ["no-such-tool-here"]


def test_write_file_never_exposes_a_secret_while_writing(shell: SSHShell, tmp_path: Path) -> None:
    """While the data is written, the temp file is unreadable to others (own 0700 dir or 0600 mode)."""
    sftp = shell._sftp()
    real_open = sftp.open
    seen: list[tuple[int, int]] = []

    def spy(path: str, mode: str = "r", bufsize: int = -1) -> Any:
        f = real_open(path, mode, bufsize)
        if "w" in mode:
            seen.append((os.stat(path).st_mode & 0o777, os.stat(os.path.dirname(path)).st_mode & 0o777))
        return f

    public = tmp_path / "public"  # a directory anyone may list and read, like a home or /etc
    public.mkdir(mode=0o755)
    public.chmod(0o755)
    sftp.open = spy  # type: ignore[method-assign]
    try:
        shell.write_file(str(public / "id_secret"), "PRIVATE\n", mode=0o600)
    finally:
        sftp.open = real_open  # type: ignore[method-assign]
    assert seen, "write_file did not go through SFTP"
    file_mode, dir_mode = seen[0]
    assert file_mode & 0o077 == 0 or dir_mode & 0o077 == 0, (oct(file_mode), oct(dir_mode))
    assert (public / "id_secret").read_text() == "PRIVATE\n"
    assert stat.S_IMODE((public / "id_secret").stat().st_mode) == 0o600
    assert os.listdir(public) == ["id_secret"]


def test_write_file_sudo_to_relative_path_with_leading_dash(shell: SSHShell) -> None:
    """write_file(sudo=True) takes a relative target starting with '-' as a file name, not options."""
    name = f"-transfer-test-{secrets.token_hex(4)}"
    target = Path(shell.run(["sh", "-c", "echo $HOME"]).stdout.strip(), name)
    try:
        shell.write_file(name, "dash\n", mode=0o640, sudo=True)
        assert target.read_text() == "dash\n" and stat.S_IMODE(target.stat().st_mode) == 0o640
    finally:
        target.unlink(missing_ok=True)


def _wait_gone(pidfile: Path) -> bool:
    """Wait (bounded) until the pid written to ``pidfile`` has exited; True if it did."""
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text().endswith("\n")):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    pid = int(pidfile.read_text())
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)  # leave nothing behind, then fail
    return False


@pytest.mark.parametrize("sudo", [False, True])
def test_timeout_and_abort_kill_the_remote_command(shell: SSHShell, tmp_path: Path, sudo: bool) -> None:
    """A timed-out or aborted command is killed on the host with its whole pipeline, not left running."""
    timed_out = tmp_path / "timed_out"
    with pytest.raises(CommandTimeout):
        shell.run(f"sh -c 'echo $$ > {timed_out}; exec sleep 300' | cat", sudo=sudo, timeout=1)
    assert _wait_gone(timed_out), "the timed-out command still runs"

    aborted = tmp_path / "aborted"

    def stop(chunk: bytes) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        shell.run(f"echo go; sh -c 'echo $$ > {aborted}; exec sleep 300'", sudo=sudo, on_stdout=stop)
    assert _wait_gone(aborted), "the aborted command still runs"
    assert shell.run(["echo", "ok"], sudo=sudo).stdout == "ok\n"


def test_pid_report_is_not_part_of_stderr(shell: SSHShell) -> None:
    """The pid line used for killing never shows in a result's stderr."""
    r = shell.run("echo e >&2", sudo=True)
    assert r.stderr == "e\n"
    assert split_pid_report(b"transfer-pid:123\nrest") == (123, b"rest")
    assert split_pid_report(b"transfer-pid:1\n") == (None, b"transfer-pid:1\n")
    assert split_pid_report(b"other\n") == (None, b"other\n")


def test_environment_values_never_reach_the_logs(shell: SSHShell) -> None:
    """run(env=...) logs the command and the variable names, never the values (often secrets)."""
    with capture_logs() as logs:
        assert shell.run(["sh", "-c", 'test -n "$TOKEN"'], env={"TOKEN": "s3cr3t-value"}, sudo=True).ok
        LocalShell().run(["sh", "-c", 'test -n "$TOKEN"'], env={"TOKEN": "s3cr3t-value"})
    assert [e["event"] for e in logs if e.get("env") == ["TOKEN"]] == ["ssh.run", "local.run"]
    assert "s3cr3t" not in repr(logs)


def test_unreadable_key_file_is_not_retried(sshd: SshdServer, sshd_pins: HostKeyPins, tmp_path: Path) -> None:
    """A key file that is no key fails at once with ValueError; wait_until_reachable does not wait on it."""
    bad = tmp_path / "id"
    bad.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n")
    clock = FakeClock()
    sh = SSHShell(sshd.address, port=sshd.port, key_filename=bad, host_keys=sshd_pins)
    with pytest.raises(ValueError, match="unreadable private key") as info:
        sh.wait_until_reachable(60, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == 0 and "not a key" not in str(info.value)
