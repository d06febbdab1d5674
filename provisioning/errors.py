"""The provisioning layer's errors, and the one place where botocore's exceptions become ours.

Tree::

    VMEC2Error
     ├── AWSError                  a service answered with an error (wraps ClientError)
     │    ├── NotFoundError        *.NotFound / *NotFound codes
     │    ├── ThrottledError       RequestLimitExceeded, Throttling, ... after botocore's retries ran out
     │    ├── DryRunOperation      DryRun=True and the call would have succeeded
     │    └── UnauthorizedError    AuthFailure, UnauthorizedOperation, AccessDenied, InvalidClientTokenId, ...
     ├── ParameterError            bad arguments, found before anything is sent (also a ValueError)
     ├── CredentialsError          no usable credentials
     ├── EndpointError             the endpoint cannot be reached or is malformed
     ├── WaitTimeout               a waiter's deadline passed (also a TimeoutError)
     └── UnexpectedState           a waited object reached a state the awaited one cannot follow

Every ``AWSError`` keeps ``code``, ``message``, ``operation``, ``request_id`` and ``status`` and prints as
``"message [code]"``, like VM::EC2::Error. :func:`translate` is the single boundary that maps botocore's
exceptions onto this tree, always with ``raise ... from exc`` so the original stays attached.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

from botocore import exceptions as bce
from botocore.parsers import ResponseParserError

__all__ = [
    "AWSError",
    "CredentialsError",
    "DryRunOperation",
    "EndpointError",
    "NotFoundError",
    "ParameterError",
    "ThrottledError",
    "UnauthorizedError",
    "UnexpectedState",
    "VMEC2Error",
    "WaitTimeout",
    "translate",
]


class VMEC2Error(Exception):
    """Root of every error the provisioning layer raises."""


class AWSError(VMEC2Error):
    """An AWS service (or an EC2-compatible endpoint) rejected a call.

    Attributes:
        code: The AWS error code, e.g. ``InvalidInstanceID.NotFound``.
        message: The service's message.
        operation: The API action, e.g. ``DescribeInstances``.
        request_id: The request id the service returned, if any.
        status: The HTTP status code, if known.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        operation: str | None = None,
        request_id: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.operation = operation
        self.request_id = request_id
        self.status = status

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]"

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(code={self.code!r}, message={self.message!r}, operation={self.operation!r})"


class NotFoundError(AWSError):
    """The resource named in the call does not exist (or is not visible yet)."""


class ThrottledError(AWSError):
    """The service kept throttling the call after botocore's retries were used up."""


class DryRunOperation(AWSError):
    """A ``DryRun=True`` call that would have succeeded."""


class UnauthorizedError(AWSError):
    """The credentials were refused or lack the permission for the call."""


class ParameterError(VMEC2Error, ValueError):
    """Arguments that cannot be turned into a valid request; raised before anything is sent.

    Attributes:
        code: The error code AWS gives the same mistake in a raw request: ``UnknownParameter`` for an
            argument the operation does not have, else ``InvalidParameterValue``.
    """

    def __init__(self, message: str, *, code: str = "InvalidParameterValue") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class CredentialsError(VMEC2Error):
    """No usable AWS credentials were found."""


class EndpointError(VMEC2Error):
    """The endpoint URL is malformed or cannot be reached."""


class WaitTimeout(VMEC2Error, TimeoutError):
    """A wait for a resource state passed its deadline."""


class UnexpectedState(VMEC2Error):
    """An object reached a state from which the awaited one cannot follow (``failed``, ``terminated``...).

    Attributes:
        object_id: The object's id.
        state: The state it reached.
        wanted: The states that were awaited.
    """

    def __init__(self, object_id: str, state: str, wanted: Collection[str]) -> None:
        super().__init__(f"{object_id} is {state!r}; it cannot become {' or '.join(map(repr, wanted))}")
        self.object_id = object_id
        self.state = state
        self.wanted = tuple(wanted)


