"""VM::EC2's SYNOPSIS, translated line by line (docs/examples/synopsis.py), runs against moto's server."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from provisioning import EC2

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "synopsis.py"


@pytest.fixture(scope="module")
def example() -> ModuleType:
    """The example script, imported from its file."""
    spec = importlib.util.spec_from_file_location("synopsis_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synopsis_runs_and_makes_what_it_says(example: ModuleType, moto_endpoint: str) -> None:
    """Each step of the synopsis leaves its objects behind, from describe_images to allocate_address."""
    ec2 = EC2(endpoint=moto_endpoint, region="us-east-1", raise_error=False)
    lines: list[str] = []
    made: dict[str, Any] = example.synopsis(
        ec2, example.prepare(ec2), out=lambda *a: lines.append(" ".join(map(str, a)))
    )
    instances = made["instances"]
    assert len(instances) == 2
    assert {i.current_status() for i in instances} == {"running"}  # stopped, then started again
    assert all(i.tags.get("Role") == "Server" for i in ec2.describe_instances(*instances))
    assert sum(" [running] ec2-" in line for line in lines) == 2
    images = made["images"]
    assert len(images) == 2 and all(
        ec2.describe_images(img)[0].tags["Status"] == "Production" for img in images
    )
    assert all(img.launch_permissions()[0].group == "all" for img in images)
    kp = instances[0].key_pair()
    assert kp is not None, ec2.error_str
    assert any(line.endswith(kp.fingerprint) for line in lines)
    key_file = Path(made["key_file"])
    assert (
        key_file.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
        and key_file.stat().st_mode & 0o777 == 0o600
    )
    os.unlink(key_file)
    assert made["imported_key"].fingerprint, ec2.error_str
    assert "tcp(80..80) FROM CIDR 192.168.2.0/24,192.168.3.0/24" in lines
    assert made["snapshots"] and made["snapshots"][0].description.startswith("Backup on ")
    assert f"Volume {made['volume']} is ready!" in lines and made["volume"].size == 20
    address = ec2.describe_addresses(str(made["address"]))[0]
    assert address.instanceId == str(instances[0])
    # The only failures are moto's refusal of correctly encoded user data (see the example's docstring).
    failures = [line for line in lines if line.startswith("Couldn't")]
    assert failures and all("user data" in line and "InvalidUserData.Malformed" in line for line in failures)


def test_synopsis_script_entry_point(example: ModuleType, moto_endpoint: str) -> None:
    """The script's main() runs the whole synopsis against a given endpoint."""
    assert example.main([moto_endpoint]) == 0
