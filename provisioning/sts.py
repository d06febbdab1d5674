"""Temporary credentials: ``SecurityToken``, ``Credentials``, ``FederatedUser``, the ``Policy`` builder and
the console federation sign-in URL (VM::EC2::Security::*, ``login_url``).

::

    policy = Policy().allow("describe_instances", "ec2:DescribeImages").deny("TerminateInstances")
    token = ec2.get_federation_token(name="visitor", duration=3 * 3600, policy=policy)
    wire = token.credentials.serialize()                    # hand this string to the visitor
    visitor = EC2(security_token=Credentials.new_from_serialized(wire))

Serialized credentials are base64 of a small JSON document (never pickle: VM::EC2 used Storable, but a
string received from someone else must not be able to run code when read).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from ._log import get_logger
from .dispatch import dispatch
from .ec2._base import EC2Object
from .errors import EndpointError, ParameterError
from .naming import normalize, operation_index, service_model
from .objects import register_class

__all__ = [
    "FEDERATION_URL",
    "Credentials",
    "FederatedUser",
    "Policy",
    "SecurityToken",
    "build_login_url",
    "fetch_signin_token",
    "signin_token_url",
]

log = get_logger(__name__)

#: The AWS console federation endpoint.
FEDERATION_URL = "https://signin.aws.amazon.com/federation"
#: Where ``login_url`` sends users by default.
CONSOLE_URL = "https://console.aws.amazon.com/"

_FIELDS = ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")


@register_class("sts", "Credentials")
class Credentials(EC2Object):
    """Temporary credentials (VM::EC2::Security::Credentials); prints as the access key id.

    Pass one (or the :class:`SecurityToken` holding it) as ``EC2(security_token=...)``.
    """

    primary_field = "AccessKeyId"
    #: What :meth:`new_ec2` builds for credentials no façade made (from the instance metadata or a
    #: serialized string): the ``EC2`` façade, which :mod:`provisioning.facade` names here when it is
    #: imported, as a higher layer adds itself through ``Facade.register_method``; so this module never
    #: imports the façade that imports it.
    _facade_class: ClassVar[Callable[..., Any] | None] = None

    @property
    def access_key_id(self) -> str:
        """The temporary access key id."""
        return str(self._data.get("AccessKeyId", ""))

    @property
    def secret_access_key(self) -> str:
        """The temporary secret key."""
        return str(self._data.get("SecretAccessKey", ""))

    @property
    def session_token(self) -> str:
        """The session token that goes with the keys."""
        return str(self._data.get("SessionToken", ""))

    def __repr__(self) -> str:  # never show the secret parts
        return f"<Credentials {self.access_key_id} expires={self._data.get('Expiration')}>"

    def serialize(self) -> str:
        """The credentials as one ASCII string, for handing to another party (:meth:`new_from_serialized`)."""
        data = {k: self._data[k] for k in _FIELDS if self._data.get(k) is not None}
        if isinstance(data.get("Expiration"), dt.datetime):
            data["Expiration"] = data["Expiration"].isoformat()
        return base64.b64encode(json.dumps(data, sort_keys=True).encode()).decode("ascii")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], ec2: Any = None) -> Credentials:
        """Credentials from a ``{"AccessKeyId": ..., "SecretAccessKey": ..., "SessionToken": ...}`` mapping.

        Raises:
            ParameterError: if a key or the secret is missing.
        """
        if not data.get("AccessKeyId") or not data.get("SecretAccessKey"):
            raise ParameterError("credentials need AccessKeyId and SecretAccessKey")
        fields = dict(data)
        if isinstance(fields.get("Expiration"), str):
            fields["Expiration"] = dt.datetime.fromisoformat(fields["Expiration"].replace("Z", "+00:00"))
        return cls(fields, ec2, service_model("sts").shape_for("Credentials"), "sts")

    @classmethod
    def new_from_serialized(cls, serialized: str, ec2: Any = None) -> Credentials:
        """Credentials back from :meth:`serialize`'s string.

        Raises:
            ParameterError: if the string is not serialized credentials.
        """
        try:
            data = json.loads(base64.b64decode(serialized.encode("ascii"), validate=True))
        except (ValueError, binascii.Error, UnicodeError) as exc:
            raise ParameterError("not a serialized credentials string") from exc
        if not isinstance(data, dict):
            raise ParameterError("not a serialized credentials string")
        return cls.from_mapping(data, ec2)

    @classmethod
    def new_from_json(cls, document: str | Mapping[str, Any], ec2: Any = None) -> Credentials:
        """Credentials from the instance metadata's IAM JSON (``Token`` is the session token)."""
        data = json.loads(document) if isinstance(document, str) else dict(document)
        if "Token" in data and "SessionToken" not in data:
            data["SessionToken"] = data.pop("Token")
        return cls.from_mapping({k: data[k] for k in _FIELDS if k in data}, ec2)

    def new_ec2(self, **kwargs: Any) -> Any:
        """An ``EC2`` façade using these credentials, on the endpoint and region of the one that made them
        (also when that was ``ec2.sts`` or an ``STS`` façade: the new one has every EC2 method)."""
        if self._facade_class is None:
            raise ParameterError("new_ec2 needs the façade: import provisioning first")
        if self.ec2 is not None:
            return self.ec2.clone(
                facade_class=self._facade_class,
                security_token=self,
                access_key=None,
                secret_key=None,
                **kwargs,
            )
        return self._facade_class(security_token=self, **kwargs)


