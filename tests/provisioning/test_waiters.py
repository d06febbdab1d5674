"""Waiters: batched polling, backoff, deadlines, NotFound tolerance, impossible states, progress.

Real transitions run against moto's server; slow or odd ones are injected with a Stubber, and time is a
fake clock whose sleep only advances it (nothing really sleeps).
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace
from typing import Any

import pytest
from botocore.stub import Stubber

from provisioning import EC2, NotFoundError, WaitTimeout
from provisioning.clients import core_session
from provisioning.ec2.image import Image
from provisioning.ec2.instance import Instance
from provisioning.ec2.snapshot import Snapshot
from provisioning.naming import service_model
from provisioning.waiters import UnexpectedState, WaitProgress, backoff
from provisioning.waiting import WaitPolicy

from .conftest import FakeTime


@pytest.fixture
def ec2(moto_endpoint: str, clock: FakeTime) -> EC2:
    """A raising façade on a fresh moto, waiting on the fake clock."""
    facade = EC2(endpoint=moto_endpoint, region="us-east-1")
    facade.wait_clock = clock.clock
    facade.wait_sleep = clock.sleep
    facade.consistency.clock, facade.consistency.sleep = clock.clock, clock.sleep
    return facade


@pytest.fixture
def calls(ec2: EC2) -> list[str]:
    """The names of the API calls the façade's ec2 client makes from now on."""
    made: list[str] = []
    ec2._pool.client("ec2").meta.events.register(
        "before-call.ec2.*", lambda model, **_: made.append(model.name)
    )
    return made


@pytest.fixture
def instances(ec2: EC2) -> list[Instance]:
    """Five instances just launched."""
    image_id = ec2.register_image(name="wait-image", root_device_name="/dev/sda1")
    launched: list[Instance] = ec2.run_instances(image_id, min_count=5)
    return launched


def fake_instance(ec2: EC2, iid: str) -> Instance:
    """An Instance object for ``iid`` (for stubbed waits)."""
    return Instance({"InstanceId": iid}, ec2, service_model("ec2").shape_for("Instance"))


def answer(*states: tuple[str, str]) -> dict[str, Any]:
    """A DescribeInstances answer with these (id, state) pairs."""
    items = [{"InstanceId": i, "State": {"Name": s, "Code": 0}} for i, s in states]
    return {"Reservations": [{"ReservationId": "r-1", "Instances": items}]} if items else {"Reservations": []}


def test_backoff_grows_to_a_cap() -> None:
    """The polling schedule starts at 1 s and grows by half up to 15 s."""
    schedule = backoff()
    assert [next(schedule) for _ in range(9)] == [
        1.0,
        1.5,
        2.25,
        3.375,
        5.0625,
        7.59375,
        11.390625,
        15.0,
        15.0,
    ]


def test_wait_for_instances_makes_one_describe_per_round(
    ec2: EC2, instances: list[Instance], calls: list[str]
) -> None:
    """Five instances reach running with one filtered DescribeInstances, one by id to confirm, no sleep."""
    assert ec2.wait_for_instances(instances) == {str(i): "running" for i in instances}
    assert calls == ["DescribeInstances", "DescribeInstances"]


def test_one_batched_call_per_round_while_pending(ec2: EC2, clock: FakeTime, stub: Stubber) -> None:
    """Three pending rounds of two instances cost three calls (plus one by id per round where some
    arrived), with growing sleeps between them."""
    objs = [fake_instance(ec2, "i-1"), fake_instance(ec2, "i-2")]
    stub.add_response("describe_instances", answer(("i-1", "pending"), ("i-2", "pending")))
    stub.add_response("describe_instances", answer(("i-1", "running"), ("i-2", "pending")))
    stub.add_response("describe_instances", answer(("i-1", "running")), {"InstanceIds": ["i-1"]})
    stub.add_response("describe_instances", answer(("i-2", "running")))
    stub.add_response("describe_instances", answer(("i-2", "running")), {"InstanceIds": ["i-2"]})
    seen: list[WaitProgress] = []
    assert ec2.wait_for_instances(objs, state="running", progress=seen.append) == {
        "i-1": "running",
        "i-2": "running",
    }
    stub.assert_no_pending_responses()
    assert clock.sleeps == [1.0, 1.5]
    assert [p.pending for p in seen] == [("i-1", "i-2"), ("i-2",), ()]
    assert (
        seen[-1].round == 3
        and seen[-1].elapsed == 2.5
        and seen[0].states == {"i-1": "pending", "i-2": "pending"}
    )


