"""STS: tokens and credentials against moto, the policy builder and the sign-in URL (no network)."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from provisioning import EC2, ParameterError, VMEC2Error
from provisioning.sts import Credentials, FederatedUser, Policy, SecurityToken, iam_action, signin_token_url


def test_federation_token_round_trip(ec2: EC2, moto_endpoint: str) -> None:
    """The manual's example: federation token -> serialized credentials -> a façade using them."""
    policy = Policy().allow("describe_images")
    token = ec2.get_federation_token(name="TemporaryUser", duration=3 * 3600, policy=policy)
    assert isinstance(token, SecurityToken)
    assert isinstance(token.credentials, Credentials)
    assert isinstance(token.federated_user, FederatedUser)
    assert str(token.federated_user).endswith(":federated-user/TemporaryUser")
    assert str(token) == token.session_token and str(token.credentials) == token.access_key_id

    wire = token.credentials.serialize()
    assert isinstance(wire, str) and wire.isascii() and token.secret_access_key not in wire
    back = Credentials.new_from_serialized(wire)
    assert (back.access_key_id, back.secret_access_key, back.session_token) == (
        token.access_key_id,
        token.secret_access_key,
        token.session_token,
    )
    assert back.expiration == token.credentials.expiration

    visitor = EC2(security_token=back, endpoint=moto_endpoint)
    assert visitor.settings.access_key == token.access_key_id
    assert visitor.settings.security_token == token.session_token
    assert visitor.describe_images(owner="self") == []


def test_session_token_and_new_ec2(ec2: EC2) -> None:
    """get_session_token gives a token; EC2(security_token=token) and token.new_ec2() use its keys."""
    token = ec2.get_session_token(duration=900)
    assert isinstance(token, SecurityToken) and token.federated_user is None
    for other in (EC2(security_token=token, endpoint=ec2.endpoint), token.new_ec2()):
        assert other.settings.access_key == token.access_key_id
        assert other.settings.secret_key == token.secret_access_key
        assert other.describe_vpcs() != []
    assert token.credentials.new_ec2(region="eu-west-1").region == "eu-west-1"
    via_sts = ec2.sts.get_session_token(duration=900).new_ec2()  # an EC2 façade, not another STS one
    assert isinstance(via_sts, EC2) and via_sts.describe_vpcs() != []
    assert "secret" not in repr(token.credentials).lower()


def test_sts_errors_both_modes(moto_endpoint: str) -> None:
    """Bad token requests raise ParameterError in both modes (argument errors always raise).

    AWS-side STS failures cannot be provoked on moto 5.2.1: it accepts names longer than AWS's 32 characters
    (AWS: ValidationError), and botocore itself refuses durations under 900 s and policies over 2048 bytes.
    """
    ec2 = EC2(endpoint=moto_endpoint, region="us-east-1")
    with pytest.raises(ParameterError):
        ec2.get_federation_token()  # the name is required: caught before sending
    with pytest.raises(ParameterError):
        ec2.get_federation_token(name="x", duration=10)
    quiet = EC2(endpoint=moto_endpoint, region="us-east-1", raise_error=False)
    with pytest.raises(ParameterError):
        quiet.get_federation_token(name="x", duration="soon")
    with pytest.raises(ParameterError):
        quiet.get_session_token(duration=10)
    assert isinstance(quiet.get_federation_token(name="x" * 40), SecurityToken)  # a moto lie, see above


def test_new_from_serialized_rejects_garbage() -> None:
    """Strings that are not serialized credentials are refused with ParameterError."""
    for bad in ("not base64!", "aGVsbG8=", "WzEsMl0=", "e30="):
        with pytest.raises(ParameterError):
            Credentials.new_from_serialized(bad)


def test_new_from_json_metadata_document() -> None:
    """Instance-metadata IAM JSON (with ``Token``) becomes credentials."""
    doc = json.dumps(
        {
            "Code": "Success",
            "AccessKeyId": "ASIAEXAMPLE",
            "SecretAccessKey": "secret",
            "Token": "tok",
            "Expiration": "2030-01-01T00:00:00Z",
        }
    )
    creds = Credentials.new_from_json(doc)
    assert (creds.access_key_id, creds.secret_access_key, creds.session_token) == (
        "ASIAEXAMPLE",
        "secret",
        "tok",
    )
    assert creds.expiration.year == 2030
    assert Credentials.new_from_serialized(creds.serialize()).expiration == creds.expiration


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("describe_instances", "ec2:DescribeInstances"),
        ("DescribeInstances", "ec2:DescribeInstances"),
        ("describeInstances", "ec2:DescribeInstances"),
        ("ec2:RunInstances", "ec2:RunInstances"),
        ("rds:describe_db_instances", "rds:DescribeDBInstances"),
        ("elasticloadbalancing:describe_load_balancers", "elasticloadbalancing:DescribeLoadBalancers"),
        ("autoscaling:set_desired_capacity", "autoscaling:SetDesiredCapacity"),
        ("ec2:Describe*", "ec2:Describe*"),
        ("*", "ec2:*"),
        ("s3:get_object", "s3:GetObject"),
        ("s3:ListBucket", "s3:ListBucket"),
    ],
)
def test_iam_action_spelling(action: str, expected: str) -> None:
    """Actions in VM::EC2's spellings become IAM action names."""
    assert iam_action(action) == expected


