"""AWS behaviour the staging layer relies on: the caller's address, security groups (enforced, and not
deletable while in use), busy detaches of mounted volumes, and an Ubuntu image with its own login user."""

from __future__ import annotations

import dataclasses
import ipaddress
import time
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from staging.sandbox import Faults, Sandbox, by_id_path

pytestmark = [pytest.mark.root, pytest.mark.slow]

UBUNTU = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250101"


def refused(call: Any, **kwargs: Any) -> ClientError:
    """The ClientError ``call(**kwargs)`` fails with."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value


def group(east: Any, name: str) -> str:
    """A new security group in the default VPC, without ingress rules."""
    group_id: str = east.create_security_group(GroupName=name, Description=name)["GroupId"]
    return group_id


def ssh22(cidr: str) -> dict[str, Any]:
    """An ingress permission for tcp/22 from ``cidr``."""
    return {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": cidr}]}


def test_caller_address_is_the_gateway_and_checkip_answers_it(cloud: Sandbox) -> None:
    """caller_address is in the hosts' network; GET /_sandbox/checkip answers it as plain text + newline."""
    address = cloud.caller_address
    assert ipaddress.ip_address(address) in ipaddress.ip_network(cloud.network)
    with urllib.request.urlopen(f"{cloud.endpoint}/_sandbox/checkip", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        assert response.read().decode() == f"{address}\n"


def test_security_groups_are_enforced(launcher: Any, east: Any, cloud: Sandbox) -> None:
    """ssh is refused from outside the CIDRs a host's groups allow on tcp/22 and allowed from inside; rule
    changes take effect on the running host; a source-group rule lets the group's members in."""
    key_name, key_file = launcher.key_pair("us-east-1")
    guarded = group(east, "guarded")
    east.authorize_security_group_ingress(GroupId=guarded, IpPermissions=[ssh22("203.0.113.0/24")])
    instance = launcher.instance("us-east-1", key_name, SecurityGroupIds=[guarded])
    login = dataclasses.replace(launcher.login("us-east-1", instance, key_file), connect_timeout=2)
    assert login.run("true", check=False).returncode == 255  # the caller is outside 203.0.113.0/24

    mine = ssh22(f"{cloud.caller_address}/32")
    east.authorize_security_group_ingress(GroupId=guarded, IpPermissions=[mine])
    assert login.run("echo $SSH_CLIENT").stdout.split()[0] == cloud.caller_address
    east.revoke_security_group_ingress(GroupId=guarded, IpPermissions=[mine])
    assert login.run("true", check=False).returncode == 255

    # The tests' own group (which lets the caller in) as the source of another group's rule.
    peer_group = group(east, "peers")
    source = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22}
    east.authorize_security_group_ingress(
        GroupId=peer_group,
        IpPermissions=[{**source, "UserIdGroupPairs": [{"GroupId": launcher.groups["us-east-1"]}]}],
    )
    peer = launcher.instance("us-east-1", key_name, SecurityGroupIds=[peer_group])
    member_instance = launcher.instance("us-east-1", key_name)
    member = dataclasses.replace(launcher.login("us-east-1", member_instance, key_file), connect_timeout=2)
    probe = f"timeout 5 bash -c 'echo > /dev/tcp/{peer['PublicIpAddress']}/22'"
    assert member.run(probe, check=False).returncode == 0  # a member of the source group gets in
    assert (
        dataclasses.replace(login, address=peer["PublicIpAddress"]).run("true", check=False).returncode == 255
    )

    # New groups for a running instance replace the old ones (the caller is no longer let in).
    east.modify_instance_attribute(InstanceId=member_instance["InstanceId"], Groups=[guarded])
    assert member.run("true", check=False).returncode == 255


def test_an_instance_without_groups_gets_the_default_group(launcher: Any, east: Any) -> None:
    """No SecurityGroupIds: the VPC's default group, which lets nothing in from the caller."""
    key_name, key_file = launcher.key_pair("us-east-1")
    instance = launcher.instance("us-east-1", key_name, SecurityGroupIds=[])
    assert [g["GroupName"] for g in instance["NetworkInterfaces"][0]["Groups"]] == ["default"]
    login = dataclasses.replace(launcher.login("us-east-1", instance, key_file), connect_timeout=2)
    assert login.run("true", check=False).returncode == 255


