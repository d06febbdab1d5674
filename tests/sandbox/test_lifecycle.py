"""Start and stop: clear refusals on a bad machine, nothing left behind after down (even after a crash)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from staging.sandbox import EnvironmentProblem, Sandbox, SandboxError, by_id_path
from staging.sandbox._state import read_state
from staging.sandbox.client import preflight

pytestmark = [pytest.mark.root, pytest.mark.slow]


def test_not_root_is_refused_before_anything_exists(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without root, start() explains why and creates nothing."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(EnvironmentProblem, match="needs root"):
        Sandbox(tmp_path / "cloud").start()
    assert not (tmp_path / "cloud").exists()


def test_missing_tools_name_their_packages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A missing tool gives one message with the apt-get line for its Debian package."""
    real_which = preflight.which
    monkeypatch.setattr(preflight, "which", lambda t: None if t in ("rsync", "mkfs.ext4") else real_which(t))
    with pytest.raises(EnvironmentProblem, match=r"apt-get install -y e2fsprogs rsync"):
        Sandbox(tmp_path / "cloud").start()
    assert not (tmp_path / "cloud").exists()


def test_down_without_root_touches_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without root, stopping a sandbox says so before killing or deleting anything."""
    state_dir = tmp_path / "cloud"
    state_dir.mkdir()
    (state_dir / "state.json").write_text(json.dumps({"token": "ffff", "status": "running", "hosts": {}}))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(EnvironmentProblem, match="needs root"):
        Sandbox(state_dir).stop(force=True)
    assert (state_dir / "state.json").exists()


def busy_sandbox(state_dir: Path, endpoint: str, key_dir: Path) -> dict[str, Any]:
    """Launch an instance with a mounted volume in the sandbox; returns what must disappear on down."""
    state = json.loads((state_dir / "state.json").read_text())
    ec2 = boto3.client(
        "ec2",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    key = ec2.create_key_pair(KeyName="leak-check", KeyType="ed25519")["KeyMaterial"]
    key_file = key_dir / "leak-check.pem"
    key_file.write_text(key)
    key_file.chmod(0o600)
    image = state["images"]["us-east-1"]["debian-12-amd64-sandbox"]
    group = ec2.create_security_group(GroupName="ssh", Description="ssh from here")["GroupId"]
    gateway = state["network"]["gateway"]
    ec2.authorize_security_group_ingress(
        GroupId=group, IpProtocol="tcp", FromPort=22, ToPort=22, CidrIp=f"{gateway}/32"
    )
    instance = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        KeyName="leak-check",
        SecurityGroupIds=[group],
    )["Instances"][0]
    volume = ec2.create_volume(Size=1, AvailabilityZone=instance["Placement"]["AvailabilityZone"])["VolumeId"]
    ec2.attach_volume(VolumeId=volume, InstanceId=instance["InstanceId"], Device="/dev/sdf")
    ssh = ["ssh", "-F", "/dev/null", "-i", str(key_file), "-o", "BatchMode=yes"]
    ssh += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
    device = by_id_path(volume)
    script = f"sudo mkfs.ext4 -q {device} && mkdir ~/v && sudo mount {device} ~/v && sudo touch ~/v/f"
    subprocess.run([*ssh, f"admin@{instance['PublicIpAddress']}", script], check=True, timeout=60)
    ec2.detach_volume(VolumeId=volume)  # mounted: stays attached ("busy"), and must not leak at down
    state = json.loads((state_dir / "state.json").read_text())
    sshd_pids = [
        int(p)
        for p in subprocess.run(
            ["pgrep", "-f", str(state_dir)], capture_output=True, text=True
        ).stdout.split()
    ]
    return {
        "state": state,
        "pids": [state["daemon_pid"], *sshd_pids],
        "netns": [h["netns"] for h in state["hosts"].values()],
        "bridge": state["network"]["bridge"],
        "loops": [v["device"] for v in state["loops"].values()],
    }


def is_gone(pid: int) -> bool:
    """True if ``pid`` no longer runs (gone, or a zombie waiting for its parent)."""
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def wait_dead(pid: int) -> None:
    """Wait until a killed process has actually died (SIGKILL is delivered asynchronously)."""
    for _ in range(500):
        if is_gone(pid):
            return
        time.sleep(0.01)


def assert_nothing_left(state_dir: Path, made: dict[str, Any]) -> None:
    """No process, mount, loop device, namespace, bridge or file of the sandbox remains."""
    assert [pid for pid in made["pids"] if not is_gone(pid)] == []
    assert str(state_dir) not in Path("/proc/self/mounts").read_text()
    assert str(state_dir) not in subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(ns in namespaces.split() for ns in made["netns"])
    assert not Path(f"/sys/class/net/{made['bridge']}").exists()
    assert not state_dir.exists()
    assert not Path(f"/run/vmec2-sandbox/refs/{made['state']['token']}").exists()


def test_cli_up_status_down_leaves_nothing(needs_sandbox: None, tmp_path: Path) -> None:
    """`up` prints the environment, `status` lists the host, `down` removes every trace of the sandbox."""
    state_dir = tmp_path / "cloud"
    cli = [sys.executable, "-m", "staging.sandbox"]
    try:
        up = subprocess.run(
            [*cli, "up", "--state-dir", str(state_dir)], capture_output=True, text=True, timeout=120
        )
        assert up.returncode == 0, up.stderr
        env = dict(
            line.removeprefix("export ").split("=", 1) for line in up.stdout.splitlines() if "=" in line
        )
        assert set(env) >= {
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
        }
        made = busy_sandbox(state_dir, env["AWS_ENDPOINT_URL"], tmp_path)
        status = subprocess.run(
            [*cli, "status", "--state-dir", str(state_dir)], capture_output=True, text=True
        )
        assert list(json.loads(status.stdout)["hosts"]) == list(made["state"]["hosts"])
        down = subprocess.run([*cli, "down", "--state-dir", str(state_dir)], capture_output=True, text=True)
        assert down.returncode == 0, down.stderr
        assert_nothing_left(state_dir, made)
    finally:
        subprocess.run([*cli, "down", "--force", "--state-dir", str(state_dir)], capture_output=True)


def test_down_force_cleans_up_after_a_crash(needs_sandbox: None, tmp_path: Path) -> None:
    """After the daemon is killed, down refuses and down --force removes everything from the state file."""
    sandbox = Sandbox(tmp_path / "cloud", regions=["us-east-1"])
    try:
        sandbox.start()
        made = busy_sandbox(sandbox.state_dir, sandbox.endpoint, tmp_path)
        os.kill(made["state"]["daemon_pid"], signal.SIGKILL)
        wait_dead(made["state"]["daemon_pid"])
        with pytest.raises(SandboxError, match="--force"):
            sandbox.stop()
        sandbox.stop(force=True)
        assert_nothing_left(sandbox.state_dir, made)
    finally:
        sandbox.stop(force=True)


@pytest.mark.parametrize("abort", ["at_once", "mid_bring_up"])
def test_an_aborted_start_leaves_nothing(
    needs_sandbox: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, abort: str
) -> None:
    """Ctrl-C during start() (before the daemon wrote any state, or while it is still creating things)
    stops the daemon and removes everything, including what it created after the abort began."""
    seen: dict[str, Any] = {}

    def interrupted(self: Sandbox, proc: subprocess.Popen[bytes]) -> None:
        seen["pid"] = proc.pid
        if abort == "mid_bring_up":  # wait (no timing) until the daemon has claimed its network
            while "network" not in read_state(self.state_dir) and proc.poll() is None:
                time.sleep(0.005)
            seen["state"] = read_state(self.state_dir)
        raise KeyboardInterrupt

    monkeypatch.setattr(Sandbox, "_wait_running", interrupted)
    state_dir = tmp_path / "cloud"
    with pytest.raises(KeyboardInterrupt):
        Sandbox(state_dir, regions=["us-east-1"]).start()
    assert is_gone(seen["pid"])
    assert not state_dir.exists()
    if abort == "mid_bring_up":
        token = seen["state"]["token"]
        assert not Path(f"/sys/class/net/vsb{token}").exists()
        assert not Path(f"/run/vmec2-sandbox/refs/{token}").exists()


def test_legacy_device_names(needs_sandbox: None, tmp_path: Path) -> None:
    """In legacy mode a volume attached as /dev/sdf is the block device /dev/xvdf in its host only."""
    with Sandbox(tmp_path / "cloud", regions=["us-east-1"], legacy_devices=True) as sandbox:
        made = busy_sandbox(sandbox.state_dir, sandbox.endpoint, tmp_path)
        ssh = ["ssh", "-F", "/dev/null", "-i", str(tmp_path / "leak-check.pem"), "-o", "BatchMode=yes"]
        ssh += [
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
        ]
        host = next(iter(made["state"]["hosts"].values()))["address"]
        check = "test -b /dev/xvdf && sudo blkid -o value -s TYPE /dev/xvdf"
        result = subprocess.run([*ssh, f"admin@{host}", check], capture_output=True, text=True, timeout=60)
        assert result.stdout.strip() == "ext4"
        assert not Path("/dev/xvdf").is_block_device()  # the machine itself only has the placeholder


def test_is_daemon_matches_the_state_dir_exactly(tmp_path: Path) -> None:
    """A daemon of /x/cloud2 is not the daemon of /x/cloud; a symlinked spelling of the same dir is."""
    from staging.sandbox.client.teardown import is_daemon

    (tmp_path / "cloud").mkdir()
    (tmp_path / "cloud2").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "cloud")
    fake = [sys.executable, "-c", "import sys; sys.stdin.read()", "staging.sandbox", "daemon"]
    proc = subprocess.Popen([*fake, "--state-dir", str(tmp_path / "cloud2")], stdin=subprocess.PIPE)
    other = subprocess.Popen([*fake, "--state-dir", str(tmp_path / "link")], stdin=subprocess.PIPE)
    try:
        for p in (proc, other):  # right after exec, /proc/PID/cmdline can still be empty for a moment
            while not Path(f"/proc/{p.pid}/cmdline").read_bytes():
                time.sleep(0.001)
        assert is_daemon(proc.pid, tmp_path / "cloud2")
        assert not is_daemon(proc.pid, tmp_path / "cloud")
        assert is_daemon(other.pid, tmp_path / "cloud")
    finally:
        for p in (proc, other):
            p.communicate(b"")


def test_a_daemon_dying_while_starting_gives_its_reason(
    needs_sandbox: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A daemon killed before it could record an error: start() says how it ended; nothing is left."""
    suicide = tmp_path / "python"
    suicide.write_text("#!/bin/sh\nkill -9 $$\n")
    suicide.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(suicide))
    with pytest.raises(SandboxError, match=r"sandbox failed to start: the daemon was killed by SIGKILL"):
        Sandbox(tmp_path / "cloud", regions=["us-east-1"]).start()
    assert not (tmp_path / "cloud").exists()


def test_ctrl_c_during_up_prints_one_line(needs_sandbox: None, tmp_path: Path) -> None:
    """SIGINT to `up` while the daemon starts: exit 130, a one-line message, no traceback, nothing left."""
    state_dir = tmp_path / "cloud"
    cli = [sys.executable, "-m", "staging.sandbox"]
    up = subprocess.Popen(
        [*cli, "up", "--state-dir", str(state_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        while not (state_dir / "state.json").exists() and up.poll() is None:  # the daemon is starting
            time.sleep(0.01)
        up.send_signal(signal.SIGINT)
        _out, err = up.communicate(timeout=120)
        assert up.returncode == 130, err
        assert "Traceback" not in err
        assert err.strip().splitlines()[-1].endswith(": error: interrupted; the sandbox was removed again")
        assert not state_dir.exists()
    finally:
        up.kill()
        up.wait()
        subprocess.run([*cli, "down", "--force", "--state-dir", str(state_dir)], capture_output=True)
