"""The IMDSv2 client against a loopback HTTP server that plays the instance metadata service."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from provisioning import EC2
from provisioning.metadata import DEFAULT_BASE_URL, InstanceMetadata, MetadataError

ROLE_DOC = {
    "Code": "Success",
    "Type": "AWS-HMAC",
    "AccessKeyId": "ASIAROLE",
    "SecretAccessKey": "role-secret",
    "Token": "role-token",
    "Expiration": "2030-01-01T00:00:00Z",
}

META: dict[str, str] = {
    "ami-id": "ami-0abc",
    "ami-launch-index": "0",
    "ami-manifest-path": "(unknown)",
    "ancestor-ami-ids": "ami-1\nami-2",
    "instance-action": "none",
    "instance-id": "i-0123456789abcdef0",
    "instance-type": "t3.micro",
    "local-hostname": "ip-10-0-0-5.ec2.internal",
    "local-ipv4": "10.0.0.5",
    "kernel-id": "aki-1",
    "mac": "0e:00:00:00:00:01",
    "placement/availability-zone": "us-east-1a",
    "placement/region": "us-east-1",
    "product-codes": "code1",
    "public-hostname": "ec2-1-2-3-4.compute-1.amazonaws.com",
    "public-ipv4": "1.2.3.4",
    "ramdisk-id": "ari-1",
    "reservation-id": "r-1",
    "security-groups": "web\nssh",
    "profile": "default-hvm",
    "block-device-mapping/": "ami\nroot\nebs1",
    "block-device-mapping/ami": "/dev/xvda",
    "block-device-mapping/root": "/dev/xvda",
    "block-device-mapping/ebs1": "sdf",
    "public-keys/": "0=my-key",
    "network/interfaces/macs/": "0e:00:00:00:00:01/",
    "network/interfaces/macs/0e:00:00:00:00:01/local-hostname": "ip-10-0-0-5.ec2.internal",
    "network/interfaces/macs/0e:00:00:00:00:01/local-ipv4s": "10.0.0.5\n10.0.0.6",
    "network/interfaces/macs/0e:00:00:00:00:01/public-ipv4s": "1.2.3.4",
    "network/interfaces/macs/0e:00:00:00:00:01/security-group-ids": "sg-1\nsg-2",
    "network/interfaces/macs/0e:00:00:00:00:01/subnet-id": "subnet-1",
    "network/interfaces/macs/0e:00:00:00:00:01/subnet-ipv4-cidr-block": "10.0.0.0/24",
    "network/interfaces/macs/0e:00:00:00:00:01/vpc-id": "vpc-1",
    "network/interfaces/macs/0e:00:00:00:00:01/vpc-ipv4-cidr-block": "10.0.0.0/16",
    "iam/info": json.dumps({"Code": "Success", "InstanceProfileArn": "arn:aws:iam::1:instance-profile/web"}),
    "iam/security-credentials/": "web-role",
    "iam/security-credentials/web-role": json.dumps(ROLE_DOC),
}


class FakeIMDS(http.server.ThreadingHTTPServer):
    """IMDSv2 on loopback: PUT issues tokens, GETs need a live one (401 otherwise), v1 GETs are refused."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.meta = dict(META)
        self.user_data: str | None = "#!/bin/sh\necho hi\n"
        self.tokens: set[str] = set()
        self.requests: list[tuple[str, str]] = []
        self.issued = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def revoke_tokens(self) -> None:
        self.tokens.clear()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FakeIMDS

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, code: int, body: str = "") -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self) -> None:
        self.server.requests.append(("PUT", self.path))
        if self.path != "/latest/api/token" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self._reply(400)
            return
        self.server.issued += 1
        token = f"token-{self.server.issued}"
        self.server.tokens.add(token)
        self._reply(200, token)

    def do_GET(self) -> None:
        self.server.requests.append(("GET", self.path))
        if self.headers.get("X-aws-ec2-metadata-token") not in self.server.tokens:
            self._reply(401)
            return
        if self.path == "/latest/user-data":
            self._reply(404) if self.server.user_data is None else self._reply(200, self.server.user_data)
            return
        prefix = "/latest/meta-data/"
        value = self.server.meta.get(self.path[len(prefix) :]) if self.path.startswith(prefix) else None
        self._reply(404) if value is None else self._reply(200, value)


