"""The base of every result object: a thin, read-only view over one response structure.

An :class:`AWSObject` holds the dict botocore returned and the shape that describes it. Fields are read by
any of VM::EC2's or boto3's spellings, all derived from the shape: the boto3 member (``PublicDnsName``), its
snake form (``public_dns_name``), the XML tag VM::EC2 used (``dnsName``) and its snake form (``dns_name``).
Nested structures come back as objects too, of the class registered for their shape name.

The class registry lives here, beside the base class it falls back to: :func:`register_class` (a class
decorator, ``@register_class("ec2", "Instance")``) and :func:`class_for`. Object modules register their
classes when they are imported; :mod:`provisioning.catalog` imports every one of them by name.

Objects are snapshots: reading a field never calls AWS. :meth:`AWSObject.refresh` re-describes explicitly.
``str(obj)`` is the resource id, as VM::EC2's objects stringified to theirs; equality and hashing use
(class, id), and an object equals its id string (``volume == "vol-1"``, Perl's ``eq``). Library state
lives in underscore attributes plus the one public handle ``ec2``.
"""

from __future__ import annotations

import pprint
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from botocore.model import ListShape, Shape, StructureShape

from .asynccalls import async_mode
from .naming import member_keys, normalize, snake

if TYPE_CHECKING:
    from .facade import Facade

__all__ = [
    "AWSObject",
    "ClassRegistry",
    "TagKeys",
    "class_for",
    "classes",
    "register_class",
    "tag_dict",
    "tag_spec",
]


@cache
def _id_member(shape: StructureShape) -> str | None:
    """The member holding a structure's identity: ``InstanceId`` for Instance, ``GroupId``, ``ZoneName``..."""
    members: list[str] = [str(m) for m in shape.members]
    name = str(shape.name)
    for cand in (f"{name}Id", f"{name}Identifier", f"{name}Name", "Id", "Identifier"):
        if cand in members:
            return cand
    ids = [m for m in members if m.endswith(("Id", "Identifier"))]
    if len(ids) == 1:
        return ids[0]
    # Shapes named after a wider concept (``LoadBalancerDescription``, ``SecurityGroup`` -> ``GroupId``).
    for m in ids:
        if name.startswith(m[: -len("Id")]) or m[: -len("Id")] in name:
            return m
    names = [m for m in members if m.endswith("Name")]
    if len(names) == 1:
        return names[0]
    for m in names:
        if name.startswith(m[: -len("Name")]):
            return m
    return None


#: What ``delete_tags`` accepts per positional argument: a key, a list of keys or ``{key: value or None}``.
TagKeys = str | Iterable[str] | Mapping[str, str | None]


def tag_spec(keys: Iterable[TagKeys], kv: Mapping[str, str | None]) -> dict[str, str | None]:
    """``delete_tags``' arguments as ``{key: value}``, None meaning any value (a pure function)."""
    spec: dict[str, str | None] = {}
    for k in keys:
        if isinstance(k, Mapping):
            spec.update(k)
        elif isinstance(k, str):
            spec[k] = None
        else:
            spec.update(dict.fromkeys(k))
    spec.update(kv)
    return spec


def tag_dict(tags: Any) -> dict[str, str]:
    """``[{"Key": k, "Value": v}, ...]`` as ``{k: v}`` (also accepts a dict, or None)."""
    if not tags:
        return {}
    if isinstance(tags, Mapping):
        return dict(tags)
    return {t["Key"]: t.get("Value", "") for t in tags}


