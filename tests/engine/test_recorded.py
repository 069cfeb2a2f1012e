"""CLEANUP and REPLICATE restore what the run they follow recorded (kept in the history)."""

from __future__ import annotations

from drorch.engine.executor import recorded_for

MANIFEST = {"bucket": "b", "key": "k", "versionId": "v"}


def _run(engine, hub, execution_id, application, operation, details=None):
    execution = engine.history.create_execution(
        execution_id,
        application=application,
        operation=operation,
        requested_by="test",
        manifest=MANIFEST,
    )
    for (phase, resource_id), detail in (details or {}).items():
        engine.history.put_resources(
            execution_id,
            [
                {
                    "phase": phase,
                    "groupId": "capacity-api",
                    "accountId": "222222222222",
                    "resourceId": resource_id,
                    "status": "SUCCEEDED",
                    "detail": detail,
                }
            ],
        )
    hub.sandbox.advance(60)
    return execution


def test_cleanup_gets_what_the_latest_drill_recorded(engine, hub, execution_id):
    app = f"capacity-{execution_id}"
    _run(engine, hub, f"{execution_id}-a", app, "drill",
         {("ACTIVATE", "svc"): {"before": {"desiredCount": 1}}})  # fmt: skip
    _run(engine, hub, f"{execution_id}-b", app, "drill", {
        ("INSTANTIATE", "svc"): {"before": {"desiredCount": 9}, "note": "instantiate"},
        ("ACTIVATE", "svc"): {"before": {"desiredCount": 0}},
        ("INSTANTIATE", "other"): {"before": {"desiredCount": 2}},
    })  # fmt: skip
    _run(engine, hub, f"{execution_id}-c", app, "failback")  # records nothing for the group
    cleanup = _run(engine, hub, f"{execution_id}-d", app, "cleanup")

    found, source = recorded_for(engine, cleanup, "capacity-api", "222222222222", "CLEANUP")

    assert source == f"{execution_id}-b"
    assert found == {  # INSTANTIATE's and ACTIVATE's details, merged: ACTIVATE's keys win
        "svc": {"before": {"desiredCount": 0}, "note": "instantiate"},
        "other": {"before": {"desiredCount": 2}},
    }


def test_replicate_follows_a_failover_only_and_nothing_recorded_is_said(engine, hub, execution_id):
    app = f"capacity-{execution_id}"
    _run(engine, hub, f"{execution_id}-a", app, "failover",
         {("ACTIVATE", "svc"): {"before": {"desiredCount": 4}}})  # fmt: skip
    _run(engine, hub, f"{execution_id}-b", app, "drill",
         {("ACTIVATE", "svc"): {"before": {"desiredCount": 0}}})  # fmt: skip
    failback = _run(engine, hub, f"{execution_id}-c", app, "failback")

    found, source = recorded_for(engine, failback, "capacity-api", "222222222222", "REPLICATE")
    assert (found, source) == ({"svc": {"before": {"desiredCount": 4}}}, f"{execution_id}-a")
    # other phases restore nothing; another group or account recorded nothing
    assert recorded_for(engine, failback, "capacity-api", "222222222222", "ACTIVATE") == ({}, "")
    assert recorded_for(engine, failback, "capacity-web", "222222222222", "REPLICATE") == ({}, "")
