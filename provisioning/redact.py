"""An opt-in redaction filter for log records: no key material, secrets or user data in logs.

botocore's DEBUG loggers print whole requests and responses: CreateKeyPair's answer carries the private key,
RunInstances' parameters the user data, and signed headers the credentials. The library never configures
logging, so it cannot stop that by itself; an application that turns on DEBUG adds :class:`RedactingFilter`
to its handlers (every command of this project does)::

    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactingFilter", "redact"]

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM / OpenSSH private keys, also with escaped newlines inside repr()s
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
     "[REDACTED PRIVATE KEY]"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*", re.S), "[REDACTED PRIVATE KEY]"),
    # members holding secrets, in query strings, XML, JSON and Python reprs
    (re.compile(r"(?i)((?:KeyMaterial|UserData|SecretAccessKey|aws_secret_access_key|SessionToken|"
                r"X-Amz-Security-Token|Password|PasswordData)['\"]?\s*[:=>]\s*['\"]?)([^\['\"&<,}\s][^'\"&<,}\s]*)"),
     r"\1[REDACTED]"),
    (re.compile(r"(?i)(<(keyMaterial|userData|value|passwordData)>)[^<]*(</\2>)"), r"\1[REDACTED]\3"),
    (re.compile(r"(?i)(Authorization['\"]?\s*[:=]\s*['\"]?AWS4-HMAC-SHA256 )[^'\"]*"), r"\1[REDACTED]"),
    (re.compile(r"(?i)(Signature=)[0-9a-f]+"), r"\1[REDACTED]"),
)  # fmt: skip


def redact(text: str) -> str:
    """``text`` with private keys, secret keys, session tokens, passwords and user data replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """A handler filter that rewrites each record's message through :func:`redact` (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
