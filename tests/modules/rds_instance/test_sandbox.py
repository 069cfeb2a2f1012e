"""The RDS instance extension of the sandbox, through plain boto3 (strict)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from tests.modules.contract import Case, Phase, Staging, staging
from tests.modules.rds_instance.test_contract import REPLICA_ARN, SOURCE, described, replica


@pytest.fixture
def world() -> Iterator[Staging]:
    with staging(Case("sandbox", (Phase(),), seed=replica)) as seeded:
        yield seeded


def code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return raised.value.response["Error"]["Code"]


def test_a_promotion_takes_minutes(world: Staging) -> None:
    rds = world.admin("rds")
    answer = rds.promote_read_replica(DBInstanceIdentifier="billing-db-dr")["DBInstance"]
    assert answer["DBInstanceStatus"] == "modifying"
    world.sandbox.advance(180)
    assert described(world)["billing-db-dr"]["DBInstanceStatus"] == "rebooting"
    assert described(world)["billing-db-dr"]["ReadReplicaSourceDBInstanceIdentifier"]
    world.sandbox.advance(120)
    promoted = described(world)["billing-db-dr"]
    assert promoted["DBInstanceStatus"] == "available"
    assert "ReadReplicaSourceDBInstanceIdentifier" not in promoted
    assert described(world, SOURCE)["billing-db"]["ReadReplicaDBInstanceIdentifiers"] == []
    with pytest.raises(ClientError) as raised:
        rds.promote_read_replica(DBInstanceIdentifier="billing-db-dr")
    assert code(raised) == "InvalidDBInstanceState"


def test_a_reboot_with_failover_swaps_the_zones(world: Staging) -> None:
    rds = world.admin("rds")
    before = described(world)["billing-db-dr"]
    assert (before["AvailabilityZone"], before["SecondaryAvailabilityZone"]) == (
        "us-east-2a",
        "us-east-2b",
    )
    answer = rds.reboot_db_instance(DBInstanceIdentifier="billing-db-dr", ForceFailover=True)
    assert answer["DBInstance"]["DBInstanceStatus"] == "rebooting"
    world.sandbox.advance(120)
    after = described(world)["billing-db-dr"]
    assert (after["AvailabilityZone"], after["SecondaryAvailabilityZone"]) == (
        "us-east-2b",
        "us-east-2a",
    )


def test_a_reboot_with_failover_needs_multi_az(world: Staging) -> None:
    rds = world.admin("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="single",
        Engine="postgres",
        DBInstanceClass="db.m6g.large",
        MasterUsername="postgres",
        MasterUserPassword="correct-horse",
        AllocatedStorage=20,
    )
    assert described(world)["single"]["DBInstanceStatus"] == "creating"
    world.sandbox.advance(600)
    with pytest.raises(ClientError) as raised:
        rds.reboot_db_instance(DBInstanceIdentifier="single", ForceFailover=True)
    assert code(raised) == "InvalidParameterCombination"


def test_a_cross_region_replica_takes_longer_to_create(world: Staging) -> None:
    remote = world.sandbox.admin_session(world.account_id, SOURCE).client("rds")
    remote.create_db_instance_read_replica(
        DBInstanceIdentifier="back",
        SourceDBInstanceIdentifier=REPLICA_ARN,
        SourceRegion=world.region,
        DBInstanceClass="db.m6g.large",
    )
    world.sandbox.advance(1499)
    back = described(world, SOURCE)["back"]
    assert back["DBInstanceStatus"] == "creating" and back["AvailabilityZone"] == "us-east-1a"
    assert back.get("TagList", []) == []  # not the source's tags
    world.sandbox.advance(1)
    assert described(world, SOURCE)["back"]["DBInstanceStatus"] == "available"


def test_the_replica_reports_its_lag_to_cloudwatch(world: Staging) -> None:
    world.sandbox.faults.lag_rds_replication("billing-db-dr", 45)
    end = world.sandbox.now()
    answer = world.admin("cloudwatch").get_metric_statistics(
        Namespace="AWS/RDS",
        MetricName="ReplicaLag",
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": "billing-db-dr"}],
        StartTime=end - timedelta(minutes=5),
        EndTime=end,
        Period=60,
        Statistics=["Maximum"],
    )
    assert {p["Maximum"] for p in answer["Datapoints"]} == {45.0}
