"""Runs of StagingManager on the sandbox: reuse by name across managers, cleanup at close, on_exit, journals,
and two managers in two processes contending for one volume."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from staging import StagingManager, StagingParameterError, StagingServer, StagingVolume, VolumeInUse
from staging.tags import EXPIRES, NAME, RUN

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
    assert m.dot_directory().stat().st_mode & 0o777 == 0o700 and m.environment_ok()
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
    # While other runs hold every volume of that name, reuse refuses (rather than fork it) and makes nothing.
    snap = again.create_snapshot()
    second.wait_for(snap, "completed", "snapshot")
    fourth = make_manager()
    with pytest.raises(VolumeInUse, match="reused"):
        fourth.provision_volume("reused", availability_zone="us-east-1a")
    assert fourth.volumes() == [] and fourth.servers() == []
    # With no volume of that name left, the newest snapshot of that name is used.
    again.delete()
    fresh.delete()
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
    data = m.provision_volume("data", size=1, server=server)
    data.mkdir("mark")
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
    # The volume is adopted with its server: found on the host by its id (still mounted after 'run').
    vol = later.find_volume_by_name("data")
    assert vol is not None and vol.server is adopted
    assert vol.mount() == "/mnt/Staging/data" and "mark" in vol.ls()
    assert adopted.scmd("findmnt", "-n", "-o", "TARGET", vol.mtdev).split() == ["/mnt/Staging/data"]
    later.close()
    assert left_by(client, m)["instances"] == [f"{server} running"]  # not its run: left as found
    later.force_terminate_all_servers()
    assert left_by(client, m)["instances"] == []


def result_lines(out: Any) -> list[dict[str, Any]]:
    """The ``RESULT {json}`` lines a contender printed (a stream: up to the first one; text: all)."""
    if isinstance(out, str):
        return [json.loads(line[7:]) for line in out.splitlines() if line.startswith("RESULT ")]
    for line in out:
        if line.startswith("RESULT "):
            return [json.loads(line[7:])]
    raise AssertionError("the contender printed no result")


CONTENDER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import staging
    from provisioning import EC2

    endpoint, cidr, dotdir, volume_id, go = sys.argv[1:]
    ec2 = EC2(endpoint=endpoint, region="us-east-1", access_key="sandbox", secret_key="sandbox")
    with staging.StagingManager(ec2, ssh_cidr=cidr, dotdir=dotdir) as m:
        m.get_server_in_zone("us-east-1a")
        print("RESULT", json.dumps({"run": m.run_id}), flush=True)
        while not Path(go).exists():
            time.sleep(0.01)
        try:
            vol = m.provision_volume("contended", volume_id=volume_id, availability_zone="us-east-1a")
            outcome = "attached"
            vol.mkdir("written-by-" + m.run_id)
        except staging.VolumeInUse:
            outcome = "VolumeInUse"
        managed = [v.name for v in m.volumes()]
        print("RESULT", json.dumps({"outcome": outcome, "managed": managed}), flush=True)
    """
)


