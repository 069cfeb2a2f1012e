"""dynamodb-global against the sandbox's global tables (simulated clock).

The world: global table ``claims`` created in us-east-1 (the account's source region)
with a replica in us-east-2 (the recovery region, where every case runs), both with
point-in-time recovery, and a few items.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from botocore.exceptions import ClientError

from drorch.modules import REGISTRY
from drorch.modules.base import Resource
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
    staging,
)

SOURCE = "us-east-1"
SELECTOR = {"ids": ["claims"]}
TAGS = {"dr:enabled": "true", "dr:wave": "1", "Application": "claims"}
RESTORE = {"drillRestore": True, "maxReplicationLatencySeconds": 30}


def global_table(world: Staging, pitr: bool = True) -> None:
    session = world.sandbox.admin_session(world.account_id, SOURCE)
    seed_resource(
        SeedContext(session, world.account_id, SOURCE),
        {
            "account": world.account.name,
            "type": "dynamodb-global-table",
            "name": "claims",
            "replicaRegions": [world.region],
            "pointInTimeRecovery": pitr,
            "sampleItems": 7,
            "tags": TAGS,
        },
    )


def tables(world: Staging) -> list[str]:
    return sorted(world.admin("dynamodb").list_tables()["TableNames"])


def untouched(world: Staging) -> None:
    table = world.admin("dynamodb").describe_table(TableName="claims")["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["Replicas"] == [{"RegionName": SOURCE, "ReplicaStatus": "ACTIVE"}]


def restored_and_deleted(world: Staging, run: Run) -> None:
    untouched(world)
    [activate] = run.phases[0].final.resources
    copy = activate.detail["drillCopy"]
    assert copy.startswith("drorch-drill-") and copy.endswith("-claims")
    assert activate.detail["copyItems"] == 7
    assert activate.detail["latencySeconds"] == {SOURCE: pytest.approx(0.45)}
    [cleanup] = run.phases[1].final.resources
    assert cleanup.detail["deleted"] == [copy]
    assert tables(world) == ["claims"]


def verified(world: Staging, run: Run) -> None:
    untouched(world)
    [activate] = run.phases[1].final.resources
    assert activate.detail["replicas"] == {SOURCE: "ACTIVE"}
    assert activate.detail["latencySeconds"] == {SOURCE: pytest.approx(0.45)}
    writes = [c for c in run.calls if c.service == "dynamodb" and c.operation not in READS]
    assert writes == [], writes  # ACTIVATE and REPLICATE only read


READS = {"ListTables", "DescribeTable", "ListTagsOfResource"}


def lagging(world: Staging) -> None:
    global_table(world)
    # the link from the recovery region towards the source region (what it publishes)
    world.sandbox.faults.lag_global_replication("dynamodb", "claims", 95, region=SOURCE)


def without_pitr(world: Staging) -> None:
    global_table(world, pitr=False)


class TestDynamoDbGlobalContract(ModuleContract):
    module = "dynamodb-global"
    cases = (
        Case(
            "drill-with-restore",
            (Phase("ACTIVATE", RESTORE, poll_seconds=300), Phase("CLEANUP")),
            drill=True,
            seed=global_table,
            selector=SELECTOR,
            writes=(("dynamodb", "RestoreTableToPointInTime"), ("dynamodb", "DeleteTable")),
            check=restored_and_deleted,
        ),
        Case(
            "failover",
            (
                Phase("INSTANTIATE"),
                Phase("ACTIVATE", {"maxReplicationLatencySeconds": 30}),
                Phase("REPLICATE"),
            ),
            seed=global_table,
            selector={"tags": {"Application": "claims"}},
            effect=tables,
            check=verified,
        ),
        Case(
            "latency-too-high",
            (
                Phase(
                    "ACTIVATE",
                    {"maxReplicationLatencySeconds": 30},
                    expect="FAILED",
                    error="replication between us-east-2 and us-east-1 is 95 s behind",
                ),
            ),
            seed=lagging,
            selector=SELECTOR,
            extra=True,
        ),
        Case(
            "drill-restore-without-pitr",
            (
                Phase(
                    "ACTIVATE",
                    RESTORE,
                    expect="FAILED",
                    error="turn on point-in-time recovery for the replica in this region",
                ),
            ),
            drill=True,
            seed=without_pitr,
            selector=SELECTOR,
            extra=True,
        ),
    )


def test_a_throttled_restore_is_raised_for_the_state_machine_to_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda _: None)  # botocore's backoff
    module = REGISTRY["dynamodb-global"]
    case = Case(
        "throttled", (Phase("ACTIVATE", RESTORE),), drill=True, seed=global_table, selector=SELECTOR
    )
    with staging(case) as world:
        resources = discover(module, world, case)
        world.sandbox.faults.throttle("dynamodb", "RestoreTableToPointInTime", times=None)
        with pytest.raises(ClientError) as raised:
            module.start(
                world.ctx(True), "ACTIVATE", resources, RESTORE, True, idempotency_key("ACTIVATE")
            )
        assert raised.value.response["Error"]["Code"] == "ThrottlingException"
        assert tables(world) == ["claims"]


def test_the_drill_guard_refuses_to_delete_anything_but_a_drill_copy() -> None:
    module = REGISTRY["dynamodb-global"]
    assert module.is_disruptive("DeleteTable", {"TableName": "claims"})
    assert not module.is_disruptive("DeleteTable", {"TableName": "drorch-drill-0badc0de-claims"})
    assert module.is_disruptive("UpdateTable", {"TableName": "drorch-drill-0badc0de-claims"})


def test_a_table_without_replicas_is_excluded_and_said_so() -> None:
    module = REGISTRY["dynamodb-global"]

    def plain(world: Staging) -> None:
        world.admin("dynamodb").create_table(
            TableName="local-only",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

    case = Case("plain", (Phase("ACTIVATE"),), seed=plain, selector={"ids": ["local-only"]})
    with staging(case) as world:
        found = module.discover(world.ctx(), {"ids": ["local-only"]})
    assert list(found) == []
    assert [e.reasons for e in found.excluded] == [
        ("not a global table: it has no replicas in other regions",)
    ]


def test_readiness_checks_the_replicas_and_the_latency_against_the_rpo() -> None:
    module = REGISTRY["dynamodb-global"]
    case = Case("readiness", (Phase(),), seed=lagging, selector=SELECTOR)
    with staging(case) as world:
        [table] = discover(module, world, case)
        tight = replace(table, tags={**table.tags, "dr:rpo-target": "1"})  # 60 s < 95 s
        gone = Resource("claims-gone", "", world.account_id, world.region, "claims-gone")
        with world.recorder.window("readiness"):
            found = module.resource_readiness(world.ctx(), [table, tight, gone], {})
        check_iam(module, Run(case, calls=list(world.recorder.calls)), ("read",))
    assert [(f.resource, f.check, f.result, f.detail) for f in found] == [
        ("claims", "replication latency", "OK", f"replicas {SOURCE} ACTIVE; {SOURCE} 95 s behind"),
        ("claims", "replication latency", "BLOCKER",
         f"replicas {SOURCE} ACTIVE; {SOURCE} 95 s behind: over the RPO target of 1 min"),
        ("claims-gone", "replica", "BLOCKER", f"no table claims-gone in {world.region}"),
    ]  # fmt: skip
    assert found[0].call.startswith("dynamodb:DescribeTable, cloudwatch:GetMetricStatistics")
