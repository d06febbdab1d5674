"""The EBS direct APIs in the sandbox behave as on AWS: 512 KiB blocks written into the snapshot's file,
pending until completed, every put validated, the parent's blocks inherited, List/Get answered for any
snapshot (also CreateSnapshot's), throttling applied."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from provisioning import EC2
from provisioning.ebs import BLOCK_SIZE, put_block_args, read_block_body
from staging.sandbox import Faults, Sandbox

pytestmark = [pytest.mark.root, pytest.mark.slow]

BLOCK = 512 * 1024


def ebs_client(cloud: Sandbox, *, retries: int = 3) -> Any:
    """A plain boto3 ``ebs`` client pointed at the sandbox (us-east-1)."""
    env = cloud.env("us-east-1")
    return boto3.client(
        "ebs",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"mode": "standard", "max_attempts": retries}),
    )


def block(fill: int) -> bytes:
    """One 512 KiB block of byte ``fill``."""
    return bytes([fill]) * BLOCK


def put(ebs: Any, snapshot_id: str, index: int, data: bytes, *, digest: str | None = None) -> None:
    """PutSnapshotBlock with the right checksum (or ``digest``)."""
    ebs.put_snapshot_block(
        SnapshotId=snapshot_id,
        BlockIndex=index,
        BlockData=data,
        DataLength=len(data),
        Checksum=digest or base64.b64encode(hashlib.sha256(data).digest()).decode(),
        ChecksumAlgorithm="SHA256",
    )


def code(exc: ClientError) -> str:
    """The AWS error code of ``exc``."""
    return str(exc.response["Error"]["Code"])


def get(ebs: Any, snapshot_id: str, index: int, token: str) -> bytes:
    """GetSnapshotBlock's bytes."""
    data: bytes = ebs.get_snapshot_block(SnapshotId=snapshot_id, BlockIndex=index, BlockToken=token)[
        "BlockData"
    ].read()
    return data


def test_direct_snapshots_are_validated_pending_inherited_and_diffed(
    cloud: Sandbox, east: Any, track: Any
) -> None:
    ebs = ebs_client(cloud)
    volumes_before = {v["VolumeId"] for v in east.describe_volumes()["Volumes"]}
    started = ebs.start_snapshot(VolumeSize=1, Tags=[{"Key": "Name", "Value": "direct"}], Timeout=60)
    first = started["SnapshotId"]
    track.snapshots.append(("us-east-1", first))
    assert (started["BlockSize"], started["Status"]) == (BLOCK, "pending")
    described = east.describe_snapshots(SnapshotIds=[first])["Snapshots"][0]
    assert (described["State"], described["VolumeId"], described["VolumeSize"]) == (
        "pending",
        "vol-ffffffff",
        1,
    )
    assert {"Key": "Name", "Value": "direct"} in described["Tags"]
    assert {v["VolumeId"] for v in east.describe_volumes()["Volumes"]} == volumes_before  # no stray volume

    for data, index, digest in (
        (block(1), 0, base64.b64encode(b"x" * 32).decode()),  # wrong checksum
        (b"\1" * 4096, 0, None),  # not 512 KiB
        (block(1), 10_000_000, None),  # past the volume's 2048 blocks
    ):
        with pytest.raises(ClientError) as info:
            put(ebs, first, index, data, digest=digest)
        assert code(info.value) == "ValidationException"
    put(ebs, first, 0, block(1))
    put(ebs, first, 5, block(2))
    with pytest.raises(ClientError) as info:  # not readable before completion
        ebs.list_snapshot_blocks(SnapshotId=first)
    assert code(info.value) == "ValidationException"
    assert ebs.complete_snapshot(SnapshotId=first, ChangedBlocksCount=2)["Status"] == "completed"
    assert east.describe_snapshots(SnapshotIds=[first])["Snapshots"][0]["State"] == "completed"
    with pytest.raises(ClientError) as info:
        put(ebs, first, 1, block(3))
    assert code(info.value) == "ValidationException"

    listed = ebs.list_snapshot_blocks(SnapshotId=first)
    assert [b["BlockIndex"] for b in listed["Blocks"]] == [0, 5]
    assert (listed["VolumeSize"], listed["BlockSize"]) == (1, BLOCK)
    tokens = {b["BlockIndex"]: b["BlockToken"] for b in listed["Blocks"]}
    assert tokens == {
        b["BlockIndex"]: b["BlockToken"] for b in ebs.list_snapshot_blocks(SnapshotId=first)["Blocks"]
    }
    assert get(ebs, first, 5, tokens[5]) == block(2)
    with pytest.raises(ClientError) as info:
        get(ebs, first, 0, tokens[5])  # another block's token
    assert code(info.value) == "ValidationException"
    with pytest.raises(ClientError) as info:
        ebs.list_snapshot_blocks(SnapshotId="snap-0123456789abcdef0")
    assert code(info.value) == "ResourceNotFoundException"

    second = ebs.start_snapshot(VolumeSize=1, ParentSnapshotId=first)["SnapshotId"]
    track.snapshots.append(("us-east-1", second))
    put(ebs, second, 5, block(4))
    put(ebs, second, 7, block(5))
    for index in range(100, 201):  # enough for two pages
        put(ebs, second, index, block(6))
    assert ebs.complete_snapshot(SnapshotId=second, ChangedBlocksCount=103)["Status"] == "completed"
    page = ebs.list_changed_blocks(FirstSnapshotId=first, SecondSnapshotId=second, MaxResults=100)
    assert [b["BlockIndex"] for b in page["ChangedBlocks"]][:3] == [5, 7, 100]
    assert len(page["ChangedBlocks"]) == 100
    rest = ebs.list_changed_blocks(
        FirstSnapshotId=first, SecondSnapshotId=second, NextToken=page["NextToken"]
    )
    assert [b["BlockIndex"] for b in rest["ChangedBlocks"]] == [198, 199, 200] and "NextToken" not in rest
    inherited = {
        b["BlockIndex"]: b["BlockToken"] for b in ebs.list_snapshot_blocks(SnapshotId=second)["Blocks"]
    }
    assert get(ebs, second, 0, inherited[0]) == block(1)  # the parent's block

    # A volume from the direct snapshot carries its bytes; CreateSnapshot's snapshot answers the direct reads.
    volume_id = east.create_volume(Size=1, AvailabilityZone="us-east-1a", SnapshotId=second)["VolumeId"]
    track.volumes.append(("us-east-1", volume_id))
    copy = east.create_snapshot(VolumeId=volume_id)["SnapshotId"]
    track.snapshots.append(("us-east-1", copy))
    assert ebs.list_changed_blocks(FirstSnapshotId=second, SecondSnapshotId=copy)["ChangedBlocks"] == []
    copied = {b["BlockIndex"]: b["BlockToken"] for b in ebs.list_snapshot_blocks(SnapshotId=copy)["Blocks"]}
    assert sorted(copied) == sorted(inherited)
    assert get(ebs, copy, 7, copied[7]) == block(5)


