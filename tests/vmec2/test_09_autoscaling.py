"""t/09.autoscaling.t of VM::EC2, assertion by assertion: launch configurations, groups and policies."""

from __future__ import annotations

import pytest

from provisioning import EC2

LC_NAME = "VM-EC2-Launch-test"
ASG_NAME = "VM-EC2-ASG-test"
POLICY_NAME = "VM-EC2-Policy-test"


@pytest.fixture
def ec2(moto_endpoint: str) -> EC2:
    """``VM::EC2->new(-region=>'eu-west-1')`` (VM::EC2's default error mode)."""
    return EC2(endpoint=moto_endpoint, region="eu-west-1", raise_error=False)


def test_autoscaling(ec2: EC2) -> None:
    """Every assertion of t/09, in order (the END block's cleanup included)."""
    import provisioning

    assert provisioning.EC2  # ok 1: use_ok
    # in case it was here from a previous invocation
    ec2.delete_launch_configuration(name=LC_NAME)
    ec2.delete_autoscaling_group(name=ASG_NAME)
    ec2.delete_policy(name=POLICY_NAME, auto_scaling_group_name=ASG_NAME)
    ec2.print_error = True
    s = ec2.create_launch_configuration(
        name=LC_NAME,
        image_id="ami-3a0f034e",  # ubuntu 12.04 in eu-west-1
        instance_type="t1.micro",
        security_groups=["default"],
        instance_monitoring=0,
    )
    assert s, ec2.error_str  # ok 2
    lcs = ec2.describe_launch_configurations()
    assert len(lcs)  # ok 3
    assert lcs[0].launch_configuration_name == LC_NAME  # ok 4
    s = ec2.create_autoscaling_group(
        name=ASG_NAME,
        min_size=0,
        max_size=0,
        launch_config=LC_NAME,
        desired_capacity=0,
        availability_zones=["eu-west-1a"],
    )
    assert s, ec2.error_str  # ok 5
    groups = ec2.describe_autoscaling_groups()
    assert len(groups)  # ok 6
    assert groups[0].max_size == 0  # ok 7
    s = ec2.update_autoscaling_group(name=ASG_NAME, max_size=1)
    assert s, ec2.error_str  # ok 8
    groups = ec2.describe_autoscaling_groups()
    assert groups[0].max_size == 1  # ok 9
    p = ec2.put_scaling_policy(
        name=POLICY_NAME,
        auto_scaling_group_name=ASG_NAME,
        scaling_adjustment=1,
        adjustment_type="ChangeInCapacity",
        cooldown=30,
    )
    assert p, ec2.error_str  # ok 10
    policies = ec2.describe_policies()
    policy = policies[0]
    assert type(policy).__name__ == "ScalingPolicy"  # ok 11
    assert policy.name == POLICY_NAME  # ok 12
    assert policy.auto_scaling_group_name == ASG_NAME  # ok 13
    assert policy.adjustment_type == "ChangeInCapacity"  # ok 14
    assert policy.scaling_adjustment == 1  # ok 15
    assert policy.cooldown == 30  # ok 16
    p = ec2.delete_policy(name=POLICY_NAME, auto_scaling_group_name=ASG_NAME)
    assert p  # ok 17
    assert not ec2.describe_policies()  # ok 18: is(..., undef): no policies left
    # END
    ec2.print_error = False
    assert ec2.delete_autoscaling_group(name=ASG_NAME, force_delete=True)
    assert ec2.delete_launch_configuration(name=LC_NAME)
