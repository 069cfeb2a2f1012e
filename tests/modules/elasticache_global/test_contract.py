"""elasticache-global against the sandbox's global datastores (simulated clock).

The world: global datastore ``sessions`` with its primary ``sessions`` in us-east-1
(the account's source region) and its secondary ``sessions-dr`` in us-east-2 (the
recovery region, where every case runs).
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
    run_in,
    staging,
)

SOURCE = "us-east-1"
SELECTOR = {"ids": ["sessions-dr"]}
TAGS = {"dr:enabled": "true", "dr:wave": "1", "Application": "claims"}


def datastore(world: Staging) -> None:
    for region, role, name in (
        (SOURCE, "primary", "sessions"),
        (world.region, "secondary", "sessions-dr"),
    ):
        session = world.sandbox.admin_session(world.account_id, region)
        spec = {
            "account": world.account.name,
            "type": "elasticache-replication-group",
            "name": name,
            "engine": "redis",
            "nodeType": "cache.r6g.large",
            "replicas": 1,
            "globalDatastore": "sessions",
            "role": role,
            "tags": TAGS,
        }
        if role == "secondary":
            spec["sourceRegion"] = SOURCE
        seed_resource(SeedContext(session, world.account_id, region), spec)


def roles(world: Staging) -> dict[str, str]:
    found = world.admin("elasticache").describe_global_replication_groups(ShowMemberInfo=True)
    [answer] = found["GlobalReplicationGroups"]
    return {m["ReplicationGroupRegion"]: m["Role"] for m in answer["Members"]}


def replicas(world: Staging) -> int:
    group = world.admin("elasticache").describe_replication_groups(ReplicationGroupId="sessions-dr")
    return len(group["ReplicationGroups"][0]["MemberClusters"]) - 1


def drilled(world: Staging, run: Run) -> None:
    assert roles(world) == {SOURCE: "PRIMARY", world.region: "SECONDARY"}  # nothing failed over
    [result] = run.phases[0].final.resources
    assert result.detail["role"] == "SECONDARY"
    assert result.detail["lagSeconds"] == pytest.approx(0.8)
    [cleanup] = run.phases[1].final.resources
    assert cleanup.status == "SKIPPED"


def failed_over(world: Staging, run: Run) -> None:
    assert roles(world) == {SOURCE: "SECONDARY", world.region: "PRIMARY"}
    assert replicas(world) == 2
    activate = run.phases[1].final.resources[0]
    assert activate.detail["previousPrimary"] == {
        "region": SOURCE,
        "replicationGroupId": "sessions",
    }
    assert activate.detail["lagSecondsBefore"] == pytest.approx(0.8)
    [replicate] = run.phases[2].final.resources
    assert replicate.detail["secondaries"] == [
        {"region": SOURCE, "replicationGroupId": "sessions", "status": "associated"}
    ]


def failing_failover(world: Staging) -> None:
    datastore(world)
    world.sandbox.faults.fail_datastore_failover(reason="the primary region did not answer")


def lagging(world: Staging) -> None:
    datastore(world)
    world.sandbox.faults.lag_global_replication(
        "elasticache", "sessions-dr", 420, region="us-east-2"
    )


def still_secondary(world: Staging, run: Run) -> None:
    assert roles(world) == {SOURCE: "PRIMARY", world.region: "SECONDARY"}


def not_requested(world: Staging, run: Run) -> None:
    still_secondary(world, run)
    calls = [c.operation for c in run.calls]
    assert "FailoverGlobalReplicationGroup" not in calls


LIMIT = {"maxReplicationLagSeconds": 60}


class TestElastiCacheGlobalContract(ModuleContract):
    module = "elasticache-global"
    cases = (
        Case(
            "drill",
            (Phase("ACTIVATE", LIMIT), Phase("CLEANUP")),
            drill=True,
            seed=datastore,
            selector=SELECTOR,
            effect=roles,
            check=drilled,
        ),
        Case(
            "failover",
            (
                Phase("INSTANTIATE", {"replicas": 2}, poll_seconds=120),
                Phase("ACTIVATE", LIMIT),
                Phase("REPLICATE"),
            ),
            seed=datastore,
            selector={"tags": {"Application": "claims"}},
            writes=(
                ("elasticache", "IncreaseReplicaCount"),
                ("elasticache", "FailoverGlobalReplicationGroup"),
            ),
            effect=roles,
            check=failed_over,
        ),
        Case(
            "failover-that-fails",
            (Phase("ACTIVATE", expect="FAILED", error="ended and sessions-dr is still SECONDARY"),),
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
                    LIMIT,
                    expect="FAILED",
                    error="failover refused: sessions-dr is 420 s",
                ),
            ),
            seed=lagging,
            selector=SELECTOR,
            check=not_requested,
            extra=True,
        ),
        Case(
            "drill-lag-too-high",
            (Phase("ACTIVATE", LIMIT, expect="FAILED", error="420 s behind the primary"),),
            drill=True,
            seed=lagging,
            selector=SELECTOR,
            check=still_secondary,
            extra=True,
        ),
    )


def test_a_throttled_failover_is_raised_for_the_state_machine_to_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda _: None)  # botocore's backoff
    module = REGISTRY["elasticache-global"]
    case = Case("throttled", (Phase("ACTIVATE"),), seed=datastore, selector=SELECTOR)
    with staging(case) as world:
        resources = discover(module, world, case)
        world.sandbox.faults.throttle("elasticache", "FailoverGlobalReplicationGroup", times=None)
        with pytest.raises(ClientError) as raised:
            module.start(world.ctx(), "ACTIVATE", resources, {}, False, idempotency_key("ACTIVATE"))
        assert raised.value.response["Error"]["Code"] == "Throttling"
        world.sandbox.faults.clear()
        run = run_in(module, world, case)  # the state machine's retry: the failover goes ahead
        assert run.error is None and run.phases[0].final.status == "SUCCEEDED"
        assert roles(world)[world.region] == "PRIMARY"


def test_a_group_outside_any_global_datastore_is_excluded_and_said_so() -> None:
    module = REGISTRY["elasticache-global"]

    def plain(world: Staging) -> None:
        session = world.sandbox.admin_session(world.account_id, world.region)
        seed_resource(
            SeedContext(session, world.account_id, world.region),
            {
                "account": world.account.name,
                "type": "elasticache-replication-group",
                "name": "plain",
                "engine": "valkey",
                "nodeType": "cache.r6g.large",
            },
        )

    case = Case("plain", (Phase("ACTIVATE"),), seed=plain, selector={"ids": ["plain"]})
    with staging(case) as world:
        found = module.discover(world.ctx(), {"ids": ["plain"]})
    assert list(found) == []
    assert [e.reasons for e in found.excluded] == [("not a member of a global datastore",)]


def test_readiness_checks_the_secondary_and_its_lag_against_the_rpo() -> None:
    module = REGISTRY["elasticache-global"]
    case = Case("readiness", (Phase(),), seed=lagging, selector=SELECTOR)
    with staging(case) as world:
        [group] = discover(module, world, case)
        tight = replace(group, tags={**group.tags, "dr:rpo-target": "5"})  # 300 s < 420 s
        gone = Resource("sessions-gone", "", world.account_id, world.region, "sessions-gone")
        with world.recorder.window("readiness"):
            found = module.resource_readiness(world.ctx(), [group, tight, gone], {})
        check_iam(module, Run(case, calls=list(world.recorder.calls)), ("read",))
    assert [(f.resource, f.check, f.result) for f in found] == [
        ("sessions-dr", "replication lag", "OK"),
        ("sessions-dr", "replication lag", "BLOCKER"),
        ("sessions-gone", "global datastore", "BLOCKER"),
    ]
    assert found[0].detail.startswith("an available SECONDARY of ")
    assert found[0].detail.endswith("sessions; 420 s behind")
    assert found[1].detail.endswith("420 s behind: over the RPO target of 5 min")
    assert found[2].detail == "replication group sessions-gone is not in a global datastore"