@pytest.mark.parametrize(
    ("build", "statements"),
    [
        (lambda p: p, [{"Effect": "Deny", "Action": ["ec2:*"], "Resource": "*"}]),
        (lambda p: p.allow(), [{"Effect": "Allow", "Action": ["ec2:*"], "Resource": "*"}]),
        (
            lambda p: p.allow("describe_instances", "describe_images"),
            [{"Effect": "Allow", "Action": ["ec2:DescribeInstances", "ec2:DescribeImages"], "Resource": "*"}],
        ),
        (
            lambda p: p.deny("terminate_instances", resource="arn:aws:ec2:*:*:instance/i-1").allow("ec2:*"),
            [
                {"Effect": "Allow", "Action": ["ec2:*"], "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": ["ec2:TerminateInstances"],
                    "Resource": "arn:aws:ec2:*:*:instance/i-1",
                },
            ],
        ),
        (
            lambda p: p.deny("s3:get_object", resource=["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"]),
            [
                {
                    "Effect": "Deny",
                    "Action": ["s3:GetObject"],
                    "Resource": ["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"],
                }
            ],
        ),
        (
            lambda p: p.allow("Describe*").deny("DescribeImages").allow("describe_*", "RunInstances"),
            [
                {"Effect": "Allow", "Action": ["ec2:Describe*", "ec2:RunInstances"], "Resource": "*"},
                {"Effect": "Deny", "Action": ["ec2:DescribeImages"], "Resource": "*"},
            ],
        ),
    ],
)
def test_policy_builder(build: object, statements: list[dict[str, object]]) -> None:
    """allow/deny chains build the expected IAM policy document; str() is its JSON."""
    policy = build(Policy())  # type: ignore[operator]
    assert policy.as_dict() == {"Statement": statements}
    assert json.loads(str(policy)) == policy.as_dict()


def test_signin_token_url_is_pure() -> None:
    """The token-exchange URL carries the session JSON and duration."""
    creds = {"AccessKeyId": "AK", "SecretAccessKey": "SK", "SessionToken": "ST"}
    url = signin_token_url(creds, duration=3600)
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "signin.aws.amazon.com", "/federation")
    assert query["Action"] == "getSigninToken" and query["SessionDuration"] == "3600"
    assert json.loads(query["Session"]) == {"sessionId": "AK", "sessionKey": "SK", "sessionToken": "ST"}


def test_login_url_with_injected_fetch(ec2: EC2) -> None:
    """login_url exchanges the credentials through the injected fetcher and builds the console URL."""
    token = ec2.get_federation_token(name="visitor")
    seen: list[str] = []

    def fetch(url: str) -> str:
        seen.append(url)
        return json.dumps({"SigninToken": "SIGNIN-123"})

    url = ec2.login_url(
        token.credentials,
        issuer="https://example.com",
        destination="https://console.aws.amazon.com/ec2",
        fetch=fetch,
    )
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query == {
        "Action": "login",
        "Issuer": "https://example.com",
        "Destination": "https://console.aws.amazon.com/ec2",
        "SigninToken": "SIGNIN-123",
    }
    session = json.loads(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(seen[0]).query))["Session"])
    assert session["sessionId"] == token.access_key_id
    assert ec2.get_signin_token(token, fetch=fetch) == "SIGNIN-123"


def test_login_url_errors() -> None:
    """login_url needs credentials or a token; a bad federation answer raises ParameterError."""
    ec2 = EC2(region="us-east-1")
    direct = ec2.login_url(token="T", issuer="me")
    assert "SigninToken=T" in direct and "console.aws.amazon.com" in direct
    with pytest.raises(ParameterError):
        ec2.login_url()
    creds = {"AccessKeyId": "AK", "SecretAccessKey": "SK", "SessionToken": "ST"}
    with pytest.raises(VMEC2Error, match="no sign-in token"):
        ec2.login_url(creds, fetch=lambda url: "<html>denied</html>")


def test_default_fetch_maps_network_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an injected fetcher, a failed HTTPS request becomes EndpointError (urlopen is stubbed)."""
    import urllib.error
    import urllib.request

    from provisioning import EndpointError

    def refuse(url: str, timeout: float) -> None:
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    creds = {"AccessKeyId": "AK", "SecretAccessKey": "SK", "SessionToken": "ST"}
    with pytest.raises(EndpointError, match="federation endpoint"):
        EC2(region="us-east-1").get_signin_token(creds)
