"""rds-instance against the sandbox's RDS instances (simulated clock).

The world: ``billing-db`` (PostgreSQL, Multi-AZ) in us-east-1, the account's source
Region, and its cross-region read replica ``billing-db-dr`` (Multi-AZ) in us-east-2, the
recovery Region where every case runs.

REPLICATE creates the failback replica in us-east-1: the staging stack grants a module
both of the account's Regions (``stacks/staging.py``), so the IAM check here evaluates
the module's statements for both (the kit's default is the recovery Region alone).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from drorch.modules import REGISTRY, Module
from drorch.modules.base import DrillSafetyError, ModuleIam
from drorch.sandbox.seeders import SeedContext, seed_resource
from tests.modules.contract import (
    Case,
    ModuleContract,
    Phase,
    Run,
    Staging,
    check_iam,
    discover,
    idempotency_key,
    run_in,
    staging,
)

SOURCE = "us-east-1"
SOURCE_ARN = f"arn:aws:rds:{SOURCE}:111111111111:db:billing-db"
REPLICA_ARN = "arn:aws:rds:us-east-2:111111111111:db:billing-db-dr"
TAGS = {"dr:enabled": "true", "dr:wave": "1", "Application": "billing"}
SELECTOR = {"tags": {"Application": "billing"}}


def replica(world: Staging) -> None:
    for region, spec in (
        (SOURCE, {"name": "billing-db"}),
        (
            world.region,
            {"name": "billing-db-dr", "readReplicaOf": "billing-db", "sourceRegion": SOURCE},
        ),
    ):
        session = world.sandbox.admin_session(world.account_id, region)
        seed_resource(
            SeedContext(session, world.account_id, region),
            {
                "account": world.account.name,
                "type": "rds-instance",
                "engine": "postgres",
                "class": "db.m6g.large",
                "multiAz": True,
                "tags": TAGS,
                **spec,
            },
        )


def described(world: Staging, region: str | None = None) -> dict[str, dict[str, Any]]:
    rds = world.sandbox.admin_session(world.account_id, region or world.region).client("rds")
    return {i["DBInstanceIdentifier"]: i for i in rds.describe_db_instances()["DBInstances"]}


def picture(world: Staging) -> Any:
    """What a retried start must not change: the instances, their roles and zones."""
    return {
        name: (
            i["DBInstanceStatus"] == "available",
            i.get("ReadReplicaSourceDBInstanceIdentifier"),
            i["AvailabilityZone"],
        )
        for name, i in described(world).items()
    }


def untouched(world: Staging) -> None:
    instances = described(world)
    assert sorted(instances) == ["billing-db-dr"]
    assert instances["billing-db-dr"]["ReadReplicaSourceDBInstanceIdentifier"] == SOURCE_ARN
    assert instances["billing-db-dr"]["AvailabilityZone"] == "us-east-2a"


def drilled(world: Staging, run: Run) -> None:
    untouched(world)
    [copy] = run.phases[0].final.resources
    assert copy.detail["copy"].startswith("drorch-drill-billing-db-dr-")
    assert copy.detail["durationSeconds"] >= 900
    [cleanup] = run.phases[1].final.resources
    assert cleanup.detail["deleted"] == [copy.detail["copy"]]


def reboot_skipped(world: Staging, run: Run) -> None:
    untouched(world)
    [result] = run.phases[0].final.resources
    assert (
        result.status == "SKIPPED" and "restarts the production instance" in result.detail["note"]
    )
    # the skipped reboot only reads: no call but a Describe* (RebootDBInstance above all)
    assert all(c.operation.startswith("Describe") for c in run.calls), run.calls


def promoted(world: Staging, run: Run) -> None:
    instance = described(world)["billing-db-dr"]
    assert instance.get("ReadReplicaSourceDBInstanceIdentifier") is None
    [activate] = run.phases[0].final.resources
    assert activate.detail["formerSource"] == SOURCE_ARN
    assert activate.detail["replicaLagSeconds"] == pytest.approx(2.0)
    assert activate.detail["durationSeconds"] >= 300
    failback = described(world, SOURCE)["billing-db-failback"]
    assert failback["ReadReplicaSourceDBInstanceIdentifier"] == REPLICA_ARN
    assert failback["DBInstanceStatus"] == "available"
    [replicate] = run.phases[1].final.resources
    assert replicate.detail["replica"] == "billing-db-failback"


def rebooted(world: Staging, run: Run) -> None:
    instance = described(world)["billing-db-dr"]
    assert instance["AvailabilityZone"] == "us-east-2b"
    [activate] = run.phases[0].final.resources
    assert (activate.detail["fromZone"], activate.detail["zone"]) == ("us-east-2a", "us-east-2b")


def failing_promotion(world: Staging) -> None:
    replica(world)
    world.sandbox.faults.fail_rds_failover("billing-db-dr")


def failing_reboot(world: Staging) -> None:
    replica(world)
    world.sandbox.faults.fail_rds_failover("billing-db-dr")


def lagging(world: Staging) -> None:
    replica(world)
    world.sandbox.faults.lag_rds_replication("billing-db-dr", 900, region="us-east-2")


def still_replica(world: Staging, run: Run) -> None:
    instance = described(world)["billing-db-dr"]
    assert instance["ReadReplicaSourceDBInstanceIdentifier"] == SOURCE_ARN


def not_requested(world: Staging, run: Run) -> None:
    still_replica(world, run)
    assert "PromoteReadReplica" not in {c.operation for c in run.attempts}


class BothRegions:
    """The module as the staging stack deploys it: granted in the source and recovery
    Regions."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.type = module.type

    def iam(self, account_id: str, regions: list[str]) -> ModuleIam:
        return self.module.iam(account_id, [*regions, SOURCE])