@pytest.mark.parametrize("raise_error", [True, False])
def test_timeout(ec2: EC2, clock: FakeTime, stub: Stubber, raise_error: bool) -> None:
    """Past the deadline the wait raises WaitTimeout, or returns None and sets ec2.error."""
    ec2.raise_error = raise_error
    for _ in range(6):
        stub.add_response("describe_instances", answer(("i-1", "pending")))
    wait = lambda: ec2.wait_for_instances(fake_instance(ec2, "i-1"), timeout=10)  # noqa: E731
    if raise_error:
        with pytest.raises(WaitTimeout, match="i-1=pending"):
            wait()
    else:
        assert wait() is None and isinstance(ec2.error, WaitTimeout)
    assert sum(clock.sleeps) == 10 and clock.sleeps[-1] < 3.375


def test_wait_for_timeout_property(ec2: EC2, clock: FakeTime, stub: Stubber) -> None:
    """wait_for_timeout defaults to 600 s, is settable, refuses negatives; 0 waits forever."""
    assert ec2.wait_for_timeout == 600
    ec2.wait_for_timeout = 0
    with pytest.raises(ValueError):
        ec2.wait_for_timeout = -1
    for _ in range(12):
        stub.add_response("describe_instances", answer(("i-1", "pending")))
    stub.add_response("describe_instances", answer(("i-1", "running")))
    stub.add_response("describe_instances", answer(("i-1", "running")))  # confirmed by id
    assert ec2.wait_for_instances(fake_instance(ec2, "i-1")) == {"i-1": "running"}
    assert sum(clock.sleeps) > 100


def test_not_found_is_tolerated_for_a_while(ec2: EC2, clock: FakeTime, stub: Stubber) -> None:
    """An instance invisible right after launch is waited for; it counts once it shows up."""
    stub.add_response("describe_instances", answer())
    stub.add_response("describe_instances", answer())
    stub.add_response("describe_instances", answer(("i-1", "running")))
    stub.add_response("describe_instances", answer(("i-1", "running")))  # confirmed by id
    assert ec2.wait_for_instances(fake_instance(ec2, "i-1"), state="running") == {"i-1": "running"}


def test_arrival_is_confirmed_by_id(ec2: EC2, clock: FakeTime, stub: Stubber) -> None:
    """A filter shows the instance running while a call naming its id still answers NotFound (an id the
    façade did not create: no retry inside the call): it stays pending until the id is listed."""
    stub.add_response("describe_instances", answer(("i-1", "running")))
    stub.add_client_error("describe_instances", "InvalidInstanceID.NotFound", "The instance ID 'i-1' ...")
    stub.add_response("describe_instances", answer(("i-1", "running")))
    stub.add_response("describe_instances", answer(("i-1", "running")), {"InstanceIds": ["i-1"]})
    assert ec2.wait_for_instances(fake_instance(ec2, "i-1"), state="running") == {"i-1": "running"}
    stub.assert_no_pending_responses()
    assert clock.sleeps == [1.0]


@pytest.mark.parametrize("raise_error", [True, False])
def test_not_found_past_the_grace_fails(ec2: EC2, moto_endpoint: str, raise_error: bool) -> None:
    """An object that never appears ends the wait with NotFoundError after the grace period (moto)."""
    ec2.raise_error = raise_error
    ghost = fake_instance(ec2, "i-0123456789abcdef0")
    if raise_error:
        with pytest.raises(NotFoundError):
            ec2.wait_for_instances(ghost, state="running")
    else:
        assert ec2.wait_for_instances(ghost, state="running") is None and isinstance(ec2.error, NotFoundError)


@pytest.mark.parametrize("raise_error", [True, False])
def test_impossible_state_ends_the_wait_at_once(
    ec2: EC2, instances: list[Instance], calls: list[str], raise_error: bool
) -> None:
    """Waiting for running on a terminated instance fails after one round with UnexpectedState."""
    ec2.raise_error = raise_error
    instances[0].terminate()
    calls.clear()
    if raise_error:
        with pytest.raises(UnexpectedState, match="terminated") as info:
            ec2.wait_for_instances(instances, state="running")
        assert info.value.object_id == str(instances[0]) and info.value.state == "terminated"
    else:
        assert ec2.wait_for_instances(instances, state="running") is None
        assert isinstance(ec2.error, UnexpectedState)
    assert calls == ["DescribeInstances"]


def test_failed_image_ends_the_wait(ec2: EC2, stub: Stubber) -> None:
    """An image in state failed ends wait_for_images with UnexpectedState."""
    img = Image({"ImageId": "ami-1"}, ec2, service_model("ec2").shape_for("Image"))
    stub.add_response("describe_images", {"Images": [{"ImageId": "ami-1", "State": "failed"}]})
    with pytest.raises(UnexpectedState, match="failed"):
        ec2.wait_for_images(img)


