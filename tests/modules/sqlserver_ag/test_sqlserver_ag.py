"""sqlserver-ag beyond the contract kit: the drill guard, discovery's exclusions, a
partner in the source region, readiness, throttling, the scripts and the layers."""

from __future__ import annotations

import json

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from drorch.modules import REGISTRY, DrillSafetyError
from drorch.modules.sqlserver_ag.sandbox import SQL_SERVERS
from drorch.modules.sqlserver_ag.scripts import (
    Script,
    is_disruptive,
    parse_header,
    parse_output,
)
from tests.modules.contract import Case, Phase, discover, idempotency_key, run_in, staging
from tests.modules.sqlserver_ag.test_contract import (
    AG,
    BY_NAME,
    DR_TAGS,
    PRIMARY,
    REPLICA,
    instance,
    replica_state,
    seed_ag,
)

MODULE = REGISTRY["sqlserver-ag"]
DRS_TAGS = {**DR_TAGS, "dr:recovery-strategy": "drs"}  # e.g. a DRS recovery instance


def _send(ssm, script: Script, instance_id: str):
    return ssm.send_command(
        DocumentName="AWS-RunPowerShellScript",
        InstanceIds=[instance_id],
        Parameters={"commands": script.commands()},
    )


def test_the_read_script_changes_nothing_and_the_others_are_disruptive():
    read = Script("read", (AG,))
    assert not is_disruptive({"Parameters": {"commands": read.commands()}})
    for action in ("failover", "resume"):
        assert is_disruptive({"Parameters": {"commands": Script(action, (AG,)).commands()}})
    forced = Script("failover", (AG,), allow_data_loss=True, max_lag_seconds=60)
    assert parse_header(forced.commands()) == forced
    assert parse_header(["echo hello"]) is None
    assert "FORCE_FAILOVER_ALLOW_DATA_LOSS" not in "\n".join(read.commands())
    with pytest.raises(ValueError, match="not an availability group name"):
        Script("read", ("ag]; DROP DATABASE x; --",)).commands()


def test_output_is_read_per_availability_group():
    before = {"stage": "before", "ag": AG, "role": "SECONDARY", "databases": []}
    after = {**before, "stage": "after", "role": "PRIMARY"}
    reading = parse_output(
        f"noise\nDRORCH-SQLAG {json.dumps(before)}\nDRORCH-SQLAG {json.dumps(after)}\n",
        "DRORCH-SQLAG-REFUSED other-ag: not synchronised\nWrite-Error: boom\n",
    )
    assert reading.before[AG]["role"] == "SECONDARY" and reading.after[AG]["role"] == "PRIMARY"
    assert reading.refused == {"other-ag": "not synchronised"}
    assert reading.other_errors == ["Write-Error: boom"]


def test_a_drill_client_refuses_a_failover_script_before_it_is_sent():
    case = Case("guard", (), seed=seed_ag(), selector=BY_NAME)
    with staging(case) as world:
        replica = instance(world, REPLICA)
        ssm = world.ctx(drill=True).client("ssm", guard=MODULE.drill_guard(True))
        with pytest.raises(DrillSafetyError, match="SendCommand is disruptive"):
            _send(ssm, Script("failover", (AG,)), replica)
        assert world.sandbox.faults.call_count("ssm", "SendCommand") == 0
        _send(ssm, Script("read", (AG,)), replica)  # reading is what a drill does
        assert world.sandbox.faults.call_count("ssm", "SendCommand") == 1


def test_discovery_excludes_a_stopped_replica_and_one_of_another_strategy():
    def more(world):
        world.admin("ec2").stop_instances(InstanceIds=[instance(world, REPLICA)])
        ec2 = world.admin("ec2")
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        ec2.run_instances(
            ImageId=image,
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.micro",
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [
                        {"Key": "Name", "Value": "acme-ora-01-recovered"},
                        *({"Key": k, "Value": v} for k, v in DRS_TAGS.items()),
                    ],
                }
            ],
        )

    case = Case("exclusions", (), seed=seed_ag(then=more), selector=BY_NAME)
    with staging(case) as world:
        by_tags = MODULE.discover(world.ctx(), {"tags": {"dr:wave": "1"}})
        assert list(by_tags) == []  # the DRS instance is not even looked at: not tagged sql-ag
        assert [(e.name, e.reasons) for e in by_tags.excluded] == [
            (REPLICA, ("the instance is stopped: Run Command cannot reach SQL Server",))
        ]
        by_name = MODULE.discover(world.ctx(), {"ids": ["acme-ora-01-recovered"]})
        assert list(by_name) == []
        [excluded] = by_name.excluded
        assert excluded.reasons == (
            "dr:recovery-strategy=drs: recovered by the drs module, not by sqlserver-ag",
        )


