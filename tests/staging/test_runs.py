"""Runs of StagingManager on the sandbox: reuse by name across managers, cleanup at close, on_exit, journals,
and two managers in two processes contending for one volume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from staging import StagingManager
from staging.tags import EXPIRES, RUN

pytestmark = [pytest.mark.root]


def run_filter(manager: StagingManager) -> list[dict[str, Any]]:
    """A describe filter for everything tagged with the manager's run id."""
    return [{"Name": f"tag:{RUN}", "Values": [manager.run_id]}]


def left_by(client: Any, manager: StagingManager) -> dict[str, list[str]]:
    """What the sandbox still holds of a run: live instances, volumes, key pairs, security groups."""
    tag = run_filter(manager)
    return {
        "instances": [
            f"{i['InstanceId']} {i['State']['Name']}"
            for r in client.describe_instances(Filters=tag)["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ],
        "volumes": [v["VolumeId"] for v in client.describe_volumes(Filters=tag)["Volumes"]],
        "key_pairs": [k["KeyName"] for k in client.describe_key_pairs(Filters=tag)["KeyPairs"]],
        "groups": [g["GroupId"] for g in client.describe_security_groups(Filters=tag)["SecurityGroups"]],
    }


def test_close_removes_everything_temporary(make_manager: Any, client: Any, tmp_path: Path) -> None:
    """close() (on_exit terminate) leaves no instance, temporary volume, key pair, group or journal."""
    m = make_manager()
    a = m.provision_server(availability_zone="us-east-1a")
    m.provision_server(availability_zone="us-east-1b")
    m.provision_volume("scratch", size=1, server=a, temporary=True)
    kept = m.provision_volume("kept", size=1, server=a)
    journal = tmp_path / "dot" / "runs" / f"{m.run_id}.json"
    entries = {e["kind"] for e in json.loads(journal.read_text())["entries"]}
    assert entries == {"instance", "volume", "key-pair", "security-group"}
    keyfile = m.keypair()[1]
    assert keyfile.stat().st_mode & 0o777 == 0o600
    m.close()
    assert left_by(client, m) == {"instances": [], "volumes": [str(kept)], "key_pairs": [], "groups": []}
    assert client.describe_volumes(VolumeIds=[str(kept)])["Volumes"][0]["State"] == "available"
    assert not journal.exists() and not keyfile.exists()
    m.close()  # idempotent


def test_reuse_by_name_in_a_second_manager(make_manager: Any, client: Any, tmp_path: Path) -> None:
    """A kept volume is reused by name by the next manager (reuse_volumes=True), never with reuse off."""
    first = make_manager()
    vol = first.provision_volume("reused", size=1, availability_zone="us-east-1a")
    vol.mkdir("mark")
    first.close()
    second = make_manager(reuse_volumes=True)
    again = second.get_volume("reused", availability_zone="us-east-1a")
    assert str(again) == str(vol) and again.mounted and "mark" in again.ls()
    third = make_manager(reuse_volumes=False)
    fresh = third.provision_volume("reused", size=1, availability_zone="us-east-1a")
    assert str(fresh) != str(vol) and "mark" not in fresh.ls()
    # While another run holds it, the volume is not taken: the newest snapshot of that name is used instead.
    snap = again.create_snapshot()
    second.wait_for(snap, "completed", "snapshot")
    fourth = make_manager()
    from_snap = fourth.provision_volume("reused", availability_zone="us-east-1a")
    assert str(from_snap) not in (str(vol), str(fresh)) and "mark" in from_snap.ls()
    assert from_snap.snapshotId == str(snap)
    client.delete_snapshot(SnapshotId=str(snap))


@pytest.mark.parametrize("on_exit", ["stop", "run"])
def test_on_exit_stop_and_run(make_manager: Any, client: Any, tmp_path: Path, on_exit: str) -> None:
    """on_exit=stop stops this run's servers, run leaves them running; key and group stay for them, and a
    later manager (same dot directory, scan=True) adopts the servers and logs in."""
    m = make_manager(on_exit=on_exit)
    server = m.provision_server("keeper", availability_zone="us-east-1a")
    scratch = m.provision_volume("scratch", size=1, server=server, temporary=True)
    m.close()  # no CleanupIncomplete: what stays, stays on purpose
    left = left_by(client, m)
    want = "stopped" if on_exit == "stop" else "running"
    assert left["instances"] == [f"{server} {want}"]
    assert str(scratch) not in left["volumes"]
    assert len(left["key_pairs"]) == 1 and len(left["groups"]) == 1
    # Kept for the servers: nothing marks them for gc.
    pair = client.describe_key_pairs(KeyNames=left["key_pairs"])["KeyPairs"][0]
    group = client.describe_security_groups(GroupIds=left["groups"])["SecurityGroups"][0]
    assert EXPIRES not in {t["Key"] for t in pair["Tags"] + group["Tags"]}
    assert not (tmp_path / "dot" / "runs" / f"{m.run_id}.json").exists()
    later = make_manager(scan=True)
    adopted = later.find_server_by_instance(str(server))
    assert adopted is not None and adopted.name == "keeper"
    assert later.get_server("keeper") is adopted and adopted.ssh("true")
    later.close()
    assert left_by(client, m)["instances"] == [f"{server} running"]  # not its run: left as found