def test_volumes_snapshots_images_attachments(ec2: EC2, instances: list[Instance], calls: list[str]) -> None:
    """Each kind's waiter returns {id: state} from real transitions on moto."""
    vol = ec2.create_volume(availability_zone=instances[0].placement.availabilityZone, size=1)
    assert ec2.wait_for_volumes(vol) == {str(vol): "available"}
    snap = vol.create_snapshot("w")
    assert ec2.wait_for_snapshots(snap) == {str(snap): "completed"}
    img = instances[0].create_image("waited-image")
    assert ec2.wait_for_images([img]) == {str(img): "available"}
    att = vol.attach(instances[0], "/dev/sdf")
    assert ec2.wait_for_attachments(att) == {str(att): "attached"}
    assert ec2.wait_for_volumes(vol, state="in-use") == {str(vol): "in-use"}
    vol.refresh()
    vol.detach()
    assert ec2.wait_for_attachments(att, state="detached") == {str(att): "detached"}
    vol.delete()
    assert ec2.wait_for_volumes(vol, state="deleted") == {str(vol): "deleted"}


def test_generic_wait_batches_per_kind(ec2: EC2, instances: list[Instance], calls: list[str]) -> None:
    """wait_for_terminal_state on instances and a volume makes one call per kind per round."""
    vol = ec2.create_volume(availability_zone="us-east-1a", size=1)
    calls.clear()
    result = ec2.wait_for_terminal_state([*instances, vol], ["running", "available"], 30)
    assert result == {**{str(i): "running" for i in instances}, str(vol): "available"}
    assert sorted(calls) == ["DescribeInstances", "DescribeInstances", "DescribeVolumes", "DescribeVolumes"]


def test_generic_wait_with_fail_states(ec2: EC2, instances: list[Instance]) -> None:
    """fail_states makes more states end the wait."""
    with pytest.raises(UnexpectedState):
        ec2.wait_for_terminal_state(instances[0], "stopped", fail_states=["running"])


def test_waiting_for_unpollable_objects_is_a_type_error(ec2: EC2) -> None:
    """Objects without a describe rule cannot be waited on."""
    zone = ec2.describe_availability_zones()[0]
    with pytest.raises(TypeError):
        ec2.wait_for_terminal_state([zone], ["available"])


def test_objects_of_other_regions_are_polled_there(ec2: EC2) -> None:
    """A snapshot copied to another region is waited for through its own region's façade."""
    vol = ec2.create_volume(availability_zone="us-east-1a", size=1)
    copy = vol.create_snapshot("source").copy(region="eu-west-1")
    assert ec2.wait_for_snapshots(copy, timeout=5) == {str(copy): "completed"}


def test_copy_with_wait_uses_the_source_facades_clock_and_timeout(ec2: EC2, clock: FakeTime) -> None:
    """snapshot.copy(region=..., wait=True) waits on the façade the user configured, not a default clone."""
    vol = ec2.create_volume(availability_zone="us-east-1a", size=1)
    snap = vol.create_snapshot("source")
    seen: list[int] = []

    def pending_at_first(parsed: dict[str, Any], **_: Any) -> None:
        seen.append(1)
        if len(seen) <= 3:  # the visibility check, then two polling rounds
            for item in parsed.get("Snapshots", []):
                item["State"] = "pending"

    session = core_session(None)  # the destination region's client is made during copy()
    session.register("after-call.ec2.DescribeSnapshots", pending_at_first)
    try:
        copy = snap.copy(region="eu-west-1", wait=True)
    finally:
        session.unregister("after-call.ec2.DescribeSnapshots", pending_at_first)
    assert copy is not None and copy.ec2 is not None and copy.ec2.region == "eu-west-1"
    assert clock.sleeps == [1.0, 1.5]  # the fake clock's sleeps: nothing really slept


def test_stale_stopped_after_start_does_not_end_a_wait_for_running(ec2: EC2, stub: Stubber) -> None:
    """Right after StartInstances AWS may still report "stopped"; only "stopping" ends a wait for running."""
    objs = [fake_instance(ec2, "i-1")]
    stub.add_response("describe_instances", answer(("i-1", "stopped")))
    stub.add_response("describe_instances", answer(("i-1", "pending")))
    stub.add_response("describe_instances", answer(("i-1", "running")))
    stub.add_response("describe_instances", answer(("i-1", "running")))  # confirmed by id
    assert ec2.wait_for_instances(objs, state="running") == {"i-1": "running"}
    stub.add_response("describe_instances", answer(("i-1", "stopping")))
    with pytest.raises(UnexpectedState, match="stopping"):
        ec2.wait_for_instances(objs, state="running")


