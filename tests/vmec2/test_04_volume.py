"""t/04.volume.t of VM::EC2, assertion by assertion: volumes, snapshots, their permissions and lineage."""

from __future__ import annotations

from provisioning import EC2

VOLUME_NAME = "VM::EC2 Test Volume"
VOLUME_DESC = "Delete me!"


def test_volume_and_snapshot(ec2: EC2) -> None:
    """Every assertion of t/04, in order (moto's transitions are instant, so the sleep loops end at once)."""
    import provisioning

    assert provisioning.EC2  # ok 1: use_ok
    zone = ec2.describe_availability_zones()[0]
    assert zone  # ok 2
    v = ec2.create_volume(zone=zone, size=1)
    assert v  # ok 3
    assert v.add_tag(Name=VOLUME_NAME, Description=VOLUME_DESC)  # ok 4
    assert v.current_status() == "available"  # ok 5
    s = v.create_snapshot(VOLUME_DESC)
    assert s.add_tag(Name=VOLUME_NAME)  # ok 6
    assert s  # ok 7
    assert s.current_status() == "completed"  # ok 8
    assert s.from_volume() == v  # ok 9
    volumes = s.to_volumes()
    assert len(volumes) == 0  # ok 10
    assert not s.is_public  # ok 11
    assert s.make_public(True)  # ok 12
    assert s.is_public  # ok 13
    assert s.make_public(False)  # ok 14
    assert s.add_authorized_users(ec2.account_id)  # ok 15
    u = s.authorized_users()
    assert len(u) == 1  # ok 16
    assert u[0] == ec2.account_id  # ok 17
    assert s.remove_authorized_users(ec2.userId)  # ok 18
    u = s.authorized_users()
    assert len(u) == 0  # ok 19
    # make a volume from this snapshot
    newvol = s.create_volume(zone=zone)
    assert newvol.add_tag(Name=VOLUME_NAME, Description=VOLUME_DESC)  # ok 20
    assert newvol  # ok 21
    assert newvol.size == v.size  # ok 22
    volumes = s.to_volumes()
    assert len(volumes) == 1  # ok 23
    assert volumes[0] == newvol  # ok 24
    assert volumes[0].snapshotId == s  # ok 25
    # cleanup()
    for volume in ec2.describe_volumes({"tag:Name": VOLUME_NAME}):
        assert ec2.delete_volume(volume)
    for snapshot in ec2.describe_snapshots({"tag:Name": VOLUME_NAME}):
        assert ec2.delete_snapshot(snapshot)
