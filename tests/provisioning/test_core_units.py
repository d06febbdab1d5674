"""Pure units of the core: naming, output plans, objects on synthetic shapes, errors, settings."""

from __future__ import annotations

from typing import Any

import pytest
from botocore import exceptions as bce
from botocore.model import DenormalizedStructureBuilder

from provisioning.dispatch import Dispatch, output_plan
from provisioning.errors import (
    AWSError,
    CredentialsError,
    DryRunOperation,
    EndpointError,
    NotFoundError,
    ParameterError,
    ThrottledError,
    UnauthorizedError,
    error_class_for,
    translate,
)
from provisioning.naming import (
    SERVICES,
    member_keys,
    normalize,
    operation_index,
    operation_model,
    service_model,
)
from provisioning.objects import AWSObject, tag_dict
from provisioning.settings import AwsSettings, normalize_endpoint, region_from_endpoint


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("describe_instances", "describeinstances"),
        ("DescribeInstances", "describeinstances"),
        ("-Instance_Id", "instanceid"),
        ("IamInstanceProfile.Arn", "iaminstanceprofilearn"),
    ],
)
def test_normalize(name: str, key: str) -> None:
    """Every spelling reduces to one key."""
    assert normalize(name) == key


@pytest.mark.parametrize("service", SERVICES)
def test_member_aliases_never_shadow_a_member(service: str) -> None:
    """In every input shape, each member's own name maps to itself (wire names and singulars never win)."""
    for op in service_model(service).operation_names:
        shape = operation_model(service, op).input_shape
        if shape is None:
            continue
        keys = member_keys(shape)
        for member in shape.members:
            assert keys[normalize(member)] == member, (service, op, member)


def test_operation_index_has_every_operation() -> None:
    """The index maps each normalised name to its operation."""
    assert operation_index("ec2")["describeinstances"] == "DescribeInstances"
    assert operation_index("rds")["describedbinstances"] == "DescribeDBInstances"


def test_output_plans_cover_every_shape_kind() -> None:
    """Output shapes are unwrapped by kind: list of objects, object, bool, value, none, result."""
    kinds = {op: output_plan(operation_model("ec2", op)).kind for op in service_model("ec2").operation_names}
    assert kinds["DescribeInstances"] == "objects"
    assert kinds["CreateVolume"] == "result"  # CreateVolume answers with the Volume's members at top level
    assert kinds["CreateKeyPair"] == "result"
    assert kinds["DeleteVolume"] == "none"
    assert kinds["DeleteSecurityGroup"] == "result"
    assert kinds["CreateImage"] == "value"
    assert kinds["AttachVolume"] == "result"
    assert kinds["EnableEbsEncryptionByDefault"] == "bool"
    assert set(kinds.values()) == {"objects", "object", "bool", "value", "none", "result"}


def _shape(spec: dict[str, Any], name: str = "Widget") -> Any:
    builder = DenormalizedStructureBuilder()
    builder.name = name  # botocore forgets a name passed to __init__
    return builder.with_members(spec).build_model()


def test_objects_on_a_synthetic_shape() -> None:
    """Id, fields, wire-name access, nested wrapping and equality all derive from the shape."""
    shape = _shape(
        {
            "WidgetId": {"type": "string", "locationName": "widgetId"},
            "PublicName": {"type": "string", "locationName": "dnsName"},
            "Size": {"type": "integer"},
            "Tags": {
                "type": "list",
                "member": {
                    "type": "structure",
                    "members": {"Key": {"type": "string"}, "Value": {"type": "string"}},
                },
            },
        }
    )
    w = AWSObject(
        {"WidgetId": "w-1", "PublicName": "x.example", "Size": 3, "Tags": [{"Key": "a", "Value": "b"}]},
        None,
        shape,
    )
    assert str(w) == "w-1" and repr(w) == "<AWSObject w-1>"
    assert w.PublicName == w.public_name == w.publicName == "x.example"
    assert w.size == 3 and w.tags == {"a": "b"}
    assert (
        w == AWSObject({"WidgetId": "w-1"}, None, shape)
        and len({w, AWSObject({"WidgetId": "w-1"}, None, shape)}) == 1
    )
    assert w != AWSObject({"WidgetId": "w-2"}, None, shape)
    assert isinstance(w.field("Tags")[0], AWSObject)
    assert w.fields() == ["widget_id", "public_name", "size", "tags"]
    with pytest.raises(AttributeError, match="no field or method 'colour'"):
        w.colour  # noqa: B018
    assert w.payload["Size"] == 3 and w.ec2 is None


