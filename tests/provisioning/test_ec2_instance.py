"""Instance methods against moto's server, in both error modes (Stubber only to inject faults)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from botocore.stub import Stubber

from provisioning import EC2, AWSError, NotFoundError, ParameterError
from provisioning.ec2.image import Image, InstanceBlockDevice
from provisioning.ec2.instance import Instance, InstanceStateChange
from provisioning.ec2.security import Group, KeyPair
from provisioning.ec2.volume import Attachment
from provisioning.naming import service_model

UNKNOWN = "i-0123456789abcdef0"


@pytest.fixture
def image(ec2: EC2) -> Image:
    """A registered image."""
    image_id = ec2.register_image(
        name="test-image", root_device_name="/dev/sda1", block_devices=["/dev/sda1=:8"]
    )
    found: Image = ec2.describe_images(image_id)[0]
    return found


@pytest.fixture
def instance(ec2: EC2, image: Image) -> Instance:
    """One running instance launched with a key pair and user data."""
    ec2.create_key_pair("test-key")
    found: Instance = image.run_instances(key_name="test-key", user_data="hello world")[0]
    return found


def ghost(ec2: EC2) -> Instance:
    """An Instance object for an id that does not exist."""
    return Instance({"InstanceId": UNKNOWN}, ec2, service_model("ec2").shape_for("Instance"))


@pytest.fixture
def stub(ec2: EC2) -> Iterator[Stubber]:
    """A Stubber on the façade's own ec2 client (fault injection only)."""
    with Stubber(ec2._pool.client("ec2")) as stubber:
        yield stubber


def test_run_instances_gives_instances_with_reservation_fields(ec2: EC2, image: Image) -> None:
    """Image.run_instances returns Instance objects that print as ids and read reservation fields."""
    instances = image.run_instances(min_count=2, instance_type="t1.micro")
    assert len(instances) == 2 and all(isinstance(i, Instance) for i in instances)
    assert str(instances[0]).startswith("i-")
    assert instances[0].reservationId and instances[0].ownerId
    assert str(instances[0].instanceState) in ("pending", "running")


def test_current_status_describes_again(ec2: EC2, instance: Instance) -> None:
    """current_status() makes a call and reports the state by name, also by its mixedCase name."""
    assert instance.current_status() == "running"
    assert instance.currentStatus() == "running"
    assert str(instance.instanceState) == "running"


def test_current_status_of_unknown_instance_fails(mode: EC2, fails: Callable[..., None]) -> None:
    """current_status() of an unknown id fails with NotFoundError, or None and ec2.error."""
    fails(mode, ghost(mode).current_status, NotFoundError)


def test_stop_start_reboot_terminate_with_wait(ec2: EC2, instance: Instance) -> None:
    """Each lifecycle method returns the state change and, with wait=True, the final state."""
    change = instance.stop(wait=True)
    assert isinstance(change, InstanceStateChange) and str(change) == str(instance)
    assert str(change.previousState) == "running"
    assert instance.recorded_status() == "stopped"
    assert change.current_status() == "stopped"
    assert instance.start(wait=True) is not None and instance.recorded_status() == "running"
    assert instance.reboot(wait=True) is True
    assert instance.terminate(wait=True) is not None
    assert instance.recorded_status() == "terminated"


@pytest.mark.parametrize("method", ["start", "stop", "terminate", "reboot"])
def test_lifecycle_on_unknown_instance_fails(mode: EC2, method: str, fails: Callable[..., None]) -> None:
    """Lifecycle calls on an unknown instance fail in both error modes."""
    default = False if method == "reboot" else None
    fails(mode, getattr(ghost(mode), method), NotFoundError, default)


def test_start_in_wrong_state_fails(
    mode: EC2, instance: Instance, stub: Stubber, fails: Callable[..., None]
) -> None:
    """AWS's IncorrectInstanceState (which moto never sends) surfaces in both error modes."""
    stub.add_client_error("start_instances", "IncorrectInstanceState", "instance is terminated")
    fails(mode, instance.start, AWSError)
    assert mode.error is not None and mode.error.code == "IncorrectInstanceState"  # type: ignore[attr-defined]


def test_user_data_is_base64_decoded(ec2: EC2, instance: Instance) -> None:
    """user_data() returns the launch user data as text, user_data_bytes() as bytes."""
    assert instance.user_data() == "hello world"
    assert instance.user_data_bytes() == b"hello world"


