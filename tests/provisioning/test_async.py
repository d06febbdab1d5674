"""Asynchronous calls: `_async` futures, `async_mode()` blocks, `_sync` escapes, asyncio, parallelism."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from provisioning import EC2, NotFoundError
from provisioning.asynccalls import Future, async_enabled, async_mode


def test_async_suffix_returns_a_future(ec2: EC2) -> None:
    """describe_volumes_async returns a Future at once; result()/recv() give the objects."""
    vol = ec2.create_volume(availability_zone="us-east-1a", size=1)
    future = ec2.describe_volumes_async(str(vol))
    assert isinstance(future, Future)
    assert [str(v) for v in future.result(timeout=10)] == [str(vol)] == [str(v) for v in future.recv()]
    assert future.error() is None


def test_callbacks_receive_the_future(ec2: EC2) -> None:
    """cb(fn) runs fn(future) once the call is done."""
    done = threading.Event()
    seen: list[Any] = []

    def callback(f: Future) -> None:
        seen.append(f.recv())
        done.set()

    ec2.describe_regions_async().cb(callback)
    assert done.wait(10) and seen[0]


def test_errors_in_raise_mode(ec2: EC2) -> None:
    """In raise mode result() raises the call's error and error() returns it."""
    future = ec2.describe_volumes_async("vol-0123456789abcdef0")
    with pytest.raises(NotFoundError):
        future.result(timeout=10)
    assert isinstance(future.error(), NotFoundError)


def test_errors_in_no_raise_mode(ec2: EC2) -> None:
    """With raise_error=False result() is [] (list calls) and error() holds the failure."""
    ec2.raise_error = False
    future = ec2.describe_volumes_async("vol-0123456789abcdef0")
    assert future.result(timeout=10) == []
    assert isinstance(future.error(), NotFoundError)
    assert ec2.delete_volume_async("vol-0123456789abcdef0").result(timeout=10) is None


def test_async_mode_block_and_sync_escape(ec2: EC2) -> None:
    """Inside async_mode() operations return futures, _sync calls do not; the mode ends with the block."""
    with ec2.async_mode():
        assert async_enabled()
        pending = ec2.create_volume(availability_zone="us-east-1a", size=1)
        assert isinstance(pending, Future)
        vol = pending.result(timeout=10)
        assert isinstance(ec2.describe_volumes_sync(), list)
        assert vol.current_status() == "available"  # object methods that chain calls stay synchronous
    assert not async_enabled() and isinstance(ec2.describe_volumes(), list)
    with async_mode():
        assert isinstance(ec2.describe_volumes(), Future)


def test_async_mode_is_per_thread(ec2: EC2) -> None:
    """Turning async mode on in one thread leaves other threads synchronous."""
    results: list[Any] = []
    with async_mode():
        worker = threading.Thread(target=lambda: results.append(ec2.describe_volumes()))
        worker.start()
        worker.join(10)
    assert results == [[]]


def test_object_and_waiter_methods_have_async_forms(ec2: EC2) -> None:
    """Any object method or façade method takes the _async suffix."""
    vol = ec2.create_volume(availability_zone="us-east-1a", size=1)
    assert vol.current_status_async().result(timeout=10) == "available"
    assert vol.currentStatus_async().result(timeout=10) == "available"
    assert ec2.wait_for_volumes_async(vol).result(timeout=10) == {str(vol): "available"}


def test_futures_can_be_awaited(ec2: EC2) -> None:
    """asyncio code can await the futures, alone or gathered."""
    ec2.create_volume(availability_zone="us-east-1a", size=1)

    async def main() -> tuple[Any, ...]:
        one = await ec2.describe_volumes_async()
        many = await asyncio.gather(ec2.describe_regions_async(), ec2.describe_availability_zones_async())
        return one, *many

    volumes, regions, zones = asyncio.run(main())
    assert len(volumes) == 1 and regions and zones


