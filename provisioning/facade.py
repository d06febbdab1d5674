"""The façades: ``EC2`` (every VM::EC2 method, and every operation of ec2, elb, autoscaling, rds, sts and ebs)
and one façade per other service (``ELB``, ``AutoScaling``, ``RDS``, ``STS``, ``EBS``).

Names resolve lazily through one index per service built from botocore's model, so ``ec2.describe_instances``,
``ec2.DescribeInstances`` and ``ec2.describeInstances`` are the same function, ``dir(ec2)`` lists every
operation and ``help(ec2.run_instances)`` shows the model's documentation. A name several services share
(``describe_tags``) resolves to EC2's; the others are on ``ec2.elb``, ``ec2.autoscaling``, ``ec2.rds``,
``ec2.sts`` and ``ec2.ebs`` (and under VM::EC2's own names such as ``describe_load_balancer_tags``).

Errors raise by default. ``raise_error=False`` gives VM::EC2's mode: a failed call returns None (``[]`` for
list calls) and ``is_error``/``error``/``error_str`` describe it (per thread: the calling thread's last
call); ``print_error=True`` also prints it.
Argument errors always raise, as VM::EC2's usage errors always croaked.

Every API call goes through one method, :meth:`Facade._call`: translate the arguments, send (retrying a
NotFound naming an id the façade created moments ago, :mod:`~provisioning.consistency`), turn the answer
into objects. The error mode is :mod:`provisioning.errormode`'s; objects see the façade as a
:class:`~provisioning.caller.Caller`.
"""

from __future__ import annotations

import difflib
import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from botocore.config import Config
from botocore.model import OperationModel

from . import catalog  # noqa: F401  (every object class and answer handler registered before any call)
from ._log import get_logger
from .arguments import translate as translate_arguments
from .asynccalls import async_enabled, async_mode, submit, wrap_mode
from .clients import ClientPool, core_session
from .consistency import Consistency
from .dispatch import dispatch
from .errormode import ErrorMode
from .errors import AWSError, ParameterError, VMEC2Error, translate
from .extras import ExtrasMixin
from .naming import SERVICES, VMEC2_RENAMED, normalize, operation_index, operation_model, service_model, snake
from .objects import AWSObject
from .operations import Operation, make_operation
from .pagers import Page, PagersMixin
from .settings import AwsSettings
from .sts import Credentials
from .waiters import WaitersMixin
from .waiting import WaitPolicy

__all__ = ["EBS", "EC2", "ELB", "RDS", "STS", "AutoScaling", "Facade"]

log = get_logger(__name__)
_debug_enabled = logging.getLogger(__name__).isEnabledFor

_RENAMED = {normalize(k): v for k, v in VMEC2_RENAMED.items()}
#: The waits of the :class:`~provisioning.caller.Caller` protocol, which a per-service proxy forwards to its
#: EC2 façade (an ``Instance`` reached through ``ec2.elb`` waits in ``stop(wait=True)``).
_CALLER_WAITS = ("wait_for_terminal_state", "wait_for_images", "wait_for_snapshots")


