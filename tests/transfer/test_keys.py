"""Private keys of every type and format load, authenticate against a real sshd, and fail clearly.

Keys come from ssh-keygen (OpenSSH, PEM and PKCS#8 formats), from ``cryptography``, and from moto's
``CreateKeyPair`` over HTTP (the RSA PEM key AWS hands out); sshd is real and on loopback.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import boto3
import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ed25519

from transfer import AuthenticationError, PrivateKeyError, SSHShell, load_private_key, load_private_key_file
from transfer.fingerprints import fingerprint_of_key
from transfer.hostkeys import HostKeyPins
from transfer.keys import private_key_text
from transfer.testing import SshdServer

from .test_ssh import FakeClock

FORMATS = {"openssh": [], "pem": ["-m", "PEM"], "pkcs8": ["-m", "PKCS8"]}
TYPES = {"rsa": ["-b", "2048"], "ecdsa": [], "ed25519": []}
CLASSES = {"rsa": paramiko.RSAKey, "ecdsa": paramiko.ECDSAKey, "ed25519": paramiko.Ed25519Key}


def keygen(path: Path, key_type: str, fmt: str = "openssh", passphrase: str = "") -> Path:
    """A key made by ssh-keygen; returns the private key's path."""
    argv = ["ssh-keygen", "-q", "-t", key_type, *TYPES[key_type], *FORMATS[fmt], "-N", passphrase]
    subprocess.run([*argv, "-f", str(path)], check=True)
    return path