def test_a_wrong_changed_block_count_fails_the_snapshot(cloud: Sandbox, east: Any, track: Any) -> None:
    ebs = ebs_client(cloud)
    snapshot_id = ebs.start_snapshot(VolumeSize=1)["SnapshotId"]
    track.snapshots.append(("us-east-1", snapshot_id))
    put(ebs, snapshot_id, 3, block(9))
    assert ebs.complete_snapshot(SnapshotId=snapshot_id, ChangedBlocksCount=2)["Status"] == "error"
    assert east.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"][0]["State"] == "error"


def test_throttling_applies_to_the_direct_calls(faulty: Sandbox) -> None:
    faulty.set_faults(Faults(throttle_rate=1.0, seed=1))
    with pytest.raises(ClientError) as info:
        ebs_client(faulty, retries=1).start_snapshot(VolumeSize=1)
    assert code(info.value) == "RequestThrottledException"


def test_the_facade_carries_the_direct_calls(cloud: Sandbox, track: Any) -> None:
    """``ec2.ebs`` (snake and MixedCase names) with the checksum and body helpers of provisioning.ebs."""
    ec2 = EC2(endpoint=cloud.endpoint, region="us-east-1", environ=cloud.env("us-east-1"))
    started = ec2.ebs.start_snapshot(VolumeSize=1)
    snapshot_id = started.SnapshotId
    track.snapshots.append(("us-east-1", snapshot_id))
    assert started.BlockSize == BLOCK_SIZE
    ec2.ebs.PutSnapshotBlock(**put_block_args(snapshot_id, 2, block(7)))
    assert ec2.ebs.complete_snapshot(SnapshotId=snapshot_id, ChangedBlocksCount=1) == "completed"
    listed = ec2.ebs.list_snapshot_blocks(SnapshotId=snapshot_id)
    token = listed.Blocks[0].BlockToken
    answer = ec2.ebs.get_snapshot_block(SnapshotId=snapshot_id, BlockIndex=2, BlockToken=token)
    assert read_block_body(answer) == block(7)
