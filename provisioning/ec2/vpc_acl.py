"""Network ACLs (VM::EC2::VPC::NetworkAcl) and their entries."""

from __future__ import annotations

from typing import Any

from ..objects import register_class
from ._base import EC2Object, guarded

__all__ = ["NetworkAcl", "NetworkAclEntry"]


@register_class("ec2", "NetworkAclEntry")
class NetworkAclEntry(EC2Object):
    """One numbered rule of a network ACL; prints as its rule number."""

    primary_field = "RuleNumber"

    @property
    def port_from(self) -> int | None:
        """The first port of the rule's range (VM::EC2's ``portRangeFrom``), or None."""
        return (self._data.get("PortRange") or {}).get("From")

    @property
    def port_to(self) -> int | None:
        """The last port of the rule's range (VM::EC2's ``portRangeTo``), or None."""
        return (self._data.get("PortRange") or {}).get("To")


@register_class("ec2", "NetworkAcl")
class NetworkAcl(EC2Object):
    """A VPC network ACL.

    Entry methods take CreateNetworkAclEntry's arguments in any spelling (``rule_number``, ``protocol``,
    ``rule_action``, ``cidr_block``, ``egress``, ``port_from``/``port_to``, ``icmp_type_code``); ``egress``
    defaults to False (an inbound rule), as in VM::EC2.
    """

    @property
    def default(self) -> bool:
        """Whether this is its VPC's default ACL (from the snapshot)."""
        return bool(self._data.get("IsDefault"))

    @guarded
    def create_entry(self, rule_number: int, **kwargs: Any) -> bool:
        """Add a rule: ``acl.create_entry(100, protocol="6", rule_action="allow", port_from=22, ...)``."""
        kwargs.setdefault("egress", False)
        return bool(
            self._facade().call(
                "ec2", "CreateNetworkAclEntry", network_acl_id=self, rule_number=rule_number, **kwargs
            )
        )

    @guarded
    def replace_entry(self, rule_number: int, **kwargs: Any) -> bool:
        """Replace rule ``rule_number`` with a new definition (same arguments as :meth:`create_entry`)."""
        kwargs.setdefault("egress", False)
        return bool(
            self._facade().call(
                "ec2", "ReplaceNetworkAclEntry", network_acl_id=self, rule_number=rule_number, **kwargs
            )
        )

    @guarded
    def delete_entry(self, rule_number: int | NetworkAclEntry, egress: bool | None = None) -> bool:
        """Remove a rule, given its number (and ``egress``) or a :class:`NetworkAclEntry` of this ACL."""
        if isinstance(rule_number, NetworkAclEntry):
            egress = bool(rule_number.field("Egress")) if egress is None else egress
            rule_number = int(str(rule_number))
        return bool(
            self._facade().call(
                "ec2",
                "DeleteNetworkAclEntry",
                network_acl_id=self,
                rule_number=rule_number,
                egress=bool(egress),
            )
        )

    @guarded
    def associate(self, subnet: Any) -> str:
        """Make ``subnet`` use this ACL; returns the new association id."""
        current = self._facade().call("ec2", "DescribeNetworkAcls", {"association.subnet-id": str(subnet)})
        for acl in current:
            for assoc in acl.field("Associations") or ():
                if assoc.field("SubnetId") == str(subnet):
                    return str(
                        self._facade().call(
                            "ec2",
                            "ReplaceNetworkAclAssociation",
                            association_id=assoc.NetworkAclAssociationId,
                            network_acl_id=self,
                        )
                    )
        from ..errors import NotFoundError

        raise NotFoundError("InvalidSubnetID.NotFound", f"subnet {subnet} has no network ACL association")

    @guarded
    def disassociate(self, subnet: Any) -> str:
        """Move ``subnet`` back to its VPC's default ACL; returns the new association id.

        Raises:
            ParameterError: on the default ACL itself (a subnet cannot leave it).
        """
        from ..errors import ParameterError

        if self.default:
            raise ParameterError(f"{self} is the default network ACL; associate the subnet with another ACL")
        default = self._facade().call(
            "ec2", "DescribeNetworkAcls", {"vpc-id": self.field("VpcId"), "default": "true"}
        )[0]
        return str(default.associate(subnet))

    @guarded
    def delete(self) -> bool:
        """Delete the ACL (it must not be the default one nor associated with a subnet)."""
        return bool(self._facade().call("ec2", "DeleteNetworkAcl", self))