class Facade:
    """Common machinery of every façade: name resolution, the call pipeline and VM::EC2's error mode.

    Args:
        access_key: Access key id (else ``EC2_ACCESS_KEY``, else boto3's chain: ``AWS_*``, profiles, SSO,
            instance roles).
        secret_key: Secret key (else ``EC2_SECRET_KEY``, else boto3's chain).
        security_token: An STS session token string, or a credentials/token object from ``get_session_token``.
        endpoint: An EC2-compatible endpoint URL (else ``EC2_URL``); ``https://`` is added when no scheme is
            given. An AWS endpoint such as ``ec2.eu-west-1.amazonaws.com`` just selects its region.
        region: The region (else the endpoint's, else boto3's configured region, else ``us-east-1``).
        profile: A named AWS profile.
        credentials_file: An AWS CLI config or credentials file to take the keys from (VM::EC2's
            ``-credentials_file``); keys given as arguments still win.
        credentials_profile: The profile of ``credentials_file`` (``foo`` or ``profile foo``; default
            ``default``).
        raise_error: Raise on failed calls (default). False gives VM::EC2's return-None mode.
        print_error: Also print each failure to stderr.
        retry_mode: botocore's retry mode (``standard`` or ``adaptive``) for throttling and transient errors.
        max_attempts: botocore's total attempts per call (default 8).
        connect_attempts: Total attempts of a call whose connection fails (default 3), so that an
            unreachable endpoint is reported within about ten seconds; each retry logs ``aws.retry``.
        connect_timeout: Seconds to wait for a connection (default 3).
        config: A ``botocore.config.Config`` merged over ours.
        environ: The environment to read instead of ``os.environ`` (tests).
    """

    #: The services whose operations this façade exposes, in name-resolution order.
    services: ClassVar[tuple[str, ...]] = SERVICES
    #: How this façade waits (deadline, clock, sleep, grace); ``clone()`` keeps it. The EC2 façade's
    #: ``wait_for_timeout``... settings replace it (:class:`~provisioning.waiters.WaitersMixin`).
    wait_policy: WaitPolicy = WaitPolicy()

    def __init__(
        self,
        access_key: str | None = None,
        secret_key: str | None = None,
        security_token: Any = None,
        endpoint: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        *,
        credentials_file: str | None = None,
        credentials_profile: str | None = None,
        raise_error: bool = True,
        print_error: bool = False,
        retry_mode: str | None = None,
        max_attempts: int | None = None,
        connect_attempts: int | None = None,
        connect_timeout: float | None = None,
        config: Config | None = None,
        environ: Mapping[str, str] | None = None,
        _pool: ClientPool | None = None,
    ) -> None:
        if credentials_file is not None:
            from .credentials_file import read_credentials_file

            file_key, file_secret = read_credentials_file(credentials_file, credentials_profile)
            access_key, secret_key = access_key or file_key, secret_key or file_secret
        elif credentials_profile is not None:
            raise ParameterError("credentials_profile= goes with credentials_file= (else use profile=)")
        if _pool is None:
            with translate():  # an unknown profile is a CredentialsError, not botocore's ProfileNotFound
                default_region = (
                    core_session(profile).get_config_variable("region") if region is None else None
                )
            settings = AwsSettings.resolve(
                environ,
                default_region=default_region,
                access_key=access_key,
                secret_key=secret_key,
                security_token=security_token,
                endpoint=endpoint,
                region=region,
                profile=profile,
                retry_mode=retry_mode,
                max_attempts=max_attempts,
                connect_attempts=connect_attempts,
                connect_timeout=connect_timeout,
            )
            _pool = ClientPool(settings, config)
        self._pool = _pool
        self._error_mode = ErrorMode(raise_error, print_error)
        self._account_id: str | None = None
        self._consistency = Consistency()

    # --- names ----------------------------------------------------------------------------------------

    def _resolve(self, name: str) -> tuple[str, str] | None:
        key = normalize(name)
        renamed = _RENAMED.get(key)
        if renamed is not None and renamed[0] in self.services:
            return renamed
        for service in self.services:
            op = operation_index(service).get(key)
            if op is not None:
                return service, op
        return None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        for suffix in ("_async", "_sync"):
            if name.endswith(suffix) and len(name) > len(suffix):
                return wrap_mode(getattr(self, name[: -len(suffix)]), suffix[1:])
        alias = snake(name)
        if alias != name and hasattr(type(self), alias):  # mixedCase of a hand-written method: userId
            return getattr(self, alias)
        found = self._resolve(name)
        if found is None:
            close = difflib.get_close_matches(snake(name), self._operation_names(), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise AttributeError(f"{type(self).__name__} has no method {name!r}{hint}")
        op = self._operation(*found)
        self.__dict__[name] = op  # later lookups skip __getattr__
        return op

    def _operation(self, service: str, name: str) -> Operation:
        """The public function of one operation: :meth:`_guarded` under its name, docstring and signature."""
        operation = operation_model(service, name)
        return make_operation(service, operation, functools.partial(self._guarded, service, operation))

    def _operation_names(self) -> list[str]:
        names = {snake(op) for s in self.services for op in operation_index(s).values()}
        names.update(k for k, (s, _) in VMEC2_RENAMED.items() if s in self.services)
        return sorted(names)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._operation_names()))

    def async_mode(self, enabled: bool = True) -> AbstractContextManager[None]:
        """``with ec2.async_mode():`` makes API calls in the block return futures (VM::EC2's ``$ASYNC``)."""
        return async_mode(enabled)

    def call(self, action: str, /, *args: Any, **kwargs: Any) -> Any:
        """Call an operation by name, in one of two forms.

        * ``call("ec2", "DescribeInstances", *args, **kwargs)`` (a service, then an operation): library use,
          always raising on failure (an operation the service does not have: ``ParameterError``).
        * ``call("DescribeInstances", {"InstanceIds": [...]})`` or ``call("DescribeInstances", **kwargs)``:
          VM::EC2's ``call``, under the façade's error mode. Like a raw request to AWS, an unknown action
          fails with ``InvalidAction`` and an unknown argument with ``UnknownParameter`` (with
          ``raise_error=False``: None, and ``ec2.error`` says why). Inside ``async_mode()`` it gives a
          future, whose ``error()`` says the same.
        """
        if action in SERVICES and args and isinstance(args[0], str):
            name = operation_index(action).get(normalize(args[0]))
            if name is None:
                raise ParameterError(f"{action} has no operation {args[0]!r}")
            return self._call(action, operation_model(action, name), args[1:], kwargs)
        if len(args) > 1 or (args and not isinstance(args[0], Mapping)):
            raise ParameterError("call(action, params): params is one dict of the action's arguments")
        if async_enabled():  # the whole call in the background, so its future reports InvalidAction too
            return submit(self.call, action, *args, **kwargs)
        params = {**(args[0] if args else {}), **kwargs}
        where = f"{type(self).__name__}.call"
        found = self._resolve(action)
        if found is None:
            invalid = AWSError(
                "InvalidAction", f"The action {action} is not valid for this web service.", operation=action
            )
            return self._error_mode.fail(invalid, where, None)
        try:
            return self._operation(*found)(**params)
        except ParameterError as exc:  # what AWS answers a raw request with the same mistake
            failure = AWSError(exc.code, exc.message, operation=found[1])
            failure.__cause__ = exc
            return self._error_mode.fail(failure, where, None)

    @property
    def consistency(self) -> Consistency:
        """The ids this façade created and how NotFound errors naming them are retried (eventual
        consistency; see :mod:`provisioning.consistency`): set ``consistency.grace`` (seconds, default 30)
        to change the window. Shared with clones and the per-service proxies."""
        return self._consistency

    # --- the call pipeline ----------------------------------------------------------------------------

    def _call(
        self,
        service: str,
        operation: OperationModel,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        *,
        page: Page | None = None,
    ) -> Any:
        """The one path of every API call made through this façade (botocore's ``_make_api_call``); it raises.

        Operations (``ec2.describe_volumes(...)``, through :meth:`_guarded`), ``call()``, the pagers and the
        objects' methods all come here, synchronously or on the async pool:

        1. translate VM::EC2's arguments into the operation's input (:mod:`.arguments`);
        2. send: the client follows every page, or fetches the one ``page`` points at and records where
           the next starts; botocore's errors become ours (:func:`.errors.translate`); a NotFound naming
           an id made moments ago is retried (:mod:`.consistency`); one debug event ``aws.call``;
        3. turn the answer into objects bound to this façade (:mod:`.dispatch`);
        4. give each object the request id of its call (VM::EC2's ``requestId``).
        """
        params = translate_arguments(service, operation, args, kwargs)

        started = time.perf_counter()
        endpoint = self._pool.settings.endpoint

        def send() -> Mapping[str, Any]:
            with translate(operation.name, endpoint):
                return self._pool.send(service, operation, params, paginate=page is None)

        response = self._consistency.send(operation.name, params, send)
        if page is not None:
            page.turn(params, response)
        if _debug_enabled(logging.DEBUG):  # keep the per-call cost off the hot path
            log.debug(
                "aws.call",
                service=service,
                operation=operation.name,
                params=sorted(params),  # names only: values may hold user data or secrets
                seconds=round(time.perf_counter() - started, 4),
            )

        result = dispatch.handle(service, operation, response, self)

        meta = response.get("ResponseMetadata")
        request_id = meta.get("RequestId") if isinstance(meta, Mapping) else None
        for obj in result if isinstance(result, list) else [result]:
            if isinstance(obj, AWSObject):
                obj._request_id = request_id
        return result

    def _guarded(
        self,
        service: str,
        operation: OperationModel,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        *,
        page: Page | None = None,
    ) -> Any:
        """One public call: :meth:`_call` under the error mode (a failure in quiet mode gives None, or
        ``[]`` for list calls)."""
        default: list[Any] | None = [] if dispatch.returns_list(service, operation) else None
        where = f"{type(self).__name__}.{snake(operation.name)}"
        return self._error_mode.guard(
            where, default, lambda: self._call(service, operation, args, kwargs, page=page)
        )

    # --- VM::EC2's error accessors --------------------------------------------------------------------

    @property
    def error_mode(self) -> ErrorMode:
        """The error switches and the last failure of each thread, shared with the per-service proxies
        (:mod:`provisioning.errormode`); ``raise_error``, ``print_error`` and ``error`` read it."""
        return self._error_mode

    @property
    def raise_error(self) -> bool:
        """Raise on failed calls (True, the default); False gives VM::EC2's return-None mode. Settable."""
        return self._error_mode.raise_error

    @raise_error.setter
    def raise_error(self, value: bool) -> None:
        self._error_mode.raise_error = bool(value)

    @property
    def print_error(self) -> bool:
        """Also print each failure to stderr. Settable."""
        return self._error_mode.print_error

    @print_error.setter
    def print_error(self, value: bool) -> None:
        self._error_mode.print_error = bool(value)

    @property
    def error(self) -> VMEC2Error | None:
        """The failure of the last call this thread made, or None when it succeeded.

        Kept per thread, so calls running at the same time in other threads (``_async`` futures, worker
        threads sharing the façade) never clear or overwrite it; a future's own failure is ``error()``.
        """
        return self._error_mode.error

    @property
    def error_str(self) -> str:
        """The last failure as ``"message [code]"``, or ``""``."""
        return self._error_mode.error_str

    @property
    def is_error(self) -> bool:
        """Whether the last call failed (tells "no results" from a failure in raise_error=False mode)."""
        return self._error_mode.is_error

    # --- settings -------------------------------------------------------------------------------------

    @property
    def settings(self) -> AwsSettings:
        """The resolved connection settings (secrets hidden from ``repr``)."""
        return self._pool.settings

    @property
    def region(self) -> str:
        """The region name this façade talks to."""
        return self._pool.settings.region

    @property
    def endpoint(self) -> str:
        """The EC2 endpoint URL in use."""
        return self._pool.settings.endpoint or str(self._pool.client(self.services[0]).meta.endpoint_url)

    @property
    def access_key(self) -> str | None:
        """The access key id in use (from the arguments, the environment or boto3's chain)."""
        if self._pool.settings.access_key:
            return self._pool.settings.access_key
        with translate(endpoint=self._pool.settings.endpoint):
            creds = core_session(self._pool.settings.profile).get_credentials()
        return None if creds is None else str(creds.access_key)

    @property
    def account_id(self) -> str:
        """The AWS account id (STS GetCallerIdentity, else the default security group's owner); cached."""
        if self._account_id is None:
            try:
                self._account_id = str(self.call("sts", "GetCallerIdentity").Account)
            except AWSError:
                groups = self.call("ec2", "DescribeSecurityGroups", Filters={"group-name": "default"})
                if not groups:
                    raise
                self._account_id = str(groups[0].OwnerId)
        return self._account_id

    @property
    def user_id(self) -> str:
        """VM::EC2's ``userId``: the account id."""
        return self.account_id

    @property
    def id(self) -> str | None:
        """VM::EC2's ``id``: the access key id."""
        return self.access_key

    @property
    def secret(self) -> str | None:
        """The secret key in use (from the arguments, the environment or boto3's chain)."""
        if self._pool.settings.secret_key:
            return self._pool.settings.secret_key
        with translate(endpoint=self._pool.settings.endpoint):
            creds = core_session(self._pool.settings.profile).get_credentials()
        return None if creds is None else str(creds.secret_key)

    @property
    def security_token(self) -> str | None:
        """The STS session token given to this façade, if any."""
        return self._pool.settings.security_token

    @property
    def version(self) -> str:
        """The API version of the façade's first service (``2016-11-15`` for EC2)."""
        return str(service_model(self.services[0]).api_version)

    def clone(self, *, facade_class: type[Facade] | None = None, **overrides: Any) -> Facade:
        """An independent façade with the same settings, e.g. ``ec2.clone(region="eu-west-1")``.

        Overrides are constructor arguments; the error mode is copied unless overridden. ``facade_class``
        makes another kind of façade on the same settings (``ec2.sts.clone(facade_class=EC2)``).
        """
        s = self._pool.settings
        base: dict[str, Any] = {
            "access_key": s.access_key,
            "secret_key": s.secret_key,
            "security_token": s.security_token,
            "endpoint": s.endpoint,
            "region": s.region,
            "profile": s.profile,
            "retry_mode": s.retry_mode,
            "max_attempts": s.max_attempts,
            "connect_attempts": s.connect_attempts,
            "connect_timeout": s.connect_timeout,
            "raise_error": self.raise_error,
            "print_error": self.print_error,
            "environ": {},
        }
        base.update(overrides)
        clone = (facade_class or type(self))(**base)
        clone._consistency = self._consistency  # a copy made through the clone is still "ours"
        clone.wait_policy = self.wait_policy  # frozen: the clone waits as this façade does
        return clone

    @classmethod
    def register_method(cls, name: str, method: Callable[..., Any]) -> None:
        """Add a method to the façade class: the extension point through which a higher layer adds itself.

        VM::EC2's staging module injected ``staging_manager`` into VM::EC2 when it was loaded; importing
        ``staging`` does the same through this call, so provisioning never imports staging.

        Raises:
            ValueError: ``name`` is taken by something else (an operation name or another method).
        """
        current = cls.__dict__.get(name)
        if current is method:
            return
        if (
            current is not None
            or name.startswith("_")
            or any(operation_index(service).get(normalize(name)) for service in cls.services)
        ):
            raise ValueError(f"{cls.__name__}.{name} is taken; an extension cannot replace it")
        setattr(cls, name, method)

    def _proxy(self, cls: type[Facade]) -> Facade:
        """The façade of another service sharing this one's clients, error mode and ``error`` (made once), and
        this one's waits, so that it is a whole :class:`~provisioning.caller.Caller` for the objects it
        makes."""
        key = f"_proxy_{cls.__name__}"
        proxy = self.__dict__.get(key)
        if proxy is None:
            proxy = cls(_pool=self._pool)
            proxy._error_mode = self._error_mode  # one error mode and ``error`` for both
            proxy._consistency = self._consistency
            for wait in _CALLER_WAITS:  # a Caller for the objects it makes: they wait as this façade does
                proxy.__dict__[wait] = getattr(self, wait)
            self.__dict__[key] = proxy
        return proxy

    def __repr__(self) -> str:
        s = self._pool.settings
        where = s.endpoint or "aws"
        return f"<{type(self).__name__} region={s.region} endpoint={where}>"


