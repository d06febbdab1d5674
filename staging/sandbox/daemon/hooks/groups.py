"""Security groups as AWS has them: enforced on the hosts, and not deletable while something uses them.

* Every host's packet filter (:mod:`staging.sandbox.machine.firewall`) is computed from the ingress rules of
  its instance's groups (the union over its network interfaces, the VPC's ``default`` group when none was
  named) and re-applied after every call that can change a rule or a membership, so authorize/revoke take
  effect on running hosts. A rule naming a source group allows the addresses of that group's members.
* ``DeleteSecurityGroup`` is refused with ``DependencyViolation`` while a network interface uses the group: an
  instance that is not terminated, a detached interface, or an instance terminated less than
  :attr:`~staging.sandbox.faults.Faults.eni_linger_for` seconds ago (AWS removes the network interface of a
  terminated instance some time after the instance is gone), and while another group's rule references it.
  The ``default`` group cannot be deleted (``CannotDelete``).
"""

from __future__ import annotations

import time
from typing import Any

from moto.ec2.exceptions import EC2ClientError

from staging.sandbox.daemon.cloud import SandboxCloud
from staging.sandbox.daemon.hooks.patch import Fn, arg, wrap
from staging.sandbox.machine.firewall import Rule, SecurityView

Moto = Any


def group_ids(instance: Moto) -> frozenset[str]:
    """Ids of every security group on the instance's network interfaces."""
    return frozenset(
        group.id for nic in instance.nics.values() for group in nic.group_set if group is not None
    )


def security_view(backend: Moto) -> SecurityView:
    """The groups of ``backend``'s region as the hosts' filters need them (terminated instances aside)."""
    instances = {i.id: group_ids(i) for i in backend.all_instances() if i.state != "terminated"}
    rules: dict[str, tuple[Rule, ...]] = {}
    for gid in sorted({gid for groups in instances.values() for gid in groups}):
        group = backend.get_security_group_from_id(gid)
        rules[gid] = tuple(
            Rule(
                str(rule.ip_protocol),
                rule.from_port,
                rule.to_port,
                rule.cidr_ipv4 or None,
                (rule.source_group or {}).get("GroupId") or None,
            )
            for rule in (group.ingress_rules if group is not None else [])
        )
    return SecurityView(instances, rules)


def refuse_delete_in_use(backend: Moto, group: Moto, terminated_at: dict[str, float], linger: float) -> None:
    """Raise AWS's error if ``group`` cannot be deleted now (see the module docstring)."""
    if group.is_default:
        raise EC2ClientError(
            "CannotDelete", f'the specified group: "{group.id}" name: "default" cannot be deleted by a user'
        )
    in_use = EC2ClientError("DependencyViolation", f"resource {group.id} has a dependent object")
    now = time.monotonic()
    for instance in backend.all_instances():
        if group.id not in group_ids(instance):
            continue
        ended = terminated_at.get(instance.id)
        if instance.state != "terminated" or (ended is not None and now - ended < linger):
            raise in_use
    for eni in backend.enis.values():
        if eni.instance is None and group in eni.group_set:
            raise in_use
    for other in backend.describe_security_groups():
        if other.id != group.id and any(
            (rule.source_group or {}).get("GroupId") == group.id
            for rule in [*other.ingress_rules, *other.egress_rules]
        ):
            raise in_use


def install(cloud: SandboxCloud) -> None:
    """Patch moto: deletion checks, and a firewall refresh after every call that changes rules or members."""
    lock = cloud.lock

    def delete_security_group(
        original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        name, gid = arg(args, kwargs, 0, "name"), arg(args, kwargs, 1, "group_id")
        group = (
            backend.get_security_group_from_id(gid) if gid else backend.get_security_group_by_name_or_id(name)
        )
        with lock:
            if group is not None:  # else moto raises InvalidGroup.NotFound
                refuse_delete_in_use(backend, group, cloud.terminated_at, cloud.faults.eni_linger_for)
            return original(backend, *args, **kwargs)

    def refreshing(original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with lock:
            result = original(backend, *args, **kwargs)
            cloud.refresh_firewalls(security_view(backend))
            return result

    def modify_instance_security_groups(
        original: Fn, backend: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        with lock:
            instance = original(backend, *args, **kwargs)
            # moto keeps the launch groups on the primary interface (its group set is a union): replace them.
            instance.nics[0]._group_set = list(instance.security_groups)
            cloud.refresh_firewalls(security_view(backend))
            return instance

    wrap("delete_security_group", delete_security_group)
    wrap("modify_instance_security_groups", modify_instance_security_groups)
    for name in (
        "authorize_security_group_ingress",
        "revoke_security_group_ingress",
        "modify_security_group_rules",
        "modify_network_interface_attribute",
    ):
        wrap(name, refreshing)