def test_object_without_id_prints_its_type() -> None:
    """A structure without an id member prints as its class and shape."""
    obj = AWSObject({"Count": 1}, None, _shape({"Count": {"type": "integer"}}, "Stats"))
    assert str(obj) == "AWSObject:Stats"
    assert obj != AWSObject({"Count": 1}, None, obj._shape)


def test_dispatch_registry_overrides() -> None:
    """Per-operation handlers and shape classes are looked up in a private registry."""
    reg = Dispatch()

    class Special(AWSObject):
        pass

    reg.register_class("ec2", "Volume")(Special)
    assert reg.class_for("ec2", "Volume") is Special
    assert reg.class_for("ec2", "Snapshot") is AWSObject
    model = operation_model("ec2", "DescribeVolumes")
    assert [type(v) for v in reg.handle("ec2", model, {"Volumes": [{"VolumeId": "v"}]}, None)] == [Special]
    reg.register("DescribeVolumes", lambda resp, facade, op: len(resp["Volumes"]))
    assert reg.handle("ec2", model, {"Volumes": [{}, {}]}, None) == 2


def test_tag_dict() -> None:
    """Tag lists of every form become dicts."""
    assert tag_dict([{"Key": "a", "Value": "1"}, {"Key": "b"}]) == {"a": "1", "b": ""}
    assert tag_dict(None) == {} and tag_dict({"x": "y"}) == {"x": "y"}


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("InvalidInstanceID.NotFound", NotFoundError),
        ("InvalidGroup.NotFound", NotFoundError),
        ("DBInstanceNotFoundFault", NotFoundError),
        ("LoadBalancerNotFound", NotFoundError),
        ("RequestLimitExceeded", ThrottledError),
        ("Throttling", ThrottledError),
        ("AuthFailure", UnauthorizedError),
        ("DryRunOperation", DryRunOperation),
        ("VolumeInUse", AWSError),
    ],
)
def test_error_classes_by_code(code: str, cls: type[AWSError]) -> None:
    """AWS error codes map onto the named subclasses we branch on."""
    assert error_class_for(code) is cls


def test_translate_maps_botocore_exceptions() -> None:
    """The one boundary turns botocore's exceptions into ours, keeping the cause."""
    err = {"Error": {"Code": "VolumeInUse", "Message": "busy"}, "ResponseMetadata": {"RequestId": "r-9"}}
    with pytest.raises(AWSError) as info, translate("DeleteVolume"):
        raise bce.ClientError(err, "DeleteVolume")
    assert (info.value.code, info.value.request_id, str(info.value)) == (
        "VolumeInUse",
        "r-9",
        "busy [VolumeInUse]",
    )
    assert isinstance(info.value.__cause__, bce.ClientError)
    with pytest.raises(ParameterError), translate("X"):
        raise bce.ParamValidationError(report="bad")
    with pytest.raises(CredentialsError), translate("X"):
        raise bce.NoCredentialsError()
    with pytest.raises(EndpointError, match="http://h"), translate("X", "http://h"):
        raise bce.EndpointConnectionError(endpoint_url="http://h")


@pytest.mark.parametrize(
    ("given", "expected"),
    [("ec2.amazonaws.com", "https://ec2.amazonaws.com"), ("http://127.0.0.1:5000/", "http://127.0.0.1:5000")],
)
def test_normalize_endpoint(given: str, expected: str) -> None:
    """VM::EC2's rule: https:// added when no scheme; trailing slash dropped."""
    assert normalize_endpoint(given) == expected


def test_region_from_endpoint() -> None:
    """AWS endpoints name their region; others do not."""
    assert region_from_endpoint("https://ec2.ap-south-1.amazonaws.com") == "ap-south-1"
    assert region_from_endpoint("http://127.0.0.1:5000") is None


def test_settings_resolve_precedence() -> None:
    """Arguments > EC2_* variables > defaults; bad regions and retry modes are refused."""
    env = {"EC2_ACCESS_KEY": "E", "EC2_SECRET_KEY": "S", "EC2_URL": "http://127.0.0.1:1"}
    s = AwsSettings.resolve(env)
    assert (s.access_key, s.secret_key, s.endpoint, s.region) == ("E", "S", "http://127.0.0.1:1", "us-east-1")
    s = AwsSettings.resolve(env, access_key="A", secret_key="B", region="eu-west-1", default_region="x-y-1")
    assert (s.access_key, s.region) == ("A", "eu-west-1")
    assert AwsSettings.resolve({}, default_region="ap-east-1").region == "ap-east-1"
    with pytest.raises(ParameterError, match="region"):
        AwsSettings.resolve({}, region="Not A Region")
    with pytest.raises(ParameterError, match="retry_mode"):
        AwsSettings.resolve({}, retry_mode="yolo")
    assert "S'" not in repr(AwsSettings.resolve(env))
