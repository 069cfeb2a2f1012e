"""aurora-global against the sandbox's Aurora global databases (simulated clock).

The world: global database ``orders-global`` with its primary ``orders-db`` (two
instances) in us-east-1 (the account's source Region) and its secondary ``orders-db-dr``
(one instance) in us-east-2 (the recovery Region, where every case runs).

A switchover checks the primary's health in us-east-1 and a failback builds there: the
staging stack grants a module both of the account's Regions (``stacks/staging.py``), so
the IAM check here evaluates the module's statements for both (the kit's default is the
recovery Region alone).
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
PRIMARY = f"arn:aws:rds:{SOURCE}:111111111111:cluster:orders-db"
SECONDARY = "arn:aws:rds:us-east-2:111111111111:cluster:orders-db-dr"
TAGS = {"dr:enabled": "true", "dr:wave": "1", "Application": "orders"}
SELECTOR = {"tags": {"Application": "orders"}}


def global_database(world: Staging) -> None:
    for region, role, name, count in (
        (SOURCE, "primary", "orders-db", 2),
        (world.region, "secondary", "orders-db-dr", 1),
    ):
        spec: dict[str, Any] = {
            "account": world.account.name,
            "type": "aurora-cluster",
            "name": name,
            "engine": "aurora-postgresql",
            "globalClusterId": "orders-global",
            "role": role,
            "instances": {"count": count, "class": "db.r6g.large"},
            "tags": TAGS,
        }
        if role == "secondary":
            spec["sourceRegion"] = SOURCE
        session = world.sandbox.admin_session(world.account_id, region)
        seed_resource(SeedContext(session, world.account_id, region), spec)


def members(world: Staging, name: str = "orders-global") -> dict[str, tuple[bool, str]]:
    """Member ARN -> (is writer, synchronization status)."""
    found = world.admin("rds").describe_global_clusters(GlobalClusterIdentifier=name)
    [answer] = found["GlobalClusters"]
    return {
        m["DBClusterArn"]: (m["IsWriter"], m.get("SynchronizationStatus", ""))
        for m in answer["GlobalClusterMembers"]
    }


def clusters(world: Staging, region: str | None = None) -> list[str]:
    rds = world.sandbox.admin_session(world.account_id, region or world.region).client("rds")
    return sorted(c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"])


def instances(world: Staging) -> list[str]:
    rds = world.admin("rds")
    return sorted(i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"])


def untouched(world: Staging) -> None:
    assert members(world) == {PRIMARY: (True, "connected"), SECONDARY: (False, "connected")}


def drilled(world: Staging, run: Run) -> None:
    untouched(world)
    [copy] = run.phases[0].final.resources
    assert copy.detail["copy"].startswith("drorch-drill-orders-db-dr-")
    assert copy.detail["copyInstanceStatus"] == "available"
    assert copy.detail["durationSeconds"] >= 900 + 480  # restore, then the instance
    [cleanup] = run.phases[1].final.resources
    assert cleanup.detail["deleted"] == [copy.detail["copy"]]
    assert clusters(world) == ["orders-db-dr"]
    operations = {c.operation for c in run.attempts}
    assert not operations & {"FailoverGlobalCluster", "SwitchoverGlobalCluster"}


def switched_over(world: Staging, run: Run) -> None:
    assert members(world) == {PRIMARY: (False, "connected"), SECONDARY: (True, "connected")}
    assert "orders-db-dr-drorch-1" in instances(world)
    [activate] = run.phases[1].final.resources
    assert activate.detail["formerWriter"] == PRIMARY
    assert activate.detail["lossAllowed"] is False
    assert activate.detail["durationSeconds"] >= 300
    assert activate.detail["replicationLagSeconds"] == pytest.approx(0.12)
    [replicate] = run.phases[2].final.resources
    assert replicate.detail["mode"] == "verify"
    assert replicate.detail["secondaryStatus"] == {PRIMARY: "available, connected"}


def failed_over(world: Staging, run: Run) -> None:
    assert members(world) == {PRIMARY: (False, "connected"), SECONDARY: (True, "connected")}
    [activate] = run.phases[0].final.resources
    assert activate.detail["lossAllowed"] is True
    assert activate.detail["replicationLagSeconds"] == pytest.approx(0.12)
    assert activate.detail["lagMeasuredAt"].endswith("Z")
    [replicate] = run.phases[1].final.resources
    assert replicate.detail["durationSeconds"] >= 600 - 150  # the old primary resynchronised


def rebuilt(world: Staging, run: Run) -> None:
    [activate] = run.phases[0].final.resources
    assert activate.detail["mode"] == "detach-and-promote"
    assert members(world) == {PRIMARY: (True, "connected")}  # the old database, left as it was
    assert members(world, "orders-global-failback") == {
        SECONDARY: (True, "connected"),
        f"arn:aws:rds:{SOURCE}:111111111111:cluster:orders-db-failback": (False, "connected"),
    }
    assert "orders-db-failback" in clusters(world, SOURCE)
    [replicate] = run.phases[1].final.resources
    assert replicate.detail["secondaryInstances"] == ["orders-db-failback-1"]


def still_secondary(world: Staging, run: Run) -> None:
    untouched(world)


def not_requested(world: Staging, run: Run) -> None:
    untouched(world)
    assert "FailoverGlobalCluster" not in {c.operation for c in run.attempts}


def failing_failover(world: Staging) -> None:
    global_database(world)
    world.sandbox.faults.fail_rds_failover("orders-db-dr", reason="the primary did not answer")


def lagging(world: Staging) -> None:
    global_database(world)
    world.sandbox.faults.lag_rds_replication("orders-db-dr", 420, region="us-east-2")


def stopped_primary(world: Staging) -> None:
    global_database(world)
    rds = world.sandbox.admin_session(world.account_id, SOURCE).client("rds")
    rds.stop_db_cluster(DBClusterIdentifier="orders-db")


def roles(world: Staging) -> Any:
    return members(world), instances(world), clusters(world)


class BothRegions:
    """The module as the staging stack deploys it: granted in the source and recovery
    Regions."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.type = module.type

    def iam(self, account_id: str, regions: list[str]) -> ModuleIam:
        return self.module.iam(account_id, [*regions, SOURCE])


