"""A short tour of the provisioning API against an embedded moto server (no AWS account needed).

Run with ``python3 -m scripts.demo``. It starts moto's HTTP server on loopback, then drives it through
the :class:`provisioning.EC2` façade exactly as it would drive AWS: key pair, image, instance, volume,
snapshot, a cross-region copy, and both error modes.
"""

from __future__ import annotations

import argparse
import sys


def _parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="python3 -m scripts.demo",
        description="A short tour of the provisioning API against moto's EC2 server, started on loopback"
        " for the tour: key pair, image, instance, volume, snapshot, a cross-region copy and both error"
        " modes. No AWS account is needed and nothing leaves the machine.",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the tour; returns the process exit code."""
    _parser().parse_args(argv)
    try:
        import moto  # noqa: F401  (the embedded server needs it)
    except ImportError:
        print("demo: moto is not installed; run `bash .ci/setup` first", file=sys.stderr)
        return 2

    from provisioning import EC2, NotFoundError
    from provisioning.testing import moto_server

    with moto_server() as endpoint:
        ec2 = EC2(endpoint=endpoint, region="us-east-1", access_key="demo", secret_key="demo")
        print(f"EC2 endpoint {ec2.endpoint} (moto), region {ec2.region}, account {ec2.account_id}")

        key = ec2.create_key_pair("demo-key")
        image = ec2.register_image(
            name="demo-image", root_device_name="/dev/sda1", block_devices=["/dev/sda1=:8"]
        )
        (instance,) = ec2.run_instances(image, instance_type="t3.micro", key_name=key, zone="us-east-1a")
        instance.add_tags(Name="demo", Role="web")
        print(f"launched {instance} from {image}: {instance.dnsName}, state {instance.instanceState.name}")

        volume = ec2.create_volume(zone="us-east-1a", size=4, tag_specifications={"Name": "data"})
        attachment = ec2.attach_volume(volume, instance, "/dev/sdf")
        print(f"attached {volume} ({volume.size} GiB) to {attachment.instanceId} as {attachment.device}")

        snapshot = ec2.create_snapshot(volume, "demo snapshot")
        west = ec2.clone(region="us-west-2")
        copy = west.copy_snapshot(region="us-east-1", snapshot_id=snapshot, desc="copied by the demo")
        print(f"snapshot {snapshot} copied to us-west-2 as {copy}")

        web = ec2.describe_instances({"tag:Role": "web", "instance-state-name": ["pending", "running"]})
        print(f"instances tagged Role=web: {[str(i) for i in web]}")

        try:
            ec2.describe_instances("i-0123456789abcdef0")
        except NotFoundError as exc:
            print(f"raise mode:    {type(exc).__name__}: {exc}")
        quiet = ec2.clone(raise_error=False)
        result = quiet.describe_instances("i-0123456789abcdef0")
        print(f"VM::EC2 mode:  returned {result!r}, is_error={quiet.is_error}, error_str={quiet.error_str!r}")
        print("demo finished: every call above went over HTTP to the local moto server")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
