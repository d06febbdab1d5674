"""VM::EC2's ``-credentials_file``/``-credentials_profile``: keys from an AWS CLI config or credentials file.

A pure reader: ``read_credentials_file(path, "foo")`` finds the section ``[foo]`` or ``[profile foo]`` (the
config file's spelling; ``"profile foo"`` is accepted too, as VM::EC2 did) and returns its
``aws_access_key_id`` and ``aws_secret_access_key``.
"""

from __future__ import annotations

import configparser
from pathlib import Path

from .errors import CredentialsError

__all__ = ["read_credentials_file"]


def read_credentials_file(path: str | Path, profile: str | None = None) -> tuple[str | None, str | None]:
    """The access key id and secret key of ``profile`` (default ``default``) in an AWS CLI-style file.

    Raises:
        CredentialsError: the file cannot be read or parsed, or has no such profile.
    """
    name = (profile or "default").strip()
    name = name.removeprefix("profile").strip() if name.startswith("profile ") else name
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as fh:
            parser.read_file(fh)
    except (OSError, configparser.Error) as exc:
        raise CredentialsError(f"cannot read the credentials file {path}: {exc}") from exc
    for section in (name, f"profile {name}"):
        if parser.has_section(section):
            entries = parser[section]
            return entries.get("aws_access_key_id"), entries.get("aws_secret_access_key")
    raise CredentialsError(f"the credentials file {path} has no profile {name!r}")
