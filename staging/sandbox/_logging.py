"""Logging set-up of the sandbox's two programs (the command line and the daemon): both are applications."""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(level: int) -> None:
    """Send structlog and stdlib logging to stderr at ``level``."""
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
