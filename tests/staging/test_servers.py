"""StagingManager's server methods on the sandbox: two zones, lookups, stop/start, terminate."""

from __future__ import annotations

from typing import Any

import pytest

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

    m.stop_all_servers()
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
    # A stopped server is started again by get_server.
    c.stop()
    assert c.instance.instanceState.name == "stopped"
    assert m.get_server("gamma") is c and c.ssh("true")

    m.terminate_all_servers()
    assert m.servers() == []
    gone = {
        i["State"]["Name"]
        for r in client.describe_instances(InstanceIds=[str(s) for s in (a, b, c)])["Reservations"]
        for i in r["Instances"]
    }
    assert gone == {"terminated"}
