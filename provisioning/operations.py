"""Operations as real Python functions: named, documented and with a signature from the model.

:func:`make_operation` gives the façade's call of one operation (``Facade._call`` under the error mode, the
one path of every call) the operation's name, a docstring from the model's documentation and a signature
from its input shape, as botocore's ``_create_api_method`` does, so ``help(ec2.run_instances)`` is useful.
"""

from __future__ import annotations

import html
import inspect
import keyword
import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

from botocore.model import OperationModel

from .asynccalls import async_enabled, submit
from .naming import snake

__all__ = ["Operation", "Run", "docstring", "make_operation", "signature"]

Operation = Callable[..., Any]
#: How an operation's function makes its call: ``run(args, kwargs)``.
Run = Callable[[Sequence[Any], Mapping[str, Any]], Any]

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


def make_operation(service: str, operation: OperationModel, run: Run) -> Operation:
    """The public function of one operation: ``run`` (the façade's call under its error mode,
    ``Facade._guarded``) with the operation's name, documentation and signature.

    Inside ``async_mode()`` the function returns a :class:`~provisioning.asynccalls.Future` of the same
    call instead (VM::EC2's ``$ASYNC``).

    Args:
        service: Our short service name.
        operation: botocore's model of the operation.
        run: ``run(args, kwargs)`` makes the call.
    """

    def op(*args: Any, **kwargs: Any) -> Any:
        if async_enabled():
            return submit(run, args, kwargs)
        return run(args, kwargs)

    op.__name__ = op.__qualname__ = snake(operation.name)
    op.__doc__ = docstring(service, operation)
    op.__signature__ = signature(operation)  # type: ignore[attr-defined]
    op.service = service  # type: ignore[attr-defined]
    op.operation = operation.name  # type: ignore[attr-defined]
    return op
