"""RDS objects: ``DBInstance``, ``DBSnapshot``, ``DBParameterGroup`` and their parts (VM::EC2::DB::*).

::

    db = ec2.create_db_instance("orders", db_instance_class="db.t3.micro", engine="postgres",
                                master_username="admin", master_user_password="...", allocated_storage=20)
    snap = db.create_snapshot("orders-nightly")
    copy = snap.copy("orders-keep")
    group = ec2.create_db_parameter_group("tuned", db_parameter_group_family="postgres16", description="x")
    group.set_parameters({"work_mem": "64MB"})

RDS tags go through the resource ARN (AddTagsToResource/RemoveTagsFromResource), so ``add_tags`` and
``delete_tags`` are overridden here; ``tags`` reads the ``TagList`` the description carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .ec2._base import Action, EC2Object, guarded
from .objects import TagKeys, register_class, tag_spec

__all__ = ["DBEndpoint", "DBInstance", "DBParameter", "DBParameterGroup", "DBSnapshot"]


def _rds(operation: str, doc: str) -> Action:
    """A declared RDS method taking keywords only; it returns the operation's answer (None on failure
    under ``raise_error=False``)."""
    return Action(operation, doc, service="rds", default=None, args=())


class _RDSTagged(EC2Object):
    """Tagging through the resource's ARN, and ``current_status()`` (re-describe, then the status field)."""

    arn_field = ""
    status_field = ""
    #: The describe operation and its (scalar) identifier member, for :meth:`refresh`.
    describe_by: tuple[str, str] = ("", "")

    def refresh(self) -> bool:
        """Re-describe the resource and replace this object's data in place; False if it is gone.

        RDS describes take one identifier, not a list, so the generic refresh cannot be used.
        """
        from .errors import NotFoundError

        operation, member = self.describe_by
        try:
            found = self._facade().call("rds", operation, **{member: str(self)})
        except NotFoundError:
            return False
        if not found:
            return False
        self._data, self._cache = found[0]._data, {}
        return True

    @guarded
    def add_tags(self, tags: Mapping[str, str] | None = None, /, **kv: str) -> bool:
        """Tag the resource (RDS AddTagsToResource)."""
        arn = self.field(self.arn_field)
        return bool(
            self._facade().call("rds", "AddTagsToResource", resource_name=arn, tags={**(tags or {}), **kv})
        )

    @guarded
    def delete_tags(self, *keys: TagKeys, **kv: str | None) -> bool:
        """Remove tags by key (RDS RemoveTagsFromResource ignores values)."""
        names = list(tag_spec(keys, kv))
        arn = self.field(self.arn_field)
        return bool(self._facade().call("rds", "RemoveTagsFromResource", resource_name=arn, tag_keys=names))

    @guarded
    def current_tags(self) -> dict[str, str]:
        """The resource's tags now (one ListTagsForResource call)."""
        found = self._facade().call("rds", "ListTagsForResource", resource_name=self.field(self.arn_field))
        return {str(t.Key): str(t.Value) for t in found}

    @guarded
    def current_status(self) -> str | None:
        """Re-describe the resource (an API call) and return its status (``available``, ``creating``...)."""
        self._refresh_or_raise()
        status = self.field(self.status_field)
        return None if status is None else str(status)


@register_class("rds", "Endpoint")
class DBEndpoint(EC2Object):
    """Where to connect; prints as ``address:port`` (VM::EC2::DB::Endpoint)."""

    def __vmec2_id__(self) -> str | None:
        address = self._data.get("Address")
        return None if address is None else f"{address}:{self._data.get('Port')}"