PROMOTE = Phase("ACTIVATE", {"mode": "promote", "maxReplicaLagSeconds": 60})
REBOOT = Phase("ACTIVATE", {"mode": "reboot-failover"})


class TestRdsInstanceContract(ModuleContract):
    module = "rds-instance"
    cases = (
        Case(
            "drill",
            (Phase("ACTIVATE", poll_seconds=120), Phase("CLEANUP")),
            drill=True,
            seed=replica,
            selector=SELECTOR,
            writes=(("rds", "RestoreDBInstanceToPointInTime"), ("rds", "DeleteDBInstance")),
            effect=picture,
            check=drilled,
        ),
        Case(
            "drill-skips-reboot-failover",
            (REBOOT,),
            drill=True,
            seed=replica,
            selector=SELECTOR,
            effect=picture,
            check=reboot_skipped,
        ),
        Case(
            "promote",
            (PROMOTE, Phase("REPLICATE", poll_seconds=300)),
            seed=replica,
            selector={"ids": ["billing-db-dr"]},
            writes=(
                ("rds", "PromoteReadReplica"),
                ("rds", "AddTagsToResource"),
                ("rds", "CreateDBInstanceReadReplica"),
            ),
            effect=picture,
            check=promoted,
        ),
        Case(
            "reboot-failover",
            (REBOOT,),
            seed=replica,
            selector={"ids": [REPLICA_ARN]},
            writes=(("rds", "RebootDBInstance"), ("rds", "AddTagsToResource")),
            effect=picture,
            check=rebooted,
        ),
        Case(
            "promotion-that-fails",
            (
                Phase(
                    "ACTIVATE",
                    expect="FAILED",
                    error="the promotion ended and billing-db-dr is still a read replica",
                ),
            ),
            seed=failing_promotion,
            selector=SELECTOR,
            check=still_replica,
            extra=True,
        ),
        Case(
            "reboot-failover-that-does-not-fail-over",
            (
                Phase(
                    "ACTIVATE",
                    {"mode": "reboot-failover"},
                    expect="FAILED",
                    error="no failover happened",
                ),
            ),
            seed=failing_reboot,
            selector=SELECTOR,
            extra=True,
        ),
        Case(
            "lag-too-high-refuses-the-promotion",
            (Phase("ACTIVATE", PROMOTE.params, expect="FAILED", error="replica lag 900.0 s"),),
            seed=lagging,
            selector=SELECTOR,
            check=not_requested,
            extra=True,
        ),
    )

    def test_iam_covers_every_call(self, case: Case) -> None:
        check_iam(BothRegions(self.module_under_test()), self.run(case))  # type: ignore[arg-type]


def test_a_throttled_promotion_is_raised_for_the_state_machine_to_retry() -> None:
    module = REGISTRY["rds-instance"]
    case = Case("throttled", (PROMOTE,), seed=replica, selector=SELECTOR)
    with staging(case) as world:
        resources = discover(module, world, case)
        world.sandbox.faults.throttle("rds", "PromoteReadReplica", times=None)
        with pytest.raises(ClientError) as raised:
            module.start(world.ctx(), "ACTIVATE", resources, {}, False, idempotency_key("ACTIVATE"))
        assert raised.value.response["Error"]["Code"] == "ThrottlingException"
        world.sandbox.faults.clear()
        # the state machine's retry: the same key, and the promotion goes ahead
        run = run_in(module, world, case)
        assert run.error is None and run.phases[0].final.status == "SUCCEEDED"
        assert (
            described(world)["billing-db-dr"].get("ReadReplicaSourceDBInstanceIdentifier") is None
        )


def test_the_drill_guard_refuses_what_a_drill_must_not_do() -> None:
    guard = REGISTRY["rds-instance"].drill_guard(True)
    assert guard is not None
    for operation, params in (
        ("PromoteReadReplica", {"DBInstanceIdentifier": "billing-db-dr"}),
        ("RebootDBInstance", {"DBInstanceIdentifier": "billing-db-dr", "ForceFailover": True}),
        ("DeleteDBInstance", {"DBInstanceIdentifier": "billing-db-dr"}),
        ("ModifyDBInstance", {"DBInstanceIdentifier": "drorch-drill-billing-db-dr-1"}),
        ("AddTagsToResource", {"ResourceName": REPLICA_ARN}),
    ):
        with pytest.raises(DrillSafetyError, match=operation):
            guard(operation, params)
    guard("DeleteDBInstance", {"DBInstanceIdentifier": "drorch-drill-billing-db-dr-1a2b3c4d"})


def test_readiness_reports_each_replica_and_its_lag() -> None:
    module = REGISTRY["rds-instance"]
    case = Case("readiness", (PROMOTE,), seed=lagging, selector=SELECTOR)
    with staging(case) as world:
        session = world.sandbox.execution_session(world.account_id)
        [finding] = module.readiness(session, world.account_id, world.region)
    assert finding.result == "WARNING"
    assert "billing-db-dr" in finding.check and "900 s" in finding.detail
