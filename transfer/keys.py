"""Private keys: read every format a user may hold (OpenSSH, PEM, PKCS#8; ed25519, ECDSA, RSA) into paramiko.

AWS's ``CreateKeyPair`` returns RSA keys in the old PEM format (``BEGIN RSA PRIVATE KEY``) and ed25519
keys in OpenSSH's; ``ssh-keygen -m PKCS8`` and most libraries write ``BEGIN PRIVATE KEY``. paramiko's key
classes each read only their own type and not PKCS#8, and its ``SSHClient(key_filename=...)`` tries every
class in turn, so a refused RSA key is reported as the last class's complaint ("encountered RSA key, expected
OPENSSH key") instead of as an authentication failure. Here the key is parsed once by ``cryptography`` (which
paramiko itself relies on), whatever its format, and handed to paramiko's class of the right type;
:class:`transfer.SSHShell` then passes the loaded key, never the file name, to paramiko.

Errors name the key file and the problem, never the key's contents.
"""

from __future__ import annotations

import io
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from transfer.errors import PrivateKeyError

__all__ = ["load_private_key", "load_private_key_file", "private_key_text"]

_SUPPORTED = "ed25519, ecdsa or rsa, in OpenSSH, PEM or PKCS#8 format"
_PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _parse(data: bytes, passphrase: str | None, where: str) -> _PrivateKey:
    """The key as a ``cryptography`` object; ``where`` starts the error messages."""
    password = passphrase.encode() if passphrase is not None else None
    key: object = None
    problem = f"not a private key ({_SUPPORTED})"
    loaders = (serialization.load_ssh_private_key, serialization.load_pem_private_key)
    for loader in loaders:
        try:
            key = loader(data, password=password)
            break
        except TypeError as exc:  # cryptography's way of saying the passphrase does not fit the key
            text = str(exc).lower()
            if "not provided" in text or "not given" in text:
                problem = "the key is encrypted and no passphrase was given"
            elif "not encrypted" in text:
                problem = "a passphrase was given but the key is not encrypted"
            break
        except ValueError as exc:
            text = str(exc).lower()
            if password is not None and any(w in text for w in ("decrypt", "password", "checksum")):
                problem = "wrong passphrase"
                break
            continue
        except Exception:  # cryptography's UnsupportedAlgorithm and friends: never echo the data
            continue
    if key is None:
        raise PrivateKeyError(f"{where}: {problem}")
    if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise PrivateKeyError(f"{where}: unsupported key type {type(key).__name__} (use {_SUPPORTED})")
    return key


def _to_paramiko(key: _PrivateKey) -> paramiko.PKey:
    """paramiko's key object of the right class, read from the key re-written in OpenSSH's format."""
    text = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode("ascii")
    cls: type[paramiko.PKey]
    if isinstance(key, ed25519.Ed25519PrivateKey):
        cls = paramiko.Ed25519Key
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        cls = paramiko.ECDSAKey
    else:
        cls = paramiko.RSAKey
    return cls.from_private_key(io.StringIO(text))


def load_private_key(text: str | bytes, passphrase: str | None = None) -> paramiko.PKey:
    """Load an in-memory private key: ed25519, ECDSA or RSA in OpenSSH, PEM or PKCS#8 format.

    Args:
        text: The key, e.g. ``KeyMaterial`` from ``CreateKeyPair``.
        passphrase: For an encrypted key.

    Raises:
        PrivateKeyError: (a ValueError) The text is not such a key, or is encrypted and no (or the wrong)
            passphrase was given. The key itself is never echoed.
    """
    data = text.encode() if isinstance(text, str) else text
    return _to_paramiko(_parse(data, passphrase, "unreadable private key"))


def load_private_key_file(path: str | Path, passphrase: str | None = None) -> paramiko.PKey:
    """Load a private key file (any format :func:`load_private_key` reads).

    Raises:
        PrivateKeyError: The file is not such a key (the message names the file, never its contents).
        FileNotFoundError, PermissionError, IsADirectoryError: The file cannot be read.
    """
    data = Path(path).read_bytes()
    return _to_paramiko(_parse(data, passphrase, f"unreadable private key file {path}"))


def private_key_text(key: paramiko.PKey) -> str:
    """The key in OpenSSH's private key format (unencrypted), for a 0600 file an OpenSSH client reads.

    Raises:
        PrivateKeyError: paramiko's object holds no private half, or of a type not listed above.
    """
    crypto_key: object
    if isinstance(key, paramiko.RSAKey):
        crypto_key = key.key
    elif isinstance(key, paramiko.ECDSAKey):
        crypto_key = key.signing_key
    elif isinstance(key, paramiko.Ed25519Key):
        # paramiko keeps ed25519 keys as PyNaCl objects: the 32-byte seed rebuilds the same key.
        signing = getattr(key, "_signing_key", None)
        seed = bytes(signing)[:32] if signing is not None else None
        crypto_key = ed25519.Ed25519PrivateKey.from_private_bytes(seed) if seed else None
    else:
        crypto_key = None
    if not isinstance(crypto_key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise PrivateKeyError(f"{key.get_name()} key object has no private key that can be exported")
    return crypto_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode("ascii")