def test_two_processes_never_hold_one_volume(
    make_manager: Any, client: Any, cloud: Any, gateway: str, sweeper: Any, tmp_path: Path
) -> None:
    """Two managers in two processes race to attach one volume: one gets it, the other VolumeInUse."""
    owner = make_manager()
    vol = owner.provision_volume("contended", size=1, availability_zone="us-east-1a")
    vol.detach()
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                CONTENDER,
                cloud.endpoint,
                f"{gateway}/32",
                str(tmp_path / f"dot{n}"),
                str(vol),
                str(go),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            sweeper.runs.add(result_lines(proc.stdout)[0]["run"])
        go.touch()
        outcomes = [result_lines(proc.communicate(timeout=120)[0])[-1] for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    assert sorted(o["outcome"] for o in outcomes) == ["VolumeInUse", "attached"]
    loser = next(o for o in outcomes if o["outcome"] == "VolumeInUse")
    assert loser["managed"] == []  # the refused volume is not left in the loser's hands
    assert [p.returncode for p in procs] == [0, 0]
    # The same race, made certain: the rival attaches between our check and our attach.
    holder = make_manager()
    racer = make_manager(server_class=RacingServer)
    racer.get_server_in_zone("us-east-1a")
    vid = str(vol)  # free again: the contenders' runs ended and took their servers with them
    RacingServer.rival = lambda: holder.provision_volume(
        "held", volume_id=vid, availability_zone="us-east-1a"
    )
    with pytest.raises(VolumeInUse):
        racer.provision_volume("raced", volume_id=vid, availability_zone="us-east-1a")
    assert racer.volumes() == [] and racer.find_volume_by_name("raced") is None
    assert holder.find_volume_by_name("held") is not None
    held = client.describe_volumes(VolumeIds=[vid])["Volumes"][0]["Attachments"]
    assert [a["InstanceId"] for a in held] == [str(holder.servers()[0])]
    # A volume another manager holds is refused before anything is tried.
    with pytest.raises(VolumeInUse):
        owner.provision_volume("contended-again", volume_id=vid, availability_zone="us-east-1a")
    assert owner.find_volume_by_name("contended-again") is None


class RacingServer(StagingServer):
    """A server whose next attach_volume first lets a rival run (fault injection for the race)."""

    rival: Callable[[], Any] | None = None

    def attach_volume(self, volume: Any) -> str:
        rival, RacingServer.rival = RacingServer.rival, None
        if rival is not None:
            rival()
        return super().attach_volume(volume)


class FailingFormat(StagingServer):
    """A server whose mkfs fails (fault injection: a failure after the volume was created and attached)."""

    def format_volume(self, volume: Any, fstype: str, **options: Any) -> None:
        raise RuntimeError("injected mkfs failure")


class StubbornVolume(StagingVolume):
    """A volume whose first delete (after ``refused`` is reset) fails (fault injection)."""

    refused = False

    def delete(self) -> None:
        if not StubbornVolume.refused:
            StubbornVolume.refused = True
            raise RuntimeError("injected delete failure")
        super().delete()


def test_failed_provision_leaves_nothing(make_manager: Any, client: Any) -> None:
    """A volume provision_volume created is deleted again when a later step fails (here mkfs); one that cannot
    be deleted at once stays managed as temporary, and close() deletes it."""
    StubbornVolume.refused = False
    m = make_manager(server_class=FailingFormat, volume_class=StubbornVolume)
    with pytest.raises(RuntimeError, match="injected mkfs"):
        m.provision_volume("stubborn", size=1, availability_zone="us-east-1a")  # its delete fails too
    assert [v.name for v in m.volumes()] == ["stubborn"] and m.volumes()[0].temporary
    with pytest.raises(RuntimeError, match="injected mkfs"):
        m.provision_volume("failed", size=1, availability_zone="us-east-1a")
    assert [v.name for v in m.volumes()] == ["stubborn"]
    named = [{"Name": f"tag:{NAME}", "Values": ["failed"]}]
    assert client.describe_volumes(Filters=named)["Volumes"] == []
    m.close()
    named = [{"Name": f"tag:{NAME}", "Values": ["stubborn"]}]
    assert client.describe_volumes(Filters=named)["Volumes"] == []


def test_scanned_volumes_of_one_name(make_manager: Any, tmp_path: Path) -> None:
    """scan_region adopts two volumes of one name; put/get act on the volume they are called on."""
    first = make_manager()
    one = first.provision_volume("twin", size=1, availability_zone="us-east-1a")
    first.forget_volume(one)
    two = first.provision_volume("twin", size=1, availability_zone="us-east-1a", reuse=False)
    first.close()
    later = make_manager(scan=True)
    twins = [v for v in later.volumes() if v.name == "twin"]
    assert sorted(str(v) for v in twins) == sorted([str(one), str(two)])
    (tmp_path / "f").write_text("for the second\n")
    second = twins[1]
    second.put(tmp_path / "f")
    assert "f" in second.ls() and not twins[0].mounted
    second.get("f", tmp_path / "back")
    assert (tmp_path / "back").read_text() == "for the second\n"
    with pytest.raises(StagingParameterError, match="2 volumes are named 'twin'"):
        later.rsync(str(tmp_path / "f"), "twin:/")


def test_access_follows_options_set_after_construction(moto_endpoint: str, tmp_path: Path) -> None:
    """Options are attributes (the original's accessors): ``on_exit`` set to ``stop`` after construction keeps
    the key pair and group the servers will need (no expiry for ``gc``), as it did before issue 12."""
    import boto3

    from provisioning import EC2

    manager = StagingManager(EC2(endpoint=moto_endpoint), dotdir=tmp_path, ssh_cidr="127.0.0.1/32")
    manager.on_exit = "stop"
    try:
        name, _ = manager.keypair()
        group = manager.security_group()
        client = boto3.client("ec2", endpoint_url=moto_endpoint, region_name=manager.region)
        key_tags = {t["Key"] for t in client.describe_key_pairs(KeyNames=[name])["KeyPairs"][0]["Tags"]}
        (found,) = client.describe_security_groups(GroupIds=[group])["SecurityGroups"]
        assert EXPIRES not in key_tags | {t["Key"] for t in found["Tags"]}
    finally:
        manager.close()


def test_a_subclass_dot_directory_holds_the_key(moto_endpoint: str, tmp_path: Path) -> None:
    """``dot_directory()`` is the original's overridable method: the run's private key is written where a
    subclass's says (as its journal is), not in ``dotdir`` behind its back."""
    from provisioning import EC2

    class Elsewhere(StagingManager):
        def dot_directory(self) -> Path:
            (tmp_path / "elsewhere").mkdir(mode=0o700, exist_ok=True)
            return tmp_path / "elsewhere"

    manager = Elsewhere(EC2(endpoint=moto_endpoint), dotdir=tmp_path / "dot", ssh_cidr="127.0.0.1/32")
    try:
        _, keyfile = manager.keypair()
        assert keyfile.parent == tmp_path / "elsewhere" and keyfile.is_file()
    finally:
        manager.close()


def test_one_region_failing_to_close_does_not_stop_the_others() -> None:
    """Fault injection: the first peer's close() fails unexpectedly; the next one still closes, and the
    cleanup reports both what it could not do and the other's leftovers."""
    from staging.cleanup import _close_all
    from staging.errors import CleanupIncomplete

    closed: list[str] = []

    class Peer:
        def __init__(self, region: str, error: Exception | None) -> None:
            self.region, self.error = region, error

        def close(self) -> None:
            closed.append(self.region)
            if self.error is not None:
                raise self.error

    peers = [Peer("eu-west-1", RuntimeError("gone")), Peer("us-west-2", CleanupIncomplete(["vol-1"]))]
    with pytest.raises(CleanupIncomplete) as raised:
        _close_all(peers)  # type: ignore[arg-type]
    assert closed == ["eu-west-1", "us-west-2"]
    assert "vol-1" in raised.value.leftovers and any("eu-west-1" in x for x in raised.value.leftovers)
