"""What every EC2 object class shares: the error mode of object methods, declared actions, ``current_status``.

* :func:`guarded` (and :func:`vmec2_method`, its spelling with a default value) runs a hand-written method
  under its façade's error mode: in raise mode failures
  propagate; with ``raise_error=False`` the method returns its declared default (None/False/[]) and
  ``ec2.is_error``/``ec2.error`` describe the failure, as VM::EC2's object methods did. Inner calls
  always raise (``ec2.call``), so one failure is reported once, by the outermost method.
* :class:`Action` declares a method that only calls one operation with the object as its id argument
  (``reboot = Action("RebootInstances")``): one generic mechanism instead of dozens of two-line methods.
* :class:`EC2Object` adds ``error``/``error_str``, VM::EC2's mixedCase spelling of our snake_case methods
  and properties (``bd.snapshotId`` -> ``bd.snapshot_id``), and the ``_async``/``_sync`` suffixes on any
  method (``vol.current_status_async()`` returns a future).
* :class:`Resource` adds ``current_status()`` (a documented API call) and what waits need: a
  :class:`~provisioning.waiting.Poll` rule (one batched describe per round), failed states and the state
  of an object that has vanished.
* :func:`rewrap` gives a create call's answer the class of what it created (``CreateSecurityGroup``).
* :class:`Setting` is a value that can be called to change it, VM::EC2's accessor-setters
  (``attachment.deleteOnTermination`` reads, ``attachment.deleteOnTermination(True)`` writes).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast, overload

from ..asynccalls import wrap_mode
from ..dispatch import IGNORED_OUTPUT
from ..errors import NotFoundError, ParameterError, VMEC2Error
from ..naming import normalize, service_model
from ..objects import AWSObject, classes
from ..waiting import Poll

if TYPE_CHECKING:
    from ..facade import Facade

__all__ = [
    "Action",
    "EC2Object",
    "Resource",
    "Setting",
    "fail",
    "guarded",
    "guarded_call",
    "rewrap",
    "vmec2_method",
]

F = TypeVar("F", bound=Callable[..., Any])

#: True while an object method runs: nested methods then raise, and only the outermost applies the mode.
_IN_METHOD: ContextVar[bool] = ContextVar("vmec2_in_method", default=False)


def fail(facade: Facade | None, exc: VMEC2Error, where: str, default: Any) -> Any:
    """Apply ``facade``'s error mode to a failure: record and maybe print it, raise or return ``default``."""
    if facade is None:
        raise exc
    return facade._fail(exc, where, default)


