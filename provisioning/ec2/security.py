"""Security groups with VM::EC2's batched rule editing, their permissions, and key pairs.

``group.authorize_incoming(protocol="tcp", port=22, source_ip="203.0.113.7/32")`` only records the rule;
``group.update()`` sends every recorded change in one Authorize and one Revoke call per direction, then
re-reads the group. ``print(*group.ipPermissions, sep="\\n")`` shows rules as
``tcp(22..22) FROM CIDR 203.0.113.7/32``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from typing import Any

from .._log import get_logger
from ..dispatch import dispatch
from ..errors import ParameterError
from ..objects import AWSObject
from ._base import Action, EC2Object, rewrap, vmec2_method

__all__ = ["Group", "IpPermission", "KeyPair", "SecurityGroup", "permission"]

log = get_logger(__name__)

_ANY = {"any", "all", "*", "-1"}

#: The service names rules use most, so they resolve where ``/etc/services`` is missing (minimal and
#: container images lack Debian's ``netbase``); other names go to ``getservbyname``. IANA's numbers.
_SERVICE_PORTS = {
    "ftp": 21,
    "ssh": 22,
    "telnet": 23,
    "smtp": 25,
    "domain": 53,
    "dns": 53,
    "http": 80,
    "pop3": 110,
    "ntp": 123,
    "imap": 143,
    "snmp": 161,
    "ldap": 389,
    "https": 443,
    "smtps": 465,
    "submission": 587,
    "ldaps": 636,
    "imaps": 993,
    "pop3s": 995,
    "ms-sql-s": 1433,
    "openvpn": 1194,
    "nfs": 2049,
    "mysql": 3306,
    "rdp": 3389,
    "ms-wbt-server": 3389,
    "postgresql": 5432,
    "postgres": 5432,
    "redis": 6379,
    "http-alt": 8080,
}


def _ports(protocol: str, port: int | str | None) -> tuple[int, int] | None:
    """``(from, to)`` for a VM::EC2 port: ``22``, ``"8000..8010"``, ``"8000-8010"``, ``"ssh"`` or None."""
    if port is None:
        return None if protocol == "-1" else (-1, -1) if protocol == "icmp" else (0, 65535)
    if isinstance(port, int):
        return port, port
    text = port.strip()
    for sep in ("..", "-"):
        low, found, high = text.partition(sep)
        if found and low.strip().isdigit() and high.strip().isdigit():
            return int(low), int(high)
    if text.isdigit():
        return int(text), int(text)
    number = _SERVICE_PORTS.get(text.lower())
    if number is None:
        try:
            number = socket.getservbyname(text, protocol if protocol in ("tcp", "udp") else "tcp")
        except OSError as exc:
            raise ParameterError(f"unknown port or service name {port!r}") from exc
    return number, number


def _group_pair(group: Any) -> dict[str, str]:
    """A source group: an object, ``sg-...``, ``"account/name"`` or a group name in this account."""
    if isinstance(group, AWSObject):
        return {"GroupId": str(group)}
    text = str(group)
    if text.startswith("sg-"):
        return {"GroupId": text}
    user, slash, name = text.partition("/")
    return {"UserId": user, "GroupName": name} if slash else {"GroupName": text}


def permission(
    protocol: str | int,
    port: int | str | None = None,
    source_ip: str | Iterable[str] | None = None,
    group: Any = None,
) -> dict[str, Any]:
    """One ``IpPermission`` from VM::EC2's ``authorize_incoming`` arguments (a pure function).

    Args:
        protocol: ``tcp``, ``udp``, ``icmp``, a protocol number, or ``any``/``-1`` for all.
        port: A port, ``"from..to"``, ``"from-to"`` or a service name; omitted = all ports.
        source_ip: A CIDR or a list of them (IPv6 too); ``"any"`` = ``0.0.0.0/0``, the default when no
            ``group`` is given.
        group: A source security group, or a list of them, instead of ``source_ip``.

    Raises:
        ParameterError: both ``source_ip`` and ``group``, or an unknown port name.
    """
    if source_ip is not None and group is not None:
        raise ParameterError("give source_ip or group, not both")
    proto = str(protocol).lower()
    proto = "-1" if proto in _ANY else proto
    spec: dict[str, Any] = {"IpProtocol": proto}
    ports = _ports(proto, port)
    if ports is not None:
        spec["FromPort"], spec["ToPort"] = ports
    if group is not None:
        groups = group if isinstance(group, list | tuple) else [group]
        spec["UserIdGroupPairs"] = [_group_pair(g) for g in groups]
        return spec
    cidrs = [source_ip] if isinstance(source_ip, str) else list(source_ip or ["0.0.0.0/0"])
    cidrs = ["0.0.0.0/0" if c in _ANY else c for c in cidrs]
    v4 = [{"CidrIp": c} for c in cidrs if ":" not in c]
    v6 = [{"CidrIpv6": c} for c in cidrs if ":" in c]
    if v4:
        spec["IpRanges"] = v4
    if v6:
        spec["Ipv6Ranges"] = v6
    return spec


@dispatch.register_class("ec2", "IpPermission")
class IpPermission(EC2Object):
    """One firewall rule; prints as ``tcp(80..80) FROM CIDR 0.0.0.0/0`` or ``... GRPNAME web``."""

    def __str__(self) -> str:
        proto = str(self.field("IpProtocol"))
        low, high = self.field("FromPort"), self.field("ToPort")
        head = "all" if proto == "-1" else f"{proto}({low}..{high})" if low is not None else proto
        cidrs = [r.CidrIp for r in self.field("IpRanges") or []]
        cidrs += [r.CidrIpv6 for r in self.field("Ipv6Ranges") or []]
        groups = [p.GroupName or p.GroupId for p in self.field("UserIdGroupPairs") or []]
        text = head
        if cidrs:
            text += f" FROM CIDR {','.join(cidrs)}"
        if groups:
            text += f" GRPNAME {','.join(groups)}"
        return text

    def __repr__(self) -> str:
        return f"<IpPermission {self}>"

    def spec(self) -> dict[str, Any]:
        """The rule as an ``IpPermission`` request structure (to revoke or copy it)."""
        keep = ("IpProtocol", "FromPort", "ToPort", "IpRanges", "Ipv6Ranges", "UserIdGroupPairs")
        return {k: self.payload[k] for k in keep if self.payload.get(k) not in (None, [])}


@dispatch.register_class("ec2", "SecurityGroup")
class SecurityGroup(EC2Object):
    """A security group (VM::EC2::SecurityGroup): ``str(group)`` is its id, ``ipPermissions`` its rules."""

    describe = ("ec2", "DescribeSecurityGroups", "GroupIds")

    delete = Action("DeleteSecurityGroup", "Delete the group (DeleteSecurityGroup).", member="GroupId")

    @property
    def name(self) -> str:
        """The group's name."""
        return str(self.field("GroupName"))

    def _queue(self) -> list[tuple[str, str, dict[str, Any]]]:
        queue: list[tuple[str, str, dict[str, Any]]] = self.__dict__.setdefault("_pending", [])
        return queue

    def _record(self, direction: str, verb: str, rule: IpPermission | Mapping[str, Any], **kw: Any) -> None:
        spec = rule.spec() if isinstance(rule, IpPermission) else dict(rule) if rule else permission(**kw)
        queue = self._queue()
        opposite = ("Revoke" if verb == "Authorize" else "Authorize", direction, spec)
        if opposite in queue:
            queue.remove(opposite)  # revoking a rule not yet sent just forgets it
        else:
            queue.append((verb, direction, spec))

    def _record_revoke(self, direction: str, protocol: Any, port: Any, source_ip: Any, group: Any) -> None:
        """Record a removal given as an IpPermission (as listed by ``ip_permissions``) or as arguments."""
        if isinstance(protocol, IpPermission):
            self._record(direction, "Revoke", protocol)
        else:
            self._record(direction, "Revoke", {}, **_args(protocol, port, source_ip, group, None))

    def authorize_incoming(
        self,
        protocol: str | int | None = None,
        port: int | str | None = None,
        source_ip: str | Iterable[str] | None = None,
        group: Any = None,
        *,
        rule: Mapping[str, Any] | None = None,
    ) -> None:
        """Record an inbound rule (sent by :meth:`update`); arguments as :func:`permission`."""
        self._record("Ingress", "Authorize", rule or {}, **_args(protocol, port, source_ip, group, rule))

    def revoke_incoming(
        self,
        protocol: str | int | IpPermission | None = None,
        port: int | str | None = None,
        source_ip: str | Iterable[str] | None = None,
        group: Any = None,
    ) -> None:
        """Record the removal of an inbound rule (arguments or an IpPermission); sent by update()."""
        self._record_revoke("Ingress", protocol, port, source_ip, group)

    def authorize_outgoing(
        self,
        protocol: str | int | None = None,
        port: int | str | None = None,
        source_ip: str | Iterable[str] | None = None,
        group: Any = None,
    ) -> None:
        """Record an outbound rule (VPC groups); sent by :meth:`update`."""
        self._record("Egress", "Authorize", {}, **_args(protocol, port, source_ip, group, None))

    def revoke_outgoing(
        self,
        protocol: str | int | IpPermission | None = None,
        port: int | str | None = None,
        source_ip: str | Iterable[str] | None = None,
        group: Any = None,
    ) -> None:
        """Record the removal of an outbound rule; sent by :meth:`update`."""
        self._record_revoke("Egress", protocol, port, source_ip, group)

    @property
    def pending_changes(self) -> list[tuple[str, str, dict[str, Any]]]:
        """The recorded, unsent changes as ``(verb, direction, IpPermission dict)``."""
        return list(self._queue())

    @vmec2_method(default=False)
    def update(self) -> bool:
        """Send the recorded changes, one call per verb and direction, then re-read the group.

        Changes that were sent are forgotten even when a later call fails, so a retry resends only the rest.
        """
        facade = self._facade()
        queue = self._queue()
        for verb in ("Revoke", "Authorize"):
            for direction in ("Ingress", "Egress"):
                specs = [s for v, d, s in queue if v == verb and d == direction]
                if specs:
                    facade.call("ec2", f"{verb}SecurityGroup{direction}", group_id=self, ip_permissions=specs)
                    log.info(
                        "security_group.update",
                        group=str(self),
                        change=f"{verb}{direction}",
                        rules=len(specs),
                    )
                    queue[:] = [c for c in queue if (c[0], c[1]) != (verb, direction)]
        self.refresh()
        return True

    #: VM::EC2's other name for :meth:`update`.
    write = update


