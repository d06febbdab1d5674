"""Façade methods that are not API operations, and the error-mode guard for hand-written methods.

``ServicesMixin`` is mixed into :class:`~provisioning.facade.EC2`: ``instance_metadata()`` (the IMDSv2
client), ``get_signin_token()`` and ``login_url()`` (the console federation sign-in URL).

:class:`action` declares methods of the VPC, ELB, Auto Scaling, RDS and STS objects that call one operation;
they and the hand-written ones run under the façade's error mode through :func:`~.ec2._base.guarded`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .ec2._base import Action, EC2Object, guarded
from .errors import ParameterError

if TYPE_CHECKING:
    from .metadata import InstanceMetadata
    from .sts import Credentials

__all__ = ["ServiceObject", "ServicesMixin", "action", "guarded"]


def action(
    service: str,
    operation: str,
    doc: str,
    *,
    me: str | None = None,
    args: tuple[str, ...] = (),
    collect: bool = False,
) -> Action:
    """A declared method of a VPC, ELB, Auto Scaling, RDS or STS object (an :class:`~.ec2._base.Action`).

    ``register_instances = action("elb", "RegisterInstancesWithLoadBalancer", "...", me="load_balancer_name",
    args=("instances",), collect=True)`` makes ``lb.register_instances(i1, i2, **extra)`` call the operation
    with ``load_balancer_name=lb, instances=[i1, i2]``; it returns the operation's result, or None on
    failure under ``raise_error=False``.

    Args:
        service: Our short service name.
        operation: The API action.
        doc: The method's docstring.
        me: The keyword the object fills (None: it fills the operation's first positional slot).
        args: The keywords that positional arguments fill, in order.
        collect: All positionals form one list for ``args[0]``.
    """
    return Action(operation, doc, member=me, service=service, default=None, args=args, collect=collect)


class ServiceObject(EC2Object):
    """Base of the VPC, ELB, Auto Scaling, RDS and STS classes.

    From ``EC2Object``: VM::EC2's spellings of our methods (``vpc.createSubnet``), ``_async`` methods and
    ``error``/``error_str``; here: a typed ``_call`` to the façade.
    """

    def _call(self, service: str, operation: str, /, *args: Any, **kwargs: Any) -> Any:
        """``ec2.call(...)`` on the façade that made this object (always raises)."""
        if self.ec2 is None:
            raise ParameterError(f"{self!r} is not bound to a façade")
        return self.ec2.call(service, operation, *args, **kwargs)

    def _refresh_or_raise(self) -> None:
        """``refresh()``, raising ``NotFoundError`` when the resource no longer exists."""
        from .errors import NotFoundError

        if not self.refresh():
            raise NotFoundError("NotFound", f"{self} does not exist", operation="refresh")


class ServicesMixin:
    """Extra VM::EC2 methods that are not API operations (``instance_metadata``, ``login_url``)."""

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
