"""Host keys as data: fingerprints, known_hosts lines, cloud-init console blocks, and a pinning policy.

Everything here except :class:`PinnedHostKeyPolicy` is pure. The staging layer reads an instance's console
output, feeds it to :func:`parse_cloud_init_console`, and hands the resulting :class:`HostKeyPins` to
:class:`transfer.SSHShell`; rsync's ssh then gets the same keys through a temporary known_hosts file.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import paramiko

from transfer._log import get_logger
from transfer.errors import HostKeyMismatch
from transfer.fingerprints import fingerprint_of_key, fingerprint_sha256

__all__ = [
    "HostKey",
    "HostKeyPins",
    "PinnedHostKeyPolicy",
    "fingerprint_of_key",  # defined in transfer.fingerprints (below errors), still public here
    "fingerprint_sha256",
    "key_family",
    "known_hosts_host",
    "parse_cloud_init_console",
    "parse_pin",
    "parse_public_key",
]

log = get_logger(__name__)

#: Key algorithm names (wire names and the words ssh-keygen prints) mapped to a key family.
_FAMILIES = {
    "ssh-ed25519": "ed25519",
    "ed25519": "ed25519",
    "ssh-rsa": "rsa",
    "rsa-sha2-256": "rsa",
    "rsa-sha2-512": "rsa",
    "rsa": "rsa",
    "ecdsa-sha2-nistp256": "ecdsa",
    "ecdsa-sha2-nistp384": "ecdsa",
    "ecdsa-sha2-nistp521": "ecdsa",
    "ecdsa": "ecdsa",
    "ssh-dss": "dsa",
    "dsa": "dsa",
}
#: Host key algorithms per family, as offered in HostKeyAlgorithms (preferred first).
FAMILY_ALGORITHMS = {
    "ed25519": ("ssh-ed25519",),
    "ecdsa": ("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"),
    "rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"),
    "dsa": ("ssh-dss",),
}


def key_family(name: str) -> str:
    """The key family ("ed25519", "rsa", "ecdsa", "dsa") of an algorithm or type name; "" if unknown."""
    return _FAMILIES.get(name.strip("()").lower(), "")


@dataclass(frozen=True)
class HostKey:
    """One accepted host key, known fully or only by fingerprint.

    Attributes:
        fingerprint: "SHA256:..." (always set).
        family: "ed25519", "rsa", "ecdsa", ... or "" when only a fingerprint of unknown type is known.
        key_type: The key's type name ("ssh-ed25519"), when the full key is known.
        base64: The base64 key blob, when the full key is known.
    """

    fingerprint: str
    family: str = ""
    key_type: str | None = None
    base64: str | None = None

    @property
    def public_key(self) -> str | None:
        """``"<type> <base64>"`` when the full key is known."""
        return f"{self.key_type} {self.base64}" if self.key_type and self.base64 else None


def parse_public_key(text: str) -> HostKey:
    """Parse ``"ssh-ed25519 AAAA... [comment]"`` into a :class:`HostKey`.

    Raises:
        ValueError: The text is not a public key line.
    """
    parts = text.split()
    if len(parts) < 2:
        raise ValueError(f"not a public key: {text[:40]!r}")
    key_type, b64 = parts[0], parts[1]
    try:
        blob = base64.b64decode(b64, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"bad base64 in public key of type {key_type}") from exc
    return HostKey(fingerprint_sha256(blob), key_family(key_type), key_type, b64)


def known_hosts_host(host: str, port: int = 22) -> str:
    """The host field of a known_hosts line: ``host`` for port 22, else ``[host]:port``."""
    return host if port == 22 else f"[{host}]:{port}"


_FP_RE = re.compile(r"(SHA256:[A-Za-z0-9+/]{43})=?(?:.*\((\w+)\))?")
_KEY_RE = re.compile(r"((?:ssh|ecdsa|rsa)-[\w@.-]+)\s+(AAAA[A-Za-z0-9+/]+={0,3})")


@dataclass(frozen=True)
class HostKeyPins:
    """The set of host keys we accept for one server.

    Build it from whatever the caller has: known_hosts text, public key lines, SHA256 fingerprints, or a
    cloud-init console log. An empty set accepts nothing (unless the shell opts into trust on first use).
    """

    keys: tuple[HostKey, ...] = field(default=())

    @classmethod
    def from_public_keys(cls, lines: Iterable[str]) -> HostKeyPins:
        """From ``"ssh-ed25519 AAAA..."`` lines."""
        return cls(tuple(parse_public_key(line) for line in lines if line.strip()))

    @classmethod
    def from_fingerprints(cls, fingerprints: Iterable[str | tuple[str, str]]) -> HostKeyPins:
        """From ``"SHA256:..."`` strings or ``(type, "SHA256:...")`` pairs (type as ssh-keygen prints it)."""
        keys = []
        for item in fingerprints:
            family, fp = ("", item) if isinstance(item, str) else (key_family(item[0]), item[1])
            if not fp.startswith("SHA256:"):
                raise ValueError(f"only SHA256 fingerprints can be pinned, got {fp[:20]!r}")
            keys.append(HostKey(fp.rstrip("="), family))
        return cls(tuple(keys))

    @classmethod
    def from_known_hosts(cls, text: str, host: str | None = None, port: int = 22) -> HostKeyPins:
        """From known_hosts text; with ``host``, only plain (unhashed) lines naming that host/port count."""
        want = known_hosts_host(host, port) if host is not None else None
        keys = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            fields = line.split()
            if fields[0].startswith("@"):  # @cert-authority / @revoked are not pins
                continue
            if len(fields) < 3 or (want is not None and want not in fields[0].split(",")):
                continue
            keys.append(parse_public_key(" ".join(fields[1:3])))
        return cls(tuple(keys))

    @classmethod
    def from_cloud_init_console(cls, console: str) -> HostKeyPins:
        """From an instance's console output (see :func:`parse_cloud_init_console`)."""
        return parse_cloud_init_console(console)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def __add__(self, other: HostKeyPins) -> HostKeyPins:
        seen = {k.fingerprint for k in self.keys}
        return HostKeyPins(self.keys + tuple(k for k in other.keys if k.fingerprint not in seen))

    @property
    def fingerprints(self) -> tuple[str, ...]:
        """Every accepted fingerprint."""
        return tuple(k.fingerprint for k in self.keys)

    @property
    def families(self) -> frozenset[str]:
        """Key families we can check; empty when any pin has an unknown type (then all must be offered)."""
        fams = {k.family for k in self.keys}
        return frozenset() if "" in fams else frozenset(fams)

    def accepts(self, fingerprint: str) -> bool:
        """True if ``fingerprint`` is pinned."""
        return fingerprint.rstrip("=") in self.fingerprints

    def host_key_algorithms(self) -> list[str]:
        """Algorithms to offer so that the server presents a key we can check (empty: offer all)."""
        return [alg for fam in sorted(self.families) for alg in FAMILY_ALGORITHMS.get(fam, ())]

    def known_hosts_lines(self, host: str, port: int = 22) -> list[str]:
        """known_hosts lines for the fully known keys (fingerprint-only pins cannot be written)."""
        name = known_hosts_host(host, port)
        return [f"{name} {k.public_key}" for k in self.keys if k.public_key]


