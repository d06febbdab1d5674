"""t/10.credentials_file.t of VM::EC2, assertion by assertion: keys from an AWS credentials file."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioning import EC2

#: t/credentials_file of the original.
CREDENTIALS = """\
[default]
output = json
region = us-east-1
aws_access_key_id = DEFAULT_KEY
aws_secret_access_key = DEFAULT_SECRET
[profile foo]
output = json
region = us-east-1
aws_access_key_id = FOO_KEY
aws_secret_access_key = FOO_SECRET
emr = true
"""


@pytest.fixture
def credentials_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The original's credentials file, with the suite's fake AWS_* keys out of the way (they come first
    in boto3's chain, as EC2_ACCESS_KEY did in VM::EC2's)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "credentials_file"
    path.write_text(CREDENTIALS)
    return str(path)


def test_credentials_file(credentials_file: str) -> None:
    """Every assertion of t/10, in order."""
    import provisioning

    assert provisioning.EC2  # ok 1: use_ok
    # defaults
    ec2 = EC2(print_error=True, credentials_file=credentials_file)
    assert ec2.access_key == "DEFAULT_KEY"  # ok 2
    assert ec2.secret == "DEFAULT_SECRET"  # ok 3
    # foo profile (shorthand)
    ec2 = EC2(print_error=True, credentials_file=credentials_file, credentials_profile="foo")
    assert ec2.access_key == "FOO_KEY"  # ok 4
    assert ec2.secret == "FOO_SECRET"  # ok 5
    # foo profile (longhand)
    ec2 = EC2(print_error=True, credentials_file=credentials_file, credentials_profile="profile foo")
    assert ec2.access_key == "FOO_KEY"  # ok 6
    assert ec2.secret == "FOO_SECRET"  # ok 7