def test_set_user_data_sends_raw_bytes_for_botocore_to_encode(
    ec2: EC2, instance: Instance, stub: Stubber
) -> None:
    """set_user_data passes bytes; botocore base64-encodes them once, as AWS expects."""
    stub.add_response(
        "modify_instance_attribute",
        {},
        {"InstanceId": str(instance), "UserData": {"Value": b"Secure-mode: off"}},
    )
    assert instance.set_user_data("Secure-mode: off") is True
    stub.assert_no_pending_responses()


def test_user_data_of_unknown_instance_fails(mode: EC2, fails: Callable[..., None]) -> None:
    """Reading or writing user data of an unknown instance fails in both modes."""
    fails(mode, ghost(mode).user_data, NotFoundError)
    fails(mode, lambda: ghost(mode).set_user_data(b""), NotFoundError, False)


def test_console_output_and_password_data(ec2: EC2, instance: Instance) -> None:
    """console_output() returns the text, password_data() the (empty) encrypted password."""
    assert "Linux" in (instance.console_output() or "")
    assert instance.password_data() == ""


def test_console_output_of_unknown_instance_fails(mode: EC2, fails: Callable[..., None]) -> None:
    """console_output() and password_data() of an unknown instance fail in both modes."""
    fails(mode, ghost(mode).console_output, NotFoundError)
    fails(mode, ghost(mode).password_data, NotFoundError)


def test_key_pair_has_fingerprint(ec2: EC2, instance: Instance) -> None:
    """key_pair() describes the instance's key pair, whose fingerprint is set."""
    kp = instance.key_pair()
    assert isinstance(kp, KeyPair) and str(kp) == "test-key" and kp.fingerprint


def test_key_pair_missing_fails_or_is_none(mode: EC2, image: Image, fails: Callable[..., None]) -> None:
    """Without a key the answer is None; with a deleted key the call fails in both modes."""
    assert image.run_instances()[0].key_pair() is None
    mode.call("ec2", "CreateKeyPair", "short-lived")
    inst = image.run_instances(key_name="short-lived")[0]
    mode.call("ec2", "DeleteKeyPair", key_name="short-lived")
    fails(mode, inst.key_pair, NotFoundError)


def test_create_image_returns_image(ec2: EC2, instance: Instance) -> None:
    """create_image(name, description) returns the new Image object."""
    img = instance.create_image("nightly-build", "Test image")
    assert isinstance(img, Image) and img.name == "nightly-build" and img.description == "Test image"


def test_create_image_failures(mode: EC2, instance: Instance, fails: Callable[..., None]) -> None:
    """Bad names always raise ParameterError; an unknown instance fails in both modes."""
    with pytest.raises(ParameterError):
        instance.create_image("x")
    fails(mode, lambda: ghost(mode).create_image("some-name"), NotFoundError)


def test_attach_and_detach_volume(ec2: EC2, instance: Instance) -> None:
    """attach_volume/detach_volume accept objects and return Attachment objects."""
    vol = ec2.create_volume(availability_zone=instance.placement.availabilityZone, size=1)
    att = instance.attach_volume(vol, "/dev/sdg")
    assert isinstance(att, Attachment) and str(att) == f"{vol}=>{instance}" and att.device == "/dev/sdg"
    assert instance.detach_volume(vol).state == "detaching"


def test_detach_volume_not_attached_fails(mode: EC2, instance: Instance, fails: Callable[..., None]) -> None:
    """Detaching a volume that is not attached fails in both modes."""
    vol = mode.call("ec2", "CreateVolume", availability_zone="us-east-1a", size=1)
    fails(mode, lambda: instance.detach_volume(vol), AWSError)
    fails(mode, lambda: instance.attach_volume("vol-0123456789abcdef0", "/dev/sdh"), NotFoundError)


def test_groups_block_devices_and_interfaces_are_objects(ec2: EC2, image: Image) -> None:
    """Security groups, block devices and network interfaces come back as objects without calls."""
    group = ec2.create_security_group("web", "web servers")
    instance = image.run_instances(security_group_id=group)[0]
    assert all(isinstance(g, Group) for g in instance.securityGroups)
    assert instance.security_groups[0].security_group().groupName == "web"
    devices = instance.blockDeviceMappings
    assert devices and isinstance(devices[0], InstanceBlockDevice)
    assert devices[0].volume_id and str(devices[0].volume()) == devices[0].volume_id
    assert instance.network_interfaces[0].networkInterfaceId.startswith("eni-")


