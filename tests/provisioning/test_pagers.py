"""VM::EC2's page-at-a-time calls: max_results, the more_* flags, and continuing with no arguments."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from provisioning import EC2, NotFoundError, ParameterError


def _status(iid: str) -> dict[str, str]:
    return {"InstanceId": iid, "AvailabilityZone": "us-east-1a"}


def test_max_results_pages_and_more_flag(ec2: EC2) -> None:
    """With max_results one page comes back; calling again with no arguments gives the next."""
    with Stubber(ec2._pool.client("ec2")) as stub:
        stub.add_response(
            "describe_instance_status",
            {"InstanceStatuses": [_status("i-1")], "NextToken": "t1"},
            {"MaxResults": 5, "IncludeAllInstances": True},
        )
        stub.add_response(
            "describe_instance_status",
            {"InstanceStatuses": [_status("i-2")]},
            {"MaxResults": 5, "IncludeAllInstances": True, "NextToken": "t1"},
        )
        assert [
            str(s.instance_id)
            for s in ec2.describe_instance_status(max_results=5, include_all_instances=True)
        ] == ["i-1"]
        assert ec2.more_instance_status is True
        assert [str(s.instance_id) for s in ec2.describe_instance_status()] == ["i-2"]
        assert ec2.more_instance_status is False
        assert ec2.moreInstanceStatus is False


def test_without_max_results_the_list_is_complete(ec2: EC2) -> None:
    """Without max_results every page is followed, as for any describe call."""
    with Stubber(ec2._pool.client("ec2")) as stub:
        stub.add_response(
            "describe_volume_status", {"VolumeStatuses": [{"VolumeId": "vol-1"}], "NextToken": "t"}, {}
        )
        stub.add_response(
            "describe_volume_status", {"VolumeStatuses": [{"VolumeId": "vol-2"}]}, {"NextToken": "t"}
        )
        assert [str(v) for v in ec2.describe_volume_status()] == ["vol-1", "vol-2"]
        assert ec2.more_volume_status is False


def test_pager_failures_follow_the_error_mode(moto_endpoint: str) -> None:
    """A failed page returns [] and sets is_error under raise_error=False; raise mode raises."""
    ec2 = EC2(endpoint=moto_endpoint, raise_error=False)
    unknown = {"max_results": 5, "instance_ids": ["i-0123456789abcdef0"]}
    assert ec2.describe_instance_status(**unknown) == []
    assert isinstance(ec2.error, NotFoundError) and ec2.more_instance_status is False
    ec2.raise_error = True
    with pytest.raises(NotFoundError):
        ec2.describe_instance_status(**unknown)


def test_update_security_group_sends_pending_rules(ec2: EC2) -> None:
    """ec2.update_security_group(group) sends what authorize_incoming recorded (VM::EC2's spelling)."""
    group = ec2.create_security_group("web", "web servers")
    group.authorize_incoming(protocol="tcp", port=22, source_ip="127.0.0.1/32")
    assert ec2.update_security_group(group) is True
    (fresh,) = ec2.describe_security_groups(group)
    assert [p.from_port for p in fresh.ip_permissions] == [22]
    with pytest.raises(ParameterError, match="SecurityGroup object"):
        ec2.update_security_group(str(group))