def test_clone_keeps_the_waiting_policy(ec2: EC2, clock: FakeTime) -> None:
    """A clone (another region) waits with the same timeout, clock and sleep as its original."""
    ec2.wait_for_timeout = 42
    west = ec2.clone(region="us-west-2")
    assert west.wait_for_timeout == 42
    assert west.wait_clock == clock.clock and west.wait_sleep == clock.sleep
    assert west.wait_policy is ec2.wait_policy  # one frozen policy, copied whole


def test_wait_settings_replace_the_frozen_policy(ec2: EC2) -> None:
    """Each wait_* setting replaces the façade's WaitPolicy; a policy never changes under a clone's feet."""
    before = ec2.wait_policy
    ec2.wait_not_found_grace = 5
    assert ec2.wait_policy is not before and before.not_found_grace == 30
    assert ec2.wait_policy == replace(before, not_found_grace=5.0)
    with pytest.raises(FrozenInstanceError):
        ec2.wait_policy.timeout = 1  # type: ignore[misc]
    with pytest.raises(ValueError):
        WaitPolicy(not_found_grace=-1)


# --- objects are current after a wait (VM::EC2's were) -------------------------------------------------


def described(ec2: EC2, instance: Instance) -> Instance:
    """A fresh description of ``instance`` (a separate object, for comparison)."""
    fresh: list[Instance] = ec2.describe_instances(str(instance))
    return fresh[0]


def test_start_with_wait_leaves_the_instance_current(
    ec2: EC2, instances: list[Instance], calls: list[str]
) -> None:
    """After stop/start(wait=True) the object shows the new state and public address without refresh()."""
    inst = instances[0]
    inst.stop(wait=True)
    assert inst.recorded_status() == "stopped"
    assert inst.public_ip_address == described(ec2, inst).public_ip_address
    calls.clear()
    inst.start(wait=True)
    # One polling round and its confirmation by id, no describe after it.
    assert calls == ["StartInstances", "DescribeInstances", "DescribeInstances"]
    assert inst.recorded_status() == "running" and str(inst.instanceState) == "running"
    fresh = described(ec2, inst)
    assert inst.public_ip_address is not None and inst.ipAddress == fresh.public_ip_address
    assert inst.payload == fresh.payload


def test_wait_for_instances_updates_the_objects_given(ec2: EC2, instances: list[Instance]) -> None:
    """Objects passed to wait_for_instances, even bare ones and two with the same id, take the last answer."""
    ec2.stop_instances(instances[:2])
    bare = fake_instance(ec2, str(instances[0]))
    twin = fake_instance(ec2, str(instances[0]))
    assert bare.public_dns_name is None and bare.instance_type is None
    ec2.wait_for_instances(bare, twin, instances[1], state="stopped")
    for obj in (bare, twin, instances[1]):
        assert obj.recorded_status() == "stopped"
        assert obj.payload == described(ec2, obj).payload
    assert bare.instance_type == instances[0].instance_type


def test_state_change_objects_show_the_state_waited_for(ec2: EC2, instances: list[Instance]) -> None:
    """A Start/Stop answer passed to a wait shows the reached state as its current state."""
    change = instances[0].stop()
    assert change is not None
    ec2.wait_for_instances(change, state="stopped")
    assert change.current_state.name == "stopped" and str(change) == str(instances[0])


def test_volumes_snapshots_images_attachments_are_current_after_their_waits(
    ec2: EC2, instances: list[Instance]
) -> None:
    """Volumes, attachments, snapshots and images show what their wait saw, without refresh()."""
    inst = instances[0]
    vol = ec2.create_volume(availability_zone=inst.placement.availabilityZone, size=1)
    att = vol.attach(inst, "/dev/sdf")
    assert att.recorded_status() == "attaching" and vol.recorded_status() == "available"
    ec2.wait_for_terminal_state([att, vol], ["attached", "in-use"])
    assert att.recorded_status() == "attached" and vol.recorded_status() == "in-use"
    assert vol.attachment is not None and vol.attachment.instance_id == str(inst)
    vol.detach()  # needs the volume's current attachment: before, this took a refresh()
    ec2.wait_for_attachments(att, state="detached")
    ec2.wait_for_volumes(vol, state="available")
    assert att.recorded_status() == "detached"
    assert vol.recorded_status() == "available" and not vol.attachments

    snap = vol.create_snapshot("current")
    image = inst.create_image("current-image")
    bare_snap = Snapshot({"SnapshotId": str(snap)}, ec2, service_model("ec2").shape_for("Snapshot"))
    bare_image = Image({"ImageId": str(image)}, ec2, service_model("ec2").shape_for("Image"))
    ec2.wait_for_snapshots(bare_snap)
    ec2.wait_for_images(bare_image)
    assert bare_snap.recorded_status() == "completed" and bare_snap.volume_id == str(vol)
    assert bare_image.recorded_status() == "available" and bare_image.name == "current-image"
