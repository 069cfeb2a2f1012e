"""The whole application in one execution: the data tier (Aurora global database, RDS read
replica, ElastiCache global datastore, DynamoDB global table) before the DRS servers, through
the real state machines in the `full-stack` sandbox scenario."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from drorch.cli.sandbox_run import sandbox_hub
from drorch.modules import REGISTRY
from drorch.modules.base import always
from tests.conftest import ACCOUNTS_DIR, REPO

FULL_STACK = REPO / "manifests" / "examples" / "full-stack.yaml"
DATA = "333333333333"
DATABASE_GROUPS = {
    "database-claims-db": "aurora-global",
    "database-policies-db": "rds-instance",
    "database-sessions": "elasticache-global",
    "database-claim-events": "dynamodb-global",
}


@pytest.fixture
def full_stack() -> Iterator:
    with sandbox_hub("full-stack", ACCOUNTS_DIR, strict=True) as hub:
        hub.client.upload_manifest(FULL_STACK)
        yield hub
        assert hub.sandbox.state.fidelity.violations == []


def run(hub, operation: str) -> dict:
    execution_id = hub.client.start_execution("claims", operation, poll_seconds=30)
    return hub.client.wait(execution_id, on_gate=lambda gate: True, timeout=300)


SERVICE = {
    "aurora-global": "rds",
    "rds-instance": "rds",
    "elasticache-global": "elasticache",
    "dynamodb-global": "dynamodb",
}


def disruptive_counts(hub) -> dict[str, int]:
    """How often each call a data-tier module declares always disruptive reached the sandbox
    (calls disruptive only with some parameters, such as CreateDBInstance into the global
    cluster, are refused by the drill guard and checked by the contract kit)."""
    return {
        f"{SERVICE[module]}:{operation}": hub.sandbox.faults.call_count(
            SERVICE[module], operation, account=DATA
        )
        for module in DATABASE_GROUPS.values()
        for operation, predicate in REGISTRY[module].disruptive_calls.items()
        if predicate is always
    }


def test_a_drill_of_the_whole_stack_leaves_production_untouched(full_stack):
    hub = full_stack
    before = disruptive_counts(hub)  # the scenario's seeding made some of them
    final = run(hub, "drill")
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
    waves = [w["wave"] for w in final["waves"] if w["phase"] == "ACTIVATE"]
    assert waves[:4] == ["database", "data", "app", "web"]
    database = [r for r in final["resources"] if r["groupId"] in DATABASE_GROUPS]
    assert {r["status"] for r in database if r["phase"] == "ACTIVATE"} == {"SUCCEEDED"}
    assert disruptive_counts(hub) == before
    # the global database still has its writer in the primary region
    rds = hub.sandbox.execution_session(DATA, "us-east-2").client("rds")
    (global_cluster,) = rds.describe_global_clusters()["GlobalClusters"]
    writers = [m["DBClusterArn"] for m in global_cluster["GlobalClusterMembers"] if m["IsWriter"]]
    assert writers and ":us-east-1:" in writers[0]
    # the database wave ran before any server was launched
    database_end = max(r["finishedAt"] for r in database if r["phase"] == "ACTIVATE")
    servers = [r for r in final["resources"] if r["groupId"].endswith("-servers")]
    assert all(r["startedAt"] >= database_end for r in servers if r["phase"] == "ACTIVATE")


def test_a_failover_moves_the_data_tier_to_the_recovery_region(full_stack):
    hub = full_stack
    final = run(hub, "failover")
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
    rds = hub.sandbox.execution_session(DATA, "us-east-2").client("rds")
    (global_cluster,) = rds.describe_global_clusters()["GlobalClusters"]
    writers = [m["DBClusterArn"] for m in global_cluster["GlobalClusterMembers"] if m["IsWriter"]]
    assert writers == ["arn:aws:rds:us-east-2:333333333333:cluster:acme-claims-db-dr"]
    (replica,) = rds.describe_db_instances(DBInstanceIdentifier="acme-policies-db-dr")[
        "DBInstances"
    ]
    assert not replica.get("ReadReplicaSourceDBInstanceIdentifier")
    report = json.loads(hub.client.report(final["execution"]["executionId"], "json"))
    activated = {r["groupId"]: r for r in report["resources"] if r["phase"] == "ACTIVATE"}
    aurora = activated["database-claims-db"]["detail"]
    assert aurora["mode"] == "switchover" and "replicationLagSeconds" in aurora
    assert activated["database-sessions"]["detail"]["role"] == "PRIMARY"
    assert "lagSecondsBefore" in activated["database-sessions"]["detail"]
    markdown = hub.client.report(final["execution"]["executionId"], "md")
    assert "replicationLagSeconds" in markdown
