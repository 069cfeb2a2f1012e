"""The Aurora extension of the sandbox, through plain boto3 (strict: every answer of the
operations it adds is checked against the RDS model)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from tests.modules.aurora_global.test_contract import (
    PRIMARY,
    SECONDARY,
    SOURCE,
    global_database,
    members,
)
from tests.modules.contract import Case, Phase, Staging, staging


@pytest.fixture
def world() -> Iterator[Staging]:
    with staging(Case("sandbox", (Phase(),), seed=global_database)) as seeded:
        yield seeded


def failover_state(world: Staging) -> dict:
    [found] = world.admin("rds").describe_global_clusters(GlobalClusterIdentifier="orders-global")[
        "GlobalClusters"
    ]
    return found.get("FailoverState") or {}


def status(world: Staging, name: str = "orders-db-dr", region: str | None = None) -> str:
    rds = world.sandbox.admin_session(world.account_id, region or world.region).client("rds")
    return rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]["Status"]


def code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return raised.value.response["Error"]["Code"]


def test_a_switchover_takes_minutes_and_keeps_the_old_primary_connected(world: Staging) -> None:
    rds = world.admin("rds")
    answer = rds.switchover_global_cluster(
        GlobalClusterIdentifier="orders-global", TargetDbClusterIdentifier=SECONDARY
    )["GlobalCluster"]
    assert answer["Status"] == "switching-over"
    assert answer["FailoverState"] == {
        "Status": "pending",
        "FromDbClusterArn": PRIMARY,
        "ToDbClusterArn": SECONDARY,
        "IsDataLossAllowed": False,
    }
    world.sandbox.advance(60)
    assert failover_state(world)["Status"] == "failing-over"
    assert status(world) == "failing-over"
    assert status(world, "orders-db", SOURCE) == "failing-over"
    world.sandbox.advance(239)
    assert members(world)[SECONDARY] == (False, "connected")  # not yet
    world.sandbox.advance(1)
    assert failover_state(world) == {}
    assert members(world) == {PRIMARY: (False, "connected"), SECONDARY: (True, "connected")}
    assert status(world) == status(world, "orders-db", SOURCE) == "available"


def test_a_failover_leaves_the_old_primary_to_resynchronise(world: Staging) -> None:
    world.admin("rds").failover_global_cluster(
        GlobalClusterIdentifier="orders-global",
        TargetDbClusterIdentifier=SECONDARY,
        AllowDataLoss=True,
    )
    assert failover_state(world)["IsDataLossAllowed"] is True
    world.sandbox.advance(150)
    assert members(world) == {PRIMARY: (False, "pending-resync"), SECONDARY: (True, "connected")}
    world.sandbox.advance(600)
    assert members(world)[PRIMARY] == (False, "connected")


def test_a_failed_failover_is_cancelled_and_changes_nothing(world: Staging) -> None:
    world.sandbox.faults.fail_rds_failover("orders-db-dr")
    world.admin("rds").failover_global_cluster(
        GlobalClusterIdentifier="orders-global",
        TargetDbClusterIdentifier=SECONDARY,
        AllowDataLoss=True,
    )
    world.sandbox.advance(30 + 75)
    assert failover_state(world)["Status"] == "cancelling"
    world.sandbox.advance(60)
    assert failover_state(world) == {}
    assert members(world) == {PRIMARY: (True, "connected"), SECONDARY: (False, "connected")}


def test_role_changes_are_refused_as_rds_refuses_them(world: Staging) -> None:
    rds = world.admin("rds")
    with pytest.raises(ClientError) as raised:
        rds.switchover_global_cluster(
            GlobalClusterIdentifier="orders-global", TargetDbClusterIdentifier=PRIMARY
        )
    assert code(raised) == "InvalidDBClusterStateFault"
    with pytest.raises(ClientError) as raised:
        rds.switchover_global_cluster(
            GlobalClusterIdentifier="nope", TargetDbClusterIdentifier=SECONDARY
        )
    assert code(raised) == "GlobalClusterNotFoundFault"
    with pytest.raises(ClientError) as raised:
        rds.failover_global_cluster(
            GlobalClusterIdentifier="orders-global",
            TargetDbClusterIdentifier=SECONDARY,
            AllowDataLoss=True,
            Switchover=True,
        )
    assert code(raised) == "InvalidParameterCombination"
    primary = world.sandbox.admin_session(world.account_id, SOURCE).client("rds")
    primary.stop_db_cluster(DBClusterIdentifier="orders-db")
    with pytest.raises(ClientError) as raised:
        rds.switchover_global_cluster(
            GlobalClusterIdentifier="orders-global", TargetDbClusterIdentifier=SECONDARY
        )
    assert code(raised) == "InvalidDBClusterStateFault"
    assert "use a failover" in raised.value.response["Error"]["Message"]
    rds.failover_global_cluster(
        GlobalClusterIdentifier="orders-global",
        TargetDbClusterIdentifier=SECONDARY,
        AllowDataLoss=True,
    )
    with pytest.raises(ClientError) as raised:
        rds.failover_global_cluster(
            GlobalClusterIdentifier="orders-global",
            TargetDbClusterIdentifier=SECONDARY,
            AllowDataLoss=True,
        )
    assert code(raised) == "InvalidGlobalClusterStateFault"


def test_a_secondary_detaches_from_its_own_region_and_is_promoted(world: Staging) -> None:
    rds = world.admin("rds")
    with pytest.raises(ClientError) as raised:
        rds.remove_from_global_cluster(
            GlobalClusterIdentifier="orders-global", DbClusterIdentifier=PRIMARY
        )
    assert code(raised) == "InvalidGlobalClusterStateFault"
    rds.remove_from_global_cluster(
        GlobalClusterIdentifier="orders-global", DbClusterIdentifier=SECONDARY
    )
    assert members(world) == {PRIMARY: (True, "connected")}
    assert status(world) == "promoting"
    world.sandbox.advance(120)
    [cluster] = rds.describe_db_clusters(DBClusterIdentifier="orders-db-dr")["DBClusters"]
    assert cluster["Status"] == "available" and "GlobalClusterIdentifier" not in cluster
    created = rds.create_global_cluster(
        GlobalClusterIdentifier="orders-global-2", SourceDBClusterIdentifier=SECONDARY
    )["GlobalCluster"]
    assert [(m["DBClusterArn"], m["IsWriter"]) for m in created["GlobalClusterMembers"]] == [
        (SECONDARY, True)
    ]


def test_global_clusters_are_described_by_identifier_and_region(world: Staging) -> None:
    rds = world.admin("rds")
    with pytest.raises(ClientError) as raised:
        rds.describe_global_clusters(GlobalClusterIdentifier="other")
    assert code(raised) == "GlobalClusterNotFoundFault"
    by_region = rds.describe_global_clusters(Filters=[{"Name": "region", "Values": ["eu-west-1"]}])
    assert by_region["GlobalClusters"] == []


def test_a_point_in_time_copy_of_the_secondary_stays_outside_the_global_database(
    world: Staging,
) -> None:
    rds = world.admin("rds")
    copy = rds.restore_db_cluster_to_point_in_time(
        DBClusterIdentifier="copy",
        SourceDBClusterIdentifier="orders-db-dr",
        UseLatestRestorableTime=True,
        Tags=[{"Key": "k", "Value": "v"}],
    )["DBCluster"]
    assert copy["Status"] == "creating" and "GlobalClusterIdentifier" not in copy
    assert copy["MasterUsername"] == "postgres"  # the primary's: a secondary has none
    assert SECONDARY in members(world) and len(members(world)) == 2
    world.sandbox.advance(899)
    assert status(world, "copy") == "creating"
    world.sandbox.advance(1)
    assert status(world, "copy") == "available"


def test_the_secondary_reports_its_replication_lag_to_cloudwatch(world: Staging) -> None:
    cloudwatch = world.admin("cloudwatch")
    end = world.sandbox.now()

    def latest() -> float:
        answer = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "lag",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/RDS",
                            "MetricName": "AuroraGlobalDBReplicationLag",
                            "Dimensions": [
                                {"Name": "DBClusterIdentifier", "Value": "orders-db-dr"},
                                {"Name": "SourceRegion", "Value": SOURCE},
                            ],
                        },
                        "Period": 60,
                        "Stat": "Maximum",
                    },
                }
            ],
            StartTime=end - timedelta(minutes=5),
            EndTime=end,
        )
        return answer["MetricDataResults"][0]["Values"][0]

    assert latest() == 120.0
    world.sandbox.faults.lag_rds_replication("orders-db-dr", 420)
    assert latest() == 420000.0
