"""efs-replication against the sandbox's EFS replication (simulated clock).

The world: EFS file system ``shared`` in us-east-1 (the account's source region),
replicated to a replica in us-east-2 (the recovery region, where every case runs).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

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
TAGS = {"dr:enabled": "true", "Application": "shared"}
SELECTOR = {"tags": {"Application": "shared"}}
WRITES = (
    ("efs", "DeleteReplicationConfiguration"),
    ("efs", "CreateReplicationConfiguration"),
    ("efs", "UpdateFileSystemProtection"),
)


class BothRegions:
    """The module as the staging stack deploys it: granted in the source and recovery
    Regions (the failback disables the original file system's protection there)."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.type = module.type
        self.is_disruptive = module.is_disruptive

    def iam(self, account_id: str, regions: list[str]) -> ModuleIam:
        return self.module.iam(account_id, [*regions, SOURCE])


def replicated(world: Staging) -> None:
    session = world.sandbox.admin_session(world.account_id, SOURCE)
    seed_resource(
        SeedContext(session, world.account_id, SOURCE),
        {
            "account": world.account.name,
            "type": "efs-file-system",
            "name": "shared",
            "mountTargets": False,
            "replicationRegion": world.region,
            "tags": TAGS,
        },
    )


def efs(world: Staging, region: str | None = None) -> object:
    return world.sandbox.admin_session(world.account_id, region or world.region).client("efs")


def ids(world: Staging) -> tuple[str, str]:
    """(source in us-east-1, replica in us-east-2)."""
    [source] = efs(world, SOURCE).describe_file_systems()["FileSystems"]
    [replica] = efs(world).describe_file_systems()["FileSystems"]
    return source["FileSystemId"], replica["FileSystemId"]


def replications(world: Staging) -> list[tuple[str, str, str]]:
    found = efs(world).describe_replication_configurations()["Replications"]
    return [
        (
            r["SourceFileSystemId"],
            r["Destinations"][0]["FileSystemId"],
            r["Destinations"][0]["Status"],
        )
        for r in found
    ]


def untouched(world: Staging, run: Run) -> None:
    source, replica = ids(world)
    assert replications(world) == [(source, replica, "ENABLED")]
    [activate] = run.phases[0].final.resources
    assert activate.detail["sourceFileSystemId"] == source
    assert activate.detail["secondsBehind"] == pytest.approx(120, abs=1)
    [cleanup] = run.phases[1].final.resources
    assert cleanup.status == "SKIPPED"
    writes = [c for c in run.calls if not c.operation.startswith("Describe")]
    assert writes == []


def failed_over_and_back(world: Staging, run: Run) -> None:
    source, replica = ids(world)
    [activate] = run.phases[1].final.resources
    assert activate.detail["sourceFileSystemId"] == source
    assert activate.detail["sourceRegion"] == SOURCE
    assert activate.detail["destinationFileSystemId"] == replica
    assert activate.detail["replicationOverwriteProtection"] == "ENABLED"
    # failback: the recovery file system replicates over the original one
    assert replications(world) == [(replica, source, "ENABLED")]
    [original] = efs(world, SOURCE).describe_file_systems()["FileSystems"]
    assert original["FileSystemProtection"]["ReplicationOverwriteProtection"] == "REPLICATING"


def in_error(world: Staging) -> None:
    replicated(world)
    world.sandbox.faults.fail_efs_replication(ids(world)[1], message="Destination unreachable")


def lagging(world: Staging) -> None:
    replicated(world)
    world.sandbox.faults.lag_efs_replication(ids(world)[0], 7200)


def stuck(world: Staging) -> None:
    replicated(world)
    world.sandbox.faults.stick_efs_replication_deletion(ids(world)[0])


class TestEfsReplicationContract(ModuleContract):
    module = "efs-replication"
    cases = (
        Case(
            "drill",
            (Phase("ACTIVATE"), Phase("CLEANUP")),
            drill=True,
            seed=replicated,
            selector=SELECTOR,
            check=untouched,
        ),
        Case(
            "failover-and-failback",
            (
                Phase("INSTANTIATE"),
                Phase("ACTIVATE"),
                Phase("REPLICATE", poll_seconds=120),
            ),
            seed=replicated,
            selector=SELECTOR,
            writes=WRITES,
            effect=replications,
            check=failed_over_and_back,
        ),
        Case(
            "drill-replication-in-error",
            (
                Phase(
                    "ACTIVATE",
                    expect="FAILED",
                    error="the replication is ERROR: Destination unreachable",
                ),
            ),
            drill=True,
            seed=in_error,
            selector=SELECTOR,
            extra=True,
        ),
        Case(
            "drill-beyond-rpo",
            (
                Phase(
                    "ACTIVATE", {"rpoSeconds": 900}, expect="FAILED", error="beyond rpoSeconds 900"
                ),
            ),
            drill=True,
            seed=lagging,
            selector=SELECTOR,
            extra=True,
        ),
        Case(
            "failover-delete-stuck",
            (
                Phase(
                    "ACTIVATE",
                    {"maxWaitSeconds": 1800},
                    expect="FAILED",
                    error="still DELETING after",
                    poll_seconds=300,
                ),
            ),
            seed=stuck,
            selector=SELECTOR,
            extra=True,
        ),
    )

    def test_iam_covers_every_call(self, case: Case) -> None:
        check_iam(BothRegions(self.module_under_test()), self.run(case))  # type: ignore[arg-type]

    def test_drill_makes_no_disruptive_call(self, case: Case) -> None:
        check_drill(BothRegions(self.module_under_test()), self.run(case))  # type: ignore[arg-type]


def test_the_drill_guard_refuses_every_efs_write() -> None:
    module = REGISTRY["efs-replication"]
    for operation in (
        "DeleteReplicationConfiguration",
        "CreateReplicationConfiguration",
        "UpdateFileSystemProtection",
        "DeleteFileSystem",
    ):
        assert module.is_disruptive(operation, {"FileSystemId": "fs-0123456789abcdef0"})
    assert module.iam("111111111111", ["us-east-2"]).drill_safe == []


def test_the_replica_becomes_writable_only_after_the_deletion_finishes() -> None:
    module = REGISTRY["efs-replication"]
    case = Case("slow", (Phase("ACTIVATE"),), seed=replicated, selector=SELECTOR)
    with staging(case) as world:
        resources = discover(module, world, case)
        key = idempotency_key("ACTIVATE")
        state = module.start(world.ctx(), "ACTIVATE", resources, {}, False, key)
        world.sandbox.advance(60)
        result = module.status(world.ctx(), "ACTIVATE", state)
        assert result.status == "RUNNING"
        assert result.resources[0].detail["replicationStatus"] == "DELETING"
        world.sandbox.advance(300)
        result = module.status(world.ctx(), "ACTIVATE", result.state)
        assert result.status == "SUCCEEDED"
        assert replications(world) == []


def test_a_failback_without_a_recorded_failover_says_so() -> None:
    module = REGISTRY["efs-replication"]
    case = Case("unrecorded", (Phase("REPLICATE"),), seed=replicated, selector=SELECTOR)
    with staging(case) as world:
        resources = discover(module, world, case)
        state = module.start(
            world.ctx(), "REPLICATE", resources, {}, False, idempotency_key("REPLICATE")
        )
        result = module.status(world.ctx(), "REPLICATE", state)
    assert result.status == "FAILED"
    assert "the original file system to fail back to is not known" in result.resources[0].error


def test_a_replication_source_in_the_recovery_region_is_excluded() -> None:
    module = REGISTRY["efs-replication"]

    def outwards(world: Staging) -> None:
        session = world.sandbox.admin_session(world.account_id, world.region)
        seed_resource(
            SeedContext(session, world.account_id, world.region),
            {
                "account": world.account.name,
                "type": "efs-file-system",
                "name": "outbound",
                "mountTargets": False,
                "replicationRegion": SOURCE,
                "tags": TAGS,
            },
        )

    case = Case("outbound", (Phase("ACTIVATE"),), seed=outwards, selector=SELECTOR)
    with staging(case) as world:
        found = module.discover(world.ctx(), SELECTOR)
    assert list(found) == []
    assert [e.reasons for e in found.excluded] == [
        ("the source of a replication to us-east-1: a primary, not a replica",)
    ]


def test_readiness_reports_each_replica_and_its_state() -> None:
    module = REGISTRY["efs-replication"]
    case = Case("ready", (Phase("ACTIVATE"),), seed=in_error)
    with staging(case) as world:
        session = world.sandbox.execution_session(world.account_id, world.region)
        [finding] = module.readiness(session, world.account_id, world.region)
        assert (finding.check, finding.result) == (f"EFS {ids(world)[1]}", "FAIL")
        assert "ERROR Destination unreachable" in finding.detail
        world.sandbox.faults.storage_faults.clear()
        [finding] = module.readiness(session, world.account_id, world.region)
        assert finding.result == "OK"
        [empty] = module.readiness(session, world.account_id, "us-west-2")
        assert empty.result == "SKIP"


def drive(module: Module, ctx_of: Any, world: Staging, phase: str, resources: list, **kw: Any):
    """The executor loop for one phase (start, then status until it is not RUNNING)."""
    state = module.start(ctx_of(), phase, resources, kw, False, idempotency_key(phase))
    for _ in range(40):
        world.sandbox.advance(float(state.get("waitSeconds") or 60))
        result = module.status(ctx_of(), phase, state)
        if result.status != "RUNNING":
            return result
        state = result.state
    raise AssertionError(f"{phase} still RUNNING")


def test_a_failback_moves_production_back_and_replicates_the_original_again() -> None:
    module = REGISTRY["efs-replication"]
    case = Case("failback", (Phase("ACTIVATE"),), seed=replicated, selector=SELECTOR)
    with staging(case) as world:
        source, replica = ids(world)
        resources = discover(module, world, case)
        failover = drive(
            module, lambda: replace(world.ctx(), operation="failover"), world, "ACTIVATE", resources
        )
        assert failover.status == "SUCCEEDED"
        recorded = {r.id: r.detail for r in failover.resources}

        def failback() -> Any:
            return replace(world.ctx(recorded=recorded), operation="failback")

        assert drive(module, failback, world, "REPLICATE", resources).status == "SUCCEEDED"
        assert replications(world) == [(replica, source, "ENABLED")]
        result = drive(module, failback, world, "ACTIVATE", resources)
        assert result.status == "SUCCEEDED", result.summary()
        assert result.resources[0].detail["originalWritable"] is True
        # production is back on the original, which replicates to the recovery region again
        assert replications(world) == [(source, replica, "ENABLING")]
        [original] = efs(world, SOURCE).describe_file_systems()["FileSystems"]
        assert original["FileSystemProtection"]["ReplicationOverwriteProtection"] == "ENABLED"
        world.sandbox.advance(900)
        assert replications(world) == [(source, replica, "ENABLED")]
