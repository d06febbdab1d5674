"""Classic Elastic Load Balancing objects (VM::EC2::ELB).

::

    ec2.create_load_balancer(lb_name="web", listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80,
                                                       "InstancePort": 80}], zones=["us-east-1a"])
    lb = ec2.describe_load_balancers("web")[0]
    lb.register_instances(*instances)
    for state in lb.describe_instance_health():
        print(state, state.state)                   # i-0123... InService

Most methods are declared: each calls one ELB operation with this load balancer's name, positional
arguments filling the operation's list (instances, zones, subnets, ports...). VM::EC2's long method names
(``register_instances_with_load_balancer``) are aliases of the short ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .ec2._base import Action, EC2Object, guarded
from .objects import TagKeys, register_class, tag_spec

__all__ = ["InstanceState", "LoadBalancer"]

_ME = "load_balancer_name"


def _lb(operation: str, doc: str, *args: str, collect: bool = False) -> Action:
    return Action(operation, doc, service="elb", member=_ME, default=None, args=args, collect=collect)


@register_class("elb", "LoadBalancerDescription")
class LoadBalancer(EC2Object):
    """A classic load balancer; prints as its name."""

    primary_field = "LoadBalancerName"
    describe = ("elb", "DescribeLoadBalancers", "LoadBalancerNames")

    register_instances = _lb(
        "RegisterInstancesWithLoadBalancer",
        "Add instances (objects or ids); returns every registered instance.",
        "instances",
        collect=True,
    )
    deregister_instances = _lb(
        "DeregisterInstancesFromLoadBalancer",
        "Remove instances; returns the instances still registered.",
        "instances",
        collect=True,
    )
    describe_instance_health = _lb(
        "DescribeInstanceHealth",
        "The health (``InService``/``OutOfService``) of the given instances, or of all registered ones.",
        "instances",
        collect=True,
    )
    configure_health_check = _lb(
        "ConfigureHealthCheck",
        'Set the health check: ``configure_health_check({"Target": "HTTP:80/", "Interval": 30, ...})``.',
        "health_check",
    )
    create_listeners = _lb(
        "CreateLoadBalancerListeners",
        "Add listeners (dicts with Protocol/LoadBalancerPort/InstancePort).",
        "listeners",
        collect=True,
    )
    delete_listeners = _lb(
        "DeleteLoadBalancerListeners",
        "Remove the listeners on the given front-end ports.",
        "load_balancer_ports",
        collect=True,
    )
    enable_zones = _lb(
        "EnableAvailabilityZonesForLoadBalancer",
        "Add zones; returns all zones now in use.",
        "availability_zones",
        collect=True,
    )
    disable_zones = _lb(
        "DisableAvailabilityZonesForLoadBalancer",
        "Remove zones; returns the zones left.",
        "availability_zones",
        collect=True,
    )
    apply_security_groups = _lb(
        "ApplySecurityGroupsToLoadBalancer",
        "Replace the security groups (VPC); returns their ids.",
        "security_groups",
        collect=True,
    )
    attach_to_subnets = _lb(
        "AttachLoadBalancerToSubnets",
        "Add subnets (VPC); returns all subnets now in use.",
        "subnets",
        collect=True,
    )
    detach_from_subnets = _lb(
        "DetachLoadBalancerFromSubnets",
        "Remove subnets (VPC); returns the subnets left.",
        "subnets",
        collect=True,
    )
    create_app_cookie_stickiness_policy = _lb(
        "CreateAppCookieStickinessPolicy",
        "Stickiness following an application cookie.",
        "policy_name",
        "cookie_name",
    )
    create_lb_cookie_stickiness_policy = _lb(
        "CreateLBCookieStickinessPolicy",
        "Stickiness with the balancer's own cookie.",
        "policy_name",
        "cookie_expiration_period",
    )
    create_policy = _lb(
        "CreateLoadBalancerPolicy",
        "Create a policy of a given type, with attributes.",
        "policy_name",
        "policy_type_name",
    )
    delete_policy = _lb("DeleteLoadBalancerPolicy", "Delete a policy.", "policy_name")
    describe_policies = _lb(
        "DescribeLoadBalancerPolicies",
        "The balancer's policies (all, or the named ones).",
        "policy_names",
        collect=True,
    )
    set_policies_of_listener = _lb(
        "SetLoadBalancerPoliciesOfListener",
        "Set the policies of the listener on a port.",
        "load_balancer_port",
        "policy_names",
    )
    set_policies_for_backend_server = _lb(
        "SetLoadBalancerPoliciesForBackendServer",
        "Set the policies for a back-end port.",
        "instance_port",
        "policy_names",
    )
    set_ssl_certificate = _lb(
        "SetLoadBalancerListenerSSLCertificate",
        "Change the certificate of an HTTPS listener.",
        "load_balancer_port",
        "ssl_certificate_id",
    )
    attributes = _lb("DescribeLoadBalancerAttributes", "The balancer's attributes (an API call).")
    delete = _lb("DeleteLoadBalancer", "Delete the load balancer.")

    # VM::EC2's long names.
    register_instances_with_load_balancer = register_instances
    deregister_instances_from_load_balancer = deregister_instances
    create_load_balancer_listeners = create_listeners
    delete_load_balancer_listeners = delete_listeners
    enable_availability_zones_for_load_balancer = enable_availability_zones = enable_zones
    disable_availability_zones_for_load_balancer = disable_availability_zones = disable_zones
    apply_security_groups_to_load_balancer = apply_security_groups
    attach_load_balancer_to_subnets = attach_to_subnets
    detach_load_balancer_from_subnets = detach_from_subnets
    create_load_balancer_policy = create_policy
    delete_load_balancer_policy = delete_policy
    describe_load_balancer_policies = describe_policies
    set_load_balancer_policies_of_listener = set_policies = set_policies_of_listener
    set_load_balancer_policies_for_backend_server = set_policies_for_backend_server
    set_load_balancer_listener_ssl_certificate = set_listener_ssl_certificate = set_ssl_certificate
    delete_load_balancer = delete

    @property
    def listeners(self) -> list[Any]:
        """The listeners (from the snapshot's listener descriptions)."""
        return [d.Listener for d in self.field("ListenerDescriptions") or ()]

    @guarded
    def modify_attributes(self, **attributes: Any) -> Any:
        """Change attributes: ``modify_attributes(cross_zone_load_balancing={"Enabled": True})``."""
        return self._facade().call(
            "elb", "ModifyLoadBalancerAttributes", self, load_balancer_attributes=attributes
        )

    @guarded
    def healthy_instances(self) -> list[str]:
        """The ids of the registered instances that are ``InService`` (an API call)."""
        return [
            str(s)
            for s in self._facade().call("elb", "DescribeInstanceHealth", self)
            if s.State == "InService"
        ]

    @guarded
    def current_tags(self) -> dict[str, str]:
        """The balancer's tags now (one DescribeTags call)."""
        found = self._facade().call("elb", "DescribeTags", load_balancer_names=[str(self)])
        return found[0].tags if found else {}

    @property
    def tags(self) -> dict[str, str]:
        """The balancer's tags: unlike fields, one DescribeTags call, as descriptions carry no tags."""
        return self.current_tags() or {}

    @guarded
    def add_tags(self, tags: Mapping[str, str] | None = None, /, **kv: str) -> bool:
        """Tag the balancer (ELB's AddTags)."""
        return bool(
            self._facade().call(
                "elb", "AddTags", load_balancer_names=[str(self)], tags={**(tags or {}), **kv}
            )
        )

    @guarded
    def delete_tags(self, *keys: TagKeys, **kv: str | None) -> bool:
        """Remove tags by key (ELB's RemoveTags ignores values)."""
        names = list(tag_spec(keys, kv))
        return bool(self._facade().call("elb", "RemoveTags", load_balancer_names=[str(self)], tags=names))


@register_class("elb", "InstanceState")
class InstanceState(EC2Object):
    """An instance's health behind a balancer; prints as the instance id, ``state`` is ``InService``..."""

    primary_field = "InstanceId"

    @guarded
    def instance(self) -> Any:
        """The EC2 instance (an API call)."""
        found = self._facade().call("ec2", "DescribeInstances", self.field("InstanceId"))
        return found[0] if found else None
