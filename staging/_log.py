"""Library logging for the staging layer: structlog loggers over stdlib ``logging`` (never configured here).

``structlog.get_logger()`` left unconfigured prints to stdout, which a library must never do (a command's
``--json`` output goes there). Records go through stdlib instead: silent under the ``NullHandler`` of
``staging/__init__``, shown by whatever handlers the application sets up (STYLE P11).
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

__all__ = ["get_logger"]


def get_logger(name: str) -> Any:
    """A structlog ``BoundLogger`` over ``logging.getLogger(name)``; use event names plus key/values."""
    return structlog.wrap_logger(logging.getLogger(name), wrapper_class=structlog.stdlib.BoundLogger)
