"""fsx against the sandbox's FSx backups and restores (simulated clock).

The world: FSx for Windows file system ``home`` in us-east-1 (the account's source region)
with one backup, copied to us-east-2 (the recovery region, where every case runs).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from drorch.modules import REGISTRY, Module, ModuleIam
from drorch.sandbox.seeders import SeedContext, seed_resource
from tests.modules.contract import (
    Case,
    ModuleContract,
    Phase,
    Run,
    Staging,
    check_drill,
    check_iam,
    discover,
    idempotency_key,
    staging,
)

SOURCE = "us-east-1"
TAGS = {"dr:enabled": "true", "Application": "home"}
SELECTOR = {"tags": {"Application": "home"}}


class BothRegions:
    """The module as the staging stack deploys it: granted in the source and recovery
    Regions (copyFromRegion reads the source region's backups)."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.type = module.type
        self.is_disruptive = module.is_disruptive

    def iam(self, account_id: str, regions: list[str]) -> ModuleIam:
        return self.module.iam(account_id, [*regions, SOURCE])


def seeded(world: Staging, copy: bool = True) -> None:
    session = world.sandbox.admin_session(world.account_id, SOURCE)
    spec: dict[str, Any] = {
        "account": world.account.name,
        "type": "fsx-file-system",
        "name": "home",
        "tags": TAGS,
    }
    if copy:
        spec["copyBackupsTo"] = world.region
    seed_resource(SeedContext(session, world.account_id, SOURCE), spec)


def not_copied(world: Staging) -> None:
    seeded(world, copy=False)


def fsx(world: Staging, region: str | None = None) -> Any:
    return world.sandbox.admin_session(world.account_id, region or world.region).client("fsx")


def source_id(world: Staging) -> str:
    [found] = fsx(world, SOURCE).describe_file_systems()["FileSystems"]
    return found["FileSystemId"]


def params(world: Staging) -> dict[str, Any]:
    return {"subnetIds": world.sandbox.accounts[world.account_id].recovery_subnet_ids[:1]}


def tagged(world: Staging) -> dict[str, Any]:
    return {"subnetTags": {"Purpose": "recovery"}}


def copy_params(world: Staging) -> dict[str, Any]:
    return {**params(world), "copyFromRegion": SOURCE}


def file_systems(world: Staging) -> list[tuple[str, str]]:
    found = fsx(world).describe_file_systems()["FileSystems"]
    return sorted(
        (f["FileSystemId"], {t["Key"]: t["Value"] for t in f.get("Tags", [])}.get("Name", ""))
        for f in found
    )


def backups(world: Staging) -> list[str]:
    return sorted(b["BackupId"] for b in fsx(world).describe_backups()["Backups"])


def subnet_zone(world: Staging) -> Any:
    ec2 = world.admin("ec2")
    zones = {s["SubnetId"]: s["AvailabilityZone"] for s in ec2.describe_subnets()["Subnets"]}
    return lambda subnet: (zones[subnet], subnet)


def restored_and_deleted(world: Staging, run: Run) -> None:
    [activate] = run.phases[0].final.resources
    assert activate.id == source_id(world)
    copy = activate.detail["drillCopy"]
    assert activate.detail["name"].startswith("drorch-drill-")
    assert activate.detail["name"].endswith(f"-{activate.id}")
    [cleanup] = run.phases[1].final.resources
    assert cleanup.detail["deleted"] == [copy]
    assert file_systems(world) == []  # the copy is gone, nothing else was ever here
    assert len(fsx(world, SOURCE).describe_file_systems()["FileSystems"]) == 1


def recovered(world: Staging, run: Run) -> None:
    [activate] = run.phases[1].final.resources
    recovered_id = activate.detail["recoveredFileSystemId"]
    assert file_systems(world) == [(recovered_id, "home")]
    [described] = fsx(world).describe_file_systems(FileSystemIds=[recovered_id])["FileSystems"]
    assert described["Lifecycle"] == "AVAILABLE"
    assert described["FileSystemType"] == "WINDOWS"
    tags = {t["Key"]: t["Value"] for t in described["Tags"]}
    assert tags["drorch:recovered-from"] == activate.id
    subnets = world.sandbox.accounts[world.account_id].recovery_subnet_ids
    assert described["SubnetIds"] == [min(subnets, key=subnet_zone(world))]
    [cleanup] = run.phases[2].final.resources
    assert cleanup.detail == {"deleted": [], "note": "no drill copies"}


def failing(world: Staging) -> None:
    seeded(world)
    world.sandbox.faults.fail_fsx_restore(message="The backup's Active Directory is unreachable")


class TestFsxContract(ModuleContract):
    module = "fsx"
    cases = (
        Case(
            "drill",
            (
                Phase("ACTIVATE", params, poll_seconds=300),
                Phase("CLEANUP", params, poll_seconds=300),
            ),
            drill=True,
            seed=seeded,
            selector=SELECTOR,
            writes=(("fsx", "DeleteFileSystem"),),
            effect=file_systems,
            check=restored_and_deleted,
        ),
        Case(
            "failover",
            (
                Phase("INSTANTIATE", tagged),
                Phase("ACTIVATE", tagged, poll_seconds=300),
                Phase("CLEANUP", tagged),
                Phase("REPLICATE", tagged),
            ),
            seed=seeded,
            selector=SELECTOR,
            effect=file_systems,
            check=recovered,
        ),
        Case(
            "restore-failed",
            (
                Phase(
                    "ACTIVATE",
                    params,
                    expect="FAILED",
                    error="FAILED: The backup's Active Directory is unreachable",
                    poll_seconds=300,
                ),
            ),
            seed=failing,
            selector=SELECTOR,
            extra=True,
        ),
        Case(
            "backup-too-old",
            (
                Phase(
                    "ACTIVATE",
                    lambda world: {**params(world), "maxBackupAgeSeconds": 600},
                    expect="FAILED",
                    error="beyond maxBackupAgeSeconds 600",
                ),
            ),
            seed=seeded,
            selector=SELECTOR,
            extra=True,
        ),
    )

    def test_iam_covers_every_call(self, case: Case) -> None:
        check_iam(BothRegions(self.module_under_test()), self.run(case))  # type: ignore[arg-type]

    def test_drill_makes_no_disruptive_call(self, case: Case) -> None:
        check_drill(BothRegions(self.module_under_test()), self.run(case))  # type: ignore[arg-type]


def test_the_drill_guard_refuses_to_delete_anything_but_a_drill_copy() -> None:
    module = REGISTRY["fsx"]
    assert module.is_disruptive("DeleteFileSystem", {"FileSystemId": "fs-0123456789abcdef0"})
    assert module.is_disruptive(
        "DeleteFileSystem", {"FileSystemId": "fs-0123456789abcdef0", "ClientRequestToken": "x"}
    )
    assert not module.is_disruptive(
        "DeleteFileSystem",
        {"FileSystemId": "fs-0123456789abcdef0", "ClientRequestToken": "drorch-drill-0badc0de"},
    )
    assert module.is_disruptive("DeleteBackup", {"BackupId": "backup-0123456789abcdef0"})


def test_a_drill_refuses_to_delete_production_before_it_is_sent() -> None:
    module = REGISTRY["fsx"]
    case = Case("guard", (Phase("ACTIVATE"),), seed=seeded, selector=SELECTOR)
    with staging(case) as world:
        client = world.ctx(drill=True).client("fsx", region=SOURCE, guard=module.drill_guard(True))
        with pytest.raises(Exception, match="DeleteFileSystem is disruptive"):
            client.delete_file_system(FileSystemId=source_id(world))
        assert world.sandbox.faults.call_count("fsx", "DeleteFileSystem") == 0


def test_without_a_backup_in_the_recovery_region_it_says_how_to_get_one() -> None:
    module = REGISTRY["fsx"]
    case = Case("none", (Phase("ACTIVATE"),), seed=not_copied, selector=SELECTOR)
    with staging(case) as world:
        fs_id = source_id(world)
        resources = discover(module, world, Case("x", (), selector={"ids": [fs_id]}))
        state = module.start(
            world.ctx(), "ACTIVATE", resources, params(world), False, idempotency_key("ACTIVATE")
        )
        result = module.status(world.ctx(), "ACTIVATE", state)
    assert result.status == "FAILED"
    assert "set copyFromRegion" in result.resources[0].error


def test_a_throttled_restore_is_raised_for_the_state_machine_to_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda _: None)  # botocore's backoff
    module = REGISTRY["fsx"]
    case = Case("throttled", (Phase("ACTIVATE"),), seed=seeded, selector=SELECTOR)
    with staging(case) as world:
        resources = discover(module, world, case)
        world.sandbox.faults.throttle("fsx", "CreateFileSystemFromBackup", times=None)
        with pytest.raises(ClientError) as raised:
            module.start(
                world.ctx(), "ACTIVATE", resources, params(world), False, idempotency_key("A")
            )
        assert raised.value.response["Error"]["Code"] == "ThrottlingException"
        assert file_systems(world) == []


