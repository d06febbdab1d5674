"""The EC2 façade against moto's HTTP server: names, objects, error modes, settings, retries."""

from __future__ import annotations

import http.server
import threading
from typing import Any

import pytest
from botocore.stub import Stubber

from provisioning import (
    EC2,
    AWSError,
    AWSObject,
    CredentialsError,
    EndpointError,
    NotFoundError,
    ParameterError,
    ThrottledError,
    dispatch,
)
from provisioning.clients import core_session


def _image(ec2: EC2) -> str:
    return str(
        ec2.register_image(name="img", root_device_name="/dev/sda1", block_device_mapping=["/dev/sda1=:8"])
    )


def test_names_in_every_spelling_are_one_function(ec2: EC2) -> None:
    """describe_instances, DescribeInstances and describeInstances are the same bound function."""
    assert ec2.describe_instances is ec2.DescribeInstances or (
        ec2.DescribeInstances.operation == ec2.describe_instances.operation == "DescribeInstances"
    )
    assert ec2.describeInstances.operation == "DescribeInstances"
    assert "describe_instances" in dir(ec2)
    assert "Describes" in (ec2.describe_volumes.__doc__ or "")
    assert "instance_ids" in str(ec2.describe_instances.__signature__)


def test_unknown_method_suggests_close_names(ec2: EC2) -> None:
    """A misspelt method raises AttributeError with suggestions."""
    with pytest.raises(AttributeError, match="describe_instances"):
        ec2.describe_instancs  # noqa: B018


def test_other_services_on_the_ec2_object(ec2: EC2) -> None:
    """ELB, Auto Scaling, RDS and STS methods are callable on EC2 itself."""
    assert ec2.describe_load_balancers() == []
    assert ec2.describe_db_instances() == []
    assert ec2.describe_auto_scaling_groups() == []
    assert ec2.get_caller_identity().Account == "123456789012"
    assert ec2.describe_tags.service == "ec2"
    assert ec2.elb.describe_tags.service == "elb"
    assert ec2.describe_load_balancer_tags.operation == "DescribeTags"


def test_instances_are_objects_with_vmec2_fields(ec2: EC2) -> None:
    """run_instances returns Instance objects readable by XML tag, boto3 and snake names."""
    ec2.create_key_pair("k")
    (inst,) = ec2.run_instances(
        _image(ec2), instance_type="t2.micro", key_name="k", tag_specifications={"Role": "web"}
    )
    assert str(inst).startswith("i-")
    assert inst.dnsName == inst.PublicDnsName == inst.public_dns_name == inst.dns_name
    assert inst.tags == {"Role": "web"}
    assert inst.reservationId.startswith("r-")
    assert "public_dns_name" in inst.fields()
    assert "InstanceId" in inst.as_string()
    again = ec2.describe_instances(inst)[0]
    assert again == inst and hash(again) == hash(inst) and again is not inst
    assert ec2.describe_instances({"tag:Role": "web"}) == [inst]
    assert ec2.describe_instances({"tag:Role": "db"}) == []


def test_nested_structures_are_objects(ec2: EC2) -> None:
    """Nested structures (state, placement) come back as objects that print usefully."""
    (inst,) = ec2.run_instances(_image(ec2))
    assert isinstance(inst.placement, AWSObject)
    assert inst.placement.availabilityZone.startswith("us-east-1")
    assert inst.instanceState.name in ("pending", "running")


def test_tags_helpers_on_any_taggable_object(ec2: EC2) -> None:
    """add_tags/delete_tags act on the resource; tags is read from the object's own data."""
    vol = ec2.create_volume(zone="us-east-1a", size=1)
    assert vol.add_tags(Name="data", Owner="me")
    assert ec2.describe_volumes(vol)[0].tags == {"Name": "data", "Owner": "me"}
    assert vol.delete_tags("Owner")
    assert ec2.describe_volumes(vol)[0].tags == {"Name": "data"}


def test_refresh_replaces_data_in_place(ec2: EC2) -> None:
    """refresh() re-describes; field reads never call AWS."""
    vol = ec2.create_volume(zone="us-east-1a", size=1)
    ec2.create_tags(vol, tags={"k": "v"})
    assert vol.tags == {}
    assert vol.refresh() is True
    assert vol.tags == {"k": "v"}


