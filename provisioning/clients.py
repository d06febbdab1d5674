"""The botocore clients behind the façades: one botocore session per profile, one client per service.

Clients are made on first use, under one lock (botocore sessions are not safe to share while creating
clients; the clients themselves are), and shared by a façade and its per-service proxies.
:meth:`ClientPool.send` makes one complete call: every page of an operation that pages, as VM::EC2's
describe calls returned complete lists.

Retries: botocore's ``standard`` (or ``adaptive``) policy decides, with one change. It gives a call whose
connection fails (refused, no route, unresolvable name, connect timeout) as many attempts as a throttled
one, with back-off up to 20 s: a wrong endpoint or a missing network took 30-60 s to report, in silence.
:class:`RetryPolicy` wraps botocore's own handler: connection failures get ``connect_attempts`` attempts with
a short back-off; everything else (throttling, 5xx) keeps botocore's decision. Each retry is logged as one
``aws.retry`` event, so a waiting user can see why.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.model import OperationModel
from botocore.retries import standard

from ._log import get_logger
from .errors import connection_problem, translate
from .naming import snake
from .settings import AwsSettings

__all__ = ["ClientPool", "RetryPolicy", "core_session"]

log = get_logger(__name__)

#: Input members that mean "give me this one page": when present we call once instead of paginating.
PAGE_TOKENS = frozenset({"NextToken", "Marker", "StartingToken"})


@cache
def core_session(profile: str | None) -> botocore.session.Session:
    """One botocore session per profile, shared by every façade so models load once per process."""
    session = botocore.session.Session(profile=profile)
    session.user_agent_extra = "vmec2-staging"
    return session


_CLIENT_LOCK = threading.Lock()


class ClientPool:
    """The boto3 clients of one set of settings, created on first use and shared by related façades."""

    def __init__(self, settings: AwsSettings, config: Config | None = None) -> None:
        self.settings = settings
        base = Config(
            retries={"mode": settings.retry_mode, "total_max_attempts": settings.max_attempts},
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            max_pool_connections=32,
        )
        self.config = base.merge(config) if config is not None else base
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        """The botocore client for ``service`` (thread-safe)."""
        client = self._clients.get(service)
        if client is not None:
            return client
        s = self.settings
        with _CLIENT_LOCK, translate(endpoint=s.endpoint):
            client = self._clients.get(service)
            if client is None:
                client = core_session(s.profile).create_client(
                    service,
                    region_name=s.region,
                    endpoint_url=s.endpoint,
                    aws_access_key_id=s.access_key,
                    aws_secret_access_key=s.secret_key,
                    aws_session_token=s.security_token,
                    config=self.config,
                )
                RetryPolicy.install(client, connect_attempts=s.connect_attempts)
                client.meta.events.register("after-call", _note_request_id)
                self._clients[service] = client
        return client

    def send(
        self, service: str, operation: OperationModel, params: Mapping[str, Any], *, paginate: bool = True
    ) -> Mapping[str, Any]:
        """One complete call, raising botocore's errors: every page when the operation pages and no page
        token was given, else the one page asked for (``paginate=False`` asks for exactly one page).

        A paginated answer carries the last page's request id in its ``ResponseMetadata``, as single calls do.
        """
        client = self.client(service)
        method = snake(operation.name)
        if paginate and client.can_paginate(method) and not (PAGE_TOKENS & params.keys()):
            _LAST_PAGE.request_id = None
            result = dict(client.get_paginator(method).paginate(**params).build_full_result())
            result["ResponseMetadata"] = {"RequestId": _LAST_PAGE.request_id}
            return result
        response: Mapping[str, Any] = getattr(client, method)(**params)
        return response


_LAST_PAGE = threading.local()


def _note_request_id(parsed: Any = None, **_: Any) -> None:
    """botocore ``after-call`` hook: remember the request id of the page just read (this thread)."""
    meta = parsed.get("ResponseMetadata") if isinstance(parsed, Mapping) else None
    _LAST_PAGE.request_id = meta.get("RequestId") if isinstance(meta, Mapping) else None


class RetryPolicy:
    """botocore's retry decision, with few attempts for connection failures and a log line per retry.

    Args:
        decide: botocore's standard ``needs-retry`` handler for the client.
        connect_attempts: Total attempts of a call whose connection fails (never more than ``max_attempts``).
        max_attempts: Total attempts of any call (botocore's ``total_max_attempts``), if known.
    """

    #: Seconds before the 2nd, 3rd, ... attempt after a connection failure (the last value repeats).
    CONNECT_BACKOFF = (0.5, 1.0, 2.0)

    def __init__(self, decide: Any, connect_attempts: int, max_attempts: int | None = None) -> None:
        self._decide = decide
        self.max_attempts = max_attempts
        self.connect_attempts = min(connect_attempts, max_attempts or connect_attempts)

    @classmethod
    def install(cls, client: Any, *, connect_attempts: int) -> RetryPolicy | None:
        """Put the policy in place of botocore's handler on ``client`` (standard and adaptive modes).

        botocore registers its handler under a fixed id; we take it out, have botocore build the same
        handler again (so its settings, quota and back-off are botocore's own) and register ours around it.
        Legacy mode is left alone.
        """
        retries = client.meta.config.retries or {}
        if retries.get("mode") not in ("standard", "adaptive"):
            return None
        event = client.meta.service_model.service_id.hyphenize()
        unique_id = f"retry-config-{event}"
        client.meta.events.unregister(f"needs-retry.{event}", unique_id=unique_id)
        total = retries.get("total_max_attempts")
        decide = standard.register_retry_handler(client, max_attempts=total)
        client.meta.events.unregister(f"needs-retry.{event}", unique_id=unique_id)
        policy = cls(decide.needs_retry, connect_attempts, total)
        client.meta.events.register(f"needs-retry.{event}", policy.needs_retry, unique_id=unique_id)
        return policy

    def needs_retry(self, **kwargs: Any) -> float | None:
        """The ``needs-retry`` handler: seconds to wait before the next attempt, or None to stop."""
        attempt = int(kwargs["attempts"])
        exc = kwargs.get("caught_exception")
        if isinstance(exc, BotoConnectionError):
            if attempt >= self.connect_attempts:
                return None
            delay = self.CONNECT_BACKOFF[min(attempt, len(self.CONNECT_BACKOFF)) - 1]
            of: int | None = self.connect_attempts
            level = log.warning
        else:
            decided = self._decide(**kwargs)
            if decided is None or decided is False:  # False: botocore's "stop, and let no one else retry"
                return None
            delay, of, level = float(decided), self.max_attempts, log.info
        operation = kwargs.get("operation")
        endpoint = kwargs.get("endpoint")
        level(
            "aws.retry",
            operation=getattr(operation, "name", None),
            endpoint=getattr(endpoint, "host", None),
            reason=_reason(exc, kwargs.get("response")),
            attempt=attempt,
            of=of,
            wait=round(delay, 2),
        )
        return delay


def _reason(exc: BaseException | None, response: Any) -> str:
    """Why an attempt failed, in a few words: an exception's class, else the AWS error code or HTTP status."""
    if isinstance(exc, BotoConnectionError):
        return connection_problem(exc)
    if exc is not None:
        return type(exc).__name__
    if response is not None:
        http, parsed = response
        code = (parsed or {}).get("Error", {}).get("Code")
        return str(code or f"HTTP {getattr(http, 'status_code', '?')}")
    return "unknown"
