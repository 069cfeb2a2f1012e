"""Chaos: faults during a run, through the real state machines on the shared sandbox hub.

Each scenario injects one fault class of issue 11 and asserts the end state: the history
(status, error, cause), the application lock, the DRS jobs and recovery instances, the
events on the bus, and the exit code where a command is involved."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from drorch.engine import events as ev
from drorch.engine import executor
from drorch.sandbox.botocore_models import service_id
from tests.chaos.conftest import (
    APP,
    APP_ACCOUNT,
    DATA,
    WEB,
    end_state,
    manifest_text,
    statuses,
    wait_until,
)

pytestmark = pytest.mark.chaos
ALL = (DATA, APP_ACCOUNT, WEB)


def yes(gate: Any) -> bool:
    return True


def quiet(**changes: Any) -> str:
    """The example manifest without the approval gate (and with ``changes``)."""
    return manifest_text(approvalWorkflow={"required": False}, **changes)


def waves_with(first_wave: dict[str, Any], only_first: bool = True) -> list[dict[str, Any]]:
    document = yaml.safe_load(quiet())
    waves = document["waves"]
    waves[0] = {**waves[0], **first_wave}
    return waves[:1] if only_first else waves


def run(hub, operation: str = "drill", text: str | None = None, on_gate=yes) -> str:
    client = hub.client
    if text is not None:
        client.upload_manifest("chaos.yaml", text)
    execution_id = client.start_execution(APP, operation, poll_seconds=30)
    client.wait(execution_id, on_gate=on_gate, timeout=240)
    return execution_id


# --- a stop from outside, the store denied or throttled ---------------------------------------
def test_externally_stopped_execution_is_closed_by_one_reconcile(hub, cli):
    client = hub.client
    execution_id = client.start_execution(APP, "drill", poll_seconds=30)
    wait_until(lambda: client.open_gates(execution_id))
    sfn = client.session.client("stepfunctions")
    arn = client.state_machine_arn().replace(":stateMachine:", ":execution:") + f":{execution_id}"
    sfn.stop_execution(executionArn=arn, error="Console", cause="stopped by hand")
    wait_until(lambda: client.machine_status(execution_id)["status"] != "RUNNING")
    assert client.lock.holder(APP) is not None  # before: nobody told the history

    assert cli("reconcile") == 0

    state = end_state(hub, execution_id, ALL)
    state.assert_closed()
    assert state.status in ("CANCELLED", "FAILED")
    assert state.jobs == [] and state.instances == []  # it stopped before ACTIVATE
    assert client.reconcile() == []


def test_store_denied_mid_run_is_repaired_by_one_reconcile(hub):
    client = hub.client
    execution_id = client.start_execution(APP, "drill", poll_seconds=30)
    wait_until(lambda: client.open_gates(execution_id))
    hub.sandbox.faults.deny("dynamodb")  # the history, the lock and the gates: all denied
    try:
        client.approve(execution_id, client.open_gates(execution_id)[0]["gate"], "ops", "go")
    except Exception:  # noqa: BLE001 - denied as well: the stop below ends it
        pass
    sfn = client.session.client("stepfunctions")
    arn = client.state_machine_arn().replace(":stateMachine:", ":execution:") + f":{execution_id}"
    sfn.stop_execution(executionArn=arn, error="StoreDenied", cause="DynamoDB denied")
    wait_until(lambda: client.machine_status(execution_id)["status"] != "RUNNING")
    hub.sandbox.faults.clear()  # access is back

    repairs = client.reconcile()

    (repair,) = [r for r in repairs if r["executionId"] == execution_id]
    assert any("lock on claims released" in a for a in repair["actions"])
    end_state(hub, execution_id, ALL).assert_closed()


def test_throttled_store_bursts_are_absorbed(hub, inbox):
    hub.sandbox.faults.throttle("dynamodb", "UpdateItem", times=4)  # history and lock writes
    execution_id = run(hub, text=quiet())
    state = end_state(hub, execution_id, ALL)
    assert state.status == "SUCCEEDED", state.execution
    state.assert_closed()
    assert state.instances and all(i["isDrill"] for i in state.instances)
    assert statuses(inbox(), execution_id)[-1] == "SUCCEEDED"


def test_idempotency_store_errors_are_retried_without_a_second_launch(hub):
    hub.sandbox.faults.throttle("dynamodb", "PutItem", times=3)
    execution_id = run(hub, text=quiet())
    state = end_state(hub, execution_id, ALL)
    assert state.status == "SUCCEEDED", state.execution
    keys = [j["tags"]["drorch:idempotency-key"] for j in state.jobs]
    assert len(keys) == len(set(keys))  # one job per key: no retried start launched twice
    launched = [
        r for r in state.resources if r["phase"] == "ACTIVATE" and r["groupId"].endswith("servers")
    ]
    assert len(state.instances) == len(launched)


# --- a Lambda that raises, a timeout --------------------------------------------------------
def test_a_status_lambda_raising_once_is_retried_and_the_run_goes_on(hub, monkeypatch):
    real = executor.module_status
    raised: list[str] = []

    def flaky(engine, request):
        if not raised and request["groupId"] == "data-servers":
            raised.append(request["accountId"])
            raise RuntimeError("status Lambda crashed")
        return real(engine, request)

    monkeypatch.setattr(executor, "module_status", flaky)
    execution_id = run(hub, text=quiet())
    state = end_state(hub, execution_id, ALL)
    assert raised == [DATA]
    # a status call only reads: the executor's Status task retries it, the run goes on
    assert state.status == "SUCCEEDED", state.execution
    state.assert_closed()  # nothing is left RUNNING or locked


def test_a_status_lambda_that_keeps_raising_fails_its_group_and_leaves_nothing_running(
    hub, monkeypatch
):
    real = executor.module_status

    def broken(engine, request):
        if request["groupId"] == "data-servers":
            raise RuntimeError("status Lambda crashed")
        return real(engine, request)

    monkeypatch.setattr(executor, "module_status", broken)
    execution_id = run(hub, text=quiet())
    state = end_state(hub, execution_id, ALL)
    assert (state.status, state.execution["error"]) == ("FAILED", "WaveFailed")
    assert "data-servers in 333333333333" in state.cause
    state.assert_closed()  # nothing is left RUNNING or locked
    orphaned = {r["orphanedJobId"] for r in state.resources if r.get("orphanedJobId")}
    assert orphaned <= {j["jobID"] for j in state.jobs}


def test_a_wave_timeout_with_a_drs_job_running_records_the_job(hub):
    hub.sandbox.faults.slow_jobs(50)  # a launch takes far longer than the wave's minute
    execution_id = run(hub, text=quiet(waves=waves_with({"timeoutMinutes": 1})))
    state = end_state(hub, execution_id, ALL)
    assert state.status == "FAILED" and state.execution["error"] == "WaveFailed"
    assert "timeout" in state.cause
    state.assert_closed()
    timed_out = [r for r in state.resources if r["phase"] == "ACTIVATE"]
    assert timed_out and all(r["status"] == "FAILED" for r in timed_out)
    assert {r["orphanedJobId"] for r in timed_out} <= {j["jobID"] for j in state.jobs}
    assert all(r["orphanedJobId"] in r["error"] for r in timed_out)


# --- notifications and events denied ---------------------------------------------------------
def test_denied_sns_and_eventbridge_never_fail_a_run(hub):
    hub.sandbox.faults.deny("sns", "Publish")
    hub.sandbox.faults.deny("events", "PutEvents")
    execution_id = run(hub, text=quiet())
    state = end_state(hub, execution_id, ALL)
    assert state.status == "SUCCEEDED", state.execution
    state.assert_closed()
    assert hub.sandbox.faults.call_count(service_id("events"), "PutEvents") > 0  # tried, denied


def test_denied_notifications_on_a_rejection_still_release_the_lock(hub, inbox):
    hub.sandbox.faults.deny("sns", "Publish")
    execution_id = run(hub, on_gate=lambda gate: False)
    state = end_state(hub, execution_id, ALL)
    assert (state.status, state.execution["error"]) == ("FAILED", "GateRejected")
    state.assert_closed()
    assert state.jobs == []  # rejected before ACTIVATE
    assert statuses(inbox(), execution_id)[-1] == "FAILED"  # the bus still tells machines


# --- approve, reject, cancel from the CLI ----------------------------------------------------
def test_approve_while_dynamodb_throttles_exits_0(hub, cli, inbox):
    client = hub.client
    execution_id = client.start_execution(APP, "drill", poll_seconds=30)
    wait_until(lambda: client.open_gates(execution_id))
    hub.sandbox.faults.throttle("dynamodb", "UpdateItem", times=2)
    assert cli("approve", execution_id) == 0
    client.wait(execution_id, on_gate=yes, timeout=240)
    state = end_state(hub, execution_id, ALL)
    assert state.status == "SUCCEEDED", state.execution
    state.assert_closed()
    decided = [e for e in inbox() if e["detail-type"] == ev.GATE_DECIDED]
    assert decided and decided[0]["detail"]["status"] == "approved"


def test_approve_while_dynamodb_keeps_throttling_exits_1_not_3(hub, cli, capsys):
    client = hub.client
    execution_id = client.start_execution(APP, "drill", poll_seconds=30)
    wait_until(lambda: client.open_gates(execution_id))
    hub.sandbox.faults.throttle("dynamodb", times=None)
    assert cli("approve", execution_id) == 1
    assert "internal error" not in capsys.readouterr().err
    hub.sandbox.faults.clear()
    assert cli("reject", execution_id) == 0
    client.wait(execution_id, on_gate=lambda gate: False, timeout=240)
    state = end_state(hub, execution_id, ALL)
    assert (state.status, state.execution["error"]) == ("FAILED", "GateRejected")
    state.assert_closed()


def test_cancel_at_the_wave_pause_ends_cancelled(hub, cli):
    client = hub.client
    client.upload_manifest("chaos.yaml", quiet())
    execution_id = client.start_execution(APP, "drill", poll_seconds=30)
    wait_until(lambda: client.open_gates(execution_id))  # the pause before the app wave
    assert cli("cancel", execution_id) == 0
    client.wait(execution_id, on_gate=lambda gate: False, timeout=240)
    state = end_state(hub, execution_id, ALL)
    assert state.status in ("CANCELLED", "FAILED"), state.execution
    state.assert_closed()
    # the data wave ran (its drill instances are there); nothing of the app wave launched
    assert state.instances and all(i["isDrill"] for i in state.instances)
    assert all("data-servers" in j["tags"]["drorch:idempotency-key"] for j in state.jobs)


def test_a_failover_while_another_run_holds_the_lock_is_refused(hub, cli, capsys):
    client = hub.client
    first = client.start_execution(APP, "drill", poll_seconds=30)
    wait_until(lambda: client.open_gates(first))
    assert cli("execute", "--application", APP, "--operation", "failover", "--approve") == 1
    assert "already has a running execution" in capsys.readouterr().err
    assert client.lock.holder(APP)["executionId"] == first
    assert len([e for e in client.list_executions(application=APP)]) == 1
    client.wait(first, on_gate=lambda gate: False, timeout=240)
    end_state(hub, first, ALL).assert_closed()


# --- DRS and AWS failures ---------------------------------------------------------------------
def test_one_server_failing_to_launch_names_it(hub):
    hub.sandbox.faults.fail_launch("acme-ora-01")
    execution_id = run(hub, text=quiet())
    state = end_state(hub, execution_id, ALL)
    assert (state.status, state.execution["error"]) == ("FAILED", "WaveFailed")
    assert "wave data" in state.cause and "data-servers" in state.cause
    failed = [r for r in state.resources if r["status"] == "FAILED"]
    assert [r["name"] for r in failed] == ["acme-ora-01"]
    state.assert_closed()
    assert not [j for j in state.jobs if "web-servers" in j["tags"]["drorch:idempotency-key"]]


def test_a_failed_drs_job_fails_the_wave(hub):
    hub.sandbox.faults.fail_job(times=1)
    execution_id = run(hub, text=quiet())
    state = end_state(hub, execution_id, ALL)
    assert (state.status, state.execution["error"]) == ("FAILED", "WaveFailed")
    state.assert_closed()


def test_start_recovery_denied_is_named_with_the_account(hub):
    hub.sandbox.faults.deny("drs", "StartRecovery")
    execution_id = run(hub, text=quiet())
    state = end_state(hub, execution_id, ALL)
    assert state.status == "FAILED"
    assert "access denied" in state.cause.lower() and DATA in state.cause
    assert "StartRecovery" in state.cause
    assert state.jobs == [] and state.instances == []
    state.assert_closed()


# --- preconditions, selectors, references -----------------------------------------------------
def test_an_empty_selector_fails_at_the_plan_and_launches_nothing(hub, inbox):
    waves = waves_with(
        {
            "technologies": [
                {"type": "drs", "name": "servers", "selector": {"ids": ["acme-gone-01"]}}
            ]
        }
    )
    execution_id = run(hub, text=quiet(waves=waves))
    state = end_state(hub, execution_id, ALL)
    assert (state.status, state.execution["error"]) == ("FAILED", "EmptySelection")
    assert "wave 'data', group 'servers'" in state.cause and "acme-gone-01" in state.cause
    assert state.jobs == [] and state.instances == []
    state.assert_closed()
    assert statuses(inbox(), execution_id)[-1] == "FAILED"


def test_allow_empty_succeeds_with_a_warning_in_the_report(hub):
    technology = {
        "type": "drs",
        "name": "servers",
        "allowEmpty": True,
        "selector": {"ids": ["acme-gone-01"]},
    }
    execution_id = run(hub, text=quiet(waves=waves_with({"technologies": [technology]})))
    state = end_state(hub, execution_id, ALL)
    assert state.status == "SUCCEEDED", state.execution
    state.assert_closed()
    assert "Warning (plan)" in hub.client.report(execution_id, "md")


def test_failback_with_nothing_failed_over_launches_nothing(hub):
    execution_id = run(hub, "failback", text=quiet())
    state = end_state(hub, execution_id, ALL)
    assert (state.status, state.execution["error"]) == ("FAILED", "PreconditionFailed")
    assert "no completed failover" in state.cause
    assert state.jobs == [] and state.instances == []
    state.assert_closed()


def test_cleanup_with_nothing_to_clean_is_refused(hub):
    execution_id = run(hub, "cleanup", text=quiet())
    state = end_state(hub, execution_id, ALL)
    assert (state.status, state.execution["error"]) == ("FAILED", "PreconditionFailed")
    assert "nothing to clean" in state.cause
    state.assert_closed()


def test_an_unresolvable_reference_names_the_parameter(hub):
    waves = waves_with(
        {
            "technologies": [
                {
                    "type": "drs",
                    "name": "servers",
                    "selector": {"tags": {"dr:wave": "1", "Application": "claims"}},
                    "parameters": {"maxServersPerJob": "resolve:ssm:/claims/gone"},
                }
            ]
        }
    )
    execution_id = run(hub, text=quiet(waves=waves))
    state = end_state(hub, execution_id, ALL)
    assert (state.status, state.execution["error"]) == ("FAILED", "WaveFailed")
    for part in ("/claims/gone", "ssm:GetParameters", "parameters.maxServersPerJob", DATA):
        assert part in state.cause, part
    assert "did not run" not in state.cause
    assert state.jobs == []
    state.assert_closed()


def test_a_blackholed_primary_region_does_not_stop_a_drill(hub):
    hub.sandbox.faults.blackhole_region("us-east-1")
    execution_id = run(hub, text=quiet())
    state = end_state(hub, execution_id, ALL)
    assert state.status == "SUCCEEDED", state.execution
    state.assert_closed()
    assert state.instances and all(i["isDrill"] for i in state.instances)
