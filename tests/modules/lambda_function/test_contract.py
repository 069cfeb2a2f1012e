"""lambda-function against the sandbox's Lambda (moto + provisioned concurrency and mapping
transitions from the module's extension, simulated clock).

The world: the standby function ``claims-intake`` in us-east-2 (the recovery region, where
every case runs): reserved concurrency 0, alias ``live`` on version 1, and two SQS event
source mappings, ``claims-in`` and ``claims-retry``, both Disabled.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from drorch.modules import REGISTRY
from drorch.modules.base import Resource
from drorch.modules.lambda_function.sandbox import provisioned_requested
from drorch.sandbox.seeders import SeedContext, seed_resource
from tests.modules.contract import (
    Case,
    ModuleContract,
    Phase,
    Run,
    Staging,
    check_iam,
    discover,
    staging,
)

NAME = "claims-intake"
TAGS = {"dr:enabled": "true", "Application": "claims"}
FAILOVER = {
    "reservedConcurrency": 50,
    "provisionedConcurrency": {"qualifier": "live", "executions": 10},
    "eventSourceMappings": "enable",
}


def standby(world: Staging) -> None:
    seed_resource(
        SeedContext(
            world.sandbox.admin_session(world.account_id, world.region),
            world.account_id,
            world.region,
        ),
        {
            "account": world.account.name,
            "type": "lambda-function",
            "name": NAME,
            "reservedConcurrency": 0,
            "alias": "live",
            "eventSources": [{"sqsQueue": "claims-in"}, {"sqsQueue": "claims-retry"}],
            "tags": TAGS,
        },
    )


def observed(world: Staging) -> tuple[Any, ...]:
    client = world.admin("lambda")
    reserved = client.get_function_concurrency(FunctionName=NAME).get(
        "ReservedConcurrentExecutions"
    )
    mappings = sorted(
        m["State"]
        for m in client.list_event_source_mappings(FunctionName=NAME)["EventSourceMappings"]
    )
    return reserved, provisioned_requested(world.account_id, world.region, NAME), mappings


STANDBY = (0, 0, ["Disabled", "Disabled"])


def failed_over_and_cleaned_up(world: Staging, run: Run) -> None:
    [activate] = run.phases[1].final.resources
    assert activate.detail["before"]["reservedConcurrency"] == 0
    assert activate.detail["before"]["provisioned"] == {"qualifier": "live", "executions": None}
    assert sorted(activate.detail["before"]["mappings"].values()) == ["Disabled", "Disabled"]
    assert activate.detail["provisioned"]["status"] == "READY"
    assert sorted(activate.detail["mappings"].values()) == ["Enabled", "Enabled"]
    # capacity first: the mappings were switched only once provisioned concurrency was READY
    updates = [i for i, c in enumerate(run.calls) if c.operation == "UpdateEventSourceMapping"]
    puts = [i for i, c in enumerate(run.calls) if c.operation == "PutProvisionedConcurrencyConfig"]
    ready = [
        i
        for i, c in enumerate(run.calls)
        if c.operation == "GetProvisionedConcurrencyConfig" and c.during == "ACTIVATE status"
    ]
    assert puts and updates and min(updates) > max(puts) and ready
    [cleanup] = run.phases[2].final.resources
    assert cleanup.status == "SUCCEEDED"
    assert observed(world) == STANDBY  # CLEANUP put back exactly what was recorded


def only_verified(world: Staging, run: Run) -> None:
    [activate] = run.phases[0].final.resources
    assert "verified only" in activate.detail["note"]
    assert activate.detail["reservedConcurrency"] == 0
    [cleanup] = run.phases[1].final.resources
    assert cleanup.status == "SKIPPED"
    assert observed(world) == STANDBY
    writes = [c for c in run.attempts if REGISTRY["lambda-function"].is_disruptive(c.operation, {})]
    assert writes == []


def failing(world: Staging) -> None:
    standby(world)
    world.sandbox.faults.fail_provisioned_concurrency(NAME, reason="FUNCTION_ERROR_INIT_FAILURE")


def mappings_untouched(world: Staging, run: Run) -> None:
    [activate] = run.phases[0].final.resources
    assert activate.detail["changed"] == ["reserved", "provisioned"]
    assert observed(world)[2] == ["Disabled", "Disabled"]  # no events for a function that failed


def unchanged(world: Staging, run: Run) -> None:
    assert observed(world) == STANDBY


class TestLambdaFunctionContract(ModuleContract):
    module = "lambda-function"
    cases = (
        Case(
            "failover-then-cleanup",
            (Phase("INSTANTIATE"), Phase("ACTIVATE", FAILOVER), Phase("CLEANUP")),
            seed=standby,
            selector={"tags": {"Application": "claims"}},
            writes=(
                ("lambda", "PutFunctionConcurrency"),
                ("lambda", "PutProvisionedConcurrencyConfig"),
                ("lambda", "UpdateEventSourceMapping"),
            ),
            effect=observed,
            check=failed_over_and_cleaned_up,
        ),
        Case(
            "drill",
            (Phase("ACTIVATE", FAILOVER), Phase("CLEANUP")),
            drill=True,
            seed=standby,
            selector={"ids": [f"arn:aws:lambda:us-east-2:111111111111:function:{NAME}:live"]},
            effect=observed,
            check=only_verified,
        ),
        Case(
            "provisioned-concurrency-fails",
            (
                Phase(
                    "ACTIVATE",
                    FAILOVER,
                    expect="FAILED",
                    error="FAILED: FUNCTION_ERROR_INIT_FAILURE",
                ),
            ),
            seed=failing,
            selector={"ids": [NAME]},
            check=mappings_untouched,
            extra=True,
        ),
        Case(
            "provisioned-concurrency-above-the-reservation",
            (
                Phase(
                    "ACTIVATE",
                    {"provisionedConcurrency": {"qualifier": "live", "executions": 5}},
                    expect="FAILED",
                    error="PutProvisionedConcurrencyConfig refused for claims-intake: "
                    "InvalidParameterValueException",
                ),
            ),
            seed=standby,
            selector={"ids": [NAME]},
            check=unchanged,
            extra=True,
        ),
    )


def test_cleanup_restores_after_an_activate_that_failed() -> None:
    module = REGISTRY["lambda-function"]
    case = Case("failed-then-cleanup", (Phase("ACTIVATE"),), seed=failing, selector={"ids": [NAME]})
    with staging(case) as world:
        resources = discover(module, world, case)
        state = module.start(world.ctx(), "ACTIVATE", resources, FAILOVER, False, "k1")
        for _ in range(10):
            world.sandbox.advance(60)
            result = module.status(world.ctx(), "ACTIVATE", state)
            state = result.state
            if result.status != "RUNNING":
                break
        assert result.status == "FAILED"
        recorded = {r.id: r.detail for r in result.resources}
        state = module.start(world.ctx(recorded=recorded), "CLEANUP", resources, {}, False, "k2")
        for _ in range(10):
            world.sandbox.advance(30)
            result = module.status(world.ctx(recorded=recorded), "CLEANUP", state)
            state = result.state
            if result.status != "RUNNING":
                break
        assert result.status == "SUCCEEDED"
        assert observed(world) == STANDBY


def test_provisioned_concurrency_above_the_reservation_is_refused_by_the_sandbox() -> None:
    case = Case("refused", (Phase("ACTIVATE"),), seed=standby)
    with staging(case) as world:
        client = world.admin("lambda")
        with pytest.raises(ClientError) as raised:
            client.put_provisioned_concurrency_config(
                FunctionName=NAME, Qualifier="live", ProvisionedConcurrentExecutions=5
            )
        assert "reservedConcurrentExecution" in str(raised.value)
        with pytest.raises(ClientError) as raised:
            client.put_provisioned_concurrency_config(
                FunctionName=NAME, Qualifier="$LATEST", ProvisionedConcurrentExecutions=5
            )
        assert raised.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_a_mapping_is_enabling_before_it_is_enabled() -> None:
    case = Case("switching", (Phase("ACTIVATE"),), seed=standby)
    with staging(case) as world:
        client = world.admin("lambda")
        [uuid, _] = [
            m["UUID"]
            for m in client.list_event_source_mappings(FunctionName=NAME)["EventSourceMappings"]
        ]
        assert client.update_event_source_mapping(UUID=uuid, Enabled=True)["State"] == "Enabling"
        with pytest.raises(ClientError) as raised:
            client.update_event_source_mapping(UUID=uuid, Enabled=False)
        assert raised.value.response["Error"]["Code"] == "ResourceInUseException"
        world.sandbox.advance(60)
        assert client.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"


def test_the_drill_guard_refuses_every_capacity_and_mapping_change() -> None:
    module = REGISTRY["lambda-function"]
    for operation in ("PutFunctionConcurrency", "UpdateEventSourceMapping"):
        assert module.is_disruptive(operation, {})
    assert not module.is_disruptive("GetFunctionConcurrency", {})


def test_readiness_blocks_a_throttled_standby_the_plan_does_not_raise() -> None:
    module = REGISTRY["lambda-function"]
    case = Case("readiness", (Phase(),), seed=standby, selector={"ids": [NAME]})
    with staging(case) as world:
        [function] = discover(module, world, case)
        gone = Resource("claims-gone", "", world.account_id, world.region, "claims-gone")
        with world.recorder.window("readiness"):
            kept = module.resource_readiness(world.ctx(), [function, gone], {})
            raised = module.resource_readiness(world.ctx(), [function], FAILOVER)
        check_iam(module, Run(case, calls=list(world.recorder.calls)), ("read",))
    where = f"in {world.account_id} ({world.region})"
    assert [(f.name, f.check, f.result, f.detail, f.call) for f in kept] == [
        (NAME, "function", "OK", "Active, last update Successful",
         f"lambda:GetFunction {NAME} {where}"),
        (NAME, "concurrency", "BLOCKER",
         "reserved 0 (throttled) and the plan does not raise it: the function would run "
         "nothing after a failover", f"lambda:GetFunctionConcurrency {NAME} {where}"),
        ("claims-gone", "function", "BLOCKER", "no such function in the recovery region",
         f"lambda:GetFunction claims-gone {where}"),
    ]  # fmt: skip
    assert [(f.check, f.result, f.detail) for f in raised] == [
        ("function", "OK", "Active, last update Successful"),
        ("concurrency", "OK", "reserved 0 -> 50"),
    ]
