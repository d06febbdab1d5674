"""Auto Scaling against moto: launch configurations, groups, capacity, processes, policies, tags, errors."""

from __future__ import annotations

import pytest

from provisioning import EC2, AWSError
from provisioning.autoscaling import AutoScalingGroup, LaunchConfiguration, ScalingPolicy


@pytest.fixture
def group(ec2: EC2) -> AutoScalingGroup:
    """A group ``web`` of one instance, from launch configuration ``web-lc``."""
    ec2.create_launch_configuration("web-lc", image_id="ami-12345678", instance_type="t3.micro")
    ec2.create_auto_scaling_group(
        auto_scaling_group_name="web",
        launch_configuration_name="web-lc",
        min_size=1,
        max_size=4,
        desired_capacity=1,
        availability_zones=["us-east-1a"],
    )
    found: AutoScalingGroup = ec2.describe_auto_scaling_groups("web")[0]
    return found


def test_group_and_launch_configuration(ec2: EC2, group: AutoScalingGroup) -> None:
    """Groups and launch configurations come back as objects that print as their names."""
    assert isinstance(group, AutoScalingGroup) and str(group) == "web"
    assert len(group.instance_ids) == 1 and group.instance_ids[0].startswith("i-")
    config = group.launch_configuration()
    assert isinstance(config, LaunchConfiguration) and str(config) == "web-lc"
    assert config.instance_type == "t3.micro"


def test_capacity_and_update(ec2: EC2, group: AutoScalingGroup) -> None:
    """Desired capacity and sizes change; the group launches instances to match."""
    assert group.set_desired_capacity(3) is True
    group.refresh()
    assert group.desired_capacity == 3 and len(group.instance_ids) == 3
    assert group.update(min_size=0, max_size=2, desired_capacity=2) is True
    group.refresh()
    assert (group.min_size, group.max_size, len(group.instance_ids)) == (0, 2, 2)


def test_processes_and_instances(ec2: EC2, group: AutoScalingGroup) -> None:
    """Processes are suspended and resumed; instances detach and attach."""
    assert group.suspend_processes("Launch", "Terminate") is True
    group.refresh()
    assert sorted(p.process_name for p in group.suspended_processes) == ["Launch", "Terminate"]
    assert group.resume_processes() is True
    group.refresh()
    assert group.suspended_processes == []
    (iid,) = group.instance_ids
    activities = group.detach_instances(iid)
    assert isinstance(activities, list)
    group.refresh()
    assert group.instance_ids == []
    assert group.attach_instances(iid) is True
    group.refresh()
    assert group.instance_ids == [iid]


def test_scaling_policies(ec2: EC2, group: AutoScalingGroup) -> None:
    """A policy is created, listed, executed and deleted."""
    policy = group.put_scaling_policy("grow", 2)
    assert isinstance(policy, ScalingPolicy) and policy.name == "grow"
    assert policy.scaling_adjustment == 2 and policy.adjustment_type == "ChangeInCapacity"
    assert group.policies() == [policy]
    assert policy.execute() is True
    group.refresh()
    assert group.desired_capacity == 3
    assert policy.refresh() is True
    assert policy.delete() is True
    assert group.policies() == []


def test_tags(ec2: EC2, group: AutoScalingGroup) -> None:
    """Group tags go through CreateOrUpdateTags/DeleteTags and show in the description."""
    assert group.add_tags(Role="web", Stage="test") is True
    assert group.put_tags({"Local": "1"}, propagate_at_launch=False) is True
    group.refresh()
    assert group.tags == {"Role": "web", "Stage": "test", "Local": "1"}
    assert {t.key: t.propagate_at_launch for t in group.field("Tags")}["Local"] is False
    assert group.delete_tags("Stage", "Local") is True
    group.refresh()
    assert group.tags == {"Role": "web"}


def test_delete(ec2: EC2, group: AutoScalingGroup) -> None:
    """A group is deleted (forced, with its instances), then its launch configuration."""
    config = group.launch_configuration()
    assert config is not None
    assert group.delete(force_delete=True) is True
    assert ec2.describe_auto_scaling_groups() == []
    assert config.delete() is True
    assert ec2.describe_launch_configurations() == []


def test_errors_both_modes(ec2: EC2, moto_endpoint: str, group: AutoScalingGroup) -> None:
    """Unknown groups fail: raise, or None with the error set.

    moto 5.2.1 lies or breaks on most failures here: SetDesiredCapacity above MaxSize and PutScalingPolicy on
    an unknown group succeed (AWS: ValidationError), and UpdateAutoScalingGroup, SetDesiredCapacity,
    SuspendProcesses and ExecutePolicy on unknown names answer HTTP 500. DeleteAutoScalingGroup is faithful.
    """
    ghost = AutoScalingGroup({"AutoScalingGroupName": "ghost"}, ec2)
    with pytest.raises(AWSError, match="not found"):
        ghost.delete()

    quiet = EC2(endpoint=moto_endpoint, region="us-east-1", raise_error=False)
    ghost = AutoScalingGroup({"AutoScalingGroupName": "ghost"}, quiet)
    assert ghost.delete() is None and isinstance(quiet.error, AWSError)
    assert ghost.error_str == quiet.error_str != ""
    assert ghost.launch_configuration() is None  # no launch configuration named: no call, no error
    loose = quiet.describe_auto_scaling_groups("web")[0]
    assert loose.set_desired_capacity(2) is True and not quiet.is_error
