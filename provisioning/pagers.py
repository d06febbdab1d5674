"""VM::EC2's page-at-a-time describe calls: ``-max_results`` plus ``more_instance_status`` and friends.

Every describe call normally returns the complete list. VM::EC2 let three calls page on request instead:
with ``max_results=N`` one page comes back and the token is remembered on the façade; calling again with no
arguments returns the next page while ``more_instance_status`` (``more_volume_status``,
``more_spot_prices``) is true. Other arguments start a new listing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .arguments import translate
from .asynccalls import async_enabled, submit
from .dispatch import dispatch
from .naming import normalize, operation_model

__all__ = ["PAGED", "PagersMixin"]

#: ``method -> (Operation, name of its "more" flag)``.
PAGED: Mapping[str, tuple[str, str]] = {
    "describe_instance_status": ("DescribeInstanceStatus", "more_instance_status"),
    "describe_volume_status": ("DescribeVolumeStatus", "more_volume_status"),
    "describe_spot_price_history": ("DescribeSpotPriceHistory", "more_spot_prices"),
}
_PAGE_SIZE_KEYS = {"maxresults"}


def _one_page(
    facade: Any, service: str, operation: Any, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> Any:
    """Translate, send without following pages, remember the next token, dispatch."""
    params = translate(service, operation, args, kwargs)
    response = facade._send(service, operation, params, paginate=False)
    facade.__dict__.setdefault("_page_tokens", {})[operation.name] = (response.get("NextToken"), params)
    return dispatch.handle(service, operation, response, facade)


def _pager(method: str) -> Callable[..., Any]:
    op_name, _ = PAGED[method]

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if async_enabled():  # inside ``async_mode()``: a future, as for every other operation
            return submit(call, self, *args, **kwargs)
        operation = operation_model("ec2", op_name)
        tokens: dict[str, Any] = self.__dict__.setdefault("_page_tokens", {})
        pending, last = tokens.get(op_name, (None, None))
        if not args and not kwargs and pending:
            kwargs = {**last, "NextToken": pending}
        elif not any(normalize(k) in _PAGE_SIZE_KEYS for k in kwargs):
            tokens.pop(op_name, None)
            return self._guarded("ec2", operation, _complete, args, kwargs)
        return self._guarded("ec2", operation, _one_page, args, kwargs)

    call.__name__ = call.__qualname__ = method
    call.service = "ec2"  # type: ignore[attr-defined]  # the same introspection as generated operations
    call.operation = op_name  # type: ignore[attr-defined]
    call.__doc__ = (
        f"{op_name}: the complete list, or with ``max_results=N`` one page at a time "
        f"(call again with no arguments for the next page while ``{PAGED[method][1]}`` is true)."
    )
    return call


def _complete(
    facade: Any, service: str, operation: Any, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> Any:
    from .operations import call_operation

    return call_operation(facade, service, operation, args, kwargs)


def _more(method: str) -> property:
    op_name, flag = PAGED[method]

    def get(self: Any) -> bool:
        return bool(self.__dict__.get("_page_tokens", {}).get(op_name, (None, None))[0])

    get.__doc__ = f"Whether ``{method}(max_results=...)`` has another page to give."
    get.__name__ = flag
    return property(get)


class PagersMixin:
    """The three VM::EC2 pagers and their ``more_*`` flags, mixed into the EC2 façade."""

    describe_instance_status = _pager("describe_instance_status")
    describe_volume_status = _pager("describe_volume_status")
    describe_spot_price_history = _pager("describe_spot_price_history")
    more_instance_status = _more("describe_instance_status")
    more_volume_status = _more("describe_volume_status")
    more_spot_prices = _more("describe_spot_price_history")