def guarded_call(facade: Facade | None, where: str, default: Any, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` as one public call under ``facade``'s error mode (see :func:`vmec2_method`)."""
    if facade is None or _IN_METHOD.get():
        return fn()
    token = _IN_METHOD.set(True)
    facade._error = None
    try:
        return fn()
    except ParameterError:
        raise  # usage errors always raise, as VM::EC2's croaks did
    except VMEC2Error as exc:
        return fail(facade, exc, where, default)
    finally:
        _IN_METHOD.reset(token)


def _facade_of(obj: Any) -> Any:
    return obj.ec2 if isinstance(obj, AWSObject) else obj


@overload
def guarded(fn: F, /) -> F: ...


@overload
def guarded(*, empty: Callable[[], Any] | None = None) -> Callable[[F], F]: ...


def guarded(fn: F | None = None, /, *, empty: Callable[[], Any] | None = None) -> Any:
    """Decorate a hand-written method so that it honours the façade's ``raise_error``/``print_error``.

    One flag handles nesting, so a method calling another reports a failure once, from the outermost;
    ``self`` may also be a façade.

    Args:
        fn: The method (``self`` is an :class:`~provisioning.objects.AWSObject` or a façade).
        empty: Factory for the value returned on failure in no-raise mode (default None; ``list`` for
            methods that return lists).
    """

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            where = f"{type(self).__name__}.{method.__name__}"
            default = empty() if empty is not None else None
            return guarded_call(_facade_of(self), where, default, lambda: method(self, *args, **kwargs))

        return cast(F, run)

    return decorate(fn) if fn is not None else decorate


def vmec2_method(default: Any = None) -> Callable[[F], F]:
    """Decorator: run an object method under its façade's error mode, returning ``default`` on failure.

    Args:
        default: What the method returns when it fails and the façade has ``raise_error=False``; each
            failure gets a fresh copy (``default=[]`` never hands out one shared list).
    """
    return guarded(empty=lambda: copy.copy(default))


class Action:
    """A declared method that calls one operation with the object as one of its arguments.

    ``reboot = Action("RebootInstances", "Reboot the instance.")`` makes ``instance.reboot(**extra)`` call
    ``ec2.call("ec2", "RebootInstances", instance, **extra)``: the object fills the operation's primary
    member (the translator turns it into its id), or ``member`` when given. Positional arguments go on to
    the operation, or fill the keywords named in ``args`` (all of them one list for ``args[0]`` with
    ``collect``). The method runs under the façade's error mode and returns ``default`` on failure with
    ``raise_error=False``; actions whose default is a bool answer True/False.

    Args:
        operation: The API action.
        doc: The method's docstring.
        member: The input member (or keyword) the object fills, when it is not the primary one.
        service: Our short service name.
        default: The result on failure in VM::EC2's no-raise mode.
        fixed: Arguments always passed (``{"attribute": "launchPermission"}``).
        args: The keywords positional arguments fill, in order (then no others are accepted).
        collect: All positional arguments form one list for ``args[0]``.
    """

    def __init__(
        self,
        operation: str,
        doc: str,
        *,
        member: str | None = None,
        service: str = "ec2",
        default: Any = False,
        fixed: Mapping[str, Any] | None = None,
        args: tuple[str, ...] | None = None,
        collect: bool = False,
    ) -> None:
        self.operation = operation
        self.member = member
        self.fixed = dict(fixed or {})
        self.service = service
        self.default = default
        self.args = args
        self.collect = collect
        self.name = operation
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        if self.name == self.operation:  # the first name wins; later ones (``write = update``) are aliases
            self.name = name

    def _arguments(self, obj: AWSObject, values: tuple[Any, ...], extra: dict[str, Any]) -> tuple[Any, ...]:
        """The operation's positional arguments; keywords are added to ``extra``."""
        extra.update({k: v for k, v in self.fixed.items() if k not in extra})
        if self.args is not None:
            if self.collect and values:
                extra[self.args[0]] = list(values)
            elif len(values) > len(self.args):
                raise ParameterError(f"{self.name} takes at most {len(self.args)} positional arguments")
            else:
                extra.update(zip(self.args, values, strict=False))
            values = ()
        if self.member is not None:
            extra[self.member] = obj
            return values
        return (obj, *values)

    def __get__(self, obj: AWSObject | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        action = self

        def method(*values: Any, **kwargs: Any) -> Any:
            if obj.ec2 is None:
                raise ParameterError(f"{obj!r} is not bound to a façade")
            facade = obj.ec2

            def run() -> Any:
                positional = action._arguments(obj, values, kwargs)
                return facade.call(action.service, action.operation, *positional, **kwargs)

            result = guarded_call(
                facade, f"{type(obj).__name__}.{action.name}", copy.copy(action.default), run
            )
            return bool(result) if isinstance(action.default, bool) else result

        method.__name__ = method.__qualname__ = self.name
        method.__doc__ = self.__doc__
        return method


class Setting:
    """A field's value that is also its setter, as VM::EC2's accessors were (``$a->deleteOnTermination(1)``).

    It compares, hashes, prints and tests true or false as the value itself; calling it with a new value
    runs ``setter`` (an API call) and returns what the setter returns.
    """

    __slots__ = ("_setter", "value")

    def __init__(self, value: Any, setter: Callable[[Any], Any]) -> None:
        self.value = value
        self._setter = setter

    def __call__(self, new_value: Any) -> Any:
        return self._setter(new_value)

    def __bool__(self) -> bool:
        return bool(self.value)

    def __eq__(self, other: object) -> bool:
        return bool(self.value == (other.value if isinstance(other, Setting) else other))

    def __hash__(self) -> int:
        return hash(self.value)

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return repr(self.value)


def rewrap(shape_name: str, service: str = "ec2") -> Callable[[Mapping[str, Any], Any, Any], AWSObject]:
    """A dispatch handler giving an operation's answer the shape (and class) of the resource it made.

    ``CreateSecurityGroup`` answers ``{GroupId, Tags}``; wrapped as a ``SecurityGroup`` it is a (partial)
    security group whose ``refresh()`` fills in the rest, with no extra call made here.
    """

    def handler(response: Mapping[str, Any], facade: Any, operation: Any) -> AWSObject:
        shape = service_model(service).shape_for(shape_name)
        data = {k: v for k, v in response.items() if k not in IGNORED_OUTPUT}
        return classes.wrap(service, shape, data, facade)

    return handler


_INDEXES: dict[type, Mapping[str, str]] = {}


def _method_index(cls: type) -> Mapping[str, str]:
    """``{normalised name: attribute}`` for the public methods and properties of a class (cached)."""
    index = _INDEXES.get(cls)
    if index is None:
        index = _INDEXES[cls] = {normalize(n): n for n in dir(cls) if not n.startswith("_")}
    return index


class EC2Object(AWSObject):
    """An EC2 object: VM::EC2's spellings of our methods, ``_async``/``_sync`` methods, ``error_str``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            for suffix in ("_async", "_sync"):
                if name.endswith(suffix) and len(name) > len(suffix):
                    return wrap_mode(getattr(self, name[: -len(suffix)]), suffix[1:])
            alias = _method_index(type(self)).get(normalize(name))
            if alias is not None and alias != name:
                return getattr(self, alias)
            raise

    @property
    def error(self) -> VMEC2Error | None:
        """The failure of the façade's last call (VM::EC2's ``$object->error``)."""
        return None if self.ec2 is None else self.ec2.error

    @property
    def error_str(self) -> str:
        """The façade's last failure as ``"message [code]"``, or ``""``."""
        return "" if self.ec2 is None else self.ec2.error_str

    def _facade(self) -> Facade:
        """The façade that made this object, through which its methods call AWS (always raising).

        Raises:
            ParameterError: the object was made without one (``AWSObject(data, None)``).
        """
        if self.ec2 is None:
            raise ParameterError(f"{self!r} is not bound to a façade")
        return self.ec2

    def _refresh_or_raise(self) -> None:
        """``refresh()``, raising ``NotFoundError`` when the resource no longer exists."""
        if not self.refresh():
            raise NotFoundError("NotFound", f"{self} does not exist", operation="refresh")


class Resource(EC2Object):
    """An EC2 object with a state: ``current_status()`` and what waits need to poll it."""

    #: The member holding the state ``current_status()`` reports (``State``).
    status_field: ClassVar[str | None] = None
    #: How waits poll objects of this class (None: they cannot be waited on).
    poll: ClassVar[Poll | None] = None
    #: The kind of object in the waiters' tables (``instance``, ``volume``...).
    kind: ClassVar[str] = ""
    #: States that end every wait not aiming at them (a volume's ``error``, an image's ``failed``).
    failed_states: ClassVar[frozenset[str]] = frozenset()
    #: The state an object absent from describe answers is in (``terminated``, ``deleted``), if any.
    gone_state: ClassVar[str | None] = None

    def recorded_status(self) -> str | None:
        """The state recorded in this snapshot (no API call); see :meth:`current_status`."""
        if self.status_field is None:
            return None
        value = self.field(self.status_field)
        return None if value is None else str(value)

    @vmec2_method()
    def current_status(self) -> str | None:
        """Re-describe the object (one API call) and return its state, e.g. ``running`` or ``available``.

        Raises:
            NotFoundError: the object no longer exists.
        """
        self._refresh_or_raise()
        return self.recorded_status()
