"""t/03.securitygroup.t of VM::EC2, assertion by assertion: a group, its rules, update() and revocation."""

from __future__ import annotations

from typing import Any

import pytest

from provisioning import EC2

from .conftest import moto_limit

GROUP = "VM::EC2 Test Group"
GROUP_DESCRIPTION = "Test group created by VM::EC2; do not use!!"


@pytest.fixture
def group(ec2: EC2) -> Any:
    """The test group made and given its three rules (ok 1-14); the END block deletes it."""
    import provisioning

    assert provisioning.EC2  # ok 1: use_ok
    ec2.print_error = False
    ec2.delete_security_group(name=GROUP)  # in case it was here from a previous invocation
    ec2.print_error = True
    g = ec2.create_security_group(name=GROUP, description=GROUP_DESCRIPTION)
    assert g  # ok 2
    assert g.groupName == GROUP  # ok 3
    assert g.groupDescription == GROUP_DESCRIPTION  # ok 4
    g.add_tag(Role="VM::EC2 Testing")
    gg = ec2.describe_security_groups(filter={"tag:Role": "VM::EC2 Testing"})[0]
    assert g == gg  # ok 5
    # newly created groups should contain no permissions
    perm = g.ipPermissions
    assert len(perm) == 0  # ok 6
    # let's add some
    assert g.authorize_incoming(protocol="tcp", port=22, source="any")  # ok 7
    assert g.authorize_incoming(
        protocol="tcp", port="23..29", source=["192.168.0.0/24", "192.168.1.0/24"]
    )  # ok 8
    assert g.authorize_incoming(
        protocol="udp", port="discard", groups=[g.groupId, "default", "979382823631/default"]
    )  # ok 9
    perm = g.ipPermissions
    assert len(perm) == 0  # ok 10: permissions don't change until update()
    assert g.update()  # ok 11
    perm = g.ipPermissions
    assert len(perm) == 3  # ok 12
    perm = sorted(perm, key=str)
    assert str(perm[0]) == "tcp(22..22) FROM CIDR 0.0.0.0/0"  # ok 13
    assert str(perm[1]) == "tcp(23..29) FROM CIDR 192.168.0.0/24,192.168.1.0/24"  # ok 14
    yield g
    assert ec2.delete_security_group(name=GROUP)  # END block


def test_revoke(ec2: EC2, group: Any) -> None:
    """Revocation by explicit rule and by IpPermissions object (ok 16-19)."""
    g = group
    perm = sorted(g.ipPermissions, key=str)
    assert g.revoke_incoming(
        protocol="tcp", port="23..29", source=["192.168.0.0/24", "192.168.1.0/24"]
    )  # ok 16
    assert g.revoke_incoming(perm[0])  # ok 17
    assert g.update()  # ok 18
    perm = sorted(g.ipPermissions, key=str)
    assert len(perm) == 1  # ok 19
    assert str(perm[0]).startswith("udp(9..9) GRPNAME ")


@moto_limit(
    "UserIdGroupPairs come back without GroupName, and another account's group name resolves to this "
    "account's group id (979382823631/default -> our default)"
)
def test_group_rule_string(ec2: EC2, group: Any) -> None:
    """The group-sourced rule prints as sorted names, ``account/name`` for another account's (ok 15, 20)."""
    g = group
    perm = sorted(g.ipPermissions, key=str)
    gg = ec2.describe_security_groups(name="default")[0]
    from_ = ",".join(sorted([gg.name, g.name, "979382823631/default"]))
    assert str(perm[2]) == f"udp(9..9) GRPNAME {from_}"  # ok 15
    g.revoke_incoming(protocol="tcp", port="23..29", source=["192.168.0.0/24", "192.168.1.0/24"])
    g.revoke_incoming(perm[0])
    g.update()
    perm = sorted(g.ipPermissions, key=str)
    assert str(perm[0]) == f"udp(9..9) GRPNAME {from_}"  # ok 20
