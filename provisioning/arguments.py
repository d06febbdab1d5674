"""VM::EC2's argument conventions turned into boto3 parameters, driven by botocore's input shapes.

One entry point, :func:`translate`, runs small pure rules:

* keys: a leading ``-`` is dropped; the key is matched, ignoring case and ``_``, against the member name,
  its wire name and their singulars (``instance_id`` -> ``InstanceIds``, ``owner`` -> ``Owners``), then
  against VM::EC2's abbreviations (:data:`conventions.ALIASES`), then as a flattened nested member
  (``iam_instance_profile_arn`` -> ``IamInstanceProfile.Arn``);
* values, by the shape they land in: a scalar where a list goes becomes a one-item list, a dict where a
  ``Filter``/``Tag``-like list goes becomes ``[{"Name": k, "Values": [...]}]`` / ``[{"Key": k, "Value": v}]``,
  a dict for ``TagSpecifications`` gets the operation's resource type, our objects become their ids,
  ``"true"``/``"1"`` become booleans, ``"10"`` an integer, block-device and network-interface strings
  become structures, and user data is base64-encoded where botocore does not do it;
* positionals fill the operation's primary member (``describe_instances("i-1", "i-2")``); a dict as the
  only positional is a filter (``describe_instances({"tag:Role": "web"})``).

Unknown names raise :class:`~provisioning.errors.ParameterError` listing the valid ones, before any request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from .conventions import (
    ALIASES,
    BASE64_MEMBERS,
    DEFAULTS,
    KEYWORD_ENTRIES,
    POSITIONAL,
    POSITIONAL_BY_VALUE,
    STRING_FORMS,
    encode_base64,
)
from .errors import ParameterError
from .naming import member_keys, normalize, snake

__all__ = ["flatten", "object_id", "primary_members", "translate"]

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}
_VERBS = re.compile(
    r"^(Create|Copy|Run|Allocate|Import|Register|Request|Purchase|Launch|Provision|Start|Associate)"
)


def object_id(value: Any) -> str | None:
    """The id of one of our objects (anything with ``__vmec2_id__``), else None.

    Raises:
        ParameterError: an object that has no id (it must not travel as the text ``"None"``).
    """
    getter = getattr(type(value), "__vmec2_id__", None)
    if getter is None:
        return None
    oid = getter(value)
    if oid is None:
        raise ParameterError(f"{value!r} has no id to pass as an argument")
    return str(oid)


def translate(
    service: str, operation: OperationModel, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """boto3 parameters for ``operation`` from VM::EC2-style positional and keyword arguments.

    Args:
        service: Our short service name (``ec2``, ``elb``, ...), for the per-operation tables.
        operation: botocore's model of the operation.
        args: Positional arguments (ids, or a single filter dict).
        kwargs: Keyword arguments in any accepted spelling; ``None`` values are dropped.

    Raises:
        ParameterError: unknown names, too many positionals, values that fit no rule.
    """
    shape = operation.input_shape
    name = operation.name
    if shape is None:
        if args or any(v is not None for v in kwargs.values()):
            raise ParameterError(f"{snake(name)} takes no arguments")
        return {}
    params: dict[str, Any] = {}
    aliases = _aliases(service, name)
    kwargs = _gather_keyword_entries(service, name, kwargs)
    for key, value in kwargs.items():
        if value is None:
            continue
        path = _resolve_key(shape, key, aliases, name)
        _assign(params, path, value)
    if args:
        _assign_positionals(service, operation, shape, args, params)
    for member, default in DEFAULTS.get((service, name), {}).items():
        params.setdefault(member, default)
    if service == "ec2" and name == "RunInstances":
        params.setdefault("MaxCount", params["MinCount"])
    converted = _convert_structure(shape, params, _Context(service, name))
    for path in BASE64_MEMBERS.get((service, name), ()):
        encode_base64(converted, path)
    return converted


def _gather_keyword_entries(service: str, operation: str, kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    """Fold VM::EC2's per-entry keywords (``domain_name=``) into their key/value list member."""
    spec = KEYWORD_ENTRIES.get((service, operation))
    if spec is None:
        return kwargs
    member, keys = spec
    table = {normalize(k): v for k, v in keys.items()}
    entries = {table[normalize(k)]: v for k, v in kwargs.items() if normalize(k) in table and v is not None}
    if not entries:
        return kwargs
    rest = {k: v for k, v in kwargs.items() if normalize(k) not in table}
    return {**rest, member: entries}  # also naming the member itself is then refused as "given twice"


