"""One registry that turns a response into objects (VM::EC2::Dispatch, driven by output shapes).

Rules, in order:

1. a per-operation handler registered with :meth:`Dispatch.register`: an :class:`AWSObject` subclass (built
   from the whole unwrapped output) or a function ``(response, facade, operation) -> result``;
2. otherwise the output shape decides, ignoring pagination tokens: nothing -> ``True``; one list of
   structures -> a list of objects; one structure -> an object; one boolean ``Return`` -> ``bool``; one
   scalar or scalar list -> it as is; several members -> one generic object over the whole output;
3. objects are of the class registered for the structure's *shape name* (``("ec2", "Instance")``), else
   :class:`AWSObject`, so every operation returns something useful before any class is written for it.
   The class registry itself lives beside :class:`AWSObject` (:class:`~provisioning.objects.ClassRegistry`);
   :meth:`Dispatch.register_class` and :meth:`Dispatch.class_for` are its spellings here.

Users may register their own classes and handlers; the last registration wins (VM::EC2's ``replace``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.model import ListShape, OperationModel, Shape, StructureShape

from .objects import AWSObject, ClassRegistry, classes

if TYPE_CHECKING:
    from .facade import Facade

__all__ = ["Dispatch", "OutputPlan", "dispatch", "output_plan"]

#: Output members that only drive pagination or carry metadata.
IGNORED_OUTPUT = frozenset(
    {
        "NextToken",
        "Marker",
        "NextMarker",
        "nextToken",
        "IsTruncated",
        "ResponseMetadata",
        "NextPageToken",
        "ClientToken",  # echoed back by Create* calls; the caller sent it
    }
)

Handler = Callable[[Mapping[str, Any], "Facade | None", OperationModel], Any]
C = TypeVar("C", bound=type[AWSObject])


@dataclass(frozen=True)
class OutputPlan:
    """How a response of one operation is unwrapped.

    Attributes:
        kind: ``none``, ``objects`` (list of structures), ``object``, ``bool``, ``value`` (scalar or scalar
            list) or ``result`` (several members).
        member: The member unwrapped, for the single-member kinds.
        shape: The shape of what is wrapped (the item shape for ``objects``).
    """

    kind: str
    member: str | None = None
    shape: Shape | None = None

    @property
    def returns_list(self) -> bool:
        """Whether callers get a list (VM::EC2's list context: an error then gives ``[]``)."""
        return self.kind == "objects" or (self.kind == "value" and isinstance(self.shape, ListShape))


@cache
def output_plan(operation: OperationModel) -> OutputPlan:
    """The unwrapping rule for ``operation``'s responses, derived once from its output shape."""
    out = operation.output_shape
    if out is None:
        return OutputPlan("none")
    members = [m for m in out.members if m not in IGNORED_OUTPUT]
    if not members:
        return OutputPlan("none")
    if len(members) > 1:
        return OutputPlan("result", shape=out)
    member = members[0]
    shape = out.members[member]
    if isinstance(shape, ListShape) and isinstance(shape.member, StructureShape):
        return OutputPlan("objects", member, shape.member)
    if isinstance(shape, StructureShape):
        return OutputPlan("object", member, shape)
    if shape.type_name == "boolean":
        return OutputPlan("bool", member, shape)
    return OutputPlan("value", member, shape)


class Dispatch:
    """The registry of response handlers, and the object classes it wraps answers in.

    Args:
        classes: The class registry to use (default: a private, empty one; the process-wide
            :data:`dispatch` uses :data:`provisioning.objects.classes`).
    """

    def __init__(self, classes: ClassRegistry | None = None) -> None:
        self._handlers: dict[tuple[str, str], Handler | type[AWSObject]] = {}
        self.classes = classes if classes is not None else ClassRegistry()

    # --- registration ---------------------------------------------------------------------------------

    def register(
        self, operation: str, handler: Handler | type[AWSObject] | None = None, *, service: str = "ec2"
    ) -> Any:
        """Register a handler for one operation; usable as ``@dispatch.register("DescribeInstances")``.

        Args:
            operation: The API action name (``StopInstances``).
            handler: An :class:`AWSObject` subclass or a function ``(response, facade, operation_model)``.
            service: Our short service name.
        """
        if handler is None:

            def decorate(fn: Any) -> Any:
                self._handlers[(service, operation)] = fn
                return fn

            return decorate
        self._handlers[(service, operation)] = handler
        return handler

    def register_class(self, service: str, *shape_names: str) -> Callable[[C], C]:
        """Class decorator: ``@dispatch.register_class("ec2", "Instance")`` wraps that shape in the class
        (:meth:`~provisioning.objects.ClassRegistry.register` of this dispatcher's class registry)."""
        return self.classes.register(service, *shape_names)

    def class_for(self, service: str, shape_name: str) -> type[AWSObject]:
        """The class registered for a shape name, else :class:`AWSObject`."""
        return self.classes.class_for(service, shape_name)

    # --- use ------------------------------------------------------------------------------------------

    def wrap(self, service: str, shape: Shape, data: Mapping[str, Any], facade: Facade | None) -> AWSObject:
        """One structure as an object of the class registered for its shape name."""
        return self.classes.wrap(service, shape, data, facade)

    def handle(
        self, service: str, operation: OperationModel, response: Mapping[str, Any], facade: Facade | None
    ) -> Any:
        """Turn one (complete, paginated) response into the caller's result."""
        handler = self._handlers.get((service, operation.name))
        if isinstance(handler, type):
            return handler(_strip(response), facade, operation.output_shape, service)
        if handler is not None:
            return handler(response, facade, operation)
        plan = output_plan(operation)
        if plan.kind == "none":
            return True
        if plan.kind == "result":
            assert plan.shape is not None
            return self.wrap(service, plan.shape, _strip(response), facade)
        assert plan.member is not None and plan.shape is not None
        value = response.get(plan.member)
        if plan.kind == "objects":
            return [self.wrap(service, plan.shape, item, facade) for item in value or ()]
        if plan.kind == "object":
            return None if value is None else self.wrap(service, plan.shape, value, facade)
        if plan.kind == "bool":
            return bool(value)
        if value is None and isinstance(plan.shape, ListShape):
            return []
        return value

    def returns_list(self, service: str, operation: OperationModel) -> bool:
        """Whether the operation's default result is a list (so a failure in no-raise mode gives ``[]``)."""
        handler = self._handlers.get((service, operation.name))
        flag = getattr(handler, "returns_list", None)
        if isinstance(flag, bool):
            return flag
        return output_plan(operation).returns_list


def _strip(response: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k not in IGNORED_OUTPUT}


#: The process-wide dispatcher; object modules register their handlers into it at import, and it wraps
#: answers in the classes of :data:`provisioning.objects.classes`.
dispatch = Dispatch(classes)


def _flatten_reservations(
    response: Mapping[str, Any], facade: Facade | None, operation: OperationModel
) -> list[AWSObject]:
    """DescribeInstances/RunInstances: the instances, each carrying its reservation's fields.

    VM::EC2 flattened reservations the same way: ``$instance->reservationId``, ``ownerId``,
    ``requesterId`` and ``groups`` read through to the reservation.
    """
    out = operation.output_shape
    assert out is not None
    if "Reservations" in out.members:
        res_list = out.members["Reservations"]
        assert isinstance(res_list, ListShape)
        res_shape = res_list.member
        reservations = response.get("Reservations", [])
    else:  # RunInstances answers with one Reservation
        res_shape = out
        reservations = [_strip(response)]
    assert isinstance(res_shape, StructureShape)
    inst_list = res_shape.members["Instances"]
    assert isinstance(inst_list, ListShape)
    instances: list[AWSObject] = []
    for res in reservations:
        parent = AWSObject({k: v for k, v in res.items() if k != "Instances"}, facade, res_shape, "ec2")
        for data in res.get("Instances", []):
            obj = classes.wrap("ec2", inst_list.member, data, facade)
            obj._parent = parent
            instances.append(obj)
    return instances


_flatten_reservations.returns_list = True  # type: ignore[attr-defined]
dispatch.register("DescribeInstances", _flatten_reservations)
dispatch.register("RunInstances", _flatten_reservations)
