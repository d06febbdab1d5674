"""Errors of the sandbox cloud.

``SandboxError`` is the root. ``EnvironmentProblem`` means the machine cannot host a sandbox (not root, a tool
missing); it is raised before anything is created and its message names the Debian package to install.
An error that a command of the sandbox's command line resolves carries that command (``next_command``), so the
command line can spell it with the name it was invoked as.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

__all__ = ["EnvironmentProblem", "SandboxError"]

#: The console script; the command line passes the name it was really invoked as to :meth:`SandboxError.hint`.
CLI_NAME = "vmec2-sandbox"


class SandboxError(Exception):
    """Something in the sandbox cloud failed (starting, stopping, or a side effect of an API call).

    Args:
        message: What went wrong.
        next_command: The arguments of the command-line call that resolves it, e.g. ``("down", "--force")``.
    """

    def __init__(self, message: str, *, next_command: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.next_command = tuple(next_command)

    def hint(self, program: str = CLI_NAME) -> str:
        """The message, followed by the command that resolves it as ``program`` spells it."""
        if not self.next_command:
            return self.message
        return f"{self.message}; run: {program} {shlex.join(self.next_command)}"

    def __str__(self) -> str:
        return self.hint()


class EnvironmentProblem(SandboxError):
    """The machine cannot run a sandbox; the message says what to change or install."""