def test_a_failover_copies_the_newest_backup_from_the_source_region_once() -> None:
    module = REGISTRY["fsx"]
    case = Case("copy", (Phase("ACTIVATE"),), seed=not_copied)
    with staging(case) as world:
        fs_id = source_id(world)
        arn = f"arn:aws:fsx:{SOURCE}:{world.account_id}:file-system/{fs_id}"
        [resource] = module.discover(world.ctx(), {"ids": [arn]})
        assert (resource.id, resource.region) == (fs_id, SOURCE)
        key = idempotency_key("ACTIVATE")
        state = module.start(world.ctx(), "ACTIVATE", [resource], copy_params(world), False, key)
        state = module.start(world.ctx(), "ACTIVATE", [resource], copy_params(world), False, key)
        assert len(backups(world)) == 1  # the retried start got the first copy back
        for _ in range(30):
            world.sandbox.advance(300)
            result = module.status(world.ctx(), "ACTIVATE", state)
            if result.status != "RUNNING":
                break
            state = result.state
        assert result.status == "SUCCEEDED", result.summary()
        [activate] = result.resources
        [copy] = fsx(world).describe_backups()["Backups"]
        assert copy["SourceBackupRegion"] == SOURCE
        assert activate.detail["backupId"] == copy["BackupId"]
        assert activate.detail["copiedFrom"] == copy["SourceBackupId"]
        assert [n for _, n in file_systems(world)] == ["home"]


def test_readiness_reports_the_backed_up_file_systems() -> None:
    module = REGISTRY["fsx"]
    case = Case("ready", (Phase("ACTIVATE"),), seed=seeded)
    with staging(case) as world:
        session = world.sandbox.execution_session(world.account_id, world.region)
        [finding] = module.readiness(session, world.account_id, world.region)
        assert (finding.check, finding.result) == (f"FSx {source_id(world)}", "OK")
        assert finding.detail.startswith("1 AVAILABLE backup(s)")
        [empty] = module.readiness(session, world.account_id, "us-west-2")
        assert empty.result == "SKIP"


def test_a_failback_restores_nothing_in_the_recovery_region() -> None:
    module = REGISTRY["fsx"]
    case = Case("failback", (Phase("ACTIVATE"),), seed=seeded, selector=SELECTOR)
    with staging(case) as world:
        resources = discover(module, world, case)
        ctx = replace(world.ctx(), operation="failback")
        state = module.start(ctx, "ACTIVATE", resources, tagged(world), False, "k")
        result = module.status(ctx, "ACTIVATE", state)
        assert [r.status for r in result.resources] == ["SKIPPED"]
        assert "copy the backup to the original region" in result.resources[0].detail["note"]
        assert file_systems(world) == []
