"""VM::EC2's page-at-a-time describe calls: ``-max_results`` plus ``more_instance_status`` and friends.

Every describe call normally returns the complete list. VM::EC2 let three calls page on request instead:
with ``max_results=N`` one page comes back and the token is remembered on the façade; calling again with no
arguments returns the next page while ``more_instance_status`` (``more_volume_status``,
``more_spot_prices``) is true. Other arguments start a new listing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .asynccalls import async_enabled, submit
from .naming import normalize, operation_model

__all__ = ["PAGED", "Page", "PagersMixin"]

#: ``method -> (Operation, name of its "more" flag)``.
PAGED: Mapping[str, tuple[str, str]] = {
    "describe_instance_status": ("DescribeInstanceStatus", "more_instance_status"),
    "describe_volume_status": ("DescribeVolumeStatus", "more_volume_status"),
    "describe_spot_price_history": ("DescribeSpotPriceHistory", "more_spot_prices"),
}
_PAGE_SIZE_KEYS = {"maxresults"}


@dataclass
class Page:
    """Where a page-at-a-time listing stands: the next page's token and the arguments that began it.

    The façade's call pipeline fetches the one page a ``Page`` points at and then :meth:`turn` s it.
    """

    token: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def turn(self, params: Mapping[str, Any], response: Mapping[str, Any]) -> None:
        """Record where the page after ``response`` (asked for with ``params``) starts."""
        self.token, self.params = response.get("NextToken"), params


def _pager(method: str) -> Callable[..., Any]:
    op_name, _ = PAGED[method]

    def call(self: PagersMixin, *args: Any, **kwargs: Any) -> Any:
        if async_enabled():  # inside ``async_mode()``: a future, as for every other operation
            return submit(call, self, *args, **kwargs)
        page = self._pages.get(op_name)
        if not args and not kwargs and page is not None and page.token:
            kwargs = {**page.params, "NextToken": page.token}  # the next page of the same listing
        elif any(normalize(k) in _PAGE_SIZE_KEYS for k in kwargs):
            page = self._pages[op_name] = Page()  # a new listing, one page at a time
        else:
            page = None  # the complete list
            self._pages.pop(op_name, None)
        return self._guarded("ec2", operation_model("ec2", op_name), args, kwargs, page=page)

    call.__name__ = call.__qualname__ = method
    call.service = "ec2"  # type: ignore[attr-defined]  # the same introspection as generated operations
    call.operation = op_name  # type: ignore[attr-defined]
    call.__doc__ = (
        f"{op_name}: the complete list, or with ``max_results=N`` one page at a time "
        f"(call again with no arguments for the next page while ``{PAGED[method][1]}`` is true)."
    )
    return call


def _more(method: str) -> property:
    op_name, flag = PAGED[method]

    def get(self: PagersMixin) -> bool:
        page = self._pages.get(op_name)
        return page is not None and bool(page.token)

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

    @cached_property
    def _pages(self) -> dict[str, Page]:
        """The listings being read one page at a time, by operation name."""
        return {}

    if TYPE_CHECKING:
        #: The façade's call under its error mode (``Facade._guarded``), which takes ``page=``.
        _guarded: Callable[..., Any]
