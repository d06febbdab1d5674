"""The sandbox's command line: its help, and one-line errors that name the right next command.

Run as ``python3 -m staging.sandbox`` in a subprocess, as a user would; only the ``up`` refusal needs a
running sandbox (the session's).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import botocore
import pytest

from provisioning.settings import known_regions
from staging.sandbox import Sandbox
from staging.sandbox.__main__ import main, program_name

CLI = [sys.executable, "-m", "staging.sandbox"]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command line's result (exit status, stdout, stderr)."""
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def test_help_is_plain_text_with_the_invoked_name_and_the_environment() -> None:
    """--help names the program as invoked, hides the internal daemon, has no reST and names the variable."""
    result = run_cli("--help", env={"VMEC2_SANDBOX_DIR": "/var/tmp/elsewhere"})
    assert result.returncode == 0
    text = result.stdout
    assert text.startswith("usage: python3 -m staging.sandbox [-h] {up,status,down}")
    assert 'eval "$(python3 -m staging.sandbox up)"' in text
    assert "daemon" not in text and "SUPPRESS" not in text
    assert "``" not in text and ":class:" not in text
    assert "VMEC2_SANDBOX_DIR" in text


def test_console_script_name_is_used_in_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Invoked as the console script, the help says vmec2-sandbox."""
    assert program_name("/usr/local/bin/vmec2-sandbox") == "vmec2-sandbox"
    assert program_name("/x/staging/sandbox/__main__.py") == "python3 -m staging.sandbox"
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/vmec2-sandbox"])
    with pytest.raises(SystemExit) as exit_:
        main(["up", "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("usage: vmec2-sandbox up [-h]")


def test_up_help_shows_every_default() -> None:
    """Every option of `up` that takes a value shows its default; the state directory follows the variable."""
    text = run_cli("up", "--help", env={"VMEC2_SANDBOX_DIR": "/var/tmp/elsewhere"}).stdout
    flat = " ".join(text.split())
    for option, default in [
        ("--state-dir", "/var/tmp/elsewhere"),
        ("--region", "us-east-1, us-west-2"),
        ("--login-user", "admin"),
        ("--port", "0"),
        ("--boot-delay", "0.0"),
        ("--throttle-rate", "0.0"),
        ("--latency", "0.0"),
        ("--faults", "{}"),
    ]:
        after = flat[
            flat.index(f"{option} {option.lstrip('-').replace('-', '_').upper()}", flat.index("options:")) :
        ]
        assert f"(default: {default})" in after[: after.index(")") + 1], option
    assert "VMEC2_SANDBOX_DIR" in text


def test_unknown_region_is_one_line_with_close_names(tmp_path: Path) -> None:
    """`up --region eu-west-9` fails at once with one line naming real regions; nothing is created."""
    result = run_cli("up", "--region", "eu-west-9", "--state-dir", str(tmp_path / "cloud"))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "python3 -m staging.sandbox: error: region 'eu-west-9' is not an AWS region"
        f" (botocore {botocore.__version__} knows {len(known_regions())}); did you mean"
        " eu-west-3, eu-west-2, eu-west-1?"
    ]
    assert result.stdout == "" and not (tmp_path / "cloud").exists()


@pytest.mark.parametrize(
    ("faults", "message"),
    [('{"bogus": 1}', "--faults: unknown bogus; known: throttle_rate"), ("{bogus", "--faults is not JSON")],
)
def test_bad_faults_are_one_line(tmp_path: Path, faults: str, message: str) -> None:
    """A malformed --faults is refused in one line before anything starts."""
    result = run_cli("up", "--faults", faults, "--state-dir", str(tmp_path / "cloud"))
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr
    assert not (tmp_path / "cloud").exists()


def test_down_when_none_was_up_says_so(tmp_path: Path) -> None:
    """`down` with no sandbox says none was up (not "is down") and succeeds."""
    result = run_cli("down", "--state-dir", str(tmp_path / "cloud"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"# no sandbox was up in {tmp_path / 'cloud'}; nothing to do\n"


def test_status_when_none_is_up_names_up(tmp_path: Path) -> None:
    """`status` with no sandbox is one line that names the `up` command for that directory."""
    state_dir = tmp_path / "cloud"
    result = run_cli("status", "--state-dir", str(state_dir))
    assert result.returncode == 1
    assert result.stderr == (
        f"python3 -m staging.sandbox: error: no sandbox is up in {state_dir};"
        f" run: python3 -m staging.sandbox up --state-dir {state_dir}\n"
    )


def test_up_while_one_runs_names_plain_down(cloud: Sandbox) -> None:
    """`up` on a running sandbox's directory says to run plain `down` (not `down --force`)."""
    result = run_cli("up", "--state-dir", str(cloud.state_dir))
    assert result.returncode == 1
    assert result.stderr == (
        f"python3 -m staging.sandbox: error: a sandbox is already up in {cloud.state_dir};"
        f" run: python3 -m staging.sandbox down --state-dir {cloud.state_dir}\n"
    )
    assert cloud.status()["hosts"] is not None  # the running sandbox is untouched
