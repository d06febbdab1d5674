"""Operations as real Python functions: named, documented and with a signature from the model.

:func:`make_operation` builds one function per (façade, service, operation). Calling it runs the one
pipeline every API call takes: translate arguments (:mod:`.arguments`) -> call the boto3 client (through
the paginator when the operation pages, so describe calls return complete lists as VM::EC2 did) -> turn
the response into objects (:mod:`.dispatch`). The façade wraps the call with its error mode.
"""

from __future__ import annotations

import html
import inspect
import keyword
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.model import OperationModel

from .arguments import translate
from .asynccalls import async_enabled, submit_operation
from .dispatch import dispatch
from .naming import snake
from .objects import AWSObject

if TYPE_CHECKING:
    from .facade import Facade

__all__ = ["Operation", "docstring", "make_operation", "signature"]

#: Input members that mean "give me this one page": when present we call once instead of paginating.
PAGE_TOKENS = frozenset({"NextToken", "Marker", "StartingToken"})

Operation = Callable[..., Any]

_TAG = re.compile(r"<[^>]+>")
_BLANKS = re.compile(r"\n\s*\n+")


@cache
def docstring(service: str, operation: OperationModel) -> str:
    """Plain-text documentation of an operation, from the model's HTML, plus its VM::EC2 spelling."""
    text = html.unescape(_TAG.sub("", (operation.documentation or "").replace("</p>", "\n\n")))
    text = _BLANKS.sub("\n\n", text).strip()
    shape = operation.input_shape
    args = ", ".join(snake(m) for m in shape.members) if shape is not None else "(none)"
    return f"{service}:{operation.name}\n\n{text}\n\nArguments (any spelling, VM::EC2's or boto3's): {args}"


@cache
def signature(operation: OperationModel) -> inspect.Signature:
    """A signature listing positional ids and every input member as a keyword (for ``help()`` and IDEs)."""
    params = [inspect.Parameter("ids", inspect.Parameter.VAR_POSITIONAL)]
    shape = operation.input_shape
    if shape is not None:
        required = set(shape.required_members)
        for member in shape.members:
            default = inspect.Parameter.empty if member in required else None
            name = snake(member)
            if keyword.iskeyword(name):  # a member called Lambda: ``lambda_=`` (underscores are ignored)
                name += "_"
            params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default))
    params.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD))
    return inspect.Signature(params)


_LAST_PAGE = threading.local()


def _note_request_id(parsed: Any = None, **_: Any) -> None:
    """botocore ``after-call`` hook: remember the request id of the page just read (this thread)."""
    meta = parsed.get("ResponseMetadata") if isinstance(parsed, Mapping) else None
    _LAST_PAGE.request_id = meta.get("RequestId") if isinstance(meta, Mapping) else None


def invoke(
    client: Any, service: str, operation: OperationModel, params: Mapping[str, Any], *, paginate: bool = True
) -> Mapping[str, Any]:
    """One complete call: follow every page when the operation pages and no page token was given.

    ``paginate=False`` asks for exactly one page (VM::EC2's ``-max_results`` pagers keep the token). A
    paginated answer carries the last page's request id in its ``ResponseMetadata``, as single calls do.
    """
    method = snake(operation.name)
    if paginate and client.can_paginate(method) and not (PAGE_TOKENS & params.keys()):
        if not getattr(client, "_vmec2_notes_request_ids", False):
            client.meta.events.register("after-call", _note_request_id)
            client._vmec2_notes_request_ids = True
        _LAST_PAGE.request_id = None
        result = dict(client.get_paginator(method).paginate(**params).build_full_result())
        result["ResponseMetadata"] = {"RequestId": _LAST_PAGE.request_id}
        return result
    response: Mapping[str, Any] = getattr(client, method)(**params)
    return response


def call_operation(
    facade: Facade, service: str, operation: OperationModel, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> Any:
    """Translate, send and dispatch one call, raising our errors; objects learn the call's request id."""
    params = translate(service, operation, args, kwargs)
    response = facade._send(service, operation, params)
    result = dispatch.handle(service, operation, response, facade)
    meta = response.get("ResponseMetadata")
    request_id = meta.get("RequestId") if isinstance(meta, Mapping) else None
    for obj in result if isinstance(result, list) else [result]:
        if isinstance(obj, AWSObject):
            obj._request_id = request_id
    return result


def make_operation(
    facade: Facade, service: str, operation: OperationModel, *, raising: bool = False
) -> Operation:
    """The bound, documented function for one operation on ``facade``.

    Args:
        facade: The façade whose clients and error mode the function uses.
        service: Our short service name.
        operation: botocore's model of the operation.
        raising: Always raise, whatever the façade's ``raise_error`` says (internal calls).
    """

    def op(*args: Any, **kwargs: Any) -> Any:
        if raising:
            return call_operation(facade, service, operation, args, kwargs)
        if async_enabled():  # inside ``async_mode()``: return a future (VM::EC2's $ASYNC)
            return submit_operation(facade, service, operation, args, kwargs)
        return facade._guarded(service, operation, call_operation, args, kwargs)

    def start_async(args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        return submit_operation(facade, service, operation, args, kwargs)

    op.__name__ = op.__qualname__ = snake(operation.name)
    op.__doc__ = docstring(service, operation)
    op.__signature__ = signature(operation)  # type: ignore[attr-defined]
    op.service = service  # type: ignore[attr-defined]
    op.operation = operation.name  # type: ignore[attr-defined]
    op.start_async = start_async  # type: ignore[attr-defined]
    return op
