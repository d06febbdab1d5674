"""StagingManager's server methods on the sandbox: two zones, lookups, stop/start, terminate."""

from __future__ import annotations

from typing import Any

import pytest

from staging import StagingParameterError

pytestmark = [pytest.mark.root]


def test_servers_in_two_zones_lookups_stop_start_terminate(make_manager: Any, client: Any) -> None:
    """Servers in two zones are found by name, zone and instance id; stop/start keeps SSH; terminate ends."""
    m = make_manager()
    a = m.provision_server("alpha", availability_zone="us-east-1a")
    assert a.zone == "us-east-1a" and a.name == "alpha"
    assert a.scmd("id", "-un").strip() == "admin"
    b = m.get_server_in_zone("us-east-1b")
    assert b.zone == "us-east-1b" and b is not a
    # Lookups return the same objects, never a new server.
    assert m.get_server("alpha") is a
    assert m.get_server_in_zone("us-east-1a") is a
    assert m.get_server_in_zone("us-east-1b") is b
    assert m.find_server_by_instance(str(b)) is b
    assert m.find_server_by_instance("i-00000000000000000") is None
    assert m.servers() == [a, b]
    c = m.get_server("gamma", availability_zone="us-east-1b")
    assert c.name == "gamma" and c.zone == "us-east-1b" and m.servers() == [a, b, c]
    assert a.ping() and a.is_up() and a.ssh("true") and not a.ssh("false")
    # Names stay unambiguous: no second server of a name, no name that reads as an id in rsync paths.
    for bad in ("alpha", "vol-0123abcd", "i-0123abcd"):
        with pytest.raises(StagingParameterError):
            m.provision_server(bad)
    with pytest.raises(StagingParameterError):
        m.provision_volume("vol-0123abcd", size=1)
    assert len(m.servers()) == 3 and m.volumes() == []

    vol = a.add_volume(name="across-restart", size=1)
    assert vol.zone == "us-east-1a" and vol.mkdir("mark")
    m.stop_all_servers()
    assert not vol.mounted
    states = {
        i["InstanceId"]: i["State"]["Name"]
        for r in client.describe_instances(InstanceIds=[str(s) for s in (a, b, c)])["Reservations"]
        for i in r["Instances"]
    }
    assert set(states.values()) == {"stopped"}
    assert not a.ping()
    m.start_all_servers()
    for server in (a, b, c):
        assert server.instance.instanceState.name == "running"
        assert server.scmd("hostname").strip()  # a new SSH connection to the (possibly new) address
    # The volume stayed attached; it is found again by its id (its device name may change across a restart).
    assert vol.remount() == "/mnt/Staging/across-restart" and "mark" in vol.ls()
    # A stopped server is started again by get_server.
    c.stop()
    assert c.instance.instanceState.name == "stopped"
    assert m.get_server("gamma") is c and c.ssh("true")

    # Stopped behind the manager's back (another tool, the console): get_server_in_zone notices and starts it.
    client.stop_instances(InstanceIds=[str(b)])
    client.get_waiter("instance_stopped").wait(InstanceIds=[str(b)], WaiterConfig={"Delay": 1})
    assert m.get_server_in_zone("us-east-1b") is b and b.ssh("true")
    # Terminated behind its back: forgotten, and a new server takes the name.
    client.terminate_instances(InstanceIds=[str(c)])
    client.get_waiter("instance_terminated").wait(InstanceIds=[str(c)], WaiterConfig={"Delay": 1})
    c2 = m.get_server("gamma", availability_zone="us-east-1b")
    assert c2 is not c and c2.name == "gamma" and c2.ssh("true") and c not in m.servers()
    c = c2

    m.terminate_all_servers()
    assert m.servers() == []
    gone = {
        i["State"]["Name"]
        for r in client.describe_instances(InstanceIds=[str(s) for s in (a, b, c)])["Reservations"]
        for i in r["Instances"]
    }
    assert gone == {"terminated"}
    m.close()  # nothing left, the server terminated behind its back included