def test_outstanding_calls_run_in_parallel(ec2: EC2) -> None:
    """Four outstanding calls are all in flight at once: each waits at a barrier only all four can pass."""
    barrier = threading.Barrier(4, timeout=10)
    client = ec2._pool.client("ec2")

    def meet(**_: Any) -> None:
        barrier.wait()  # returns None so botocore goes on to send the request

    client.meta.events.register("before-call.ec2.DescribeRegions", meet)
    try:
        futures = [ec2.describe_regions_async() for _ in range(4)]
        assert all(f.result(timeout=20) for f in futures)
    finally:
        client.meta.events.unregister("before-call.ec2.DescribeRegions", meet)


def test_object_method_future_reports_failure_in_no_raise_mode(ec2: EC2) -> None:
    """A background object method that fails in no-raise mode gives its default and error() the failure."""
    vol = ec2.create_volume(availability_zone="us-east-1a", size=1)
    vol.delete()
    ec2.raise_error = False
    future = vol.current_status_async()
    assert future.result(timeout=10) is None and isinstance(future.error(), NotFoundError)
    ec2.raise_error = True
    with pytest.raises(NotFoundError):
        vol.current_status_async().result(timeout=10)


def test_error_state_is_per_thread(ec2: EC2) -> None:
    """A background call never clears or overwrites the calling thread's ec2.error (no-raise mode)."""
    ec2.raise_error = False
    assert ec2.describe_volumes("vol-0123456789abcdef0") == [] and ec2.is_error
    assert ec2.describe_regions_async().result(timeout=10)  # succeeds on a pool thread
    assert ec2.is_error and isinstance(ec2.error, NotFoundError)
    assert ec2.describe_regions()
    failing = ec2.describe_volumes_async("vol-0123456789abcdef0")
    assert failing.result(timeout=10) == [] and isinstance(failing.error(), NotFoundError)
    assert not ec2.is_error and ec2.error_str == ""


def test_error_state_of_worker_threads_sharing_a_facade(ec2: EC2) -> None:
    """Threads sharing one façade each see the failure of their own last call."""
    ec2.raise_error = False
    failed_here = threading.Event()
    other_done = threading.Event()
    seen: list[bool] = []

    def other() -> None:
        failed_here.wait(10)
        ec2.describe_regions()  # succeeds while the main thread still looks at its failure
        seen.append(ec2.is_error)
        other_done.set()

    worker = threading.Thread(target=other)
    worker.start()
    assert ec2.describe_volumes("vol-0123456789abcdef0") == []
    failed_here.set()
    assert other_done.wait(10)
    worker.join(10)
    assert seen == [False] and ec2.is_error


def test_hand_written_facade_methods_report_failures_through_the_future(ec2: EC2) -> None:
    """A façade method that is not a generated operation (a pager) still fills future.error()."""
    ec2.raise_error = False
    future = ec2.describe_instance_status_async(max_results=5, instance_ids=["i-0123456789abcdef0"])
    assert future.result(timeout=10) == []
    assert isinstance(future.error(), NotFoundError)


def test_error_of_a_cancelled_future_is_none() -> None:
    """error() on a future cancelled before it ran is None instead of raising CancelledError."""
    future = Future()
    assert future.cancel() and future.error() is None


def test_tag_methods_stay_synchronous_in_async_mode(ec2: EC2) -> None:
    """add_tags/delete_tags inside async_mode() finish (or fail) before returning, like other methods."""
    vol = ec2.create_volume(availability_zone="us-east-1a", size=1)
    with ec2.async_mode():
        assert vol.add_tags(Name="tagged") is True
        assert ec2.describe_volumes_sync(str(vol))[0].tags == {"Name": "tagged"}
        assert vol.delete_tags("Name") is True
        assert vol.delete() is True  # declared actions are synchronous too
        with pytest.raises(NotFoundError):
            vol.add_tags(Name="gone")


def test_pagers_return_futures_in_async_mode(ec2: EC2) -> None:
    """The hand-written pagers (describe_instance_status...) follow async_mode() like generated operations."""
    with ec2.async_mode():
        pending = ec2.describe_instance_status()
        assert isinstance(pending, Future) and pending.result(timeout=10) == []
        assert ec2.describe_instance_status_sync() == []