@pytest.fixture
def imds() -> Iterator[FakeIMDS]:
    """A running fake metadata service on 127.0.0.1."""
    server = FakeIMDS()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_every_field(imds: FakeIMDS) -> None:
    """Every VM::EC2 metadata field reads from the service, token first."""
    md = EC2(region="us-east-1").instance_metadata(base_url=imds.url)
    assert imds.requests == []
    assert md.instance_id == "i-0123456789abcdef0"
    assert imds.requests[:2] == [("PUT", "/latest/api/token"), ("GET", "/latest/meta-data/instance-id")]
    assert (md.image_id, md.image_launch_index, md.ami_manifest_path) == ("ami-0abc", 0, "(unknown)")
    assert md.ancestor_ami_ids == ["ami-1", "ami-2"]
    assert (md.instance_action, md.instance_type, md.kernel_id, md.ramdisk_id) == (
        "none",
        "t3.micro",
        "aki-1",
        "ari-1",
    )
    assert (md.local_hostname, md.local_ipv4) == ("ip-10-0-0-5.ec2.internal", "10.0.0.5")
    assert (md.public_hostname, md.public_ipv4) == ("ec2-1-2-3-4.compute-1.amazonaws.com", "1.2.3.4")
    assert (md.mac, md.reservation_id, md.profile) == ("0e:00:00:00:00:01", "r-1", "default-hvm")
    assert (md.availability_zone, md.region) == ("us-east-1a", "us-east-1")
    assert md.endpoint == "https://ec2.us-east-1.amazonaws.com"
    assert md.product_codes == ["code1"] and md.security_groups == ["web", "ssh"]
    assert md.user_data == "#!/bin/sh\necho hi\n"
    assert md.block_device_mapping == {"ami": "/dev/xvda", "root": "/dev/xvda", "ebs1": "sdf"}
    assert md.public_keys == ["my-key"]
    assert md.interfaces == {
        "0e:00:00:00:00:01": {
            "mac": "0e:00:00:00:00:01",
            "local_hostname": "ip-10-0-0-5.ec2.internal",
            "local_ipv4s": ["10.0.0.5", "10.0.0.6"],
            "public_ipv4s": ["1.2.3.4"],
            "security_group_ids": ["sg-1", "sg-2"],
            "subnet_id": "subnet-1",
            "subnet_ipv4_cidr_block": "10.0.0.0/24",
            "vpc_id": "vpc-1",
            "vpc_ipv4_cidr_block": "10.0.0.0/16",
        }
    }
    assert md.iam_info == {"Code": "Success", "InstanceProfileArn": "arn:aws:iam::1:instance-profile/web"}
    assert md.iam_role == "web-role"
    creds = md.iam_credentials()
    assert creds is not None
    assert (creds.access_key_id, creds.secret_access_key, creds.session_token) == (
        "ASIAROLE",
        "role-secret",
        "role-token",
    )
    assert [r for r in imds.requests if r[0] == "PUT"] == [("PUT", "/latest/api/token")]


def test_vmec2_spellings_and_aliases(imds: FakeIMDS) -> None:
    """VM::EC2's mixedCase names and aliases resolve to the same fields."""
    md = InstanceMetadata(imds.url)
    assert md.imageId == md.image_id == "ami-0abc"
    assert md.privateIpAddress == md.private_ip_address == "10.0.0.5"
    assert md.ipAddress == md.dns_name.replace("ec2-", "").split(".")[0].replace("-", ".")
    assert md.imageLocation == "(unknown)" and md.imageAncestorIds == ["ami-1", "ami-2"]
    assert md.privateDnsName == "ip-10-0-0-5.ec2.internal" and md.availabilityZone == "us-east-1a"
    assert md.imageLaunchIndex == 0 and md.blockDeviceMapping["ebs1"] == "sdf"
    with pytest.raises(AttributeError):
        _ = md.no_such_field


def test_values_are_cached_until_clear(imds: FakeIMDS) -> None:
    """A field is fetched once; clear() forgets it."""
    md = InstanceMetadata(imds.url)
    assert md.instance_type == "t3.micro"
    imds.meta["instance-type"] = "m5.large"
    assert md.instance_type == "t3.micro"
    md.clear()
    assert md.instance_type == "m5.large"


def test_absent_values_are_none(imds: FakeIMDS) -> None:
    """Missing paths read as None or empty (no role, no user data, no public address)."""
    for key in ("public-ipv4", "iam/info", "iam/security-credentials/", "placement/region"):
        del imds.meta[key]
    imds.user_data = None
    md = InstanceMetadata(imds.url)
    assert md.public_ipv4 is None and md.iam_info is None and md.iam_role is None
    assert md.iam_credentials() is None and md.user_data is None
    assert md.region == "us-east-1"  # derived from the zone when placement/region is missing


def test_revoked_token_is_renewed_once(imds: FakeIMDS) -> None:
    """A 401 renews the token and retries the request once."""
    md = InstanceMetadata(imds.url)
    assert md.instance_id == "i-0123456789abcdef0"
    imds.revoke_tokens()
    assert md.get("meta-data/ami-id") == "ami-0abc"
    assert imds.issued == 2


def test_expired_token_is_renewed_by_clock(imds: FakeIMDS) -> None:
    """A token past its TTL is replaced before the next request."""
    now = [0.0]
    md = InstanceMetadata(imds.url, token_ttl=60, clock=lambda: now[0])
    assert md.token() == "token-1" and md.token() == "token-1"
    now[0] = 31.0
    assert md.token() == "token-2"


def test_token_refused_or_persistent_401(imds: FakeIMDS) -> None:
    """A service that refuses tokens, or keeps answering 401, raises MetadataError."""
    md = InstanceMetadata(imds.url)
    md.token()
    imds.tokens = _NeverValid()
    with pytest.raises(MetadataError, match="HTTP 401"):
        md.get("meta-data/ami-id")
    broken = InstanceMetadata(imds.url + "/nope")
    with pytest.raises(MetadataError, match="token request refused"):
        broken.instance_id  # noqa: B018


def test_not_on_ec2_fails_fast() -> None:
    """With nothing listening, the first field raises a clear MetadataError."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    md = InstanceMetadata(f"http://127.0.0.1:{port}", timeout=1.0)
    with pytest.raises(MetadataError, match=r"unreachable.*EC2 instance"):
        md.instance_id  # noqa: B018
    assert InstanceMetadata().base_url == DEFAULT_BASE_URL == "http://169.254.169.254"


def test_something_else_answering_is_metadata_error() -> None:
    """A service that does not speak HTTP at the address gives MetadataError, not http.client's errors."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer_garbage() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    try:
        md = InstanceMetadata(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=5.0)
        with pytest.raises(MetadataError, match="unreachable"):
            md.instance_id  # noqa: B018
    finally:
        thread.join(5)
        listener.close()


class _NeverValid(set[str]):
    """A token store that accepts nothing."""

    def __contains__(self, item: object) -> bool:
        return False