def _args(
    protocol: Any, port: Any, source_ip: Any, group: Any, rule: Mapping[str, Any] | None
) -> dict[str, Any]:
    if rule:
        return {}
    if protocol is None:
        raise ParameterError("a rule needs protocol= (tcp, udp, icmp, a number or any)")
    return {"protocol": protocol, "port": port, "source_ip": source_ip, "group": group}


@dispatch.register_class("ec2", "GroupIdentifier")
class Group(EC2Object):
    """A security group named by an instance (VM::EC2::Group): ``groupId`` and ``groupName``."""

    @vmec2_method()
    def security_group(self) -> SecurityGroup | None:
        """The full group with its rules (DescribeSecurityGroups)."""
        found = self._facade().call("ec2", "DescribeSecurityGroups", group_ids=[str(self)])
        return found[0] if found else None


@dispatch.register_class("ec2", "KeyPairInfo", "KeyPair")
class KeyPair(EC2Object):
    """A key pair: ``name``, ``fingerprint`` and, right after ``create_key_pair``, ``private_key``."""

    primary_field = "KeyName"
    describe = ("ec2", "DescribeKeyPairs", "KeyNames")

    delete = Action("DeleteKeyPair", "Delete the key pair (DeleteKeyPair).", member="KeyName")

    @property
    def name(self) -> str:
        """The key pair's name."""
        return str(self.field("KeyName"))

    @property
    def fingerprint(self) -> str | None:
        """The key's fingerprint as AWS computed it."""
        value = self.field("KeyFingerprint")
        return None if value is None else str(value)

    @property
    def private_key(self) -> str | None:
        """The PEM private key (only in ``create_key_pair``'s answer; never logged)."""
        value = self.payload.get("KeyMaterial")
        return None if value is None else str(value)


dispatch.register("CreateSecurityGroup", rewrap("SecurityGroup"))
dispatch.register("ImportKeyPair", rewrap("KeyPairInfo"))
