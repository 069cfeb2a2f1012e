"""Failure paths end to end: whatever ends an execution, the history tells the truth, the
lock is released and notifications never decide the outcome (issue 11, item 1)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from drorch.cli import engine_cmd
from drorch.cli.main import main
from drorch.engine import events as ev
from tests.e2e.conftest import manifest_text, wait_until


def approve_all(gate):
    return True


class RecordingEvents:
    """The events client, recording what was put."""

    def __init__(self, real: Any) -> None:
        self.real, self.entries = real, []

    def put_events(self, Entries):  # noqa: N803 - boto3's parameter name
        self.entries.extend(Entries)
        return self.real.put_events(Entries=Entries)


def test_denied_notifications_and_events_never_fail_a_run(hub):
    client = hub.client
    client.upload_manifest("quiet.yaml", manifest_text(approvalWorkflow={"required": False}))
    hub.sandbox.faults.deny("sns", "Publish")
    hub.sandbox.faults.deny("events", "PutEvents")
    execution_id = client.start_execution("claims", "drill", poll_seconds=30)
    final = client.wait(execution_id, on_gate=approve_all, timeout=120)
    assert final["execution"]["status"] == "SUCCEEDED"
    assert client.lock.holder("claims") is None
    assert hub.sandbox.faults.call_count("sns", "Publish") >= 1  # tried, denied, carried on


def test_a_failure_with_denied_notifications_still_releases_the_lock(hub):
    client = hub.client
    hub.sandbox.faults.deny("sns", "Publish")
    hub.sandbox.faults.deny("events", "PutEvents")
    execution_id = client.start_execution("claims", "drill", poll_seconds=30)
    final = client.wait(execution_id, on_gate=lambda gate: False, timeout=120)
    assert final["execution"]["status"] == "FAILED"
    assert "GateRejected" in json.dumps(final["execution"])
    assert client.lock.holder("claims") is None


def test_a_stop_from_outside_is_repaired_by_one_reconcile(hub):
    client = hub.client
    execution_id = client.start_execution("claims", "drill", poll_seconds=30)
    gate = wait_until(lambda: client.open_gates(execution_id))
    assert client.lock.holder("claims")["executionId"] == execution_id
    sfn = client.session.client("stepfunctions")
    arn = client.state_machine_arn().replace(":stateMachine:", ":execution:") + f":{execution_id}"
    sfn.stop_execution(executionArn=arn, error="Console", cause="stopped by hand")
    # AWS reports ABORTED; the sandbox's interpreter (moto) ends a stopped execution
    # that waited on a task token as FAILED: either way the history was not told
    machine = wait_until(
        lambda: (status := client.machine_status(execution_id)["status"]) != "RUNNING" and status
    )
    expected, error = {"ABORTED": ("CANCELLED", "ExecutionStopped")}.get(
        machine, ("FAILED", "ExecutionFailed")
    )
    # before: the history says it waits, and the lock is held
    assert client.history.execution(execution_id)["status"] == "WAITING_APPROVAL"

    repairs = client.reconcile()

    (repair,) = [r for r in repairs if r["executionId"] == execution_id]
    text = "\n".join(repair["actions"])
    assert f"history: WAITING_APPROVAL -> {expected} ({error})" in text
    assert "lock on claims released" in text
    assert f"gate {gate[0]['gate']} expired" in text
    record = client.history.execution(execution_id)
    assert record["status"] == expected and record["error"] == error
    assert client.lock.holder("claims") is None
    assert client.open_gates(execution_id) == []
    assert client.reconcile() == []  # nothing left to repair
    # and the application can run again
    client.upload_manifest("again.yaml", manifest_text(approvalWorkflow={"required": False}))
    again = client.start_execution("claims", "drill", poll_seconds=30)
    assert client.wait(again, on_gate=approve_all, timeout=120)["execution"]["status"] == (
        "SUCCEEDED"
    )


def test_reconcile_releases_a_stale_lock_of_a_finished_execution(hub):
    client = hub.client
    client.lock.table.put_item(
        Item={"application": "claims", "executionId": "drill-gone", "expiresAt": 4102444800}
    )
    repairs = client.reconcile()
    assert repairs == [
        {
            "executionId": "drill-gone",
            "actions": ["stale lock on claims released (execution not in the history)"],
        }
    ]
    assert client.lock.holder("claims") is None


def test_cli_approve_emits_gate_decided_and_survives_a_throttled_store(hub, monkeypatch, capsys):
    client = hub.client
    recording = RecordingEvents(client.publisher.events)
    monkeypatch.setattr(client.publisher, "events", recording)
    monkeypatch.setattr(engine_cmd, "aws_client", lambda profile, region: client)
    execution_id = client.start_execution("claims", "drill", poll_seconds=30)
    wait_until(lambda: client.open_gates(execution_id))

    hub.sandbox.faults.throttle("dynamodb", "UpdateItem", times=2)  # absorbed by retries
    assert main(["approve", execution_id, "--region", "us-east-2"]) == 0
    decided = [e for e in recording.entries if e["DetailType"] == ev.GATE_DECIDED]
    assert len(decided) == 1
    assert json.loads(decided[0]["Detail"])["status"] == "approved"
    client.wait(execution_id, on_gate=approve_all, timeout=120)


def test_cli_exits_1_not_3_when_the_store_keeps_throttling(hub, monkeypatch, capsys):
    client = hub.client

    def throttled(*args, **kwargs):
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
            "UpdateItem",
        )

    monkeypatch.setattr(client, "approve", throttled)
    monkeypatch.setattr(engine_cmd, "aws_client", lambda profile, region: client)
    assert main(["approve", "drill-x", "--region", "us-east-2"]) == 1
    err = capsys.readouterr().err
    assert "throttled" in err and "UpdateItem" in err