class ELB(Facade):
    """Elastic Load Balancing (classic) operations."""

    services = ("elb",)


class AutoScaling(Facade):
    """Auto Scaling operations."""

    services = ("autoscaling",)


class RDS(Facade):
    """Relational Database Service operations."""

    services = ("rds",)


class STS(Facade):
    """Security Token Service operations."""

    services = ("sts",)


class EBS(Facade):
    """EBS direct APIs: snapshot blocks read and written from the caller (see :mod:`provisioning.ebs`)."""

    services = ("ebs",)


class EC2(PagersMixin, WaitersMixin, ExtrasMixin, Facade):
    """The VM::EC2 object: every VM::EC2 method, and every operation of ec2, elb, autoscaling, rds, sts, ebs.

    Example::

        ec2 = EC2(region="eu-west-1")
        for instance in ec2.describe_instances({"instance-state-name": "running"}):
            print(instance, instance.dnsName, instance.tags.get("Name"))
    """

    services = SERVICES

    @property
    def elb(self) -> ELB:
        """The ELB operations, on the same connection settings."""
        return self._proxy(ELB)  # type: ignore[return-value]

    @property
    def autoscaling(self) -> AutoScaling:
        """The Auto Scaling operations, on the same connection settings."""
        return self._proxy(AutoScaling)  # type: ignore[return-value]

    @property
    def rds(self) -> RDS:
        """The RDS operations, on the same connection settings."""
        return self._proxy(RDS)  # type: ignore[return-value]

    @property
    def sts(self) -> STS:
        """The STS operations, on the same connection settings."""
        return self._proxy(STS)  # type: ignore[return-value]

    @property
    def ebs(self) -> EBS:
        """The EBS direct APIs (snapshot blocks), on the same connection settings."""
        return self._proxy(EBS)  # type: ignore[return-value]


# Credentials that no façade made build an EC2 façade in ``new_ec2`` (sts.py does not import this module).
Credentials._facade_class = EC2
