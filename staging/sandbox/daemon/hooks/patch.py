"""How the sandbox wraps moto's ``EC2Backend`` methods (used only inside the daemon)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from moto.ec2.models import EC2Backend

Fn = Callable[..., Any]
#: ``around(original, backend, args, kwargs)``: checks, then the original call, then side effects.
Around = Callable[[Fn, Any, tuple[Any, ...], dict[str, Any]], Any]


def wrap(name: str, around: Around) -> None:
    """Replace ``EC2Backend.<name>`` by ``around`` given the original method."""
    original = getattr(EC2Backend, name)

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        return around(original, self, args, kwargs)

    setattr(EC2Backend, name, wrapper)


def arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    """Argument ``name`` of a wrapped call, given by position ``index`` or by keyword."""
    return args[index] if len(args) > index else kwargs.get(name)
