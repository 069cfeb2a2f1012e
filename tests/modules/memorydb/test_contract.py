"""memorydb against the sandbox's MemoryDB (simulated clock).

Two worlds: ``quotes``, a two-shard cluster in us-east-1 (the account's source region)
whose export reaches the bucket ``acme-memorydb-exports`` in us-east-2 (the recovery
region, where every case runs), with its landing zone there; and ``rates``, a
Multi-Region cluster whose regional cluster in us-east-2 is ``rates-dr``.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from drorch.modules import REGISTRY
from drorch.sandbox.seeders import SeedContext, seed_resource
from tests.modules.contract import (
    Case,
    ModuleContract,
    Phase,
    Run,
    Staging,
    discover,
    idempotency_key,
    staging,
)

SOURCE = "us-east-1"
BUCKET = "acme-memorydb-exports"
RESTORE = {"snapshotBucket": BUCKET}
TAGS = {"dr:enabled": "true", "dr:wave": "1", "Application": "claims"}


def exported(world: Staging) -> None:
    session = world.sandbox.admin_session(world.account_id, SOURCE)
    seed_resource(
        SeedContext(session, world.account_id, SOURCE),
        {
            "account": world.account.name,
            "type": "memorydb-cluster",
            "name": "quotes",
            "nodeType": "db.r7g.large",
            "shards": 2,
            "tags": TAGS,
            "exports": {"bucket": BUCKET, "region": world.region},
        },
    )


def multi_region(world: Staging) -> None:
    for region, name in ((SOURCE, "rates"), (world.region, "rates-dr")):
        session = world.sandbox.admin_session(world.account_id, region)
        seed_resource(
            SeedContext(session, world.account_id, region),
            {
                "account": world.account.name,
                "type": "memorydb-cluster",
                "name": name,
                "nodeType": "db.r7g.large",
                "multiRegionCluster": "rates",
                "tags": TAGS,
            },
        )


def clusters(world: Staging) -> dict[str, str]:
    found = world.admin("memorydb").describe_clusters()["Clusters"]
    return {c["Name"]: c["Status"] for c in found}


def only_the_recovery_region(run: Run) -> None:
    assert {c.region for c in run.calls} == {"us-east-2"}, "the source region was called"


def drill_copy_made_and_deleted(world: Staging, run: Run) -> None:
    only_the_recovery_region(run)
    [point] = run.phases[0].final.resources
    assert point.detail["restorePoint"] == f"s3://{BUCKET}/quotes-export"
    assert point.detail["files"] == 2
    [activate] = run.phases[1].final.resources
    copy = activate.detail["drillCopy"]
    assert copy.startswith("drorch-drill-") and activate.detail["shards"] == 2
    [cleanup] = run.phases[2].final.resources
    assert cleanup.detail["deleted"] == [copy]
    assert clusters(world) == {}  # the copy is gone, no other cluster was made here


def restored(world: Staging, run: Run) -> None:
    only_the_recovery_region(run)
    assert clusters(world) == {"quotes": "available"}
    memorydb = world.admin("memorydb")
    cluster = memorydb.describe_clusters(ClusterName="quotes")["Clusters"][0]
    assert cluster["NumberOfShards"] == 2 and cluster["SubnetGroupName"] == "quotes-dr"
    tags = {t["Key"]: t["Value"] for t in memorydb.list_tags(ResourceArn=cluster["ARN"])["TagList"]}
    assert tags["drorch:restored-from"] == f"s3://{BUCKET}/quotes-export"
    assert tags["Application"] == "claims"  # the landing zone's DR tags carry over
    [replicate] = run.phases[2].final.resources
    assert replicate.status == "SKIPPED"


def checked_only(world: Staging, run: Run) -> None:
    only_the_recovery_region(run)
    assert clusters(world) == {"rates-dr": "available"}
    writes = [c for c in run.calls if not c.operation.startswith(("Describe", "List"))]
    assert writes == [], writes
    activate = run.phases[0].final.resources[0]
    assert activate.detail["multiRegionCluster"].endswith("-rates")


def failing_restore(world: Staging) -> None:
    exported(world)
    world.sandbox.faults.fail_memorydb_restore(reason="the RDB file is corrupt")


class TestMemoryDbContract(ModuleContract):
    module = "memorydb"
    cases = (
        Case(
            "drill-restore",
            (
                Phase("INSTANTIATE", RESTORE),
                Phase("ACTIVATE", RESTORE, poll_seconds=300),
                Phase("CLEANUP", poll_seconds=120),
            ),
            drill=True,
            seed=exported,
            selector={"ids": ["quotes"]},
            writes=(("memorydb", "CreateCluster"), ("memorydb", "DeleteCluster")),
            check=drill_copy_made_and_deleted,
        ),
        Case(
            "failover-restore",
            (
                Phase("INSTANTIATE", RESTORE),
                Phase("ACTIVATE", RESTORE, poll_seconds=300),
                Phase("REPLICATE"),
            ),
            seed=exported,
            selector={"tags": {"Application": "claims"}},
            writes=(("memorydb", "CreateCluster"),),
            effect=clusters,
            check=restored,
        ),
        Case(
            "multi-region",
            (Phase("ACTIVATE"), Phase("REPLICATE")),
            seed=multi_region,
            selector={"ids": ["rates-dr"]},
            effect=clusters,
            check=checked_only,
        ),
        Case(
            "multi-region-drill",
            (Phase("ACTIVATE"), Phase("CLEANUP")),
            drill=True,
            seed=multi_region,
            selector={"ids": ["rates-dr"]},
            check=checked_only,
            extra=True,  # the same reads as multi-region, whose retry and denial are checked
        ),
        Case(
            "restore-that-fails",
            (Phase("ACTIVATE", RESTORE, expect="FAILED", error="cluster quotes is create-failed"),),
            seed=failing_restore,
            selector={"ids": ["quotes"]},
            extra=True,
        ),
        Case(
            "no-export",
            (
                Phase(
                    "ACTIVATE",
                    {**RESTORE, "snapshotPrefix": "nightly/"},
                    expect="FAILED",
                    error=f"no export (<name>-<shard>.rdb) under s3://{BUCKET}/nightly/",
                ),
            ),
            seed=exported,
            selector={"ids": ["quotes"]},
            extra=True,
        ),
    )


def test_a_throttled_restore_is_raised_for_the_state_machine_to_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda _: None)  # botocore's backoff
    module = REGISTRY["memorydb"]
    case = Case(
        "throttled", (Phase("ACTIVATE", RESTORE),), seed=exported, selector={"ids": ["quotes"]}
    )
    with staging(case) as world:
        resources = discover(module, world, case)
        world.sandbox.faults.throttle("memorydb", "CreateCluster", times=None)
        with pytest.raises(ClientError) as raised:
            module.start(
                world.ctx(), "ACTIVATE", resources, RESTORE, False, idempotency_key("ACTIVATE")
            )
        assert raised.value.response["Error"]["Code"] == "ThrottlingException"
        assert clusters(world) == {}


def test_the_drill_guard_allows_only_drill_copies() -> None:
    module = REGISTRY["memorydb"]
    assert module.is_disruptive("CreateCluster", {"ClusterName": "quotes"})
    assert module.is_disruptive("DeleteCluster", {"ClusterName": "quotes"})
    assert not module.is_disruptive("CreateCluster", {"ClusterName": "drorch-drill-0badc0de"})
    assert not module.is_disruptive("DeleteCluster", {"ClusterName": "drorch-drill-0badc0de"})
    assert module.is_disruptive("FailoverShard", {"ClusterName": "drorch-drill-0badc0de"})


def test_a_name_without_a_landing_zone_or_multi_region_cluster_is_excluded() -> None:
    module = REGISTRY["memorydb"]
    case = Case("missing", (Phase("ACTIVATE"),), seed=exported, selector={"ids": ["nowhere"]})
    with staging(case) as world:
        found = module.discover(world.ctx(), {"ids": ["nowhere", "quotes"]})
    assert [r.id for r in found] == ["quotes"]
    [excluded] = found.excluded
    assert excluded.id == "nowhere" and "landing zone" in excluded.reasons[0]