def test_raise_mode_errors_carry_code_message_operation(ec2: EC2) -> None:
    """By default a failed call raises NotFoundError with VM::EC2's string form."""
    with pytest.raises(NotFoundError) as info:
        ec2.describe_instances("i-0123456789abcdef0")
    err = info.value
    assert isinstance(err, AWSError)
    assert err.code == "InvalidInstanceID.NotFound"
    assert err.operation == "DescribeInstances"
    assert str(err) == f"{err.message} [{err.code}]"
    assert ec2.is_error and ec2.error is err


def test_no_raise_mode_returns_none_or_empty_list(
    moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """raise_error=False: None or [] plus is_error/error_str; print_error prints; success resets."""
    ec2 = EC2(endpoint=moto_endpoint, raise_error=False, print_error=True)
    assert ec2.describe_instances("i-0123456789abcdef0") == []
    assert ec2.is_error
    assert "InvalidInstanceID.NotFound" in ec2.error_str
    assert "InvalidInstanceID.NotFound" in capsys.readouterr().err
    assert ec2.delete_volume("vol-0123456789abcdef0") is None
    assert ec2.describe_volumes() == []
    assert not ec2.is_error and ec2.error is None and ec2.error_str == ""


def test_parameter_errors_raise_in_both_modes(moto_endpoint: str) -> None:
    """Usage errors always raise, before any request, as VM::EC2's croaked."""
    ec2 = EC2(endpoint=moto_endpoint, raise_error=False)
    with pytest.raises(ParameterError, match="unknown argument"):
        ec2.run_instances("ami-1", instnace_type="t2.micro")


def test_botocore_validation_becomes_parameter_error(ec2: EC2) -> None:
    """A missing required member is a ParameterError, not a botocore exception."""
    with pytest.raises(ParameterError, match="Missing required parameter"):
        ec2.attach_volume(volume_id="vol-1")


def test_custom_classes_by_shape_and_operation(ec2: EC2) -> None:
    """Users register their own classes (the manual's Subclassing section)."""

    class MyVolume(AWSObject):
        def gigabytes(self) -> int:
            return int(self.size)

    saved = dispatch.class_for("ec2", "Volume")
    dispatch.register_class("ec2", "Volume")(MyVolume)
    try:
        vol = ec2.create_volume(zone="us-east-1a", size=3)
        assert isinstance(vol, MyVolume) and vol.gigabytes() == 3
        assert isinstance(ec2.describe_volumes()[0], MyVolume)
    finally:
        dispatch.register_class("ec2", "Volume")(saved)


def test_describe_calls_follow_every_page(ec2: EC2) -> None:
    """Describe calls return the complete list, following moto's real pages (one reservation a page)."""
    image = _image(ec2)
    made = [str(ec2.run_instances(image)[0]) for _ in range(3)]
    assert [str(i) for i in ec2.describe_instances(max_results=1)] == made
    first = ec2._pool.client("ec2").describe_instances(MaxResults=1)
    # A page token asks for exactly that page, as with boto3.
    assert [str(i) for i in ec2.describe_instances(max_results=1, next_token=first["NextToken"])] == made[1:2]


def test_throttling_after_retries_is_throttled_error(ec2: EC2) -> None:
    """A throttling error surfaces as ThrottledError (an AWSError)."""
    with Stubber(ec2._pool.client("ec2")) as stub:
        stub.add_client_error("describe_regions", "RequestLimitExceeded", "slow down", 503)
        with pytest.raises(ThrottledError):
            ec2.describe_regions()


def test_botocore_retries_throttling(throttling_server: Any) -> None:
    """RequestLimitExceeded is retried by botocore's standard mode, then the call succeeds."""
    ec2 = EC2(endpoint=throttling_server.endpoint, max_attempts=5)
    regions = ec2.describe_regions()
    assert [str(r) for r in regions] == ["us-east-1"]
    assert throttling_server.calls == 3


class _HtmlPage(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"<!doctype html>\n<html><title>Internal Server Error</title><h1>oops</h1></html>\n"
        self.send_response(type(self).status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("status", [200, 500])
def test_unparsable_answer_is_aws_error(status: int, mode: EC2) -> None:
    """An HTML page instead of an AWS answer is AWSError InvalidResponse in both error modes."""
    _HtmlPage.status = status
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HtmlPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        ec2 = mode.clone(endpoint=f"http://127.0.0.1:{server.server_address[1]}", max_attempts=1)
        if ec2.raise_error:
            with pytest.raises(AWSError, match="unparsable") as info:
                ec2.describe_regions()
            assert info.value.code == "InvalidResponse" and info.value.operation == "DescribeRegions"
        else:
            assert ec2.describe_regions() == []
            assert isinstance(ec2.error, AWSError) and ec2.error.code == "InvalidResponse"
    finally:
        server.shutdown()
        server.server_close()


def test_unreachable_endpoint_is_endpoint_error() -> None:
    """A closed port gives EndpointError naming the endpoint."""
    ec2 = EC2(endpoint="http://127.0.0.1:9", max_attempts=1)
    with pytest.raises(EndpointError, match=r"127\.0\.0\.1:9"):
        ec2.describe_regions()


@pytest.mark.parametrize("endpoint", ["http://", "ftp://host", "http://host:port"])
def test_malformed_endpoint_is_parameter_error(endpoint: str) -> None:
    """A malformed endpoint is refused at construction."""
    with pytest.raises(ParameterError, match="endpoint"):
        EC2(endpoint=endpoint)


def test_missing_credentials_is_credentials_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials anywhere gives one clear CredentialsError."""
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    core_session.cache_clear()
    try:
        ec2 = EC2(endpoint="http://127.0.0.1:9", environ={})
        with pytest.raises(CredentialsError, match="EC2_ACCESS_KEY"):
            ec2.describe_regions()
    finally:
        core_session.cache_clear()


def test_settings_precedence_and_accessors(moto_endpoint: str) -> None:
    """Arguments beat EC2_* variables; EC2_URL sets the endpoint; clone changes only what it is told."""
    env = {"EC2_ACCESS_KEY": "AKIAENV", "EC2_SECRET_KEY": "envsecret", "EC2_URL": moto_endpoint}
    from_env = EC2(environ=env)
    assert from_env.access_key == "AKIAENV" and from_env.id == "AKIAENV"
    assert from_env.endpoint == moto_endpoint
    explicit = EC2(access_key="AKIAARG", secret_key="argsecret", environ=env)
    assert explicit.access_key == "AKIAARG"
    other = explicit.clone(region="eu-west-1")
    assert (other.region, explicit.region) == ("eu-west-1", "us-east-1")
    assert other.access_key == "AKIAARG" and other.endpoint == moto_endpoint
    assert "argsecret" not in repr(explicit.settings)
    assert EC2(endpoint="https://ec2.eu-west-2.amazonaws.com").region == "eu-west-2"
    with pytest.raises(ParameterError, match="together"):
        EC2(access_key="AKIA")


def test_clone_talks_to_its_own_region(ec2: EC2) -> None:
    """Objects made through a clone live in the clone's region."""
    west = ec2.clone(region="us-west-2")
    west.create_volume(zone="us-west-2a", size=1)
    assert ec2.describe_volumes() == []
    assert len(west.describe_volumes()) == 1


def test_account_id_is_cached(ec2: EC2) -> None:
    """account_id (and VM::EC2's userId) come from STS once."""
    assert ec2.account_id == "123456789012"
    assert ec2.userId == "123456789012"
    assert ec2._account_id == "123456789012"


def test_security_token_object_supplies_credentials(moto_endpoint: str) -> None:
    """An object with STS credential attributes can stand for the keys."""

    class Creds:
        access_key_id = "ASIATEMP"
        secret_access_key = "s"
        session_token = "tok"

    ec2 = EC2(endpoint=moto_endpoint, security_token=Creds())
    assert ec2.access_key == "ASIATEMP" and ec2.security_token == "tok"
    assert ec2.describe_regions()


def test_unknown_profile_is_credentials_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A profile that does not exist gives CredentialsError, at construction or on access_key."""
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    core_session.cache_clear()
    try:
        with pytest.raises(CredentialsError, match="nope"):
            EC2(profile="nope")
        ec2 = EC2(profile="nope", region="us-east-1")  # the region is known: nothing is read yet
        with pytest.raises(CredentialsError, match="nope"):
            assert ec2.access_key
    finally:
        core_session.cache_clear()