def test_a_group_in_use_cannot_be_deleted(faulty: Sandbox, launcher: Any, east: Any) -> None:
    """DeleteSecurityGroup answers DependencyViolation (HTTP 400) while an instance uses the group, while
    its network interface lingers after termination, and while another group's rule names it."""
    key_name, _ = launcher.key_pair("us-east-1")
    used = group(east, "used")
    iid = launcher.instance("us-east-1", key_name, SecurityGroupIds=[used])["InstanceId"]
    error = refused(east.delete_security_group, GroupId=used)
    assert error.response["Error"] == {
        "Code": "DependencyViolation",
        "Message": f"resource {used} has a dependent object",
    }
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    faulty.set_faults(Faults(eni_linger_for=3600))
    east.terminate_instances(InstanceIds=[iid])
    code = refused(east.delete_security_group, GroupId=used).response["Error"]["Code"]
    assert code == "DependencyViolation"  # the terminated instance's interface is still there
    faulty.set_faults(Faults(eni_linger_for=0))

    referencing = group(east, "referencing")
    pair = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": used}]}
    east.authorize_security_group_ingress(GroupId=referencing, IpPermissions=[pair])
    code = refused(east.delete_security_group, GroupId=used).response["Error"]["Code"]
    assert code == "DependencyViolation"
    east.delete_security_group(GroupId=referencing)
    east.delete_security_group(GroupId=used)
    default = east.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    assert refused(east.delete_security_group, GroupId=default).response["Error"]["Code"] == "CannotDelete"


def attachment_state(east: Any, volume_id: str) -> str | None:
    """The volume's attachment state (None once detached)."""
    attachments = east.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["Attachments"]
    return attachments[0]["State"] if attachments else None


def test_detaching_a_mounted_volume_is_busy_until_unmounted_or_forced(
    launcher: Any, east: Any, track: Any
) -> None:
    """A mounted volume stays attached (busy, still mounted) after DetachVolume; unmounting completes the
    detach; Force=True detaches a mounted volume at once."""
    key_name, key_file = launcher.key_pair("us-east-1")
    instance = launcher.instance("us-east-1", key_name, zone="us-east-1a")
    iid = instance["InstanceId"]
    volume_id = east.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
    track.volumes.append(("us-east-1", volume_id))
    east.attach_volume(VolumeId=volume_id, InstanceId=iid, Device="/dev/sdf")
    login = launcher.login("us-east-1", instance, key_file)
    device = by_id_path(volume_id)
    login.run(f"sudo mkfs.ext4 -q {device} && mkdir ~/v && sudo mount {device} ~/v")

    assert east.detach_volume(VolumeId=volume_id)["State"] == "detaching"
    assert attachment_state(east, volume_id) == "busy"
    assert east.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["State"] == "in-use"
    login.run("mountpoint -q ~/v && sudo touch ~/v/still-here")
    login.run("sudo umount ~/v")
    while attachment_state(east, volume_id) is not None:  # the detach completes once unmounted
        time.sleep(0.05)
    assert east.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["State"] == "available"
    assert login.run(f"test -e {device}", check=False).returncode == 1

    east.attach_volume(VolumeId=volume_id, InstanceId=iid, Device="/dev/sdf")
    login.run(f"sudo mount {device} ~/v")
    east.detach_volume(VolumeId=volume_id)
    assert attachment_state(east, volume_id) == "busy"
    east.detach_volume(VolumeId=volume_id, Force=True)
    assert attachment_state(east, volume_id) is None
    assert login.run(f"test -e {device}", check=False).returncode == 1


def test_ubuntu_image_is_found_as_on_aws_and_logs_in_as_ubuntu(launcher: Any, east: Any) -> None:
    """Canonical's owner id + name + architecture + root type find the Ubuntu image; its hosts take the launch
    key for 'ubuntu' (with password-less sudo) and not for the Debian image's 'admin'."""
    images = east.describe_images(
        Owners=["099720109477"],
        Filters=[
            {"Name": "name", "Values": ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"]},
            {"Name": "architecture", "Values": ["x86_64"]},
            {"Name": "root-device-type", "Values": ["ebs"]},
        ],
    )["Images"]
    assert [i["Name"] for i in images] == [UBUNTU]
    key_name, key_file = launcher.key_pair("us-east-1")
    instance = launcher.instance("us-east-1", key_name, ImageId=images[0]["ImageId"])
    login = launcher.login("us-east-1", instance, key_file)
    assert login.user == "ubuntu"
    assert login.run("id -un && sudo -n id -u").stdout.split() == ["ubuntu", "0"]
    assert dataclasses.replace(login, user="admin").run("true", check=False).returncode == 255


def test_user_data_scripts_run_once_at_boot_as_root_in_the_host(launcher: Any, east: Any) -> None:
    """A '#!' user-data script runs as root inside the host at first boot; its output is in the console."""
    key_name, _ = launcher.key_pair("us-east-1")
    script = "#!/bin/sh\necho user-data ran as $(id -u) at $(ip -4 -o addr show eth0 | awk '{print $4}')\n"
    instance = launcher.instance("us-east-1", key_name, UserData=script)
    expected = f"user-data ran as 0 at {instance['PrivateIpAddress']}/24"
    for _ in range(600):  # polls the console; no time limit is asserted
        console = east.get_console_output(InstanceId=instance["InstanceId"])["Output"]
        if expected in console:
            break
        time.sleep(0.05)
    assert expected in console.splitlines()
