"""Host keys as data: fingerprints, known_hosts, cloud-init console blocks, pins."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from transfer.hostkeys import (
    HostKeyPins,
    families_to_disable,
    known_hosts_host,
    parse_cloud_init_console,
    parse_pin,
    parse_public_key,
)

ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJnaoiQ5Enn9L5+5AccaC+gsFA+uSAahaZbxtrAZUL7O"
ED_FP = "SHA256:dVpaWgJ169UGbBPdHemeFHgWXqiRtZb3577hdwvfRRk"

CONSOLE = f"""\
[   10.1] cloud-init[800]: Cloud-init v. 23.1 running 'modules:final'
ec2: #############################################################
ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----
ec2: 256 SHA256:{"A" * 43} root@ip-10-0-0-1 (ECDSA)
ec2: 256 {ED_FP} root@ip-10-0-0-1 (ED25519)
ec2: 2048 12:34:56:78:9a:bc:de:f0:12:34:56:78:9a:bc:de:f0 /etc/ssh/ssh_host_rsa_key.pub (RSA)
ec2: -----END SSH HOST KEY FINGERPRINTS-----
ec2: #############################################################
-----BEGIN SSH HOST KEY KEYS-----
{ED} root@ip-10-0-0-1
-----END SSH HOST KEY KEYS-----
Cloud-init v. 23.1 finished
"""


def test_fingerprint_matches_ssh_keygen(tmp_path: Path) -> None:
    """Our SHA256 fingerprint is the one ssh-keygen -l prints."""
    f = tmp_path / "k.pub"
    f.write_text(ED + " c\n")
    out = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(f)], capture_output=True, text=True, check=True
    ).stdout
    assert out.split()[1] == parse_public_key(ED).fingerprint == ED_FP


def test_parse_public_key_rejects_garbage() -> None:
    """Non-key text and bad base64 raise ValueError."""
    for bad in ("nonsense", "ssh-ed25519 !!!notbase64"):
        with pytest.raises(ValueError):
            parse_public_key(bad)


def test_known_hosts_parsing_filters_by_host_and_port() -> None:
    """Only plain lines naming the host (with [host]:port for other ports) are pinned; markers skipped."""
    text = f"# c\n[h]:2222 {ED}\nother {ED.replace('J', 'K')}\n@revoked h {ED}\n"
    text += "h,alias ssh-rsa AAAAB3NzaC1yc2E=\n"
    assert HostKeyPins.from_known_hosts(text, "h", 2222).fingerprints == (ED_FP,)
    assert len(HostKeyPins.from_known_hosts(text, "h").keys) == 1
    assert known_hosts_host("h", 22) == "h" and known_hosts_host("h", 2) == "[h]:2"


def test_cloud_init_console_blocks() -> None:
    """Full keys come from the KEYS block, extra fingerprints from the FINGERPRINTS block; MD5 is ignored."""
    pins = parse_cloud_init_console(CONSOLE)
    assert pins.fingerprints == (ED_FP, "SHA256:" + "A" * 43)
    assert pins.keys[0].public_key == ED
    assert pins.keys[1].family == "ecdsa" and pins.keys[1].public_key is None
    assert HostKeyPins.from_cloud_init_console(CONSOLE) == pins


def test_cloud_init_console_without_blocks_is_empty() -> None:
    """Console output from before cloud-init printed its keys gives no pins."""
    assert not parse_cloud_init_console("booting...\n-----BEGIN SSH HOST KEY KEYS-----\n")


def test_pin_forms() -> None:
    """Pins can be fingerprints, typed fingerprints, public keys or known_hosts lines."""
    assert parse_pin(ED_FP).keys[0].family == ""
    assert parse_pin(("ssh-ed25519", ED_FP)).keys[0].family == "ed25519"
    assert parse_pin(("ED25519", ED_FP)).keys[0].family == "ed25519"
    assert parse_pin(ED).fingerprints == parse_pin(f"[1.2.3.4]:22 {ED}").fingerprints == (ED_FP,)
    with pytest.raises(ValueError):
        HostKeyPins.from_fingerprints(["12:34:56"])


def test_pins_algorithms_and_known_hosts_lines() -> None:
    """Typed pins restrict host key algorithms; only full keys become known_hosts lines."""
    pins = HostKeyPins.from_public_keys([ED]) + HostKeyPins.from_fingerprints([("RSA", "SHA256:" + "B" * 43)])
    assert pins.families == {"ed25519", "rsa"}
    assert pins.host_key_algorithms() == ["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
    assert pins.known_hosts_lines("h", 22) == [f"h {ED}"]
    assert families_to_disable(pins, ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512"]) == [
        "ecdsa-sha2-nistp256"
    ]
    untyped = HostKeyPins.from_fingerprints([ED_FP])
    assert untyped.families == frozenset() and families_to_disable(untyped, ["ssh-ed25519"]) == []
    assert pins.accepts(ED_FP + "=") and not pins.accepts("SHA256:x")


def test_cloud_init_console_ignores_a_block_cut_off() -> None:
    """A block without its END line (console output still being written) does not replace a complete one."""
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB"  # the start of a key, cut off mid-line
    cut = CONSOLE + f"reboot\n-----BEGIN SSH HOST KEY KEYS-----\n{other}"
    assert parse_cloud_init_console(cut).fingerprints == parse_cloud_init_console(CONSOLE).fingerprints
    assert not parse_cloud_init_console(f"-----BEGIN SSH HOST KEY KEYS-----\n{ED} root@h\n")


def test_fingerprint_functions_stay_public_in_hostkeys() -> None:
    """Issue 12 moved them to transfer.fingerprints; transfer.hostkeys still exports them, as before."""
    import transfer.fingerprints
    import transfer.hostkeys

    assert {"fingerprint_of_key", "fingerprint_sha256"} <= set(transfer.hostkeys.__all__)
    assert transfer.hostkeys.fingerprint_sha256 is transfer.fingerprints.fingerprint_sha256