@register_class("sts", "FederatedUser")
class FederatedUser(EC2Object):
    """The federated user a federation token stands for; prints as its ARN."""

    primary_field = "Arn"


class SecurityToken(EC2Object):
    """The answer of ``get_federation_token``/``get_session_token`` (VM::EC2::Security::Token).

    Prints as its session token; ``access_key_id``, ``secret_access_key`` and ``session_token`` read through
    to :attr:`credentials`, so the token itself can be passed as ``EC2(security_token=token)``.
    """

    def __vmec2_id__(self) -> str | None:
        return self.session_token or None

    def __repr__(self) -> str:
        return f"<SecurityToken {self.access_key_id}>"

    @property
    def credentials(self) -> Credentials:
        """The temporary credentials."""
        creds = self.field("Credentials")
        assert isinstance(creds, Credentials)
        return creds

    @property
    def federated_user(self) -> FederatedUser | None:
        """The federated user (federation tokens only)."""
        user = self.field("FederatedUser")
        return user if isinstance(user, FederatedUser) else None

    @property
    def access_key_id(self) -> str:
        """The temporary access key id."""
        return self.credentials.access_key_id

    @property
    def secret_access_key(self) -> str:
        """The temporary secret key."""
        return self.credentials.secret_access_key

    @property
    def session_token(self) -> str:
        """The session token."""
        return self.credentials.session_token

    def new_ec2(self, **kwargs: Any) -> Any:
        """An ``EC2`` façade using this token's credentials."""
        return self.credentials.new_ec2(**kwargs)


dispatch.register("GetFederationToken", SecurityToken, service="sts")
dispatch.register("GetSessionToken", SecurityToken, service="sts")


# --- policies -------------------------------------------------------------------------------------------

#: IAM action prefixes -> our service names, to spell snake_case actions as the API does.
_IAM_SERVICES = {
    "ec2": "ec2",
    "elasticloadbalancing": "elb",
    "autoscaling": "autoscaling",
    "rds": "rds",
    "sts": "sts",
}


def iam_action(action: str) -> str:
    """An action as IAM spells it: ``describe_instances`` -> ``ec2:DescribeInstances``.

    A missing prefix means ``ec2``; names of the five services we model are spelled from botocore's model
    (``rds:describe_db_instances`` -> ``rds:DescribeDBInstances``); wildcards and other services are
    kept, with only their first letter raised.
    """
    prefix, sep, name = action.partition(":")
    if not sep:
        prefix, name = "ec2", action
    if name == "*":
        return f"{prefix}:*"
    service = _IAM_SERVICES.get(prefix)
    if service is not None and "*" not in name:
        known = operation_index(service).get(normalize(name))
        if known is not None:
            return f"{prefix}:{known}"
    if "_" in name:
        name = "".join(part[:1].upper() + part[1:] for part in name.split("_"))
    return f"{prefix}:{name[:1].upper()}{name[1:]}"


