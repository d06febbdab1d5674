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
from ..errors import NotFoundError, ParameterError
from ..naming import service_model
from ..objects import AWSObject, classes, register_class
from ..waiting import describe_created
from ._base import Action, EC2Object, rewrap, vmec2_method

__all__ = ["Group", "GroupPermission", "IpPermission", "IpRange", "KeyPair", "SecurityGroup", "permission"]

log = get_logger(__name__)

_ANY = {"any", "all", "*", "-1"}

#: The service names rules use most, so they resolve where ``/etc/services`` is missing (minimal and
#: container images lack Debian's ``netbase``); other names go to ``getservbyname``. IANA's numbers.
_SERVICE_PORTS = {
    "discard": 9,  # t/03 of VM::EC2's own tests
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


@register_class("ec2", "IpPermission")
class IpPermission(EC2Object):
    """One firewall rule; prints as ``tcp(80..80) FROM CIDR 0.0.0.0/0`` or ``... GRPNAME web``."""

    #: The account owning the group this rule belongs to (set by :class:`SecurityGroup`), so that source
    #: groups of other accounts print as ``account/name``.
    owner_id: str | None = None

    def __str__(self) -> str:
        proto = str(self.field("IpProtocol"))
        low, high = self.field("FromPort"), self.field("ToPort")
        head = "all" if proto == "-1" else f"{proto}({low}..{high})" if low is not None else proto
        cidrs = sorted(str(r.CidrIp) for r in self.field("IpRanges") or [])
        cidrs += sorted(str(r.CidrIpv6) for r in self.field("Ipv6Ranges") or [])
        groups = sorted(str(p) for p in self.groups)
        text = head
        if cidrs:
            text += f" FROM CIDR {','.join(cidrs)}"
        if groups:
            text += f" GRPNAME {','.join(groups)}"
        return text

    @property
    def groups(self) -> list[GroupPermission]:
        """The source groups of the rule (VM::EC2's ``groups``), each knowing the rule's owner."""
        pairs: list[GroupPermission] = list(self.field("UserIdGroupPairs") or [])
        for pair in pairs:
            pair.owner_id = self.owner_id
        return pairs

    def __repr__(self) -> str:
        return f"<IpPermission {self}>"

    def spec(self) -> dict[str, Any]:
        """The rule as an ``IpPermission`` request structure (to revoke or copy it)."""
        keep = ("IpProtocol", "FromPort", "ToPort", "IpRanges", "Ipv6Ranges", "UserIdGroupPairs")
        return {k: self.payload[k] for k in keep if self.payload.get(k) not in (None, [])}


@register_class("ec2", "IpRange", "Ipv6Range")
class IpRange(EC2Object):
    """A source or destination network of a rule; prints as its CIDR (VM::EC2's ``ipRanges`` were strings)."""

    def __vmec2_id__(self) -> str | None:
        value = self.field("CidrIp") or self.field("CidrIpv6")
        return None if value is None else str(value)


@register_class("ec2", "UserIdGroupPair")
class GroupPermission(EC2Object):
    """A source group of a rule (VM::EC2::SecurityGroup::GroupPermission): ``userId``, ``groupId``,
    ``groupName``. Prints as its name, ``account/name`` for another account's group, else its id."""

    primary_field = "GroupId"
    #: The account owning the rule's group (set by :class:`IpPermission`).
    owner_id: str | None = None

    def __str__(self) -> str:
        name, user = self.field("GroupName"), self.field("UserId")
        if not name:
            return str(self.field("GroupId"))
        return str(name) if not user or user == self.owner_id else f"{user}/{name}"

    @vmec2_method
    def security_group(self) -> SecurityGroup | None:
        """The full group (DescribeSecurityGroups); None for another account's group, which AWS does not
        describe."""
        if not self.field("GroupId") or (self.owner_id and self.field("UserId") not in (None, self.owner_id)):
            return None
        found = self._facade().call("ec2", "DescribeSecurityGroups", group_ids=[str(self.field("GroupId"))])
        return found[0] if found else None


@register_class("ec2", "SecurityGroup")
class SecurityGroup(EC2Object):
    """A security group (VM::EC2::SecurityGroup): ``str(group)`` is its id, ``ipPermissions`` its rules."""

    describe = ("ec2", "DescribeSecurityGroups", "GroupIds")

    delete = Action("DeleteSecurityGroup", "Delete the group (DeleteSecurityGroup).", member="GroupId")

    @property
    def name(self) -> str:
        """The group's name."""
        return str(self.field("GroupName"))

    def field(self, member: str) -> Any:
        """A member's value; the rules learn the group's owner, so they print other accounts' groups."""
        value = super().field(member)
        if member in ("IpPermissions", "IpPermissionsEgress"):
            for rule in value or ():
                rule.owner_id = self.field("OwnerId")
        return value

    def _queue(self) -> list[tuple[str, str, dict[str, Any]]]:
        queue: list[tuple[str, str, dict[str, Any]]] = self.__dict__.setdefault("_pending", [])
        return queue

    def _record(
        self, direction: str, verb: str, rule: IpPermission | Mapping[str, Any], **kw: Any
    ) -> IpPermission:
        """Queue one change; returns the rule (VM::EC2's authorize/revoke methods answered it)."""
        spec = rule.spec() if isinstance(rule, IpPermission) else dict(rule) if rule else permission(**kw)
        queue = self._queue()
        opposite = ("Revoke" if verb == "Authorize" else "Authorize", direction, spec)
        if opposite in queue:
            queue.remove(opposite)  # revoking a rule not yet sent just forgets it
        else:
            queue.append((verb, direction, spec))
        shape = service_model("ec2").shape_for("IpPermission")
        recorded = classes.wrap("ec2", shape, spec, self.ec2)
        assert isinstance(recorded, IpPermission)
        recorded.owner_id = self.field("OwnerId")
        return recorded

    def _record_revoke(
        self, direction: str, protocol: Any, port: Any, source_ip: Any, group: Any
    ) -> IpPermission:
        """Record a removal given as an IpPermission (as listed by ``ip_permissions``) or as arguments."""
        if isinstance(protocol, IpPermission):
            return self._record(direction, "Revoke", protocol)
        return self._record(direction, "Revoke", {}, **_args(protocol, port, source_ip, group, None))

    def authorize_incoming(
        self,
        protocol: str | int | None = None,
        port: int | str | None = None,
        source_ip: str | Iterable[str] | None = None,
        group: Any = None,
        *,
        rule: Mapping[str, Any] | None = None,
        source: str | Iterable[str] | None = None,
        groups: Any = None,
    ) -> IpPermission:
        """Record an inbound rule (sent by :meth:`update`) and return it; arguments as :func:`permission`,
        with VM::EC2's other names ``source=`` (for ``source_ip``) and ``groups=`` (for ``group``)."""
        source_ip, group = _sources(source_ip, source, group, groups)
        return self._record(
            "Ingress", "Authorize", rule or {}, **_args(protocol, port, source_ip, group, rule)
        )

    def revoke_incoming(
        self,
        protocol: str | int | IpPermission | None = None,
        port: int | str | None = None,
        source_ip: str | Iterable[str] | None = None,
        group: Any = None,
        *,
        source: str | Iterable[str] | None = None,
        groups: Any = None,
    ) -> IpPermission:
        """Record the removal of an inbound rule (arguments or an IpPermission), sent by update(); returns
        it."""
        source_ip, group = _sources(source_ip, source, group, groups)
        return self._record_revoke("Ingress", protocol, port, source_ip, group)

    def authorize_outgoing(
        self,
        protocol: str | int | None = None,
        port: int | str | None = None,
        source_ip: str | Iterable[str] | None = None,
        group: Any = None,
        *,
        source: str | Iterable[str] | None = None,
        groups: Any = None,
    ) -> IpPermission:
        """Record an outbound rule (VPC groups), sent by :meth:`update`; returns it."""
        source_ip, group = _sources(source_ip, source, group, groups)
        return self._record("Egress", "Authorize", {}, **_args(protocol, port, source_ip, group, None))

    def revoke_outgoing(
        self,
        protocol: str | int | IpPermission | None = None,
        port: int | str | None = None,
        source_ip: str | Iterable[str] | None = None,
        group: Any = None,
        *,
        source: str | Iterable[str] | None = None,
        groups: Any = None,
    ) -> IpPermission:
        """Record the removal of an outbound rule, sent by :meth:`update`; returns it."""
        source_ip, group = _sources(source_ip, source, group, groups)
        return self._record_revoke("Egress", protocol, port, source_ip, group)

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


def _sources(source_ip: Any, source: Any, group: Any, groups: Any) -> tuple[Any, Any]:
    """``source_ip``/``group`` from either of VM::EC2's names for each (``source=``, ``groups=``)."""
    if source is not None and source_ip is not None:
        raise ParameterError("give source_ip= or source=, not both")
    if groups is not None and group is not None:
        raise ParameterError("give group= or groups=, not both")
    return (source_ip if source is None else source), (group if groups is None else groups)


def _args(
    protocol: Any, port: Any, source_ip: Any, group: Any, rule: Mapping[str, Any] | None
) -> dict[str, Any]:
    if rule:
        return {}
    if protocol is None:
        raise ParameterError("a rule needs protocol= (tcp, udp, icmp, a number or any)")
    return {"protocol": protocol, "port": port, "source_ip": source_ip, "group": group}


@register_class("ec2", "GroupIdentifier")
class Group(EC2Object):
    """A security group named by an instance (VM::EC2::Group): ``groupId`` and ``groupName``."""

    @vmec2_method
    def security_group(self) -> SecurityGroup | None:
        """The full group with its rules (DescribeSecurityGroups)."""
        found = self._facade().call("ec2", "DescribeSecurityGroups", group_ids=[str(self)])
        return found[0] if found else None


@register_class("ec2", "KeyPairInfo", "KeyPair")
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


def _created_group(response: Mapping[str, Any], facade: Any, operation: Any) -> AWSObject:
    """CreateSecurityGroup's answer as the whole group, described again as VM::EC2 did (name,
    description, owner and the default rules); the bare answer if the new group is not visible yet."""
    made = _bare_group(response, facade, operation)
    if facade is None:
        return made
    try:
        return describe_created(facade, "DescribeSecurityGroups", str(made))  # type: ignore[no-any-return]
    except NotFoundError:  # eventual consistency: the group exists, its description lags; refresh() later
        return made


_bare_group = rewrap("SecurityGroup")
dispatch.register("CreateSecurityGroup", _created_group)
dispatch.register("ImportKeyPair", rewrap("KeyPairInfo"))