@register_class("rds", "DBInstance")
class DBInstance(_RDSTagged):
    """A database instance; prints as its identifier."""

    primary_field = "DBInstanceIdentifier"
    arn_field = "DBInstanceArn"
    status_field = "DBInstanceStatus"
    describe_by = ("DescribeDBInstances", "db_instance_identifier")

    reboot = _rds("RebootDBInstance", "Reboot the database; returns its new description.")
    start = _rds("StartDBInstance", "Start a stopped database; returns its new description.")
    stop = _rds("StopDBInstance", "Stop the database; returns its new description.")
    modify = _rds(
        "ModifyDBInstance",
        "Change settings: ``modify(allocated_storage=50, apply_immediately=True)``; returns the description.",
    )
    promote = _rds("PromoteReadReplica", "Make this read replica a standalone database.")
    promote_read_replica = promote

    @guarded
    def delete(self, final_snapshot: str | None = None, **kwargs: Any) -> Any:
        """Delete the database, first taking snapshot ``final_snapshot`` if given (else skipping it)."""
        if final_snapshot is None:
            kwargs.setdefault("skip_final_snapshot", True)
        else:
            kwargs["final_db_snapshot_identifier"] = final_snapshot
        return self._facade().call("rds", "DeleteDBInstance", self, **kwargs)

    @guarded
    def create_snapshot(self, name: str, **kwargs: Any) -> DBSnapshot:
        """Snapshot the database as ``name``."""
        snapshot: DBSnapshot = self._facade().call(
            "rds", "CreateDBSnapshot", db_snapshot_identifier=name, db_instance_identifier=self, **kwargs
        )
        return snapshot

    @guarded
    def create_read_replica(self, name: str, **kwargs: Any) -> DBInstance:
        """A read replica of this database named ``name``."""
        replica: DBInstance = self._facade().call(
            "rds", "CreateDBInstanceReadReplica", name, source_db_instance_identifier=self, **kwargs
        )
        return replica

    @guarded(empty=list)
    def snapshots(self, **kwargs: Any) -> list[DBSnapshot]:
        """This database's snapshots (an API call; ``snapshot_type="manual"`` leaves out automated ones)."""
        return list(self._facade().call("rds", "DescribeDBSnapshots", db_instance_identifier=self, **kwargs))

    @guarded
    def parameter_groups(self) -> list[DBParameterGroup]:
        """The parameter groups this database uses (an API call per group)."""
        names = [g.DBParameterGroupName for g in self.field("DBParameterGroups") or ()]
        return [self._facade().call("rds", "DescribeDBParameterGroups", n)[0] for n in names]


@register_class("rds", "DBSnapshot")
class DBSnapshot(_RDSTagged):
    """A database snapshot; prints as its identifier."""

    primary_field = "DBSnapshotIdentifier"
    arn_field = "DBSnapshotArn"
    status_field = "Status"
    describe_by = ("DescribeDBSnapshots", "db_snapshot_identifier")

    delete = _rds("DeleteDBSnapshot", "Delete the snapshot; returns its last description.")

    @guarded
    def copy(self, name: str, **kwargs: Any) -> DBSnapshot:
        """Copy the snapshot as ``name`` (cross-region: call on the target region's façade with the ARN)."""
        copied: DBSnapshot = self._facade().call(
            "rds",
            "CopyDBSnapshot",
            source_db_snapshot_identifier=self,
            target_db_snapshot_identifier=name,
            **kwargs,
        )
        return copied

    @guarded
    def restore(self, name: str, **kwargs: Any) -> DBInstance:
        """A new database ``name`` restored from this snapshot."""
        restored: DBInstance = self._facade().call(
            "rds", "RestoreDBInstanceFromDBSnapshot", name, db_snapshot_identifier=self, **kwargs
        )
        return restored


@register_class("rds", "Parameter")
class DBParameter(EC2Object):
    """One database parameter; prints as its name, ``as_string()`` gives ``name=value``."""

    primary_field = "ParameterName"

    def as_string(self) -> str:
        """``name=value`` (VM::EC2's string form of a parameter)."""
        return f"{self._data.get('ParameterName')}={self._data.get('ParameterValue', '')}"


@register_class("rds", "DBParameterGroup")
class DBParameterGroup(EC2Object):
    """A database parameter group; prints as its name."""

    primary_field = "DBParameterGroupName"

    delete = _rds("DeleteDBParameterGroup", "Delete the group (no database may use it).")

    @guarded(empty=list)
    def parameters(self, **kwargs: Any) -> list[DBParameter]:
        """The group's parameters (an API call; ``source="user"`` for the ones set by hand)."""
        return list(self._facade().call("rds", "DescribeDBParameters", self, **kwargs))

    @guarded
    def set_parameters(self, values: Mapping[str, Any], apply_method: str = "immediate") -> bool:
        """Set parameters from ``{name: value}``, applied ``immediate`` or at ``pending-reboot``."""
        params = [
            {"ParameterName": k, "ParameterValue": str(v), "ApplyMethod": apply_method}
            for k, v in values.items()
        ]
        return bool(self._facade().call("rds", "ModifyDBParameterGroup", self, parameters=params))

    @guarded
    def reset(self, *names: str, apply_method: str = "immediate") -> bool:
        """Reset the named parameters to their defaults, or every parameter when none is named."""
        if not names:
            return bool(self._facade().call("rds", "ResetDBParameterGroup", self, reset_all_parameters=True))
        params = [{"ParameterName": n, "ApplyMethod": apply_method} for n in names]
        return bool(self._facade().call("rds", "ResetDBParameterGroup", self, parameters=params))