class _Context:
    """What value rules need to know about the call: its service and operation."""

    __slots__ = ("operation", "service")

    def __init__(self, service: str, operation: str) -> None:
        self.service = service
        self.operation = operation


@cache
def _aliases(service: str, operation: str) -> Mapping[str, str]:
    return {normalize(k): v for k, v in ALIASES.get((service, operation), {}).items()}


def _resolve_key(shape: StructureShape, key: str, aliases: Mapping[str, str], op: str) -> tuple[str, ...]:
    """The member path (``("Placement", "AvailabilityZone")``) a user's key names."""
    norm = normalize(key)
    members = member_keys(shape)
    if norm in members:
        return (members[norm],)
    if norm in aliases:
        return tuple(aliases[norm].split("."))
    nested = _nested_path(shape, norm)
    if nested:
        return nested
    valid = sorted(snake(m) for m in shape.members)
    raise ParameterError(
        f"{snake(op)}: unknown argument {key!r}; valid arguments are: {', '.join(valid)}",
        code="UnknownParameter",
    )


def _nested_path(shape: StructureShape, norm: str) -> tuple[str, ...] | None:
    """``iaminstanceprofilearn`` -> ``("IamInstanceProfile", "Arn")``: a flattened nested member."""
    for member, mshape in shape.members.items():
        prefix = normalize(member)
        if isinstance(mshape, StructureShape) and norm.startswith(prefix) and len(norm) > len(prefix):
            rest = norm[len(prefix) :]
            sub = member_keys(mshape)
            if rest in sub:
                return (member, sub[rest])
    return None