ACTIVATE = Phase("ACTIVATE", poll_seconds=60, max_polls=20)


class TestAuroraGlobalContract(ModuleContract):
    module = "aurora-global"
    cases = (
        Case(
            "drill",
            (Phase("ACTIVATE", poll_seconds=120, max_polls=30), Phase("CLEANUP")),
            drill=True,
            seed=global_database,
            selector=SELECTOR,
            writes=(("rds", "RestoreDBClusterToPointInTime"), ("rds", "DeleteDBInstance")),
            effect=roles,
            check=drilled,
        ),
        Case(
            "switchover",
            (
                Phase("INSTANTIATE", {"readers": {"count": 1}}, poll_seconds=120),
                Phase("ACTIVATE", {"mode": "switchover"}, poll_seconds=60),
                Phase("REPLICATE", {"mode": "switchover"}),
            ),
            seed=global_database,
            selector=SELECTOR,
            writes=(("rds", "CreateDBInstance"), ("rds", "SwitchoverGlobalCluster")),
            effect=roles,
            check=switched_over,
        ),
        Case(
            "failover",
            (
                Phase("ACTIVATE", {"mode": "failover", "maxReplicationLagSeconds": 60}),
                Phase("REPLICATE", {"mode": "failover"}, poll_seconds=120),
            ),
            seed=global_database,
            selector={"ids": ["orders-global"]},
            writes=(("rds", "FailoverGlobalCluster"),),
            effect=roles,
            check=failed_over,
        ),
        Case(
            "detach-and-promote",
            (
                Phase("ACTIVATE", {"mode": "detach-and-promote"}),
                Phase("REPLICATE", {"mode": "detach-and-promote"}, poll_seconds=300),
            ),
            seed=global_database,
            selector={"ids": [SECONDARY]},
            writes=(
                ("rds", "RemoveFromGlobalCluster"),
                ("rds", "CreateGlobalCluster"),
                ("rds", "CreateDBCluster"),
            ),
            effect=roles,
            check=rebuilt,
        ),
        Case(
            "failover-that-fails",
            (
                Phase(
                    "ACTIVATE",
                    {"mode": "failover"},
                    expect="FAILED",
                    error="ended without promoting arn:aws:rds:us-east-2:111111111111:cluster:orders-db-dr",
                ),
            ),
            seed=failing_failover,
            selector=SELECTOR,
            check=still_secondary,
            extra=True,
        ),
        Case(
            "lag-too-high-refuses-the-failover",
            (
                Phase(
                    "ACTIVATE",
                    {"mode": "failover", "maxReplicationLagSeconds": 60},
                    expect="FAILED",
                    error="replication lag 420.0 s",
                ),
            ),
            seed=lagging,
            selector=SELECTOR,
            check=not_requested,
            extra=True,
        ),
        Case(
            "switchover-refused-when-the-primary-is-down",
            (
                Phase(
                    "ACTIVATE",
                    {"mode": "switchover"},
                    expect="FAILED",
                    error="is stopped: a switchover needs a healthy primary",
                ),
            ),
            seed=stopped_primary,
            selector=SELECTOR,
            check=still_secondary,
            extra=True,
        ),
    )

    def test_iam_covers_every_call(self, case: Case) -> None:
        check_iam(BothRegions(self.module_under_test()), self.run(case))  # type: ignore[arg-type]


