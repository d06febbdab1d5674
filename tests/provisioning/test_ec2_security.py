"""Security groups (batched rule edits), their permissions, and key pairs, against moto's server."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import paramiko
import pytest

from provisioning import EC2, AWSError, NotFoundError, ParameterError
from provisioning.ec2.security import _SERVICE_PORTS, IpPermission, KeyPair, SecurityGroup, permission

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@example"


@pytest.fixture
def group(ec2: EC2) -> SecurityGroup:
    """A new security group."""
    created: SecurityGroup = ec2.create_security_group(name="NewGroup", description="example")
    return created


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"protocol": "tcp", "port": 80},
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        ),
        (
            {"protocol": "udp", "port": "1000..2000", "source_ip": "any"},
            {"IpProtocol": "udp", "FromPort": 1000, "ToPort": 2000, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        ),
        (
            {"protocol": "tcp", "port": "ssh", "source_ip": ["10.0.0.0/8", "::/0"]},
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
                "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
            },
        ),
        (
            {"protocol": "icmp", "group": "sg-123"},
            {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "UserIdGroupPairs": [{"GroupId": "sg-123"}]},
        ),
        (
            {"protocol": "any", "group": ["111122223333/web", "db"]},
            {
                "IpProtocol": "-1",
                "UserIdGroupPairs": [{"UserId": "111122223333", "GroupName": "web"}, {"GroupName": "db"}],
            },
        ),
    ],
)
def test_permission_builds_rules_from_vmec2_shorthand(
    kwargs: dict[str, Any], expected: dict[str, Any]
) -> None:
    """permission() turns protocol/port/source_ip/group shorthand into an IpPermission structure."""
    assert permission(**kwargs) == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"protocol": "tcp", "source_ip": "1.2.3.4/32", "group": "sg-1"},
        {"protocol": "tcp", "port": "no-such-service"},
    ],
)
def test_permission_rejects_bad_arguments(kwargs: dict[str, Any]) -> None:
    """Both a source IP and a group, or an unknown service name, raise ParameterError."""
    with pytest.raises(ParameterError):
        permission(**kwargs)


@pytest.mark.parametrize(("name", "number"), [("ssh", 22), ("HTTPS", 443), ("postgresql", 5432)])
def test_service_names_resolve_without_etc_services(
    monkeypatch: pytest.MonkeyPatch, name: str, number: int
) -> None:
    """Common service names resolve from the built-in table when getservbyname has no /etc/services."""

    def no_services_file(*args: Any) -> int:
        raise OSError("service/proto not found")  # what a machine without netbase answers

    monkeypatch.setattr(socket, "getservbyname", no_services_file)
    assert permission("tcp", name)["FromPort"] == number


def test_builtin_service_ports_agree_with_etc_services() -> None:
    """Where /etc/services knows a name of the built-in table, it gives the same port."""
    for name, number in _SERVICE_PORTS.items():
        try:
            assert socket.getservbyname(name, "tcp") == number, name
        except OSError:
            continue  # a name this machine's /etc/services lacks (or no /etc/services at all)


def test_authorize_is_batched_until_update(ec2: EC2, group: SecurityGroup) -> None:
    """authorize_incoming only records; update() sends one call and re-reads the group."""
    calls: list[str] = []
    ec2._pool.client("ec2").meta.events.register(
        "before-call.ec2.*", lambda model, **_: calls.append(model.name)
    )
    group.authorize_incoming(protocol="tcp", port=80, source_ip=["192.168.2.0/24", "192.168.3.0/24"])
    group.authorize_incoming(protocol="tcp", port=22, group=group)
    assert calls == [] and len(group.pending_changes) == 2
    assert group.update() is True
    assert calls == ["AuthorizeSecurityGroupIngress", "DescribeSecurityGroups"]
    rules = sorted(str(p) for p in group.ipPermissions)
    assert rules == [f"tcp(22..22) GRPNAME {group}", "tcp(80..80) FROM CIDR 192.168.2.0/24,192.168.3.0/24"]
    assert all(isinstance(p, IpPermission) for p in group.ipPermissions) and group.name == "NewGroup"


def test_revoke_incoming_by_arguments_or_rule(ec2: EC2, group: SecurityGroup) -> None:
    """revoke_incoming takes arguments or an IpPermission; an unsent authorize is simply cancelled."""
    group.authorize_incoming(protocol="tcp", port=80)
    group.authorize_incoming(protocol="tcp", port=443)
    group.update()
    group.authorize_incoming(protocol="udp", port=53)
    group.revoke_incoming(protocol="udp", port=53)
    assert group.pending_changes == []
    rule = next(p for p in group.ipPermissions if p.fromPort == 443)
    group.revoke_incoming(rule)
    group.revoke_incoming(protocol="tcp", port=80, source_ip="0.0.0.0/0")
    assert group.update() and group.ipPermissions == []


def test_outgoing_rules(ec2: EC2, group: SecurityGroup) -> None:
    """authorize_outgoing/revoke_outgoing edit the egress rules."""
    group.authorize_outgoing(protocol="tcp", port=5432, source_ip="10.1.0.0/16")
    group.update()
    assert "tcp(5432..5432) FROM CIDR 10.1.0.0/16" in [str(p) for p in group.ipPermissionsEgress]
    group.revoke_outgoing(protocol="tcp", port=5432, source_ip="10.1.0.0/16")
    group.update()
    assert "tcp(5432..5432) FROM CIDR 10.1.0.0/16" not in [str(p) for p in group.ipPermissionsEgress]


def test_update_failures(mode: EC2, group: SecurityGroup, fails: Callable[..., None]) -> None:
    """Duplicate rules and revoking absent rules fail in both modes; sent batches are not resent."""
    group.authorize_incoming(protocol="tcp", port=80)
    group.update()
    group.authorize_incoming(protocol="tcp", port=80)
    fails(mode, group.update, AWSError, False)
    assert group.pending_changes == [("Authorize", "Ingress", permission("tcp", 80))]
    other = mode.create_security_group(name="Other", description="x")
    other.revoke_incoming(protocol="tcp", port=81)
    fails(mode, other.update, AWSError, False)
    with pytest.raises(ParameterError):
        group.authorize_incoming(port=80)


def test_delete_group(mode: EC2, group: SecurityGroup, fails: Callable[..., None]) -> None:
    """delete() removes the group; deleting it again fails in both modes."""
    assert group.delete() is True
    fails(mode, group.delete, NotFoundError, False)
    with pytest.raises(NotFoundError):  # refresh() always raises, as VM::EC2's did
        group.refresh()


def test_key_pair_create_import_describe_delete(ec2: EC2, tmp_path: Any) -> None:
    """create_key_pair gives the private key (usable by paramiko); import and describe give fingerprints."""
    kp = ec2.create_key_pair("My Key")
    assert isinstance(kp, KeyPair) and str(kp) == kp.name == "My Key" and kp.fingerprint
    key_file = tmp_path / "key.pem"
    key_file.write_text(kp.private_key or "")
    assert paramiko.RSAKey.from_private_key_file(str(key_file)).get_bits() >= 2048
    imported = ec2.import_key_pair("NewKey", PUBLIC_KEY)
    assert isinstance(imported, KeyPair) and imported.fingerprint and imported.private_key is None
    described = ec2.describe_key_pairs("NewKey")[0]
    assert described.fingerprint == imported.fingerprint and described == imported
    assert imported.refresh() and imported.delete() is True
    assert [str(k) for k in ec2.describe_key_pairs()] == ["My Key"]


def test_key_pair_failures(mode: EC2, fails: Callable[..., None]) -> None:
    """Duplicate names and deleting/refreshing unknown pairs fail in both modes."""
    kp = mode.create_key_pair("dup")
    fails(mode, lambda: mode.create_key_pair("dup"), AWSError)
    kp.delete()
    with pytest.raises(NotFoundError):  # refresh() always raises, as VM::EC2's did
        kp.refresh()
