"""The most verbose logging of a command shows no key material, secret key or user data.

``-vv`` turns on botocore's wire traces; the commands' handler carries
``provisioning.redact.RedactingFilter``.
The run is real (sync_to_snapshot on the sandbox); the secrets looked for are the sandbox's secret key and any
OpenSSH private key (its base64 body always starts with ``b3BlbnNzaC1rZXktdjE``, "openssh-key-v1").
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from provisioning.redact import redact
from staging.sandbox import SECRET_KEY

pytestmark = [pytest.mark.root, pytest.mark.slow]


def test_vv_shows_wire_traces_but_no_secret(commands: Any, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "f").write_text("data\n")
    proc = commands.spawn("sync_to_snapshot", "-s", "loud", str(tmp_path / "src"), "-vv")
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert "botocore" in err and "ImportKeyPair" in err  # the wire traces are there
    for secret in (SECRET_KEY, "b3BlbnNzaC1rZXktdjE", "PRIVATE KEY-----"):
        assert secret not in err and secret not in out
    from provisioning import EC2

    ec2 = EC2(
        endpoint=commands.cloud.endpoint, region="us-east-1", access_key="sandbox", secret_key=SECRET_KEY
    )
    ec2.delete_snapshot(out.strip())


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("{'KeyMaterial': '-----BEGIN RSA PRIVATE KEY-----\\nMIIE\\n-----END RSA PRIVATE KEY-----'}", "MIIE"),
        ("Action=RunInstances&UserData=IyEvYmluL3No&KeyName=k", "IyEvYmluL3No"),
        (
            "<keyMaterial>-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n"
            "-----END OPENSSH PRIVATE KEY-----</keyMaterial>",
            "b3Bl",
        ),
        ("{'aws_secret_access_key': 'wJalrXUtnFEMI'}", "wJalrXUtnFEMI"),
        ("Authorization: AWS4-HMAC-SHA256 Credential=AKID/x, Signature=0123abcd", "0123abcd"),
    ],
)
def test_redact_hides_each_kind_of_secret(text: str, hidden: str) -> None:
    assert hidden not in redact(text)


def test_paramiko_tracebacks_only_with_v() -> None:
    """paramiko's transport thread logs a failure our one-line error already reports, with a traceback
    (seen when Ctrl-C closed a connection during its banner): without ``-v`` it stays out of stderr.
    In a child process: logging's configuration is process-wide."""
    code = (
        "import logging; from scripts._cli import setup_logging\n"
        "for v in (0, 1, 2):\n"
        "    setup_logging(v, quiet=False)\n"
        "    print(logging.getLogger('paramiko.transport').isEnabledFor(logging.ERROR))\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True"]
