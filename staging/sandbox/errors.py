"""Errors of the sandbox cloud.

``SandboxError`` is the root. ``EnvironmentProblem`` means the machine cannot host a sandbox (not root, a tool
missing); it is raised before anything is created and its message names the Debian package to install.
"""

from __future__ import annotations

__all__ = ["EnvironmentProblem", "SandboxError"]


class SandboxError(Exception):
    """Something in the sandbox cloud failed (starting, stopping, or a side effect of an API call)."""


class EnvironmentProblem(SandboxError):
    """The machine cannot run a sandbox; the message says what to change or install."""
