"""The EC2 façade's VM::EC2 methods that are not API operations, mixed into :class:`~provisioning.facade.EC2`.

* ``instance_metadata()``: a client of the instance metadata service (IMDSv2) of the machine this runs on;
* ``update_security_group(group)``: send a security group's recorded authorize/revoke changes;
* ``get_signin_token()`` and ``login_url()``: the console federation sign-in URL for temporary credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import ParameterError

if TYPE_CHECKING:
    from .metadata import InstanceMetadata
    from .sts import Credentials

__all__ = ["ExtrasMixin"]


class ExtrasMixin:
    """The EC2 façade's VM::EC2 methods that are not API operations (see the module)."""

    def instance_metadata(self, **options: Any) -> InstanceMetadata:
        """A client of the instance metadata service (IMDSv2) of the machine this runs on.

        Args:
            **options: :class:`~provisioning.metadata.InstanceMetadata` options (``base_url``, ``timeout``).
        """
        from .metadata import InstanceMetadata

        return InstanceMetadata(**options)

    def update_security_group(self, group: Any) -> bool:
        """VM::EC2's ``update_security_group``: send a group's recorded authorize/revoke changes.

        Args:
            group: A :class:`~provisioning.ec2.security.SecurityGroup` whose ``authorize_incoming`` /
                ``revoke_incoming`` (and outgoing) calls are pending.

        Raises:
            ParameterError: ``group`` is not a SecurityGroup object (an id carries no pending changes).
        """
        from .ec2.security import SecurityGroup

        if not isinstance(group, SecurityGroup):
            raise ParameterError(f"update_security_group takes a SecurityGroup object, not {group!r}")
        return bool(group.update())

    def get_signin_token(
        self,
        credentials: Credentials | Mapping[str, Any],
        *,
        duration: int | None = None,
        fetch: Callable[[str], str] | None = None,
    ) -> str:
        """Exchange temporary credentials for a console sign-in token at the federation endpoint.

        Args:
            credentials: Federation-token (or assumed-role) credentials.
            duration: Console session length in seconds (900-43200).
            fetch: ``url -> response body``; the default does an HTTPS GET (tests inject their own).
        """
        from .sts import fetch_signin_token

        return fetch_signin_token(credentials, duration=duration, fetch=fetch)

    def login_url(
        self,
        credentials: Credentials | Mapping[str, Any] | None = None,
        *,
        token: str | None = None,
        issuer: str = "",
        destination: str | None = None,
        duration: int | None = None,
        fetch: Callable[[str], str] | None = None,
    ) -> str:
        """The console sign-in URL for temporary credentials (VM::EC2's ``login_url``).

        Args:
            credentials: Credentials from ``get_federation_token``; exchanged for a sign-in token first.
            token: A sign-in token already fetched (then no request is made).
            issuer: The URL users return to when their session expires.
            destination: The console page to open (default the console home).
            duration: Session length in seconds, used only when exchanging ``credentials``.
            fetch: Injected ``url -> body`` function for the token exchange.

        Raises:
            ParameterError: if neither ``credentials`` nor ``token`` is given.
        """
        from .sts import build_login_url

        if token is None:
            if credentials is None:
                raise ParameterError("login_url needs credentials= or token=")
            token = self.get_signin_token(credentials, duration=duration, fetch=fetch)
        return build_login_url(token, issuer=issuer, destination=destination)
