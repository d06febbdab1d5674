"""Library logging: structlog loggers that hand their records to stdlib ``logging``.

A library must not decide where logs go. ``structlog.get_logger()`` left unconfigured prints to stdout, so
we wrap a stdlib logger instead: records flow through stdlib (silent under the ``NullHandler`` added in
``__init__``), while an application that configures structlog gets its own processors applied (STYLE P11).
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

__all__ = ["get_logger"]


def get_logger(name: str) -> Any:
    """A structlog ``BoundLogger`` over ``logging.getLogger(name)``; use event names plus key/values."""
    return structlog.wrap_logger(logging.getLogger(name), wrapper_class=structlog.stdlib.BoundLogger)
