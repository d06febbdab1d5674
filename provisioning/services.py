"""Façade methods for the non-EC2 extras: instance metadata, STS federation helpers (filled in later)."""

from __future__ import annotations

__all__ = ["ServicesMixin"]


class ServicesMixin:
    """Extra VM::EC2 methods that are not API operations (``instance_metadata``, ``login_url``)."""
