"""Gates: task tokens persisted, decisions recorded with who and when, pause/resume/cancel."""

from __future__ import annotations

import json

import pytest

from drorch.engine import clock
from drorch.engine.errors import GateNotFound, InvalidTransition
from drorch.engine.gates import GateClosed, Gates

REF = {"bucket": "b", "key": "k", "versionId": "v1"}


class RecordingStepFunctions:
    """Stands in for the Step Functions client: records how each token was answered."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[str, dict]] = {}

    def send_task_success(self, taskToken: str, output: str) -> dict:
        self.answers[taskToken] = ("success", json.loads(output))
        return {}

    def send_task_failure(self, taskToken: str, error: str, cause: str) -> dict:
        self.answers[taskToken] = ("failure", {"error": error, "cause": cause})
        return {}


@pytest.fixture
def sfn() -> RecordingStepFunctions:
    return RecordingStepFunctions()


@pytest.fixture
def gates(engine, sfn) -> Gates:
    return Gates(engine.history, sfn, engine.publisher)


def _running(engine, execution_id: str) -> None:
    engine.history.create_execution(
        execution_id, application="claims", operation="drill", requested_by="alice", manifest=REF
    )


def test_an_approval_records_who_decided_and_when_and_releases_the_token(
    engine, gates, sfn, hub, execution_id
):
    _running(engine, execution_id)
    gate = gates.open(
        execution_id,
        "approval",
        "token-1",
        phase="ACTIVATE",
        approvers=["lead@acme.example"],
        timeout_minutes=60,
    )
    assert gate["gate"] == 1
    assert gate["requestedAt"] == clock.iso()
    assert engine.history.require_execution(execution_id)["status"] == "WAITING_APPROVAL"

    hub.sandbox.advance(300)
    decided = gates.approve(execution_id, 1, "bob@acme.example", "databases checked")
    assert decided["decision"] == "approved"
    assert decided["decidedBy"] == "bob@acme.example"
    assert decided["decidedAt"] == clock.iso()
    assert decided["comment"] == "databases checked"
    assert sfn.answers["token-1"] == (
        "success",
        {"gate": 1, "decision": "approved", "decidedBy": "bob@acme.example"},
    )
    assert engine.history.require_execution(execution_id)["status"] == "RUNNING"

    with pytest.raises(InvalidTransition, match="already approved by bob@acme.example"):
        gates.reject(execution_id, 1, "mallory")


def test_a_rejection_fails_the_wait_with_gate_rejected(engine, gates, sfn, execution_id):
    _running(engine, execution_id)
    gates.open(execution_id, "wave", "token-w", phase="ACTIVATE", level=1, position="before")
    gates.reject(execution_id, 1, "carol", "app tier not ready")
    kind, answer = sfn.answers["token-w"]
    assert kind == "failure"
    assert answer["error"] == "GateRejected"
    assert "rejected by carol: app tier not ready" in answer["cause"]
    assert engine.history.gate(execution_id, 1)["decision"] == "rejected"


def test_a_retried_gate_task_reuses_its_gate_number(engine, gates, execution_id):
    _running(engine, execution_id)
    first = gates.open(execution_id, "wave", "t1", phase="ACTIVATE", level=2, position="after")
    again = gates.open(execution_id, "wave", "t2", phase="ACTIVATE", level=2, position="after")
    assert first["gate"] == again["gate"] == 1
    assert engine.history.gate(execution_id, 1)["token"] == "t2"
    other = gates.open(execution_id, "approval", "t3", phase="INSTANTIATE")
    assert other["gate"] == 2


def test_unknown_gates_are_reported_with_the_open_ones(engine, gates, execution_id):
    _running(engine, execution_id)
    gates.open(execution_id, "approval", "t", phase="ACTIVATE")
    with pytest.raises(GateNotFound) as raised:
        gates.approve(execution_id, 7, "bob")
    assert raised.value.hint == "open gates: 1"


def test_pause_then_resume_releases_the_resume_gate(engine, gates, sfn, execution_id):
    _running(engine, execution_id)
    gates.pause(execution_id, "ops")
    assert engine.history.require_execution(execution_id)["paused"] is True
    gates.open(execution_id, "resume", "token-r", phase="ACTIVATE", level=1)
    assert engine.history.require_execution(execution_id)["status"] == "PAUSED"

    gates.resume(execution_id, "ops")
    assert sfn.answers["token-r"][0] == "success"
    execution = engine.history.require_execution(execution_id)
    assert execution["paused"] is False
    assert execution["status"] == "RUNNING"
    assert engine.history.gate(execution_id, 1)["decision"] == "resumed"


def test_a_resume_gate_opened_after_the_resume_passes_at_once(engine, gates, sfn, execution_id):
    _running(engine, execution_id)
    gates.pause(execution_id, "ops")
    gates.resume(execution_id, "ops")  # before the master reached the boundary
    gates.open(execution_id, "resume", "late", phase="ACTIVATE", level=0)
    assert sfn.answers["late"][0] == "success"
    assert engine.history.require_execution(execution_id)["status"] == "RUNNING"


def test_cancel_fails_a_waiting_gate_with_cancelled(engine, gates, sfn, execution_id):
    _running(engine, execution_id)
    gates.open(execution_id, "approval", "token-c", phase="ACTIVATE")
    gates.cancel(execution_id, "ops", "wrong window")
    assert sfn.answers["token-c"] == (
        "failure",
        {"error": "Cancelled", "cause": "gate 1 (approval) cancelled by ops: wrong window"},
    )
    assert engine.history.require_execution(execution_id)["cancelRequested"] is True
    # a gate the master opens afterwards fails at once too
    gates.open(execution_id, "wave", "token-d", phase="ACTIVATE", level=1, position="before")
    assert sfn.answers["token-d"][1]["error"] == "Cancelled"


def test_answering_a_token_that_no_longer_waits_says_so(engine, execution_id):
    _running(engine, execution_id)
    real = Gates(engine.history, engine.sfn, engine.publisher)  # the sandbox's Step Functions
    real.open(execution_id, "approval", "a-token-nobody-waits-on", phase="ACTIVATE")
    with pytest.raises(GateClosed, match="no longer waits"):
        real.approve(execution_id, 1, "bob")
    assert engine.history.gate(execution_id, 1)["closed"] in {
        "InvalidToken",
        "TaskDoesNotExist",
        "TaskTimedOut",
    }