class Policy:
    """An IAM policy document built from allow/deny statements (VM::EC2::Security::Policy).

    ``str(policy)`` is the JSON text, exactly as VM::EC2 wrote it (sorted keys, one statement per effect
    and resource, actions as a list, repeated actions once), so a policy can be passed where a policy
    string is expected (``get_federation_token(policy=policy)``). An empty policy denies every EC2 action,
    as VM::EC2's did.
    """

    def __init__(self) -> None:
        #: ``{(effect, resources): {action: None}}``: insertion-ordered, duplicate-free actions.
        self._actions: dict[tuple[str, tuple[str, ...]], dict[str, None]] = {}

    def _add(self, effect: str, actions: Iterable[str], resources: str | Iterable[str]) -> Policy:
        listed = (resources,) if isinstance(resources, str) else tuple(resources)
        names = self._actions.setdefault((effect, listed), {})
        names.update(dict.fromkeys(iam_action(a) for a in (tuple(actions) or ("*",))))
        return self

    def allow(self, *actions: str, resource: str | Iterable[str] = "*") -> Policy:
        """Allow ``actions`` (default every EC2 action) on ``resource``; returns self for chaining."""
        return self._add("Allow", actions, resource)

    def deny(self, *actions: str, resource: str | Iterable[str] = "*") -> Policy:
        """Deny ``actions`` (default every EC2 action) on ``resource``; returns self for chaining."""
        return self._add("Deny", actions, resource)

    @property
    def statements(self) -> list[dict[str, Any]]:
        """The statements: Allow before Deny, each effect's resources in the order first given."""
        entries = sorted(self._actions.items(), key=lambda item: item[0][0])
        return [
            {"Action": list(names), "Effect": effect, "Resource": res[0] if len(res) == 1 else list(res)}
            for (effect, res), names in entries
        ]

    def as_dict(self) -> dict[str, Any]:
        """The policy document as a dict."""
        statements = self.statements or Policy().deny().statements
        return {"Statement": statements}

    def as_string(self) -> str:
        """The policy document as compact JSON text with sorted keys (VM::EC2's canonical JSON)."""
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))

    __str__ = as_string

    def __vmec2_id__(self) -> str:
        """Lets the argument translator accept the policy wherever a policy string goes."""
        return self.as_string()

    def __repr__(self) -> str:
        return f"<Policy {len(self._actions)} statements>"


# --- console sign-in --------------------------------------------------------------------------------------


def _session(credentials: Any) -> dict[str, str]:
    def get(name: str, attr: str) -> str:
        if isinstance(credentials, Mapping):
            return str(credentials[name])
        return str(getattr(credentials, attr))

    return {
        "sessionId": get("AccessKeyId", "access_key_id"),
        "sessionKey": get("SecretAccessKey", "secret_access_key"),
        "sessionToken": get("SessionToken", "session_token"),
    }


def signin_token_url(credentials: Any, duration: int | None = None) -> str:
    """The federation endpoint URL that exchanges ``credentials`` for a sign-in token (pure)."""
    query = {"Action": "getSigninToken", "Session": json.dumps(_session(credentials))}
    if duration is not None:
        query["SessionDuration"] = str(int(duration))
    return f"{FEDERATION_URL}?{urllib.parse.urlencode(query)}"


def _https_get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return str(response.read().decode("utf-8"))
    except (urllib.error.URLError, OSError) as exc:
        raise EndpointError(f"cannot reach the federation endpoint {FEDERATION_URL}: {exc}") from exc


def fetch_signin_token(
    credentials: Any, *, duration: int | None = None, fetch: Callable[[str], str] | None = None
) -> str:
    """Exchange temporary credentials for a console sign-in token.

    Args:
        credentials: :class:`Credentials`, a :class:`SecurityToken` or a mapping with the three fields.
        duration: Console session length in seconds.
        fetch: ``url -> body``; defaults to an HTTPS GET.

    Raises:
        ParameterError: if the endpoint's answer carries no ``SigninToken``.
    """
    body = (fetch or _https_get)(signin_token_url(credentials, duration))
    try:
        token = json.loads(body)["SigninToken"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ParameterError(f"the federation endpoint returned no sign-in token: {body[:200]!r}") from exc
    log.info("sts.signin_token", duration=duration)
    return str(token)


def build_login_url(token: str, *, issuer: str = "", destination: str | None = None) -> str:
    """The console login URL for a sign-in token (pure)."""
    query = {
        "Action": "login",
        "Issuer": issuer,
        "Destination": destination or CONSOLE_URL,
        "SigninToken": token,
    }
    return f"{FEDERATION_URL}?{urllib.parse.urlencode(query)}"