def _block(console: str, name: str) -> list[str]:
    """The lines of the last *complete* block ``name`` (a reboot prints a new one; a block cut off by the
    end of the console output, or by another BEGIN, may hold a truncated key and is ignored)."""
    begin, end = f"-----BEGIN SSH HOST KEY {name}-----", f"-----END SSH HOST KEY {name}-----"
    done: list[str] = []
    current: list[str] | None = None
    for line in console.splitlines():
        if begin in line:
            current = []
        elif end in line:
            if current is not None:
                done = current
            current = None
        elif current is not None:
            current.append(line)
    return done


def parse_pin(item: str | tuple[str, str]) -> HostKeyPins:
    """One pin: ``"SHA256:..."``, ``(type, "SHA256:...")``, ``"ssh-ed25519 AAAA..."`` or a known_hosts line.

    A known_hosts line's host field is not checked: the caller chose this line for this host.
    """
    if isinstance(item, tuple):
        return HostKeyPins.from_fingerprints([item])
    text = item.strip()
    if text.startswith("SHA256:"):
        return HostKeyPins.from_fingerprints([text])
    fields = text.split()
    if len(fields) >= 3 and key_family(fields[1]) and not key_family(fields[0]):
        return HostKeyPins.from_public_keys([" ".join(fields[1:3])])
    return HostKeyPins.from_public_keys([text])


def parse_cloud_init_console(console: str) -> HostKeyPins:
    """Parse cloud-init's host key blocks out of console output.

    Understands the ``-----BEGIN SSH HOST KEY FINGERPRINTS-----`` block (lines such as
    ``256 SHA256:abc... root@host (ED25519)``, possibly prefixed by ``ec2:`` or a kernel timestamp) and the
    ``-----BEGIN SSH HOST KEY KEYS-----`` block (``ssh-ed25519 AAAA... root@host``). Full keys are preferred
    and fingerprints only add what the key block lacks. MD5 fingerprints are ignored (not safe to pin).

    Returns:
        The pins found; empty when the console holds neither block (yet).
    """
    full: list[HostKey] = []
    for line in _block(console, "KEYS"):
        m = _KEY_RE.search(line)
        if m:
            try:
                full.append(parse_public_key(f"{m.group(1)} {m.group(2)}"))
            except ValueError:  # a line garbled on the console: skip rather than trust it
                log.warning("hostkeys.console_key_unreadable", key_type=m.group(1))
    fps: list[HostKey] = []
    for line in _block(console, "FINGERPRINTS"):
        m = _FP_RE.search(line)
        if m:
            fps.append(HostKey(m.group(1), key_family(m.group(2) or "")))
    return HostKeyPins(tuple(full)) + HostKeyPins(tuple(fps))


class PinnedHostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """A paramiko policy that accepts only pinned keys, or (explicit opt-in) trusts the first key seen.

    Args:
        pins: Accepted keys.
        host: Name used in error messages.
        trust_on_first_use: Accept any key when ``pins`` is empty. The accepted key is kept in
            :attr:`accepted` so the caller can pin it from then on.
    """

    def __init__(self, pins: HostKeyPins, host: str, *, trust_on_first_use: bool = False) -> None:
        self.pins = pins
        self.host = host
        self.trust_on_first_use = trust_on_first_use
        self.accepted: HostKey | None = None

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        """Called by paramiko for every connection (we never preload paramiko's own HostKeys)."""
        got = HostKey(fingerprint_of_key(key), key_family(key.get_name()), key.get_name(), key.get_base64())
        if self.pins.accepts(got.fingerprint):
            self.accepted = got
            return
        if not self.pins and self.trust_on_first_use:
            log.warning("ssh.host_key_trusted_on_first_use", host=self.host, fingerprint=got.fingerprint)
            self.accepted = got
            return
        raise HostKeyMismatch(self.host, got.fingerprint, self.pins.fingerprints, got_type=key.get_name())


def families_to_disable(pins: HostKeyPins, available: Sequence[str]) -> list[str]:
    """Host key algorithms (from ``available``) to disable so the server must show a pinned key type."""
    fams = pins.families
    if not fams:
        return []
    return [alg for alg in available if key_family(alg.split("-cert-")[0]) not in fams]
