"""The pinned OpenSSH target (pure): one builder for ssh pipes, rsync's ``-e`` and server-to-server rsync."""

from __future__ import annotations

import pytest

from transfer import HostKeyPins, SSHShell
from transfer.openssh import (
    HOST_KEY_ALIAS,
    fast_ciphers,
    known_hosts_text,
    pinned_target,
    ssh_argv,
    ssh_command,
    ssh_options,
)

ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJnaoiQ5Enn9L5+5AccaC+gsFA+uSAahaZbxtrAZUL7O"
ED_FP = "SHA256:dVpaWgJ169UGbBPdHemeFHgWXqiRtZb3577hdwvfRRk"


def test_known_hosts_text_writes_full_keys_under_the_alias() -> None:
    """Each full key becomes one line under the alias; fingerprint-only pins cannot be written."""
    pins = HostKeyPins.from_public_keys([ED]) + HostKeyPins.from_fingerprints(["SHA256:" + "A" * 43])
    assert known_hosts_text(pins) == f"{HOST_KEY_ALIAS} {ED}\n"
    assert known_hosts_text(HostKeyPins()) == ""


def test_pinned_target_fields() -> None:
    """The target checks the pinned key types only, under the alias, with the fast cipher preference."""
    t = pinned_target("10.0.0.5", HostKeyPins.from_public_keys([ED]), known_hosts_file="/k/kh", port=2222,
                      user="ec2-user", key_file="/k/id", connect_timeout=7.5, keepalive=0)  # fmt: skip
    assert (t.host, t.port, t.user) == ("10.0.0.5", 2222, "ec2-user")
    assert (t.key_file, t.known_hosts_file, t.connect_timeout, t.keepalive) == ("/k/id", "/k/kh", 7.5, 0)
    assert t.host_key_alias == HOST_KEY_ALIAS and tuple(t.host_key_algorithms) == ("ssh-ed25519",)
    assert tuple(t.ciphers) == fast_ciphers() and t.jump is None


def test_pinned_target_options_for_ssh_and_rsync() -> None:
    """ssh's argv and rsync's ``-e`` carry the same strict pinning, timeouts and keepalives."""
    t = pinned_target("h1", HostKeyPins.from_public_keys([ED]), known_hosts_file="/k/kh", key_file="/k/id",
                      connect_timeout=7.5, keepalive=20)  # fmt: skip
    opts = ssh_options(t)
    for want in ("StrictHostKeyChecking=yes", "UserKnownHostsFile=/k/kh", "GlobalKnownHostsFile=/dev/null",
                 f"HostKeyAlias={HOST_KEY_ALIAS}", "HostKeyAlgorithms=ssh-ed25519", "IdentitiesOnly=yes",
                 "ConnectTimeout=7", "ServerAliveInterval=20", "ServerAliveCountMax=4",
                 "BatchMode=yes"):  # fmt: skip
        assert want in opts
    assert ssh_argv(t)[1:-1] == opts and ssh_argv(t)[-1] == "h1"
    assert ssh_command(t).split()[1:] == opts  # no option here needs quoting


def test_pinned_target_jump_and_unsafe_host() -> None:
    """A jump target is passed through whole; a host that ssh would read as an option is refused."""
    pins = HostKeyPins.from_public_keys([ED])
    jump = pinned_target("bastion", pins, known_hosts_file="/k/jkh")
    assert pinned_target("inner", pins, known_hosts_file="/k/kh", jump=jump).jump == jump
    with pytest.raises(ValueError, match="unsafe host"):
        pinned_target("-oProxyCommand=x", pins, known_hosts_file="/k/kh")


def test_openssh_pins_with_full_keys_needs_no_connection() -> None:
    """Full pinned keys are written as they are: no connection is made (port 1 would refuse it)."""
    shell = SSHShell("127.0.0.1", port=1, host_keys=[ED, ED_FP])
    assert shell.openssh_pins().keys == HostKeyPins.from_public_keys([ED]).keys
    assert not shell.is_connected
