"""Auto Scaling objects: ``AutoScalingGroup``, ``LaunchConfiguration``, ``ScalingPolicy`` (VM::EC2::ASG...).

::

    ec2.create_launch_configuration("web-lc", image_id=image, instance_type="t3.micro")
    ec2.create_auto_scaling_group(auto_scaling_group_name="web", launch_configuration_name="web-lc",
                                  min_size=1, max_size=4, availability_zones=["us-east-1a"])
    group = ec2.describe_auto_scaling_groups("web")[0]
    group.set_desired_capacity(3)
    policy = group.put_scaling_policy("grow", 1)
    policy.execute()

Auto Scaling tags name their group and say whether instances inherit them, so ``add_tags``/``delete_tags``
are overridden (CreateOrUpdateTags/DeleteTags of the autoscaling service).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .ec2._base import Action, EC2Object, guarded
from .objects import TagKeys, register_class, tag_spec

__all__ = ["AutoScalingGroup", "LaunchConfiguration", "ScalingPolicy"]

_ME = "auto_scaling_group_name"


def _group(operation: str, doc: str, *args: str, collect: bool = False) -> Action:
    return Action(operation, doc, service="autoscaling", member=_ME, default=None, args=args, collect=collect)


@register_class("autoscaling", "AutoScalingGroup")
class AutoScalingGroup(EC2Object):
    """An Auto Scaling group; prints as its name."""

    primary_field = "AutoScalingGroupName"

    set_desired_capacity = _group(
        "SetDesiredCapacity",
        "Ask for ``n`` instances: ``set_desired_capacity(3)``.",
        "desired_capacity",
        "honor_cooldown",
    )
    update = _group("UpdateAutoScalingGroup", "Change settings: ``update(min_size=0, max_size=10)``.")
    suspend_processes = _group(
        "SuspendProcesses",
        "Suspend processes (``Launch``, ``Terminate``...; all when none named).",
        "scaling_processes",
        collect=True,
    )
    resume_processes = _group(
        "ResumeProcesses",
        "Resume suspended processes (all when none named).",
        "scaling_processes",
        collect=True,
    )
    attach_instances = _group(
        "AttachInstances",
        "Add running instances (objects or ids) to the group.",
        "instance_ids",
        collect=True,
    )
    delete = _group(
        "DeleteAutoScalingGroup", "Delete the group (``force_delete=True`` also ends its instances)."
    )

    @property
    def instance_ids(self) -> list[str]:
        """The ids of the group's instances (from the snapshot)."""
        return [str(i.InstanceId) for i in self.field("Instances") or ()]

    @guarded
    def detach_instances(self, *instances: Any, decrement: bool = True) -> list[Any]:
        """Remove instances from the group (they keep running); lowers the desired capacity by default."""
        return list(
            self._facade().call(
                "autoscaling",
                "DetachInstances",
                auto_scaling_group_name=self,
                instance_ids=list(instances),
                should_decrement_desired_capacity=decrement,
            )
        )

    @guarded
    def launch_configuration(self) -> LaunchConfiguration | None:
        """The group's launch configuration (an API call); None when it uses a launch template."""
        name = self.field("LaunchConfigurationName")
        if not name:
            return None
        found = self._facade().call("autoscaling", "DescribeLaunchConfigurations", name)
        return found[0] if found else None

    @guarded(empty=list)
    def policies(self) -> list[ScalingPolicy]:
        """The group's scaling policies (an API call)."""
        return list(self._facade().call("autoscaling", "DescribePolicies", auto_scaling_group_name=self))

    @guarded
    def put_scaling_policy(
        self, name: str, adjustment: int, adjustment_type: str = "ChangeInCapacity", **kwargs: Any
    ) -> ScalingPolicy:
        """Create or replace a simple scaling policy that changes capacity by ``adjustment``; returns it."""
        self._facade().call(
            "autoscaling",
            "PutScalingPolicy",
            auto_scaling_group_name=self,
            policy_name=name,
            scaling_adjustment=adjustment,
            adjustment_type=adjustment_type,
            **kwargs,
        )
        policy: ScalingPolicy = self._facade().call(
            "autoscaling", "DescribePolicies", auto_scaling_group_name=self, policy_names=[name]
        )[0]
        return policy

    def add_tags(self, tags: Mapping[str, str] | None = None, /, **kv: str) -> bool:
        """Tag the group; instances it launches inherit the tags (see :meth:`put_tags` to choose)."""
        return bool(self.put_tags({**(tags or {}), **kv}))

    @guarded
    def put_tags(self, tags: Mapping[str, str], *, propagate_at_launch: bool = True) -> bool:
        """Create or replace tags, saying whether instances the group launches inherit them."""
        items = [
            {
                "ResourceId": str(self),
                "ResourceType": "auto-scaling-group",
                "Key": k,
                "Value": v,
                "PropagateAtLaunch": propagate_at_launch,
            }
            for k, v in tags.items()
        ]
        return bool(self._facade().call("autoscaling", "CreateOrUpdateTags", tags=items))

    @guarded
    def delete_tags(self, *keys: TagKeys, **kv: str | None) -> bool:
        """Remove tags by key."""
        names = list(tag_spec(keys, kv))
        items = [{"ResourceId": str(self), "ResourceType": "auto-scaling-group", "Key": k} for k in names]
        return bool(self._facade().call("autoscaling", "DeleteTags", tags=items))


@register_class("autoscaling", "LaunchConfiguration")
class LaunchConfiguration(EC2Object):
    """A launch configuration; prints as its name."""

    primary_field = "LaunchConfigurationName"

    delete = Action(
        "DeleteLaunchConfiguration",
        "Delete the configuration (no group may use it).",
        service="autoscaling",
        default=None,
        args=(),
    )


@register_class("autoscaling", "ScalingPolicy")
class ScalingPolicy(EC2Object):
    """A scaling policy of a group; prints as its name."""

    primary_field = "PolicyName"
    describe = ("autoscaling", "DescribePolicies", "PolicyNames")

    @property
    def name(self) -> str:
        """The policy's name (VM::EC2's ``name``)."""
        return str(self)

    @guarded
    def execute(self, honor_cooldown: bool = False, **kwargs: Any) -> bool:
        """Run the policy now."""
        return bool(
            self._facade().call(
                "autoscaling",
                "ExecutePolicy",
                policy_name=self,
                auto_scaling_group_name=self.field("AutoScalingGroupName"),
                honor_cooldown=honor_cooldown,
                **kwargs,
            )
        )

    @guarded
    def delete(self) -> bool:
        """Delete the policy."""
        return bool(
            self._facade().call(
                "autoscaling",
                "DeletePolicy",
                policy_name=self,
                auto_scaling_group_name=self.field("AutoScalingGroupName"),
            )
        )
