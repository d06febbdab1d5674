"""The sshd launcher: config rendering (pure) and a real server's lifecycle."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import transfer.testing.sshd as sshd_module
from transfer.errors import SshdError
from transfer.hostkeys import HostKeyPins, parse_public_key
from transfer.ssh import SSHShell
from transfer.testing import SshdServer, free_port, render_sshd_config

from .conftest import KeyPair


def _render(**kw: object) -> str:
    args: dict[str, object] = {
        "port": 2222,
        "listen_address": "10.0.0.5",
        "host_key_files": ["/w/k1", "/w/k2"],
        "authorized_keys_file": "/w/ak",
        "pid_file": "/w/pid",
    }
    args.update(kw)
    return render_sshd_config(**args)  # type: ignore[arg-type]


def test_render_has_key_only_defaults() -> None:
    """The rendered config listens where asked, repeats HostKey and turns off passwords and PAM."""
    lines = _render().splitlines()
    assert "Port 2222" in lines
    assert "ListenAddress 10.0.0.5" in lines
    assert [x for x in lines if x.startswith("HostKey")] == ["HostKey /w/k1", "HostKey /w/k2"]
    for want in ("PasswordAuthentication no", "UsePAM no", "StrictModes no", "PidFile /w/pid"):
        assert want in lines


def test_render_extra_config_overrides_case_insensitively() -> None:
    """An extra setting replaces the default of the same name instead of adding a second line."""
    text = _render(extra_config={"loglevel": "DEBUG", "ClientAliveInterval": "5"}, allow_users=["a", "b"])
    assert "LogLevel" not in text
    assert "loglevel DEBUG" in text.splitlines()
    assert "ClientAliveInterval 5" in text.splitlines()
    assert "AllowUsers a b" in text.splitlines()


@pytest.mark.parametrize("bad", [{"LogLevel": "INFO\nPermitEmptyPasswords yes"}, {"Log Level": "x"}])
def test_render_rejects_injection(bad: dict[str, str]) -> None:
    """Values with newlines and multi-word keywords are refused."""
    with pytest.raises(ValueError):
        _render(extra_config=bad)


def _ssh(server: SshdServer, key: KeyPair, known_hosts: Path, *cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", "-F", "/dev/null", "-i", str(key.private), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
         "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes",
         "-p", str(server.port), f"root@{server.address}", *cmd],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_real_server_accepts_key_and_pinned_host_key(
    sshd: SshdServer, client_key: KeyPair, tmp_path: Path
) -> None:
    """OpenSSH's client logs in with the client key, checking the host key from known_hosts_line()."""
    kh = tmp_path / "known_hosts"
    kh.write_text(sshd.known_hosts_line() + "\n")
    r = _ssh(sshd, client_key, kh, "echo", "hello")
    assert (r.returncode, r.stdout) == (0, "hello\n"), r.stderr
    assert sshd.is_running() and sshd.pid_file.read_text().strip() == str(sshd.pid)


def test_host_identity_helpers(sshd: SshdServer) -> None:
    """Public keys, fingerprints and known_hosts lines describe the same keys."""
    keys = sshd.host_public_keys()
    assert [k.split()[0] for k in keys] == ["ssh-ed25519", "ssh-rsa"]  # the session server has both
    assert sshd.host_key_fingerprints() == [(k.split()[0], parse_public_key(k).fingerprint) for k in keys]
    assert sshd.known_hosts_line("h").splitlines()[0] == f"[h]:{sshd.port} {keys[0]}"


def test_wrong_known_host_refused_by_openssh(sshd_factory: Callable[..., SshdServer], client_key: KeyPair,
                                             tmp_path: Path) -> None:  # fmt: skip
    """A known_hosts file with another server's keys makes ssh refuse to connect (exit 255)."""
    other = sshd_factory()
    main = sshd_factory()
    kh = tmp_path / "known_hosts"
    kh.write_text(other.known_hosts_line().replace(str(other.port), str(main.port)) + "\n")
    r = _ssh(main, client_key, kh, "true")
    assert r.returncode == 255
    assert "HOST IDENTIFICATION HAS CHANGED" in r.stderr or "verification failed" in r.stderr


