"""FakeShell, the scripted Shell for unit tests."""

from __future__ import annotations

import pytest

from transfer.errors import CommandTimeout, RemoteCommandError
from transfer.shell import Shell
from transfer.testing import FakeShell, UnexpectedCommand


def test_fake_shell_is_a_shell() -> None:
    """FakeShell satisfies the Shell protocol."""
    assert isinstance(FakeShell(), Shell)


def test_expected_commands_answer_in_order() -> None:
    """Expectations answer with their canned output and are used up."""
    fake = FakeShell()
    fake.expect(["mkfs", "-t", "ext4", "/dev/xvdf"]).expect(["blkid"], stdout="TYPE=ext4\n")
    assert fake.run(["mkfs", "-t", "ext4", "/dev/xvdf"]).ok
    assert fake.run(["blkid"]).stdout == "TYPE=ext4\n"
    fake.assert_all_called()


def test_unexpected_command_fails_with_details() -> None:
    """A command nobody expected raises UnexpectedCommand listing what was expected."""
    fake = FakeShell().expect(["a"])
    with pytest.raises(UnexpectedCommand, match="expected:\n  a"):
        fake.run(["b"])


def test_order_and_unordered_mode() -> None:
    """Ordered fakes refuse out-of-order commands; ordered=False accepts any pending one."""
    with pytest.raises(UnexpectedCommand):
        FakeShell().expect(["a"]).expect(["b"]).run(["b"])
    fake = FakeShell(ordered=False).expect(["a"]).expect(["b"])
    fake.run(["b"])
    fake.run(["a"])
    fake.assert_all_called()


def test_assert_all_called_reports_missing() -> None:
    """Unused expectations fail assert_all_called."""
    fake = FakeShell().expect(["never"])
    with pytest.raises(AssertionError, match="never"):
        fake.assert_all_called()


def test_exit_codes_check_sudo_and_timeout() -> None:
    """Non-zero exits raise unless check=False; sudo is matched when given; timeouts can be scripted."""
    fake = FakeShell().expect("false", exit=1, stderr="bad").expect("false", exit=1)
    with pytest.raises(RemoteCommandError, match="bad"):
        fake.run("false")
    assert fake.run("false", check=False).exit_code == 1
    with pytest.raises(UnexpectedCommand):
        FakeShell().expect(["id"], sudo=True).run(["id"])
    assert FakeShell().expect(["id"], sudo=True).run(["id"], sudo=True).command == "sudo -n -- id"
    with pytest.raises(CommandTimeout):
        FakeShell().expect(["slow"], timeout=True).run(["slow"], timeout=1)


def test_records_calls_and_feeds_on_stdout() -> None:
    """Calls are recorded with input; canned stdout also goes to on_stdout."""
    fake = FakeShell().expect(["cat"], stdout="hi", times=2)
    seen: list[bytes] = []
    fake.run(["cat"], input="x", on_stdout=seen.append)
    fake.run(["cat"])
    assert seen == [b"hi"] and fake.calls[0].input == b"x" and len(fake.calls) == 2