def test_elastic_address_association(ec2: EC2, instance: Instance) -> None:
    """associate_address/disassociate_address move an elastic address onto and off the instance."""
    address = ec2.allocate_address()
    assert str(instance.associate_address(address)).startswith("eipassoc-")
    assert ec2.describe_addresses(str(address))[0].instanceId == str(instance)
    assert instance.disassociate_address() is True
    assert not ec2.describe_addresses(str(address))[0].instanceId


def test_disassociate_without_address_fails(
    mode: EC2, instance: Instance, fails: Callable[..., None]
) -> None:
    """disassociate_address() on an instance without an elastic address fails in both modes."""
    fails(mode, instance.disassociate_address, NotFoundError, False)


def test_tags(ec2: EC2, instance: Instance) -> None:
    """add_tag/add_tags/delete_tags change tags; objects are snapshots until refresh()."""
    assert instance.add_tag("Role", "Server") and instance.add_tags(Name="web", Env="test")
    assert instance.tags == {}
    instance.refresh()
    assert instance.tags == {"Role": "Server", "Name": "web", "Env": "test"}
    instance.delete_tags("Env")
    assert ec2.describe_instances(str(instance))[0].tags == {"Role": "Server", "Name": "web"}


def test_monitor_is_a_declared_action(ec2: EC2, instance: Instance, stub: Stubber) -> None:
    """Declared actions call their operation with the object's id (moto lacks MonitorInstances: Stubber)."""
    answer = {"InstanceMonitorings": [{"InstanceId": str(instance), "Monitoring": {"State": "pending"}}]}
    stub.add_response("monitor_instances", answer, {"InstanceIds": [str(instance)]})
    assert instance.monitor()[0].instanceId == str(instance)
    assert "MonitorInstances" in (Instance.monitor.__doc__ or "")


def test_state_changes_are_logged(ec2: EC2, instance: Instance) -> None:
    """Lifecycle calls log a stable event with the instance and operation (structlog, never configured)."""
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        instance.stop()
    assert {
        "event": "instance.state_change",
        "instance": str(instance),
        "operation": "StopInstances",
    }.items() <= logs[0].items()
    assert instance.current_state() == "stopped"


def test_up_time_and_reservation_groups(ec2: EC2, instance: Instance) -> None:
    """up_time is derived from the launch time; reservation fields read through (no calls)."""
    assert 0 <= instance.up_time < 3600
    assert instance.groups is not None


def test_associate_unknown_address_and_group_lookup_failures(
    mode: EC2, image: Image, fails: Callable[..., None]
) -> None:
    """Associating an unknown address, and describing a deleted group, fail in both modes."""
    group = mode.create_security_group("short-lived", "x")
    instance = image.run_instances(security_group_id=group)[0]
    fails(mode, lambda: instance.associate_address("eipalloc-0123456789abcdef0"), AWSError)
    instance.terminate()
    mode.call("ec2", "DeleteSecurityGroup", group_id=str(group))
    fails(mode, instance.security_groups[0].security_group, NotFoundError)


def test_password_data_decrypted_with_the_key_pair(ec2: EC2, instance: Instance, stub: Stubber) -> None:
    """password_data(private_key) decrypts the RSA-encrypted password (moto sends none: Stubber)."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    secret = base64.b64encode(key.public_key().encrypt(b"s3cret!", padding.PKCS1v15())).decode()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    for _ in range(3):
        stub.add_response("get_password_data", {"InstanceId": str(instance), "PasswordData": f"\n{secret}\n"})
    assert instance.password_data() == secret
    assert instance.password_data(pem) == "s3cret!"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ParameterError):
        instance.password_data(other)


def test_modify_block_devices_with_vmec2_strings(ec2: EC2, instance: Instance) -> None:
    """modify_instance_attribute(block_devices="/dev/sdf=vol-id:true") changes delete-on-termination."""
    vol = ec2.create_volume(availability_zone=instance.placement.availability_zone, size=1)
    vol.attach(instance, "/dev/sdf")
    for flag in (True, False):
        assert ec2.modify_instance_attribute(instance, block_devices=f"/dev/sdf={vol}:{str(flag).lower()}")
        instance.refresh()
        (mapping,) = [b for b in instance.block_device_mappings if b.device_name == "/dev/sdf"]
        assert mapping.ebs.delete_on_termination is flag