_THROTTLE_CODES = frozenset(
    {
        "RequestLimitExceeded",
        "Throttling",
        "ThrottlingException",
        "RequestThrottled",
        "TooManyRequestsException",
        "SlowDown",
    }
)
_AUTH_CODES = frozenset(
    {
        "AuthFailure",
        "UnauthorizedOperation",
        "AccessDenied",
        "AccessDeniedException",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
    }
)


def error_class_for(code: str) -> type[AWSError]:
    """The most specific :class:`AWSError` subclass for an AWS error ``code``."""
    if code == "DryRunOperation":
        return DryRunOperation
    if code in _THROTTLE_CODES:
        return ThrottledError
    if code in _AUTH_CODES:
        return UnauthorizedError
    if code.endswith(("NotFound", "NotFoundFault")) or ".NotFound" in code:
        return NotFoundError
    return AWSError


def from_client_error(exc: Any, operation: str | None = None) -> AWSError:
    """Build our error from a botocore ``ClientError`` (or anything with its ``response``)."""
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    err = response.get("Error", {})
    meta = response.get("ResponseMetadata", {})
    code = str(err.get("Code") or "Unknown")
    message = str(err.get("Message") or code)
    return error_class_for(code)(
        code,
        message,
        operation=operation or getattr(exc, "operation_name", None),
        request_id=meta.get("RequestId"),
        status=meta.get("HTTPStatusCode"),
    )


_CONNECTION_PREFIX = re.compile(r"^\w*Connection\w*\([^)]*\):\s*")


def connection_problem(exc: BaseException) -> str:
    """What went wrong with a connection, in the words of the socket layer (``[Errno 111] Connection
    refused``, ``Failed to resolve 'host'``, ``Connect timeout``), without urllib3's object prefix."""
    cause = getattr(exc, "kwargs", {}).get("error")
    if cause is None:
        return type(exc).__name__
    texts = [arg for arg in getattr(cause, "args", ()) if isinstance(arg, str)]  # urllib3: (connection, text)
    return _CONNECTION_PREFIX.sub("", texts[-1] if texts else str(cause)) or type(cause).__name__


@contextmanager
def translate(operation: str | None = None, endpoint: str | None = None) -> Iterator[None]:
    """Map botocore's exceptions raised inside the block onto this module's tree.

    Args:
        operation: The API action being called, recorded on the error.
        endpoint: The endpoint URL, named in connection errors.
    """
    try:
        yield
    except bce.ClientError as exc:
        raise from_client_error(exc, operation) from exc
    except bce.ParamValidationError as exc:
        raise ParameterError(f"{operation or 'request'}: {exc.kwargs.get('report', exc)}") from exc
    except (bce.NoCredentialsError, bce.PartialCredentialsError, bce.ProfileNotFound) as exc:
        raise CredentialsError(
            f"{exc}. Pass access_key=/secret_key= (or security_token=), set EC2_ACCESS_KEY/EC2_SECRET_KEY "
            "or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or configure an AWS profile."
        ) from exc
    except (bce.ConnectionError, bce.ReadTimeoutError) as exc:  # refused, unresolvable, timed out, TLS
        url = exc.kwargs.get("endpoint_url") or endpoint or "the endpoint"
        during = f" ({operation})" if operation else ""
        raise EndpointError(f"cannot reach {url}{during}: {connection_problem(exc)}") from exc
    except (bce.InvalidEndpointConfigurationError, bce.InvalidRegionError) as exc:
        raise EndpointError(str(exc)) from exc
    except bce.WaiterError as exc:
        raise WaitTimeout(str(exc)) from exc
    except ResponseParserError as exc:
        # The endpoint answered with something that is not an AWS response (an HTML error page, say).
        raise AWSError(
            "InvalidResponse",
            f"unparsable answer from {endpoint or 'the endpoint'}: {exc}",
            operation=operation,
        ) from exc
    except bce.BotoCoreError as exc:
        raise VMEC2Error(f"{operation or 'call'}: {exc}") from exc
