"""The rules of VM::EC2's error mode, on their owner (provisioning.errormode), without a cloud."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from provisioning import EC2, AWSError, ParameterError
from provisioning.errormode import ErrorMode, collecting_failures, guarded_call, vmec2_method


def _boom(code: str = "InvalidVolume.NotFound") -> AWSError:
    return AWSError(code, "no such volume", operation="DescribeVolumes")


def _fails() -> Any:
    raise _boom()


@dataclass
class Bound:
    """Just enough of a façade for an object's methods: its error mode."""

    error_mode: ErrorMode = field(default_factory=lambda: ErrorMode(raise_error=False))


class Thing:
    """An object bound to a façade (``ec2``), with methods that follow its error mode."""

    def __init__(self, ec2: Bound | None) -> None:
        self.ec2 = ec2
        self.calls: list[str] = []

    @vmec2_method
    def outer(self) -> str:
        self.calls.append("outer")
        return self.inner()

    @vmec2_method(default=[])
    def inner(self) -> list[str]:
        self.calls.append("inner")
        raise _boom()

    @vmec2_method(default=False)
    def bad_arguments(self) -> bool:
        raise ParameterError("bad")


def test_quiet_mode_gives_the_default_and_records_the_failure() -> None:
    thing = Thing(Bound())
    first, second = thing.inner(), thing.inner()
    assert first == [] and second == [] and first is not second  # a fresh default each time
    assert thing.ec2 is not None and thing.ec2.error_mode.is_error
    assert thing.ec2.error_mode.error_str == "no such volume [InvalidVolume.NotFound]"


def test_nested_methods_report_once_from_the_outermost(capsys: pytest.CaptureFixture[str]) -> None:
    bound = Bound(ErrorMode(raise_error=False, print_error=True))
    assert Thing(bound).outer() is None  # the outer method's default, not the inner one's []
    assert capsys.readouterr().err.splitlines() == ["Thing.outer: no such volume [InvalidVolume.NotFound]"]


def test_raise_mode_raises_and_parameter_errors_always_raise() -> None:
    with pytest.raises(AWSError):
        Thing(Bound(ErrorMode())).inner()
    with pytest.raises(ParameterError):
        Thing(Bound()).bad_arguments()


def test_an_unbound_object_raises() -> None:
    with pytest.raises(AWSError):
        Thing(None).inner()


def test_each_public_call_clears_the_last_failure() -> None:
    mode = ErrorMode(raise_error=False)
    mode.guard("x", None, _fails)
    assert mode.is_error
    assert guarded_call(mode, "y", None, lambda: 1) == 1
    assert mode.error is None


def test_the_last_failure_is_per_thread() -> None:
    mode = ErrorMode(raise_error=False)
    mode.fail(_boom(), "here", None)
    seen: list[Any] = []
    worker = threading.Thread(target=lambda: seen.append(mode.error))
    worker.start()
    worker.join()
    assert seen == [None] and mode.error is not None


def test_background_calls_collect_what_quiet_mode_swallowed() -> None:
    mode = ErrorMode(raise_error=False)
    with collecting_failures() as swallowed:
        mode.fail(_boom(), "here", None)
    mode.fail(_boom("Other"), "here", None)  # outside the block: not collected
    assert [str(e) for e in swallowed] == ["no such volume [InvalidVolume.NotFound]"]


def test_proxies_share_the_mode_and_clones_copy_it() -> None:
    ec2 = EC2(access_key="a", secret_key="b", region="us-east-1", endpoint="http://127.0.0.1:9")
    ec2.raise_error = False
    assert ec2.elb.error_mode is ec2.error_mode
    clone = ec2.clone()
    assert clone.error_mode is not ec2.error_mode and clone.raise_error is False
    ec2.print_error = True
    assert ec2.elb.print_error is True and clone.print_error is False