def test_restart_keeps_host_keys_and_port(sshd_factory: Callable[..., SshdServer]) -> None:
    """stop() is idempotent; start() again presents the same host keys on the same port."""
    server = sshd_factory()
    keys, port, pid = server.host_public_keys(), server.port, server.pid
    server.stop()
    server.stop()
    assert not server.is_running() and server.pid is None
    server.start()
    assert server.host_public_keys() == keys and server.port == port and server.pid != pid


def test_start_failure_reports_log_tail(sshd_factory: Callable[..., SshdServer]) -> None:
    """A config sshd rejects gives SshdError with sshd's own complaint."""
    with pytest.raises(SshdError, match=r"Bogus|bad configuration|unsupported"):
        sshd_factory(extra_config={"NoSuchOption": "1"})


def test_interrupted_start_leaves_no_sshd(tmp_path: Path, client_key: KeyPair) -> None:
    """An interrupt while start() waits for sshd (Ctrl-C in a fixture) stops the sshd it launched."""
    server = SshdServer(tmp_path / "w", authorized_keys=[client_key.public], host_key_types=("ed25519",))
    started: list[subprocess.Popen[bytes]] = []

    def interrupted(offset: int) -> None:
        assert server._proc is not None
        started.append(server._proc)
        raise KeyboardInterrupt

    server._wait_ready = interrupted  # type: ignore[method-assign]
    try:
        with pytest.raises(KeyboardInterrupt):
            server.start()
        assert started and started[0].poll() is not None and not server.is_running()
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_automatic_port_taken_meanwhile_is_replaced(
    tmp_path: Path, client_key: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If another process binds the picked port before sshd does, start() picks another one."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = iter([taken])
        monkeypatch.setattr(sshd_module, "free_port", lambda address: next(ports, None) or free_port(address))
        server = SshdServer(tmp_path / "w", authorized_keys=[client_key.public], host_key_types=("ed25519",))
        try:
            server.start()
            assert server.is_running() and server.port != taken
        finally:
            server.stop()
    assert "Cannot bind any address" in server.log_file.read_text()


def test_fixed_port_taken_is_an_error(tmp_path: Path, client_key: KeyPair) -> None:
    """A port the caller chose is never silently replaced."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        server = SshdServer(
            tmp_path / "w", authorized_keys=[client_key.public], host_key_types=("ed25519",), port=taken
        )
        with pytest.raises(SshdError, match="Cannot bind"):
            server.start()
        assert not server.is_running()


def test_workdir_with_spaces_quotes_and_percent(tmp_path: Path, client_key: KeyPair) -> None:
    """Config paths are quoted for sshd: a work dir named with spaces, quotes, '#' and '%' works."""
    server = SshdServer(
        tmp_path / "w d 'q' \"dq\" #x %h \\b",
        authorized_keys=[client_key.public],
        host_key_types=("ed25519",),
    )
    try:
        server.start()
        kh = tmp_path / "known_hosts"
        kh.write_text(server.known_hosts_line() + "\n")
        r = _ssh(server, client_key, kh, "echo", "in")
        assert (r.returncode, r.stdout) == (0, "in\n"), r.stderr + server.log_tail()
    finally:
        server.stop()


def test_stop_leaves_no_process_behind(
    sshd_factory: Callable[..., SshdServer], client_key: KeyPair, tmp_path: Path
) -> None:
    """stop() ends the per-connection sshd and the commands it runs, even one that ignores SIGTERM."""
    server = sshd_factory()
    pins = HostKeyPins.from_public_keys(server.host_public_keys())
    pidfile = tmp_path / "pid"
    outcome: list[BaseException | None] = []
    with SSHShell("127.0.0.1", port=server.port, key_filename=client_key.private, host_keys=pins) as sh:

        def stubborn() -> None:
            try:
                sh.run(f"trap '' TERM; sh -c 'echo $$ > {pidfile}; exec sleep 300'", check=False)
                outcome.append(None)
            except BaseException as exc:  # the connection goes away with the server
                outcome.append(exc)

        worker = threading.Thread(target=stubborn, daemon=True)
        worker.start()
        deadline = time.monotonic() + 30
        while not (pidfile.exists() and pidfile.read_text().endswith("\n")):
            assert time.monotonic() < deadline, "the command did not start"
            time.sleep(0.01)
        pid = int(pidfile.read_text())
        try:
            server.stop(timeout=1)
            assert not _alive(pid), "a command of the stopped sshd survived"
        finally:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        worker.join(30)
    assert outcome and not worker.is_alive()


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