def ssh_fingerprint(pub: Path) -> str:
    """ssh-keygen's SHA256 fingerprint of a public key file."""
    out = subprocess.run(["ssh-keygen", "-l", "-f", str(pub)], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


def public_line(key: paramiko.PKey) -> str:
    """An authorized_keys line for a paramiko key."""
    return f"{key.get_name()} {key.get_base64()}"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """One key per (type, format), made once for the module."""
    d = tmp_path_factory.mktemp("keys")
    return {(t, f): keygen(d / f"{t}-{f}", t, f) for t in TYPES for f in FORMATS}


@pytest.fixture(scope="module")
def moto_rsa_key(moto_server: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The private key moto's CreateKeyPair returns (RSA, PEM), saved 0600 as a user would."""
    client = boto3.client("ec2", endpoint_url=moto_server, region_name="us-east-1")
    material = client.create_key_pair(KeyName=f"test-keys-{id(client)}")["KeyMaterial"]
    assert material.startswith("-----BEGIN RSA PRIVATE KEY-----")
    path = tmp_path_factory.mktemp("moto-key") / "staging.pem"
    path.touch(mode=0o600)
    path.write_text(material)
    return path


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("key_type", sorted(TYPES))
def test_every_type_and_format_loads(keys: dict[tuple[str, str], Path], key_type: str, fmt: str) -> None:
    """ed25519, ECDSA and RSA load from OpenSSH, PEM and PKCS#8 files and text as the right paramiko class."""
    path = keys[key_type, fmt]
    from_file = load_private_key_file(path)
    assert isinstance(from_file, CLASSES[key_type])
    assert fingerprint_of_key(from_file) == ssh_fingerprint(path.with_suffix(".pub"))
    assert fingerprint_of_key(load_private_key(path.read_text())) == fingerprint_of_key(from_file)
    # The text written for OpenSSH's client is the same key, and loads again.
    again = load_private_key(private_key_text(from_file))
    assert fingerprint_of_key(again) == fingerprint_of_key(from_file)


def test_pkcs8_ed25519_from_cryptography() -> None:
    """An ed25519 key in PKCS#8 PEM (``BEGIN PRIVATE KEY``, as libraries write it) loads."""
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = load_private_key(pem)
    assert isinstance(loaded, paramiko.Ed25519Key)
    raw = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    assert public_line(loaded) == raw.decode()


def test_moto_create_key_pair_rsa_pem_loads(moto_rsa_key: Path) -> None:
    """The RSA PEM key that CreateKeyPair returns loads as an RSA key."""
    assert isinstance(load_private_key_file(moto_rsa_key), paramiko.RSAKey)


def test_encrypted_keys(tmp_path: Path) -> None:
    """An encrypted key loads with its passphrase; without it, or with a wrong one, the error says so."""
    path = keygen(tmp_path / "enc", "ed25519", passphrase="s3cret-phrase")
    assert isinstance(load_private_key_file(path, passphrase="s3cret-phrase"), paramiko.Ed25519Key)
    with pytest.raises(PrivateKeyError, match=re.escape(f"{path}: the key is encrypted and no passphrase")):
        load_private_key_file(path)
    with pytest.raises(PrivateKeyError, match="wrong passphrase"):
        load_private_key_file(path, passphrase="nope")


def test_unsupported_and_garbage_keys_name_the_file_never_the_contents(tmp_path: Path) -> None:
    """A DSA key is refused by type; garbage by format; both name the file and hide its contents."""
    dsa_key = dsa.generate_private_key(1024)
    dsa_path = tmp_path / "dsa.pem"
    dsa_path.write_bytes(
        dsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(PrivateKeyError, match="unsupported key type") as info:
        load_private_key_file(dsa_path)
    assert str(dsa_path) in str(info.value) and "\n" not in str(info.value)
    bad = tmp_path / "bad"
    bad.write_text("-----BEGIN RSA PRIVATE KEY-----\nTOPSECRETGARBAGE\n-----END RSA PRIVATE KEY-----\n")
    with pytest.raises(PrivateKeyError, match=re.escape(f"file {bad}: not a private key")) as info:
        load_private_key_file(bad)
    assert "TOPSECRET" not in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.fixture(scope="module")
def rsa_sshd(
    sshd_factory: Callable[..., SshdServer], keys: dict[tuple[str, str], Path], moto_rsa_key: Path
) -> tuple[SshdServer, HostKeyPins]:
    """An sshd that accepts every key of :func:`keys` and moto's key (OpenSSH's default algorithms)."""
    accepted = [public_line(load_private_key_file(p)) for p in [*keys.values(), moto_rsa_key]]
    server = sshd_factory(authorized_keys=accepted)
    return server, HostKeyPins.from_public_keys(server.host_public_keys())


def test_moto_key_file_logs_in(rsa_sshd: tuple[SshdServer, HostKeyPins], moto_rsa_key: Path) -> None:
    """SSHShell(key_filename=<the RSA PEM key of CreateKeyPair>) logs in; so does OpenSSH's client."""
    server, pins = rsa_sshd
    with SSHShell(server.address, port=server.port, key_filename=moto_rsa_key, host_keys=pins) as sh:
        sh.wait_until_reachable(30)
        assert sh.run(["echo", "in"]).stdout == "in\n"
        with sh.popen(["echo", "via-openssh"], stdout=subprocess.PIPE) as proc:
            out, _ = proc.communicate()
        assert out == b"via-openssh\n"


@pytest.mark.parametrize("key_type", sorted(TYPES))
def test_every_key_type_logs_in_from_file_and_object(
    rsa_sshd: tuple[SshdServer, HostKeyPins], keys: dict[tuple[str, str], Path], key_type: str
) -> None:
    """PEM files of each type, and paramiko key objects (also through OpenSSH's client), authenticate."""
    server, pins = rsa_sshd
    with SSHShell(server.address, port=server.port, key_filename=keys[key_type, "pem"], host_keys=pins) as sh:
        assert sh.run(["true"]).ok
    pkey = paramiko.PKey.from_path(keys[key_type, "openssh"])
    with SSHShell(server.address, port=server.port, private_key=pkey, host_keys=pins) as sh:
        assert sh.run(["true"]).ok
        with sh.popen(["echo", key_type], stdout=subprocess.PIPE) as proc:
            assert proc.communicate()[0] == f"{key_type}\n".encode()


def test_refused_rsa_key_is_an_authentication_error_at_once(
    sshd: SshdServer, sshd_pins: HostKeyPins, moto_rsa_key: Path
) -> None:
    """A refused RSA PEM key fails at once as AuthenticationError naming the key file (not a format error)."""
    clock = FakeClock()
    sh = SSHShell(sshd.address, port=sshd.port, key_filename=moto_rsa_key, host_keys=sshd_pins)
    with pytest.raises(AuthenticationError) as info:
        sh.wait_until_reachable(60, clock=clock, sleep=clock.sleep)
    message = str(info.value)
    assert clock.sleeps == 0
    target = f"root@{sshd.address}:{sshd.port}"
    assert f"authentication failed for {target} with key {moto_rsa_key} (ssh-rsa SHA256:" in message
    assert "expected" not in message and "PRIVATE KEY" not in message and "\n" not in message


def test_key_file_problems_are_not_retried(sshd: SshdServer, sshd_pins: HostKeyPins, tmp_path: Path) -> None:
    """A missing key, an encrypted key and no key at all fail at once, before any connection."""
    clock = FakeClock()

    def wait(**key: Path) -> None:
        sh = SSHShell(sshd.address, port=sshd.port, host_keys=sshd_pins, **key)  # type: ignore[arg-type]
        sh.wait_until_reachable(60, clock=clock, sleep=clock.sleep)

    missing = tmp_path / "missing"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        wait(key_filename=missing)
    with pytest.raises(PrivateKeyError, match="encrypted"):
        wait(key_filename=keygen(tmp_path / "enc", "ecdsa", passphrase="pw"))
    with pytest.raises(PrivateKeyError, match="no key for root@"):
        wait()
    assert clock.sleeps == 0
