"""The façade on the sandbox: eventual consistency ridden out (``not_found_for``); user data changed as on
AWS."""

from __future__ import annotations

from typing import Any

import pytest

from provisioning import EC2, AWSError
from staging.sandbox import Faults, Sandbox

pytestmark = [pytest.mark.root, pytest.mark.slow]

REGION = "us-east-1"


def facade(cloud: Sandbox, **options: Any) -> EC2:
    """A façade on the sandbox's us-east-1."""
    return EC2(endpoint=cloud.endpoint, region=REGION, access_key="sandbox", secret_key="sandbox", **options)


def launch(ec2: EC2, cloud: Sandbox, track: Any, **kwargs: Any) -> Any:
    """One instance of the Debian image through the façade, tracked for termination."""
    image = cloud.images[REGION]["debian-12-amd64-sandbox"]
    instance = ec2.run_instances(image, instance_type="t3.micro", placement_zone="us-east-1a", **kwargs)[0]
    track.instances.append((REGION, str(instance)))
    return instance


@pytest.mark.parametrize("raise_error", [True, False])
def test_new_ids_are_ridden_out(faulty: Sandbox, track: Any, raise_error: bool) -> None:
    """With ids NotFound for 3 s after creation, a plain script (launch, wait, create a volume, wait,
    attach, tag) runs through without a retry of its own, in both error modes."""
    faulty.set_faults(Faults(not_found_for=3))
    ec2 = facade(faulty, raise_error=raise_error)
    instance = launch(ec2, faulty, track)
    assert ec2.wait_for_instances(instance) == {str(instance): "running"}
    volume = ec2.create_volume(availability_zone="us-east-1a", size=1)
    track.volumes.append((REGION, str(volume)))
    assert ec2.wait_for_volumes(volume) == {str(volume): "available"}
    attachment = instance.attach_volume(volume, "/dev/sdf")
    assert attachment, ec2.error_str
    assert ec2.wait_for_attachments(attachment) == {str(attachment): "attached"}
    snapshot = ec2.create_snapshot(volume, "consistency")
    track.snapshots.append((REGION, str(snapshot)))
    assert ec2.create_tags(snapshot, {"Name": "young"}), ec2.error_str  # right away: retried inside
    assert not ec2.is_error
    assert ec2.consistency.retries > 0


def test_not_found_for_an_id_not_created_returns_at_once(faulty: Sandbox, east: Any, track: Any) -> None:
    """A young id made by someone else (a plain boto3 client) is NotFound to the façade at once."""
    faulty.set_faults(Faults(not_found_for=600))
    volume_id = east.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
    track.volumes.append((REGION, volume_id))
    ec2 = facade(faulty, raise_error=False)
    assert ec2.describe_volumes(volume_id) == []
    assert ec2.error is not None and ec2.error.code == "InvalidVolume.NotFound"
    assert ec2.consistency.retries == 0


def test_set_user_data_end_to_end(cloud: Sandbox, track: Any, east: Any) -> None:
    """User data changes only while stopped (IncorrectInstanceState otherwise), encoded once as AWS takes
    it, and reads back byte for byte."""
    ec2 = facade(cloud)
    instance = launch(ec2, cloud, track, user_data="first")
    ec2.wait_for_instances(instance)
    with pytest.raises(AWSError) as refused:
        instance.set_user_data("second")
    assert refused.value.code == "IncorrectInstanceState"
    assert instance.user_data() == "first"
    assert instance.stop(wait=True)
    assert instance.set_user_data("second")
    assert instance.user_data() == "second"
    assert instance.userData("abcdefg") and instance.userData() == "abcdefg"  # VM::EC2's t/07 ok 23-24
    assert instance.set_user_data(b"bytes too")
    assert instance.user_data_bytes() == b"bytes too"
    # A plain SDK call sends the blob encoded once, too.
    east.modify_instance_attribute(InstanceId=str(instance), UserData={"Value": b"#!/bin/sh\necho hi\n"})
    assert instance.user_data() == "#!/bin/sh\necho hi\n"
