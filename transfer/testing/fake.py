"""``FakeShell``: a scripted :class:`transfer.Shell` for unit tests (like ``invoke.MockContext``).

Example::

    fake = FakeShell()
    fake.expect(["mkfs", "-t", "ext4", "/dev/xvdf"])
    fake.expect(["blkid", "-o", "export", "/dev/xvdf"], stdout="TYPE=ext4\\n")
    code_under_test(fake)
    fake.assert_all_called()

Expectations are matched in order by default (``ordered=False`` lets any pending one match). A command
that matches no expectation fails the test at once, with the list of what was expected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from transfer.errors import CommandTimeout, RemoteCommandError
from transfer.result import CommandResult
from transfer.shell import Command, OutputCallback, build_command, encode

__all__ = ["Call", "Expectation", "FakeShell", "UnexpectedCommand"]


class UnexpectedCommand(AssertionError):
    """A command was run that the test did not expect."""


@dataclass
class Expectation:
    """One scripted command and its canned result."""

    command: str
    sudo: bool | None
    exit: int
    stdout: str
    stderr: str
    times: int
    timeout: bool
    side_effect: Callable[[Call], None] | None
    calls: int = 0


@dataclass(frozen=True)
class Call:
    """A command the code under test ran."""

    command: str
    sudo: bool
    input: bytes | None
    timeout: float | None
    env: Mapping[str, str] | None = field(default=None)


class FakeShell:
    """A :class:`transfer.Shell` that answers from expectations instead of running anything.

    Args:
        ordered: Require expectations to be met in the order they were added.
        host: Name used in error messages.
    """

    def __init__(self, *, ordered: bool = True, host: str = "fake") -> None:
        self.ordered = ordered
        self.host = host
        self.expectations: list[Expectation] = []
        self.calls: list[Call] = []

    def expect(
        self,
        command: Command,
        *,
        exit: int = 0,
        stdout: str = "",
        stderr: str = "",
        sudo: bool | None = None,
        times: int = 1,
        timeout: bool = False,
        side_effect: Callable[[Call], None] | None = None,
    ) -> FakeShell:
        """Expect ``command`` (argv or string; compared as the quoted command line).

        Args:
            command: The expected command (without the sudo prefix).
            exit: Exit code to answer.
            stdout: Standard output to answer (also fed to ``on_stdout``).
            stderr: Standard error to answer.
            sudo: If not None, the call must (True) or must not (False) use sudo.
            times: How many calls this expectation answers.
            timeout: Raise :class:`CommandTimeout` instead of answering.
            side_effect: Called with the :class:`Call` (may raise, e.g. to simulate a dropped connection).

        Returns:
            self, for chaining.
        """
        self.expectations.append(
            Expectation(build_command(command), sudo, exit, stdout, stderr, times, timeout, side_effect)
        )
        return self

    def _pending(self) -> list[Expectation]:
        return [e for e in self.expectations if e.calls < e.times]

    def run(
        self,
        command: Command,
        *,
        sudo: bool = False,
        check: bool = True,
        input: bytes | str | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        on_stdout: OutputCallback | None = None,
    ) -> CommandResult:
        """Answer ``command`` from the first matching expectation (see :meth:`transfer.Shell.run`).

        Raises:
            UnexpectedCommand: Nothing matches (an AssertionError, so the test fails with the details).
        """
        line = build_command(command)
        data = encode(input) if isinstance(input, str) else input
        call = Call(line, sudo, data, timeout, env)
        self.calls.append(call)
        pending = self._pending()
        candidates = pending[:1] if self.ordered else pending
        match = next((e for e in candidates if e.command == line and e.sudo in (None, sudo)), None)
        if match is None:
            want = "\n  ".join(e.command for e in pending) or "(nothing)"
            raise UnexpectedCommand(
                f"unexpected command{' (sudo)' if sudo else ''}: {line}\nexpected:\n  {want}"
            )
        match.calls += 1
        if match.side_effect is not None:
            match.side_effect(call)
        full = build_command(command, sudo=sudo, env=env)
        if match.timeout:
            raise CommandTimeout(full, timeout or 0, host=self.host)
        if on_stdout is not None and match.stdout:
            on_stdout(encode(match.stdout))
        result = CommandResult(full, match.exit, match.stdout, match.stderr)
        if check and not result.ok:
            raise RemoteCommandError(result, host=self.host)
        return result

    def assert_all_called(self) -> None:
        """Fail if any expectation was not used up."""
        left = self._pending()
        if left:
            raise AssertionError("expected commands not run:\n  " + "\n  ".join(e.command for e in left))

    def __repr__(self) -> str:
        return f"FakeShell({len(self.calls)} calls, {len(self._pending())} pending)"