def test_a_throttled_switchover_is_raised_for_the_state_machine_to_retry() -> None:
    module = REGISTRY["aurora-global"]
    case = Case("throttled", (ACTIVATE,), seed=global_database, selector=SELECTOR)
    with staging(case) as world:
        resources = discover(module, world, case)
        world.sandbox.faults.throttle("rds", "SwitchoverGlobalCluster", times=None)
        with pytest.raises(ClientError) as raised:
            module.start(world.ctx(), "ACTIVATE", resources, {}, False, idempotency_key("ACTIVATE"))
        assert raised.value.response["Error"]["Code"] == "ThrottlingException"
        world.sandbox.faults.clear()
        run = run_in(module, world, case)  # the state machine's retry: the switchover goes ahead
        assert run.error is None and run.phases[0].final.status == "SUCCEEDED"
        assert members(world)[SECONDARY] == (True, "connected")


def test_a_short_throttling_burst_is_absorbed() -> None:
    module = REGISTRY["aurora-global"]
    case = Case("burst", (ACTIVATE,), seed=global_database, selector=SELECTOR)
    with staging(case) as world:
        world.sandbox.faults.throttle("rds", "SwitchoverGlobalCluster", times=2)
        run = run_in(module, world, case)
        assert run.error is None and run.phases[0].final.status == "SUCCEEDED"
        assert world.sandbox.faults.call_count("rds", "SwitchoverGlobalCluster") == 3


def test_a_cluster_outside_any_global_database_is_excluded_and_said_so() -> None:
    module = REGISTRY["aurora-global"]

    def plain(world: Staging) -> None:
        session = world.sandbox.admin_session(world.account_id, world.region)
        seed_resource(
            SeedContext(session, world.account_id, world.region),
            {
                "account": world.account.name,
                "type": "aurora-cluster",
                "name": "plain",
                "engine": "aurora-mysql",
                "instances": {"class": "db.r6g.large"},
            },
        )

    case = Case("plain", (ACTIVATE,), seed=plain, selector={"ids": ["plain"]})
    with staging(case) as world:
        found = module.discover(world.ctx(), {"ids": ["plain"]})
    assert list(found) == []
    [excluded] = found.excluded
    assert "not a member of an Aurora global database" in excluded.reasons[0]


def test_the_drill_guard_refuses_what_a_drill_must_not_do() -> None:
    guard = REGISTRY["aurora-global"].drill_guard(True)
    assert guard is not None
    refused = [
        (
            "FailoverGlobalCluster",
            {"GlobalClusterIdentifier": "g", "TargetDbClusterIdentifier": "c"},
        ),
        ("SwitchoverGlobalCluster", {}),
        ("RemoveFromGlobalCluster", {}),
        ("ModifyDBCluster", {"DBClusterIdentifier": "drorch-drill-x"}),
        ("DeleteDBCluster", {"DBClusterIdentifier": "orders-db-dr"}),
        ("DeleteDBInstance", {"DBInstanceIdentifier": "orders-db-dr-1"}),
        ("CreateDBInstance", {"DBClusterIdentifier": "orders-db-dr"}),
        ("AddTagsToResource", {"ResourceName": SECONDARY}),
    ]
    for operation, params in refused:
        with pytest.raises(DrillSafetyError, match=operation):
            guard(operation, params)
    guard("DeleteDBCluster", {"DBClusterIdentifier": "drorch-drill-orders-db-dr-1a2b3c4d"})
    guard("CreateDBInstance", {"DBClusterIdentifier": "drorch-drill-orders-db-dr-1a2b3c4d"})


def test_readiness_reports_each_secondary_and_its_lag() -> None:
    module = REGISTRY["aurora-global"]
    case = Case("readiness", (ACTIVATE,), seed=lagging, selector=SELECTOR)
    with staging(case) as world:
        session = world.sandbox.execution_session(world.account_id)
        [finding] = module.readiness(session, world.account_id, world.region)
    assert finding.result == "WARNING"
    assert "orders-db-dr" in finding.check and "420.0 s" in finding.detail


def test_the_layers_format_aurora_mysql_maps_to_a_failover_of_the_named_secondary() -> None:
    module = REGISTRY["aurora-global"]
    mapped = module.from_layer(
        {
            "action": "AuroraMySQL",
            "resourceName": "orders",
            "AccountId": "111111111111",
            "parameters": {
                "GlobalClusterIdentifier": "orders-global",
                "DBClusterIdentifier": "orders-db-dr",
                "DBInstanceIdentifier": ["orders-db-dr-2", "orders-db-dr-3"],
                "DBInstanceClass": "db.r6g.large",
            },
        },
        "$[0].resources[1]",
    )
    assert mapped.technology == {
        "type": "aurora-global",
        "parameters": {
            "mode": "failover",
            "readers": {"count": 2, "instanceClass": "db.r6g.large"},
        },
        "selector": {"ids": ["orders-db-dr"]},
    }
    assert mapped.unmapped == ["$[0].resources[1].parameters.DBInstanceIdentifier"]
    module.validate_parameters(mapped.technology["parameters"])