class AWSObject:
    """A read-only view of one AWS structure, with VM::EC2's field spellings and string form.

    Args:
        data: The structure as botocore returned it.
        ec2: The façade that made it; convenience methods call back through it.
        shape: botocore's shape for ``data``; fields, ids and nested objects are derived from it.
        service: Our short service name (``ec2``, ``elb``, ``autoscaling``, ``rds``, ``sts``).
    """

    #: Override the member holding the id when the shape's naming does not tell.
    primary_field: ClassVar[str | None] = None
    #: ``(service, DescribeOperation, id-list member)`` used by :meth:`refresh`; derived when None.
    describe: ClassVar[tuple[str, str, str] | None] = None

    def __init__(
        self, data: Mapping[str, Any], ec2: Facade | None, shape: Shape | None = None, service: str = "ec2"
    ) -> None:
        self._data: Mapping[str, Any] = data
        self._shape = shape if isinstance(shape, StructureShape) else None
        self._service = service
        self._parent: AWSObject | None = None
        self._cache: dict[str, Any] = {}
        self.ec2 = ec2

    # --- identity -------------------------------------------------------------------------------------

    def __vmec2_id__(self) -> str | None:
        """The resource id (used wherever an object is passed as an id argument)."""
        field = self.primary_field or (_id_member(self._shape) if self._shape is not None else None)
        if field is None:
            return None
        value = self._data.get(field)
        return None if value is None else str(value)

    def __str__(self) -> str:
        oid = self.__vmec2_id__()
        return oid if oid is not None else self._type_label()

    def __repr__(self) -> str:
        oid = self.__vmec2_id__()
        return f"<{type(self).__name__} {oid}>" if oid is not None else f"<{self._type_label()}>"

    def _type_label(self) -> str:
        return f"{type(self).__name__}:{self._shape.name}" if self._shape is not None else type(self).__name__

    def __eq__(self, other: object) -> bool:
        """Same class and id; or, like Perl's ``eq`` on VM::EC2's objects, the id given as a string."""
        if isinstance(other, str):
            return self.__vmec2_id__() == other
        if not isinstance(other, AWSObject):
            return NotImplemented
        mine, theirs = self.__vmec2_id__(), other.__vmec2_id__()
        if mine is None or theirs is None:
            return self is other
        return type(self) is type(other) and mine == theirs

    def __hash__(self) -> int:
        oid = self.__vmec2_id__()
        return hash(oid) if oid is not None else id(self)  # equal to its id string: the same hash

    #: The request id of the call that returned this object (VM::EC2's ``requestId``), when known.
    _request_id: str | None = None

    @property
    def request_id(self) -> str | None:
        """The AWS request id of the call that returned this object (VM::EC2's ``requestId``)."""
        return self._request_id

    requestId = request_id

    # --- fields ---------------------------------------------------------------------------------------

    @property
    def payload(self) -> Mapping[str, Any]:
        """The structure as botocore returned it (VM::EC2's ``payload``)."""
        return self._data

    def _member_for(self, name: str) -> str | None:
        norm = normalize(name)
        if self._shape is not None:
            return member_keys(self._shape).get(norm)
        for key in self._data:
            if normalize(key) == norm:
                return key
        return None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        member = self._member_for(name)
        if member is None:
            if self._parent is not None:
                try:
                    return getattr(self._parent, name)
                except AttributeError:
                    pass
            raise AttributeError(
                f"{type(self).__name__} has no field or method {name!r}; fields: {', '.join(self.fields())}"
            )
        return self.field(member)

    def field(self, member: str) -> Any:
        """A member's value, nested structures wrapped as objects; None when the response omits it."""
        if member in self._cache:
            return self._cache[member]
        value = self._data.get(member)
        mshape = self._shape.members.get(member) if self._shape is not None else None
        if value is not None and mshape is not None:
            value = self._wrap(mshape, value)
        self._cache[member] = value
        return value

    def _wrap(self, shape: Shape, value: Any) -> Any:
        if isinstance(shape, StructureShape) and isinstance(value, Mapping):
            return classes.wrap(self._service, shape, value, self.ec2)
        if isinstance(shape, ListShape) and isinstance(shape.member, StructureShape):
            return [classes.wrap(self._service, shape.member, v, self.ec2) for v in value]
        return value

    def fields(self) -> list[str]:
        """The names of the object's fields (snake_case boto3 names)."""
        names = list(self._shape.members) if self._shape is not None else list(self._data)
        return [snake(n) for n in names]

    def as_string(self) -> str:
        """The whole structure, pretty-printed (VM::EC2's ``as_string``)."""
        return pprint.pformat(dict(self._data), sort_dicts=True)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.fields()))

    # --- tags -----------------------------------------------------------------------------------------

    @property
    def tags(self) -> dict[str, str]:
        """The object's tags as a dict, as the response carried them (no API call)."""
        for member in ("Tags", "TagList", "TagSet"):
            if member in self._data:
                return tag_dict(self._data[member])
        return {}

    def add_tags(self, tags: Mapping[str, str] | None = None, /, **kv: str) -> bool:
        """Tag the resource (``obj.add_tags(Name="web")`` or ``obj.add_tags({"Name": "web"})``)."""
        assert self.ec2 is not None, "object is not bound to a façade"
        merged = {**(tags or {}), **kv}
        with async_mode(False):  # an object method: synchronous even inside ``async_mode()``
            return bool(self.ec2.create_tags([str(self)], tags=merged))

    def add_tag(self, key: str | Mapping[str, str] | None = None, value: str = "", /, **kv: str) -> bool:
        """VM::EC2's ``add_tag``: ``add_tag("Name", "web")``, or ``add_tag(Name="web")`` like ``add_tags``."""
        if isinstance(key, Mapping):
            return self.add_tags(key, **kv)
        return self.add_tags({key: value} if key is not None else {}, **kv)

    def delete_tags(self, *keys: TagKeys, **kv: str | None) -> bool:
        """Remove tags by key (any value), or only where the value matches.

        Any of VM::EC2's forms: ``delete_tags("a", "b")``, ``delete_tags(["a", "b"])``,
        ``delete_tags(Role=None)`` or ``delete_tags({"Role": None})`` (any value), ``delete_tags(Role="web")``
        (only that value).
        """
        assert self.ec2 is not None, "object is not bound to a façade"
        with async_mode(False):
            return bool(self.ec2.delete_tags([str(self)], tags=tag_spec(keys, kv)))

    # --- refresh --------------------------------------------------------------------------------------

    def _describe_call(self) -> tuple[str, str, str] | None:
        if self.describe is not None:
            return self.describe
        if self._shape is None:
            return None
        field = self.primary_field or _id_member(self._shape)
        if field is None:
            return None
        from .naming import operation_index, operation_model

        name = self._shape.name
        for op in (f"Describe{name}s", f"Describe{name}es", f"Describe{name}"):
            if normalize(op) in operation_index(self._service):
                model = operation_model(self._service, op)
                members = model.input_shape.members if model.input_shape is not None else {}
                for list_member in (f"{field}s", field):
                    if list_member in members:
                        return (self._service, op, list_member)
        return None

    def refresh(self) -> bool:
        """Re-describe the resource and replace this object's data in place.

        Returns:
            True if the resource was found, False if the describe call answered with nothing.

        Raises:
            NotFoundError: the resource no longer exists (raised in either error mode, as VM::EC2 did).
            NotImplementedError: if no describe call is known for this kind of object.
        """
        call = self._describe_call()
        if call is None or self.ec2 is None:
            raise NotImplementedError(f"{type(self).__name__} cannot refresh itself")
        service, op, member = call
        # A scalar id: the translator makes it a list where the describe call takes one. Like VM::EC2's
        # refresh, this always raises (NotFoundError for a vanished resource), whatever the error mode.
        fresh = self.ec2.call(service, op, **{member: str(self)})
        found = (
            fresh[0] if isinstance(fresh, list) and fresh else fresh if isinstance(fresh, AWSObject) else None
        )
        if not isinstance(found, AWSObject):
            return False
        self._replace(found._data, found._parent)
        return True

    def _replace(self, data: Mapping[str, Any], parent: AWSObject | None = None) -> None:
        """Replace this object's data in place with a fresher description (refresh, waits); fields read
        from now on come from ``data``."""
        self._data, self._cache, self._parent = data, {}, parent


