"""The outcome of one command, local or remote."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CommandResult"]


@dataclass(frozen=True)
class CommandResult:
    """What a finished command produced.

    Output is decoded as UTF-8 with ``surrogateescape`` so that no byte is lost:
    ``os.fsencode(result.stdout)`` gives back the exact bytes (non-UTF-8 file names survive a round trip).

    Attributes:
        command: The command line as it was run (a shell string, already quoted).
        exit_code: The exit status; ``-1`` when the command was killed or never reported one.
        stdout: Standard output.
        stderr: Standard error.
    """

    command: str
    exit_code: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        """True when the command exited with status 0."""
        return self.exit_code == 0

    def tail(self, lines: int = 10, *, stream: str = "stderr") -> str:
        """The last ``lines`` lines of ``stream`` ("stderr" or "stdout"), for error messages."""
        text = self.stderr if stream == "stderr" else self.stdout
        return "\n".join(text.rstrip("\n").splitlines()[-lines:])
