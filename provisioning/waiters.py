"""Waiting for resources to reach a state (filled in by the waiters work)."""

from __future__ import annotations

__all__ = ["WaitersMixin"]


class WaitersMixin:
    """Waiter methods of the EC2 façade (``wait_for_instances``, ``wait_for_terminal_state``, ...)."""