C = TypeVar("C", bound=type[AWSObject])


class ClassRegistry:
    """Which :class:`AWSObject` subclass wraps each structure, by ``(service, shape name)``.

    Unregistered shapes get :class:`AWSObject` itself, so every structure is an object before any class
    is written for it. The last registration wins, so users may put their own subclasses in place
    (VM::EC2::Dispatch's ``replace``).
    """

    def __init__(self) -> None:
        self._classes: dict[tuple[str, str], type[AWSObject]] = {}

    def register(self, service: str, *shape_names: str) -> Callable[[C], C]:
        """Class decorator: ``@register_class("ec2", "Instance")`` wraps that shape in the class."""

        def decorate(cls: C) -> C:
            for name in shape_names:
                self._classes[(service, name)] = cls
            return cls

        return decorate

    def class_for(self, service: str, shape_name: str) -> type[AWSObject]:
        """The class registered for a shape name, else :class:`AWSObject`."""
        return self._classes.get((service, shape_name), AWSObject)

    def wrap(self, service: str, shape: Shape, data: Mapping[str, Any], ec2: Facade | None) -> AWSObject:
        """One structure as an object of the class registered for its shape name."""
        return self.class_for(service, shape.name)(data, ec2, shape, service)


#: The process-wide registry: object modules register into it at import, nested structures are wrapped
#: from it, and :data:`provisioning.dispatch.dispatch` uses it for whole answers.
classes = ClassRegistry()
register_class = classes.register
class_for = classes.class_for
