"""The botocore clients behind the façades: one botocore session per profile, one client per service.

Clients are made on first use, under one lock (botocore sessions are not safe to share while creating
clients; the clients themselves are), and shared by a façade and its per-service proxies.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config

from .errors import translate
from .settings import AwsSettings

__all__ = ["ClientPool", "core_session"]


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
            retries={"mode": settings.retry_mode, "max_attempts": settings.max_attempts},
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
                self._clients[service] = client
        return client