def test_replicate_resumes_the_partner_in_the_source_region():
    source = "us-east-1"
    case = Case(
        "partner",
        (),
        seed=seed_ag(
            primary={
                "region": source,
                "suspended": True,
                "synchronizationState": "NOT SYNCHRONIZING",
            }
        ),
        selector=BY_NAME,
    )
    with staging(case) as world:
        resources = discover(MODULE, world, case)
        session = world.sandbox.admin_session(world.account_id, source)
        [partner] = [
            i["InstanceId"]
            for r in session.client("ec2").describe_instances(
                Filters=[{"Name": "tag:Name", "Values": [PRIMARY]}]
            )["Reservations"]
            for i in r["Instances"]
        ]
        params = {"partner": {"instanceId": partner, "region": source}}
        ctx = world.ctx()
        state = MODULE.start(ctx, "REPLICATE", resources, params, False, idempotency_key("R"))
        for _ in range(10):
            world.sandbox.advance(15)
            result = MODULE.status(world.ctx(), "REPLICATE", state)
            if result.status != "RUNNING":
                break
            state = result.state
        assert result.status == "SUCCEEDED", result.summary()
        [resumed] = result.resources
        assert resumed.id == partner and resumed.detail["availabilityGroups"][AG]["suspended"] == []
        group = SQL_SERVERS.groups[(world.account_id, AG)]
        assert group.replicas[partner].at(world.sandbox.now()).sync == "SYNCHRONIZING"
        world.sandbox.advance(120)  # a synchronous-commit replica catches up
        assert group.replicas[partner].at(world.sandbox.now()).sync == "SYNCHRONIZED"


def test_replicate_without_a_partner_says_why_it_does_nothing():
    case = Case("no-partner", (Phase("REPLICATE"),), seed=seed_ag(), selector=BY_NAME)
    with staging(case) as world:
        run = run_in(MODULE, world, case)
    assert run.error is None and run.phases[0].final.status == "SUCCEEDED"
    [skipped] = run.phases[0].final.resources
    assert skipped.status == "SKIPPED" and "parameters.partner" in skipped.detail["skipped"]
    assert not [c for c in run.calls if c.operation == "SendCommand"]


def test_throttling_beyond_botocore_retries_is_raised_for_the_state_machine(monkeypatch):
    # one attempt: the throttling reaches the module at once (no backoff sleeps)
    monkeypatch.setattr("drorch.modules.base.CLIENT_CONFIG", Config(retries={"max_attempts": 1}))
    case = Case("throttled", (), seed=seed_ag(), selector=BY_NAME)
    with staging(case) as world:
        resources = discover(MODULE, world, case)
        world.sandbox.faults.throttle("ssm", "SendCommand", times=None)
        with pytest.raises(ClientError) as raised:
            MODULE.start(world.ctx(), "ACTIVATE", resources, {}, False, idempotency_key("A"))
        assert raised.value.response["Error"]["Code"] == "ThrottlingException"
        assert replica_state(world, REPLICA).role == "SECONDARY"


def test_readiness_reports_the_last_state_read_on_each_replica():
    case = Case(
        "readiness",
        (Phase("ACTIVATE", poll_seconds=15),),
        drill=True,
        seed=seed_ag(),
        selector=BY_NAME,
    )
    with staging(case) as world:
        session = world.sandbox.execution_session(world.account_id, world.region)
        [never] = MODULE.readiness(session, world.account_id, world.region)
        assert never.result == "WARNING" and "was never read" in never.detail
        run = run_in(MODULE, world, case)  # a drill reads the state
        assert run.phases[0].final.status == "SUCCEEDED"
        [ok] = MODULE.readiness(session, world.account_id, world.region)
        assert ok.result == "OK" and "every database SYNCHRONIZED" in ok.detail
        SQL_SERVERS.desynchronise(REPLICA, state="NOT SYNCHRONIZING")
        ctx = world.ctx(drill=True)  # the next drill (its own idempotency key)
        state = MODULE.start(ctx, "ACTIVATE", run.resources, {}, True, "next-drill")
        world.sandbox.advance(15)
        assert MODULE.status(world.ctx(drill=True), "ACTIVATE", state).status == "FAILED"
        [failing] = MODULE.readiness(session, world.account_id, world.region)
        assert failing.result == "FAIL" and "not receiving data" in failing.detail


def test_layers_sqlserver_actions_map_their_parameters():
    mapping = MODULE.from_layer(
        {
            "action": "SQLServer",
            "resourceName": "Claims AG",
            "AccountId": "333333333333",
            "parameters": {"AGName": ["claims-ag"], "ForceFailover": ["false"], "Operation": "x"},
        },
        "$[0].resources[0]",
    )
    assert mapping.technology == {
        "type": "sqlserver-ag",
        "parameters": {"availabilityGroup": "claims-ag", "allowDataLoss": False},
    }
    assert mapping.unmapped == ["$[0].resources[0].parameters.Operation"]
