"""The hub's triggers, rehearsed end to end as a user triggers them (issue 12 item 3).

The hub is deployed by the Pulumi program with a scheduled drill
(``drorch:scheduledDrills``), and the claims manifest is uploaded. Then:

* the SSM Automation document ``drorch-start-execution`` is started through SSM
  (``StartAutomationExecution``, as ``aws ssm start-automation-execution`` does);
  its ``aws:executeAwsApi`` step starts the master state machine, and the
  execution shows in drorch's history;
* the scheduled-drill EventBridge rule fires when the simulated clock passes its
  time and starts the master state machine with the program's input template.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from drorch import names
from drorch.accounts import load_accounts
from drorch.client import Client
from drorch.sandbox import Sandbox, SimClock
from drorch.sandbox.activity import wait_for
from drorch.sandbox.pulumi_deploy.hub import deploy_program
from drorch.sandbox.pulumi_deploy.program import program_config
from drorch.sandbox.scenario import load_scenario, seed
from drorch.sandbox.stepfunctions import stop_executions
from drorch.sandbox.triggers import Scheduler, cron_matches, due_times, select, target_input

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "manifests" / "examples" / "three-tier-claims.yaml"
T = TypeVar("T")


def _until(condition: Callable[[], T], what: str, timeout: float = 120) -> T:
    """The first truthy ``condition()``, re-checked as the engine changes things
    (:func:`drorch.sandbox.activity.wait_for`), naming what was awaited on a timeout. Up to
    120 s of real time: discovery and readiness run as Maps before the first gate, and CI
    runs two workers on two cores."""
    try:
        return wait_for(condition, timeout=timeout)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


# --- schedules and selectors, without a sandbox -------------------------------------------------
def test_schedule_expressions() -> None:
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    day = datetime(2026, 1, 2, tzinfo=UTC)
    assert due_times("rate(1 day)", anchor, anchor, day) == [day]
    assert len(due_times("rate(5 minutes)", anchor, anchor, day)) == 288
    assert due_times("rate(1 day)", anchor, day, day) == []  # each time fires once
    assert due_times("cron(0 3 * * ? *)", anchor, anchor, day) == [
        datetime(2026, 1, 1, 3, tzinfo=UTC)
    ]
    # 2026-01-03 is a Saturday (7 in EventBridge's day-of-week)
    assert cron_matches("cron(30 2 ? * SAT *)", datetime(2026, 1, 3, 2, 30, tzinfo=UTC))
    assert not cron_matches("cron(30 2 ? * MON-FRI *)", datetime(2026, 1, 3, 2, 30, tzinfo=UTC))
    assert cron_matches("cron(0/15 * * * ? *)", datetime(2026, 1, 3, 2, 45, tzinfo=UTC))


def test_selectors_and_input_transformers() -> None:
    event = {"id": "e-1", "detail": {"items": [{"name": "a"}]}}
    assert select(event, "$.detail.items[0].name") == "a"
    assert select(event, "$.missing.x") is None
    transformer = {
        "InputTransformer": {
            "InputPathsMap": {"id": "$.id"},
            "InputTemplate": '{"executionId": "scheduled-<id>"}',
        }
    }
    assert json.loads(target_input(transformer, event)) == {"executionId": "scheduled-e-1"}
    assert target_input({"Input": '{"a": 1}'}, event) == '{"a": 1}'
    assert json.loads(target_input({"InputPath": "$.detail"}, event)) == event["detail"]


# --- end to end ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hub() -> Iterator[tuple[Sandbox, Client, dict[str, Any]]]:
    scenario = load_scenario("three-tier")
    accounts = load_accounts(ROOT / "accounts")
    with Sandbox(hub=scenario.hub, clock=SimClock()) as sandbox:
        config = program_config(sandbox, scenario.select_accounts(accounts))
        from stacks.config import Drill  # program_config put stacks/ on the path

        config = replace(config, scheduled_drills=(Drill("claims", "rate(1 day)"),))
        exports = deploy_program(sandbox, config)
        seed(sandbox, scenario, accounts)
        operator = f"arn:aws:iam::{sandbox.hub.account_id}:user/{names.OPERATOR_USER}"
        client = Client(sandbox.operator_session(), operator=operator)
        client.upload_manifest(MANIFEST)
        try:
            yield sandbox, client, exports["hub"]
        finally:
            stop_executions(sandbox.operator_session(), exports["hub"]["stateMachines"].values())


def _recorded(client: Client, execution_id: str) -> Any:
    item = client.history.execution(execution_id)
    return item if item and item.get("status") not in (None, "PENDING") else None


def _cancel(client: Client, execution_id: str) -> None:
    """End the drill (it waits at its approval gate) so the application's lock is free."""
    _until(lambda: client.open_gates(execution_id), "the drill's approval gate")
    client.cancel(execution_id, "trigger rehearsed")
    _until(
        lambda: client.history.execution(execution_id)["status"] == "CANCELLED",
        "the drill to be cancelled",
    )


def test_the_automation_document_starts_an_execution(hub: Any) -> None:
    sandbox, client, deployed = hub
    ssm = sandbox.operator_session().client("ssm")
    started = ssm.start_automation_execution(
        DocumentName=names.PREFIX + "-start-execution",
        Parameters={"Application": ["claims"], "Operation": ["drill"]},
    )["AutomationExecutionId"]
    execution_id = f"ssm-{started}"

    item = _until(lambda: _recorded(client, execution_id), "the execution in the history")
    assert (item["application"], item["operation"]) == ("claims", "drill")
    assert item["requestedBy"] == "ssm-automation"
    sfn = sandbox.operator_session().client("stepfunctions")
    arn = f"{deployed['stateMachines']['master'].replace(':stateMachine:', ':execution:')}:{execution_id}"
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"

    sandbox.advance(300)
    automation = ssm.get_automation_execution(AutomationExecutionId=started)["AutomationExecution"]
    assert automation["AutomationExecutionStatus"] == "Success"
    assert automation["Outputs"] == {"StartExecution.ExecutionArn": [arn]}
    _cancel(client, execution_id)


def test_the_scheduled_drill_rule_fires_on_the_simulated_clock(hub: Any) -> None:
    sandbox, client, deployed = hub
    events = sandbox.operator_session().client("events")
    rules = [r for r in events.list_rules()["Rules"] if r.get("ScheduleExpression")]
    assert [(r["ScheduleExpression"], r["State"]) for r in rules] == [("rate(1 day)", "ENABLED")]

    scheduler = Scheduler(sandbox.clock)
    stop = scheduler.start()
    try:
        sandbox.advance(3600)
        time.sleep(0.2)
        assert scheduler.fired == []  # not yet: a day after the scheduler first saw it
        sandbox.advance(86400)
        fired = _until(lambda: scheduler.fired, "the scheduled rule to fire")
    finally:
        stop()
    assert scheduler.errors == []
    assert [f.rule for f in fired] == [rules[0]["Name"]]
    (arn,) = fired[0].started
    assert arn.startswith(
        deployed["stateMachines"]["master"].replace(":stateMachine:", ":execution:")
    )
    sfn = sandbox.operator_session().client("stepfunctions")
    master_input = json.loads(sfn.describe_execution(executionArn=arn)["input"])
    execution_id = master_input["executionId"]
    assert execution_id.startswith("scheduled-")
    assert (master_input["application"], master_input["operation"]) == ("claims", "drill")
    item = _until(lambda: _recorded(client, execution_id), "the scheduled drill in the history")
    assert item["requestedBy"] == "scheduled"
    _cancel(client, execution_id)
