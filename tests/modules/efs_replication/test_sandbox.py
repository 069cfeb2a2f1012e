"""The sandbox's EFS replication (the efs-replication module's extension), on the wire."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from drorch.sandbox import Sandbox

ACCOUNT, SOURCE, RECOVERY = "111111111111", "us-east-1", "us-east-2"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(strict=True) as running:
        yield running
        assert running.state.fidelity.violations == []


def efs(sandbox: Sandbox, region: str) -> Any:
    return sandbox.admin_session(ACCOUNT, region).client("efs")


def code(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def protection(client: Any, fs_id: str) -> str:
    [described] = client.describe_file_systems(FileSystemId=fs_id)["FileSystems"]
    return described["FileSystemProtection"]["ReplicationOverwriteProtection"]


def test_a_replication_enables_then_fails_over_and_back(sandbox: Sandbox) -> None:
    source, recovery = efs(sandbox, SOURCE), efs(sandbox, RECOVERY)
    primary = source.create_file_system(CreationToken="wire")["FileSystemId"]
    created = source.create_replication_configuration(
        SourceFileSystemId=primary, Destinations=[{"Region": RECOVERY}]
    )
    replica = created["Destinations"][0]["FileSystemId"]
    assert created["Destinations"][0]["Status"] == "ENABLING"
    assert protection(recovery, replica) == "REPLICATING"
    with pytest.raises(ClientError) as raised:  # a replica's protection cannot change
        recovery.update_file_system_protection(
            FileSystemId=replica, ReplicationOverwriteProtection="DISABLED"
        )
    assert code(raised) == ("ReplicationAlreadyExists", 409)
    with pytest.raises(ClientError) as raised:
        source.delete_file_system(FileSystemId=primary)
    assert code(raised) == ("FileSystemInUse", 409)

    sandbox.advance(1000)  # ENABLED 100 s ago: the first copy is the last one
    [seen] = recovery.describe_replication_configurations(FileSystemId=replica)["Replications"]
    destination = seen["Destinations"][0]
    assert (seen["SourceFileSystemId"], destination["Status"]) == (primary, "ENABLED")
    assert (sandbox.now() - destination["LastReplicatedTimestamp"]).total_seconds() == 100

    # failover, asked in the destination's region with the source's id
    recovery.delete_replication_configuration(SourceFileSystemId=primary)
    [seen] = source.describe_replication_configurations(FileSystemId=primary)["Replications"]
    assert seen["Destinations"][0]["Status"] == "DELETING"
    sandbox.advance(300)
    with pytest.raises(ClientError) as raised:
        recovery.describe_replication_configurations(FileSystemId=replica)
    assert code(raised) == ("ReplicationNotFound", 404)
    assert protection(recovery, replica) == "ENABLED"

    # failback needs the original's overwrite protection off
    reverse = {
        "SourceFileSystemId": replica,
        "Destinations": [{"Region": SOURCE, "FileSystemId": primary}],
    }
    with pytest.raises(ClientError) as raised:
        recovery.create_replication_configuration(**reverse)
    assert code(raised) == ("ValidationException", 400)
    source.update_file_system_protection(
        FileSystemId=primary, ReplicationOverwriteProtection="DISABLED"
    )
    back = recovery.create_replication_configuration(**reverse)
    assert back["OriginalSourceFileSystemArn"].endswith(primary)
    assert protection(source, primary) == "REPLICATING"


def test_errors_carry_the_members_the_model_requires(sandbox: Sandbox) -> None:
    recovery = efs(sandbox, RECOVERY)
    with pytest.raises(ClientError) as raised:
        recovery.describe_replication_configurations(FileSystemId="fs-0123456789abcdef0")
    assert code(raised) == ("FileSystemNotFound", 404)
    assert raised.value.response["ErrorCode"] == "FileSystemNotFound"
    with pytest.raises(ClientError) as raised:
        recovery.delete_replication_configuration(SourceFileSystemId="fs-0123456789abcdef0")
    assert code(raised) == ("ReplicationNotFound", 404)
