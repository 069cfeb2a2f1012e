"""The sandbox's FSx backups and restores (the fsx module's extension), on the wire."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from drorch.sandbox import Sandbox

ACCOUNT, SOURCE, RECOVERY = "111111111111", "us-east-1", "us-east-2"
WINDOWS = {"ThroughputCapacity": 32, "DeploymentType": "SINGLE_AZ_2"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(strict=True) as running:
        yield running
        assert running.state.fidelity.violations == []


def fsx(sandbox: Sandbox, region: str) -> Any:
    return sandbox.admin_session(ACCOUNT, region).client("fsx")


def lifecycle(client: Any, fs_id: str) -> str:
    return client.describe_file_systems(FileSystemIds=[fs_id])["FileSystems"][0]["Lifecycle"]


def test_backup_copy_restore_and_delete_take_simulated_time(sandbox: Sandbox) -> None:
    source, recovery = fsx(sandbox, SOURCE), fsx(sandbox, RECOVERY)
    fs_id = source.create_file_system(
        FileSystemType="WINDOWS",
        StorageCapacity=32,
        SubnetIds=["subnet-0a1b2c3d"],
        WindowsConfiguration=WINDOWS,
        Tags=[{"Key": "Name", "Value": "wire"}],
    )["FileSystem"]["FileSystemId"]
    backup = source.create_backup(FileSystemId=fs_id)["Backup"]
    assert (backup["Lifecycle"], backup["Type"]) == ("CREATING", "USER_INITIATED")
    with pytest.raises(ClientError) as raised:
        recovery.copy_backup(SourceBackupId=backup["BackupId"], SourceRegion=SOURCE)
    assert raised.value.response["Error"]["Code"] == "SourceBackupUnavailable"
    sandbox.advance(600)
    copy = recovery.copy_backup(
        SourceBackupId=backup["BackupId"], SourceRegion=SOURCE, ClientRequestToken="copy-1"
    )["Backup"]
    again = recovery.copy_backup(
        SourceBackupId=backup["BackupId"], SourceRegion=SOURCE, ClientRequestToken="copy-1"
    )["Backup"]
    assert again["BackupId"] == copy["BackupId"] and copy["Lifecycle"] == "COPYING"
    assert copy["FileSystem"]["FileSystemId"] == fs_id
    with pytest.raises(ClientError) as raised:
        recovery.create_file_system_from_backup(
            BackupId=copy["BackupId"], SubnetIds=["subnet-0a1b2c3d4e"]
        )
    assert raised.value.response["Error"]["Code"] == "BadRequest"
    sandbox.advance(1200)
    [listed] = recovery.describe_backups(Filters=[{"Name": "file-system-id", "Values": [fs_id]}])[
        "Backups"
    ]
    assert (listed["Lifecycle"], listed["SourceBackupRegion"]) == ("AVAILABLE", SOURCE)

    restore = {
        "BackupId": copy["BackupId"],
        "SubnetIds": ["subnet-0a1b2c3d4e"],
        "ClientRequestToken": "r1",
    }
    made = recovery.create_file_system_from_backup(**restore)["FileSystem"]
    assert (
        recovery.create_file_system_from_backup(**restore)["FileSystem"]["FileSystemId"]
        == (made["FileSystemId"])
    )
    assert (made["Lifecycle"], made["FileSystemType"]) == ("CREATING", "WINDOWS")
    with pytest.raises(ClientError) as raised:
        recovery.delete_file_system(FileSystemId=made["FileSystemId"])
    assert raised.value.response["Error"]["Code"] == "BadRequest"
    sandbox.advance(1800)
    assert lifecycle(recovery, made["FileSystemId"]) == "AVAILABLE"

    deleted = recovery.delete_file_system(FileSystemId=made["FileSystemId"])
    assert deleted["Lifecycle"] == "DELETING"
    assert deleted["WindowsResponse"]["FinalBackupId"].startswith("backup-")
    sandbox.advance(600)
    assert recovery.describe_file_systems()["FileSystems"] == []


def test_a_restore_fault_ends_failed_with_failure_details(sandbox: Sandbox) -> None:
    source = fsx(sandbox, SOURCE)
    fs_id = source.create_file_system(
        FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=["subnet-0a1b2c3d"]
    )["FileSystem"]["FileSystemId"]
    backup = source.create_backup(FileSystemId=fs_id)["Backup"]["BackupId"]
    sandbox.advance(600)
    sandbox.faults.fail_fsx_restore(backup, message="No capacity in the zone")
    made = source.create_file_system_from_backup(BackupId=backup, SubnetIds=["subnet-0a1b2c3d4e"])
    fs = made["FileSystem"]["FileSystemId"]
    sandbox.advance(1800)
    [described] = source.describe_file_systems(FileSystemIds=[fs])["FileSystems"]
    assert described["Lifecycle"] == "FAILED"
    assert described["FailureDetails"] == {"Message": "No capacity in the zone"}
    with pytest.raises(ClientError) as raised:
        source.create_file_system_from_backup(
            BackupId="backup-0123456789abcdef0", SubnetIds=["subnet-0a1b2c3d4e"]
        )
    assert raised.value.response["Error"]["Code"] == "BackupNotFound"
