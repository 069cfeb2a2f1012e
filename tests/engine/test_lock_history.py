"""The application lock and the history's status lifecycle."""

from __future__ import annotations

from datetime import timedelta

import pytest

from drorch.engine import clock
from drorch.engine.errors import ExecutionConflict, InvalidTransition
from drorch.engine.history import RETENTION_DAYS, ExecutionNotFound

REF = {"bucket": "b", "key": "k", "versionId": "v1"}


def _record(engine, execution_id, application="app", status="RUNNING"):
    return engine.history.create_execution(
        execution_id,
        application=application,
        operation="drill",
        requested_by="alice",
        manifest=REF,
        status=status,
    )


def test_a_second_execution_of_an_application_conflicts_until_the_first_releases(engine):
    _record(engine, "lock-1", "lock-app")
    _record(engine, "lock-2", "lock-app")
    engine.lock.acquire("lock-app", "lock-1")
    engine.lock.acquire("lock-app", "lock-1")  # a retried initialise keeps its lock

    with pytest.raises(ExecutionConflict, match="locked by execution lock-1") as raised:
        engine.lock.acquire("lock-app", "lock-2")
    assert "drorch cancel lock-1" in raised.value.hint
    assert engine.lock.release("lock-app", "lock-2") is False  # only the holder releases
    assert engine.lock.holder("lock-app")["executionId"] == "lock-1"

    assert engine.lock.release("lock-app", "lock-1") is True
    assert engine.lock.release("lock-app", "lock-1") is False  # idempotent
    engine.lock.acquire("lock-app", "lock-2")
    assert engine.lock.holder("lock-app")["executionId"] == "lock-2"


def test_a_lock_left_by_a_finished_execution_is_taken_over(engine):
    _record(engine, "stale-1", "stale-app")
    engine.lock.acquire("stale-app", "stale-1")
    engine.history.set_status("stale-1", "FAILED", error="Boom")  # its fail path never released

    _record(engine, "stale-2", "stale-app")
    engine.lock.acquire("stale-app", "stale-2")
    assert engine.lock.holder("stale-app")["executionId"] == "stale-2"


def test_locks_of_different_applications_are_independent(engine):
    _record(engine, "ind-1", "ind-a")
    _record(engine, "ind-2", "ind-b")
    engine.lock.acquire("ind-a", "ind-1")
    engine.lock.acquire("ind-b", "ind-2")


def test_a_finished_execution_cannot_be_reopened(engine):
    _record(engine, "hist-1")
    engine.history.set_status("hist-1", "WAITING_APPROVAL")
    engine.history.set_status("hist-1", "RUNNING")
    done = engine.history.set_status("hist-1", "SUCCEEDED")
    assert done["finishedAt"] == clock.iso()
    assert done["expiresAt"] == clock.epoch(clock.now() + timedelta(days=RETENTION_DAYS))

    for status in ("RUNNING", "PAUSED", "FAILED", "CANCELLED"):
        with pytest.raises(InvalidTransition, match="hist-1 is SUCCEEDED; it cannot become"):
            engine.history.set_status("hist-1", status)
    with pytest.raises(InvalidTransition, match="finished"):
        engine.history.set_flag("hist-1", "paused", True)
    assert engine.history.require_execution("hist-1")["status"] == "SUCCEEDED"


def test_a_retried_terminal_transition_is_a_no_op_that_keeps_the_first_finish(engine, hub):
    _record(engine, "hist-2")
    first = engine.history.set_status("hist-2", "FAILED", error="WaveFailed", cause="db")
    hub.sandbox.advance(60)
    again = engine.history.set_status("hist-2", "FAILED", error="WaveFailed", cause="db")
    assert again["finishedAt"] == first["finishedAt"]
    assert again["status"] == "FAILED"


def test_unknown_statuses_and_executions_are_refused(engine):
    with pytest.raises(ValueError, match="unknown status"):
        engine.history.set_status("nope", "DONE")
    with pytest.raises(ExecutionNotFound):
        engine.history.require_execution("nope")
    with pytest.raises(ExecutionNotFound):  # nothing to move
        engine.history.set_status("nope", "RUNNING")


def test_creating_an_execution_twice_returns_the_first_record(engine):
    first = _record(engine, "hist-3")
    second = engine.history.create_execution(
        "hist-3", application="other", operation="failover", requested_by="bob", manifest=REF
    )
    assert second["application"] == first["application"] == "app"
    assert second["requestedBy"] == "alice"


def test_listing_executions_skips_progress_items(engine):
    _record(engine, "list-1", "list-app")
    _record(engine, "list-2", "list-app")
    engine.history.wave_started("list-1", "ACTIVATE", 0, "db")  # status RUNNING, startedAt too
    engine.history.set_status("list-2", "SUCCEEDED")

    by_app = engine.history.list_executions(application="list-app")
    assert sorted(e["executionId"] for e in by_app) == ["list-1", "list-2"]
    running = engine.history.list_executions(status="RUNNING")
    assert "list-1" in {e["executionId"] for e in running}
    assert all(e["sk"] == "EXEC" for e in running)
    assert [
        e["executionId"]
        for e in engine.history.list_executions(application="list-app", status="SUCCEEDED")
    ] == ["list-2"]
