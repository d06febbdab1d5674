"""The WSGI layer in front of moto: API faults, one lock around moto, and the sandbox's control API.

Control API (JSON, loopback only, under ``/_sandbox/``): ``GET status``, ``POST faults`` (a
:class:`~staging.sandbox.faults.Faults` dict), ``POST drop-connections`` (``{"instance_id": ...}``), and
``GET checkip``: the caller's address as the hosts see it, as plain text with a newline (what AWS's check-IP
service answers), so "my address" is looked up the same way on AWS and in the sandbox.
"""

from __future__ import annotations

import io
import json
import random
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from staging._log import get_logger
from staging.sandbox.daemon.cloud import SandboxCloud
from staging.sandbox.daemon.ebs import EBSDirect, EBSError, ebs_region, handle, throttled
from staging.sandbox.daemon.limits import request_problem
from staging.sandbox.faults import Faults
from staging.sandbox.machine.net import gateway
from staging.sandbox.machine.system import reap_orphans

log = get_logger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

#: Request parameters that name an existing resource, and the error EC2 gives while it is not yet visible.
_ID_PARAMS = {
    "InstanceId": ("InvalidInstanceID.NotFound", "The instance ID '{}' does not exist"),
    "VolumeId": ("InvalidVolume.NotFound", "The volume '{}' does not exist."),
    "SnapshotId": ("InvalidSnapshot.NotFound", "The snapshot '{}' does not exist."),
    "ImageId": ("InvalidAMIID.NotFound", "The image id '[{}]' does not exist"),
}
_ID_PREFIX = {"i": "InstanceId", "vol": "VolumeId", "snap": "SnapshotId", "ami": "ImageId"}
_PARAM = re.compile(r"^(InstanceId|VolumeId|SnapshotId|ImageId|ResourceId)(\.\d+)?$")