def _assign(params: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = params
    for part in path[:-1]:
        nxt = target.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ParameterError(f"argument {'.'.join(path)} conflicts with {part} given as a value")
        target = nxt
    if path[-1] in target:
        raise ParameterError(f"argument {'.'.join(path)} given twice")
    target[path[-1]] = value


@cache
def primary_members(service: str, operation: OperationModel) -> tuple[str, ...]:
    """The members positional arguments fill, in order (empty if the operation takes none).

    Rule, first match wins: the override table; the only required member; the id list named after the
    operation's noun (DescribeSnapshots -> SnapshotIds); the required member named after it
    (CreateDBInstance -> DBInstanceIdentifier); the only ``...Ids`` list, else the only ``...Names`` list;
    the first required member; the only ``...Id``/``...Name``/``...Identifier`` scalar.
    """
    override = POSITIONAL.get((service, operation.name))
    if override:
        return override
    shape = operation.input_shape
    if shape is None:
        return ()
    required = list(shape.required_members)
    if len(required) == 1:
        return (required[0],)
    lists = [m for m, s in shape.members.items() if isinstance(s, ListShape)]
    noun = re.sub(r"^[A-Z][a-z]+", "", operation.name)  # DescribeSnapshots -> Snapshots
    singulars = (noun, noun.removesuffix("es"), noun.removesuffix("s"))
    for single in singulars:
        for suffix in ("Ids", "Names", "Identifiers"):
            if f"{single}{suffix}" in lists:
                return (f"{single}{suffix}",)
    for single in singulars:
        for suffix in ("Id", "Name", "Identifier"):
            if f"{single}{suffix}" in required:
                return (f"{single}{suffix}",)
    for suffix in ("Ids", "Names"):
        found = [m for m in lists if m.endswith(suffix)]
        if len(found) == 1:
            return (found[0],)
    if required:
        return (required[0],)
    scalars = [m for m in shape.members if m.endswith(("Id", "Name", "Identifier"))]
    return (scalars[0],) if len(scalars) == 1 else ()


def flatten(args: Iterable[Any]) -> list[Any]:
    """Items and the items of lists, tuples and sets, in order, one level deep (``ids``, ``[ids]``)."""
    out: list[Any] = []
    for arg in args:
        if isinstance(arg, list | tuple | set | frozenset):
            out.extend(arg)
        else:
            out.append(arg)
    return out


def _assign_positionals(
    service: str,
    operation: OperationModel,
    shape: StructureShape,
    args: Sequence[Any],
    params: dict[str, Any],
) -> None:
    op = snake(operation.name)
    if len(args) == 1 and isinstance(args[0], Mapping) and "Filters" in shape.members:
        if "Filters" in params:
            raise ParameterError(f"{op}: a filter given both positionally and as filter=")
        params["Filters"] = args[0]
        return
    by_value = POSITIONAL_BY_VALUE.get((service, operation.name))
    if by_value is not None and len(args) == 1:
        member, value = by_value(args[0])
        if member in params:
            raise ParameterError(f"{op}: {snake(member)} given both positionally and by name")
        params[member] = value
        return
    primary = primary_members(service, operation)
    if not primary:
        raise ParameterError(f"{op} takes no positional arguments; use keywords: {_valid(shape)}")
    if len(primary) == 1 and isinstance(shape.members[primary[0]], ListShape):
        values: list[Any] = flatten(args)
        if primary[0] in params:
            raise ParameterError(f"{op}: {snake(primary[0])} given both positionally and by name")
        params[primary[0]] = values
        return
    if len(args) > len(primary):
        names = ", ".join(snake(p) for p in primary)
        raise ParameterError(
            f"{op} takes at most {len(primary)} positional arguments ({names}), got {len(args)}"
        )
    for member, value in zip(primary, args, strict=False):
        if member in params:
            raise ParameterError(f"{op}: {snake(member)} given both positionally and by name")
        params[member] = value


def _valid(shape: StructureShape) -> str:
    return ", ".join(sorted(snake(m) for m in shape.members))


# --- values -------------------------------------------------------------------------------------------


def _convert(shape: Shape, value: Any, ctx: _Context, where: str) -> Any:
    oid = object_id(value)
    if oid is not None:
        value = oid
    if isinstance(shape, StructureShape):
        return _convert_structure_value(shape, value, ctx, where)
    if isinstance(shape, ListShape):
        return _convert_list(shape, value, ctx, where)
    if isinstance(shape, MapShape):
        if not isinstance(value, Mapping):
            raise ParameterError(f"{where}: expected a dict, got {type(value).__name__}")
        return {k: _convert(shape.value, v, ctx, f"{where}[{k!r}]") for k, v in value.items()}
    return _convert_scalar(shape, value, where)


def _convert_structure(shape: StructureShape, value: Mapping[str, Any], ctx: _Context) -> dict[str, Any]:
    return {k: _convert(shape.members[k], v, ctx, snake(k)) for k, v in value.items()}


def _convert_structure_value(shape: StructureShape, value: Any, ctx: _Context, where: str) -> Any:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        keys = member_keys(shape)
        for key, item in value.items():
            if item is None:
                continue
            member = keys.get(normalize(key))
            if member is None:
                raise ParameterError(f"{where}: unknown field {key!r}; valid fields are: {_valid(shape)}")
            out[member] = _convert(shape.members[member], item, ctx, f"{where}.{snake(member)}")
        return out
    parse = STRING_FORMS.get(shape.name)
    if isinstance(value, str) and parse is not None:  # "/dev/sdf=snap-1:10", "eth0=eni-1"
        return _convert_structure_value(shape, parse(value), ctx, where)
    # A scalar for a one-slot structure: ``{"Value": v}`` (EC2's AttributeValue shapes), or the only
    # required member (``Monitoring.Enabled``), or the only member (ELB's ``Instance.InstanceId``).
    members = list(shape.members)
    required = list(shape.required_members)
    slot = "Value" if "Value" in members else required[0] if len(required) == 1 else None
    if slot is None and len(members) == 1:
        slot = members[0]
    if slot is None:
        raise ParameterError(f"{where}: expected a dict with fields {_valid(shape)}, got {value!r}")
    return {slot: _convert(shape.members[slot], value, ctx, where)}


def _pair_members(shape: StructureShape) -> tuple[str, str] | None:
    """The (key, value) members of a Filter/Tag/Parameter-like structure, if it has one clear pair.

    ``Key``/``Value`` (tags), ``Name``/``Values`` (filters), ``ParameterName``/``ParameterValue`` (RDS).
    """
    names = set(shape.members)
    if "Key" in names:
        keys = ["Key"]
    elif "Name" in names:
        keys = ["Name"]
    else:
        keys = [m for m in names if m.endswith("Name")]
    if len(keys) != 1:
        return None
    stem = keys[0].removesuffix("Name") if keys[0] != "Key" else ""
    for value in (f"{stem}Value", f"{stem}Values", "Value", "Values"):
        if value in names:
            return keys[0], value
    return None


def _is_single_structure(shape: StructureShape, value: Mapping[str, Any], pair: tuple[str, str]) -> bool:
    """Whether a dict is one ``{"Name": .., "Values": ..}`` item rather than ``{name: values}`` pairs.

    A filter named ``name`` is common (``describe_images(filter={"name": "debian-*"})``), so only a dict
    that spells both the key and the value member, and nothing but members, counts as a single item.
    """
    keys = member_keys(shape)
    resolved = {keys.get(normalize(k)) for k in value}
    return None not in resolved and set(pair) <= resolved


def _convert_list(shape: ListShape, value: Any, ctx: _Context, where: str) -> list[Any]:
    item_shape = shape.member
    if isinstance(value, Mapping) and isinstance(item_shape, StructureShape):
        if item_shape.name == "TagSpecification":
            return _tag_specifications(item_shape, value, ctx, where)
        pair = _pair_members(item_shape)
        if pair is not None and not _is_single_structure(item_shape, value, pair):
            key_m, val_m = pair
            items = []
            for k, v in value.items():
                entry: dict[str, Any] = {key_m: k}
                if v is not None:  # delete_tags: a None value means "whatever the value is"
                    entry[val_m] = v
                items.append(entry)
            value = items
        else:
            value = [value]
    elif isinstance(value, str | bytes) or not isinstance(value, Iterable):
        value = [value]
    out = []
    for i, item in enumerate(value):
        if isinstance(item, str) and item_shape.name == "Filter" and "=" in item:
            name, _, val = item.partition("=")
            item = {"Name": name, "Values": [val]}
        out.append(_convert(item_shape, item, ctx, f"{where}[{i}]"))
    return out


@cache
def _resource_type(operation: str, enum: tuple[str, ...]) -> str | None:
    """``CreateSecurityGroup`` -> ``security-group``: the tagged resource type an operation creates."""
    noun = _VERBS.sub("", operation)
    kebab = re.sub(r"(?<!^)(?=[A-Z])", "-", noun).lower()
    for candidate in (kebab, kebab[:-1] if kebab.endswith("s") else kebab, kebab.removesuffix("es")):
        if candidate in enum:
            return candidate
    special = {"AllocateAddress": "elastic-ip", "RequestSpotInstances": "spot-instances-request"}
    return special.get(operation)


def _tag_specifications(
    item_shape: StructureShape, value: Mapping[str, Any], ctx: _Context, where: str
) -> list[Any]:
    """A tag dict (or ``{resource_type: tag dict}``) as TagSpecifications for this operation."""
    rt_shape = item_shape.members["ResourceType"]
    enum = tuple(getattr(rt_shape, "enum", None) or ())
    if value and all(k in enum and isinstance(v, Mapping) for k, v in value.items()):
        specs = [{"ResourceType": k, "Tags": v} for k, v in value.items()]
    else:
        rtype = _resource_type(ctx.operation, enum)
        if rtype is None:
            raise ParameterError(
                f"{where}: cannot tell the resource type of {ctx.operation}; pass "
                "{resource_type: {key: value}} or a list of TagSpecification dicts"
            )
        specs = [{"ResourceType": rtype, "Tags": value}]
    return [_convert(item_shape, spec, ctx, where) for spec in specs]


def _convert_scalar(shape: Shape, value: Any, where: str) -> Any:
    kind = shape.type_name
    if kind == "boolean":
        if isinstance(value, str):
            low = value.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ParameterError(f"{where}: expected true or false, got {value!r}")
        return bool(value)
    if kind in ("integer", "long"):
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError as exc:
                raise ParameterError(f"{where}: expected a whole number, got {value!r}") from exc
        return value
    if kind in ("double", "float") and isinstance(value, str):
        try:
            return float(value)
        except ValueError as exc:
            raise ParameterError(f"{where}: expected a number, got {value!r}") from exc
    if kind == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
    return value
