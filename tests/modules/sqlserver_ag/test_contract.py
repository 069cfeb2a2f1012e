"""The sqlserver-ag module against the sandbox's Run Command and its simulated SQL Server
(availability groups seeded with the ``sqlserver-ag`` scenario seeder)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from drorch.modules.sqlserver_ag.sandbox import SQL_SERVERS, TIMINGS
from drorch.sandbox.seeders import SEEDERS, SeedContext
from tests.modules.contract import Case, ModuleContract, Phase, Run, Staging

AG = "claims-ag"
PRIMARY, REPLICA = "acme-sql-01", "acme-sql-dr-01"
DR_TAGS = {
    "dr:enabled": "true",
    "dr:wave": "1",
    "dr:priority": "critical",
    "dr:recovery-strategy": "sql-ag",
    "dr:rto-target": "15",
    "dr:rpo-target": "5",
    "Customer": "acme",
    "Environment": "production",
}
BY_NAME = {"ids": [REPLICA]}
BY_TAGS = {"tags": {"dr:wave": "1", "Customer": "acme"}}
# polls: the engine's Wait between status calls (a failover takes 45 s of simulated time)
ACTIVATE = Phase("ACTIVATE", {"availabilityGroup": AG}, poll_seconds=15, max_polls=20)


def seed_ag(
    replica: Mapping[str, Any] | None = None,
    primary: Mapping[str, Any] | None = None,
    then: Callable[[Staging], None] | None = None,
) -> Callable[[Staging], None]:
    """An AG with its primary and its recovery replica, both in the staging account's
    recovery region (the contract kit checks IAM for that region only)."""

    def seed(world: Staging) -> None:
        session = world.sandbox.admin_session(world.account_id, world.region)
        ctx = SeedContext(session=session, account_id=world.account_id, region=world.region)
        SEEDERS["sqlserver-ag"].seed(
            ctx,
            {
                "type": "sqlserver-ag",
                "account": "staging-web",
                "name": AG,
                "databases": ["Claims", "Members"],
                "replicas": [
                    {"host": PRIMARY, "role": "PRIMARY", **(primary or {})},
                    {"host": REPLICA, "role": "SECONDARY", "tags": DR_TAGS, **(replica or {})},
                ],
            },
        )
        if then is not None:
            then(world)

    return seed


def instance(world: Staging, name: str) -> str:
    reservations = world.admin("ec2").describe_instances(
        Filters=[{"Name": "tag:Name", "Values": [name]}]
    )["Reservations"]
    return reservations[0]["Instances"][0]["InstanceId"]


def role(world: Staging, name: str) -> str:
    group = SQL_SERVERS.groups[(world.account_id, AG)]
    return group.replicas[instance(world, name)].at(world.sandbox.now()).role


def replica_state(world: Staging, name: str) -> Any:
    group = SQL_SERVERS.groups[(world.account_id, AG)]
    return group.replicas[instance(world, name)].at(world.sandbox.now())


def commands(world: Staging) -> list[str]:
    return sorted(c["CommandId"] for c in world.admin("ssm").list_commands()["Commands"])


def only_read(world: Staging, run: Run) -> None:
    activate, cleanup = run.phases[0].final, run.phases[1].final
    [result] = activate.resources
    assert result.detail["drill"] == "read the availability group state only: no failover was made"
    assert result.detail["availabilityGroups"][AG]["failover"] == "planned (no data loss)"
    assert (role(world, REPLICA), role(world, PRIMARY)) == ("SECONDARY", "PRIMARY")
    [skipped] = cleanup.resources
    assert skipped.status == "SKIPPED" and "creates nothing" in skipped.detail["skipped"]


def failed_over(mode: str, lag: int | None) -> Callable[[Staging, Run], None]:
    def check(world: Staging, run: Run) -> None:
        [result] = run.phases[-1].final.resources
        ag = result.detail["availabilityGroups"][AG]
        assert (ag["failover"], ag["roleBefore"], ag["roleAfter"]) == (mode, "SECONDARY", "PRIMARY")
        assert ag["lagSecondsBefore"] == lag
        failover = TIMINGS.planned_failover_seconds if mode == "planned" else 30.0
        seconds = TIMINGS.query_seconds + failover  # the script reads, then fails over
        assert result.detail["elapsedSeconds"] == seconds
        assert (role(world, REPLICA), role(world, PRIMARY)) == ("PRIMARY", "SECONDARY")
        old = replica_state(world, PRIMARY)
        assert old.suspended is (mode == "forced")

    return check


def unchanged(world: Staging, run: Run) -> None:
    assert (role(world, REPLICA), role(world, PRIMARY)) == ("SECONDARY", "PRIMARY")


def partner(world: Staging) -> dict[str, Any]:
    return {"partner": {"instanceId": instance(world, PRIMARY), "region": world.region}}


def resumed(world: Staging, run: Run) -> None:
    [result] = run.phases[-1].final.resources
    assert result.id == instance(world, PRIMARY)
    assert result.detail["availabilityGroups"][AG]["suspended"] == []
    assert replica_state(world, PRIMARY).suspended is False


BEHIND = {
    "availabilityMode": "ASYNCHRONOUS_COMMIT",
    "synchronizationState": "SYNCHRONIZING",
    "lagSeconds": 30,
    "logSendQueueKb": 2048,
}


class TestSqlServerAgContract(ModuleContract):
    module = "sqlserver-ag"
    cases = (
        Case(
            "drill",
            (ACTIVATE, Phase("CLEANUP")),
            drill=True,
            seed=seed_ag(),
            selector=BY_TAGS,
            writes=(("ssm", "SendCommand"),),
            effect=commands,
            check=only_read,
        ),
        Case(
            "planned-failover",
            (Phase("INSTANTIATE", {"availabilityGroup": AG}), ACTIVATE),
            seed=seed_ag(),
            selector=BY_NAME,
            writes=(("ssm", "SendCommand"),),
            effect=commands,
            check=failed_over("planned", 0),
        ),
        Case(
            "forced-failover",
            (Phase("ACTIVATE", {"allowDataLoss": True}, poll_seconds=15, max_polls=20),),
            seed=seed_ag(BEHIND),
            selector=BY_TAGS,
            writes=(("ssm", "SendCommand"),),
            effect=commands,
            check=failed_over("forced", 30),
        ),
        Case(
            "replicate-resumes-the-old-primary",
            (Phase("REPLICATE", partner, poll_seconds=15, max_polls=20),),
            seed=seed_ag(primary={"suspended": True, "synchronizationState": "NOT SYNCHRONIZING"}),
            selector=BY_NAME,
            writes=(("ssm", "SendCommand"),),
            effect=commands,
            check=resumed,
        ),
        # --- faults -------------------------------------------------------------------
        Case(
            "not-synchronised-refused",
            (
                Phase(
                    "ACTIVATE",
                    {"availabilityGroup": AG},
                    expect="FAILED",
                    error="a planned failover needs SYNCHRONOUS_COMMIT and every database "
                    "SYNCHRONIZED (ASYNCHRONOUS_COMMIT; Claims SYNCHRONIZING",
                    poll_seconds=15,
                ),
            ),
            seed=seed_ag(BEHIND),
            selector=BY_NAME,
            check=unchanged,
            extra=True,
        ),
        Case(
            "not-synchronised-instantiate-fails",
            (
                Phase(
                    "INSTANTIATE",
                    expect="FAILED",
                    error="set allowDataLoss: true to force it",
                    poll_seconds=15,
                ),
            ),
            seed=seed_ag(then=lambda w: SQL_SERVERS.desynchronise(REPLICA, state="SYNCHRONIZING")),
            selector=BY_NAME,
            extra=True,
        ),
        Case(
            "failover-fails",
            (
                Phase(
                    "ACTIVATE",
                    {"availabilityGroup": AG},
                    expect="FAILED",
                    error="Msg 41131",
                    poll_seconds=15,
                ),
            ),
            seed=seed_ag(then=lambda w: SQL_SERVERS.fail_failover(AG, reason="quorum lost")),
            selector=BY_NAME,
            check=unchanged,
            extra=True,
        ),
        Case(
            "lag-too-high",
            (
                Phase(
                    "ACTIVATE",
                    {"allowDataLoss": True, "maxLagSeconds": 10},
                    expect="FAILED",
                    error="lag above maxLagSeconds 10: Claims 30 s",
                    poll_seconds=15,
                ),
            ),
            seed=seed_ag(BEHIND),
            selector=BY_NAME,
            check=unchanged,
            extra=True,
        ),
        Case(
            "run-command-fails",
            (Phase("ACTIVATE", expect="FAILED", error="SqlServer module", poll_seconds=15),),
            seed=seed_ag(
                then=lambda w: w.sandbox.faults.fail_command(
                    REPLICA, exit_code=1, stderr="Import-Module : SqlServer module not found"
                )
            ),
            selector=BY_NAME,
            check=unchanged,
            extra=True,
        ),
        Case(
            "throttled-send-is-retried",
            (ACTIVATE,),
            seed=seed_ag(then=lambda w: w.sandbox.faults.throttle("ssm", "SendCommand", times=2)),
            selector=BY_NAME,
            check=failed_over("planned", 0),
            extra=True,
        ),
    )