def error_body(code: str, message: str) -> bytes:
    """An EC2 query-protocol error document."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"</Error></Errors><RequestID>{uuid.uuid4()}</RequestID></Response>"
    ).encode()


class SandboxMiddleware:
    """Wrap moto's WSGI app with faults, serialisation and the control API."""

    def __init__(self, app: WSGIApp, cloud: SandboxCloud, direct: EBSDirect) -> None:
        self.app = app
        self.cloud = cloud
        self._dice = random.Random(cloud.faults.seed)
        self.direct = direct

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/_sandbox/checkip":
            address = f"{gateway(self.cloud.net)}\n".encode()
            return _respond(start_response, 200, address, "text/plain; charset=utf-8")
        if path.startswith("/_sandbox/"):
            return self._control(environ, start_response, path.removeprefix("/_sandbox/"))
        body = _buffer_body(environ)
        faults = self.cloud.faults
        if faults.latency > 0:
            time.sleep(faults.latency)
        region = ebs_region(environ)
        if region is not None:
            return self._ebs(environ, start_response, region, body)
        params = parse_qs(body.decode("utf-8", "replace")) if b"Action=" in body else {}
        if params and faults.throttle_rate > 0 and self._dice.random() < faults.throttle_rate:
            return _respond(
                start_response, 503, error_body("RequestLimitExceeded", "Request limit exceeded.")
            )
        problem = request_problem(params) if params else None
        if problem is not None:  # refused before moto records anything
            return _respond(start_response, 400, error_body(*problem))
        if params and faults.not_found_for > 0:
            young = self._young_id(params, faults)
            if young is not None:
                return _respond(start_response, 400, young)
        with self.cloud.lock:
            # moto is not thread-safe, and side effects must not interleave; consume the body inside the lock.
            try:
                body_parts = list(self.app(environ, start_response))
            except Exception as exc:
                # A failure of ours (or a moto crash): an EC2 error document, not werkzeug's HTML page.
                log.exception("sandbox.internal_error")
                body = error_body("InternalError", f"{type(exc).__name__}: {exc}")
                return _respond(start_response, 500, body, exc_info=sys.exc_info())
            finally:
                reap_orphans()  # sessions that ended meanwhile (safe: subprocesses only run under the lock)
            return body_parts

    def _ebs(
        self, environ: dict[str, Any], start_response: StartResponse, region: str, body: bytes
    ) -> Iterable[bytes]:
        """An EBS direct call: throttled like the others, then answered from the snapshots' files."""
        try:
            if self.cloud.faults.throttle_rate > 0 and self._dice.random() < self.cloud.faults.throttle_rate:
                raise throttled()
            with self.cloud.lock:
                status, data, headers, ctype = handle(self.direct, environ, region, body)
        except EBSError as exc:
            status, data, ctype = exc.status, exc.body(), "application/json"
            headers = {"x-amzn-ErrorType": exc.code}
        except Exception as exc:
            log.exception("sandbox.internal_error")
            status, ctype = 500, "application/json"
            data = json.dumps({"message": f"{type(exc).__name__}: {exc}"}).encode()
            headers = {"x-amzn-ErrorType": "InternalServerException"}
        return _respond(start_response, status, data, ctype, extra=headers)

    def _young_id(self, params: dict[str, list[str]], faults: Faults) -> bytes | None:
        now = time.monotonic()
        for name, values in params.items():
            match = _PARAM.match(name)
            if not match:
                continue
            for value in values:
                if not self.cloud.young(value, now):
                    continue
                kind = match.group(1)
                if kind == "ResourceId":
                    kind = _ID_PREFIX.get(value.split("-", 1)[0], "")
                if kind in _ID_PARAMS:
                    code, template = _ID_PARAMS[kind]
                    return error_body(code, template.format(value))
        return None

    def _control(self, environ: dict[str, Any], start_response: StartResponse, name: str) -> Iterable[bytes]:
        try:
            request = json.loads(_buffer_body(environ) or b"{}")
        except ValueError as exc:
            return _json_error(start_response, f"the body is not JSON: {exc}")
        if not isinstance(request, dict):
            kind = type(request).__name__
            return _json_error(start_response, f"the body must be a JSON object, not {kind}")
        with self.cloud.lock:
            if name == "status":
                result: dict[str, Any] = {
                    "faults": self.cloud.faults.to_dict(),
                    "hosts": {
                        iid: {"address": h.address, "netns": h.netns, "sshd_pid": h.pid}
                        for iid, h in self.cloud.hosts.items()
                    },
                }
            elif name == "faults":
                try:
                    self.cloud.faults = Faults.from_dict(request)
                except (TypeError, ValueError) as exc:
                    return _json_error(start_response, str(exc))
                self._dice = random.Random(self.cloud.faults.seed)
                result = self.cloud.faults.to_dict()
            elif name == "drop-connections":
                result = {"dropped": self.cloud.drop_connections(str(request.get("instance_id", "")))}
            else:
                return _respond(start_response, 404, b'{"error": "unknown control call"}', "application/json")
        return _respond(start_response, 200, json.dumps(result).encode(), "application/json")


def _json_error(start_response: StartResponse, message: str) -> list[bytes]:
    return _respond(start_response, 400, json.dumps({"error": message}).encode(), "application/json")


def _buffer_body(environ: dict[str, Any]) -> bytes:
    """Read the request body and put it back, so moto can read it again."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return bytes(body)


_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    402: "Payment Required",
    403: "Forbidden",
    400: "Bad Request",
    404: "Not Found",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _respond(
    start_response: StartResponse,
    status: int,
    body: bytes,
    ctype: str = "text/xml",
    exc_info: Any = None,
    extra: dict[str, str] | None = None,
) -> list[bytes]:
    headers = [("Content-Type", ctype), ("Content-Length", str(len(body))), *(extra or {}).items()]
    if exc_info is not None:  # moto may have called start_response already
        start_response(f"{status} {_REASONS[status]}", headers, exc_info)
    else:
        start_response(f"{status} {_REASONS[status]}", headers)
    return [body]
