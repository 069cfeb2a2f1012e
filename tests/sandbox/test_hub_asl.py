"""The state machines' control flow on moto's interpreter, with test-double handlers.

The hub is deployed once for the module by the Pulumi program (the one deployment),
then its functions are pointed at :mod:`tests.sandbox.asl_doubles`.
"""

from __future__ import annotations

import itertools
import json

import boto3
import pytest

from drorch import names
from drorch.sandbox import Sandbox, activity
from drorch.sandbox.pulumi_deploy import deploy_hub
from tests.sandbox import asl_doubles

_RUNS = itertools.count(1)


def _level(level, groups, pause_before=False, pause_after=False):
    return {
        "level": level,
        "waves": [f"w{level}"],
        "pauseBefore": pause_before,
        "pauseAfter": pause_after,
        "pre": [],
        "groups": groups,
        "after": False,
        "post": [],
        "checks": [],
    }


@pytest.fixture(scope="module")
def deployed():
    with Sandbox(strict=True) as sandbox:
        deployment = deploy_hub(sandbox, [])  # the hub alone: the doubles reach no account
        runtime = sandbox.state.lambda_runtime
        doubles = {function: key for key, function in names.FUNCTIONS.items()}
        for arn in list(runtime.handlers):
            key = doubles.get(arn.rsplit(":", 1)[-1])
            if key:
                runtime.handlers[arn] = f"tests.sandbox.asl_doubles:{key}"
        yield sandbox, deployment
        assert sandbox.state.fidelity.violations == []


@pytest.fixture
def hub(deployed):
    asl_doubles.CALLS.clear()
    asl_doubles.AT.clear()
    asl_doubles.TOKENS.clear()
    asl_doubles.SCRIPT.clear()
    return deployed


def run(deployment, *, approve=None, timeout=30.0):
    """Start the master machine and answer its gates until the execution ends."""
    sfn = boto3.client("stepfunctions")
    execution_id = f"drill-20260101{next(_RUNS):06d}-abc123"
    arn = sfn.start_execution(
        stateMachineArn=deployment.state_machines["master"],
        name=execution_id,
        input=json.dumps({"executionId": execution_id, "operation": "drill", "pollSeconds": 0}),
    )["executionArn"]

    def ended():
        while asl_doubles.TOKENS and approve is not None:
            token = asl_doubles.TOKENS.pop(0)
            if approve(token):
                sfn.send_task_success(taskToken=token["token"], output="{}")
            else:
                sfn.send_task_failure(taskToken=token["token"], error="GateRejected", cause="no")
        described = sfn.describe_execution(executionArn=arn)
        return described if described["status"] != "RUNNING" else None

    return activity.wait_for(ended, timeout)


def activate(*levels, approval=False):
    """Script the plan: one ACTIVATE phase with these levels."""
    asl_doubles.SCRIPT["phases"] = [
        {
            "phase": "ACTIVATE",
            "approval": approval,
            "approvalTimeoutSeconds": 60,
            "levels": list(levels),
        }
    ]


def calls(name):
    return [event for call, event in asl_doubles.CALLS if call == name]


def test_phases_levels_groups_and_accounts_run_in_order(hub):
    _, deployment = hub
    activate(
        _level(0, [{"groupId": "g1", "accounts": ["111111111111", "222222222222"]}]),
        _level(
            1,
            [
                {"groupId": "g2", "accounts": ["333333333333"]},
                {"groupId": "g3", "accounts": ["111111111111"]},
            ],
        ),
    )
    result = run(deployment)
    assert result["status"] == "SUCCEEDED", result
    starts = calls("module_start")
    assert sorted((e["groupId"], e["accountId"]) for e in starts) == [
        ("g1", "111111111111"),
        ("g1", "222222222222"),
        ("g2", "333333333333"),
        ("g3", "111111111111"),
    ]
    # level 0's groups all finished before level 1 started
    order = [
        (name, e.get("groupId"))
        for name, e in asl_doubles.CALLS
        if name in ("module_start", "checkpoint")
    ]
    first_g2 = order.index(("module_start", "g2"))
    assert all(e != ("module_start", "g1") for e in order[first_g2:])
    assert [e["action"] for e in calls("checkpoint")] == ["before-level", "after-level"] * 2
    # after before-level, the level as the plan stands now (a plan edit may change it)
    assert [e["state"]["level"]["level"] for e in calls("current_level")] == [0, 1]
    assert len(calls("finalise")) == 1 and not calls("fail")
    # payloads carry keys and counts, never resource lists
    assert all(len(json.dumps(e)) < 2048 for _, e in asl_doubles.CALLS)


def test_rejected_approval_fails_the_execution_and_runs_no_wave(hub):
    _, deployment = hub
    activate(_level(0, [{"groupId": "g1", "accounts": ["111111111111"]}]), approval=True)
    result = run(deployment, approve=lambda token: False)
    assert result["status"] == "FAILED"
    assert not calls("module_start")
    assert len(calls("fail")) == 1 and not calls("finalise")
    assert calls("gate")[0]["kind"] == "approval"


def test_approved_gate_continues(hub):
    _, deployment = hub
    activate(
        _level(0, [{"groupId": "g1", "accounts": ["111111111111"]}], pause_before=True),
        approval=True,
    )
    result = run(deployment, approve=lambda token: True)
    assert result["status"] == "SUCCEEDED"
    assert [(g["kind"], g.get("position")) for g in calls("gate")] == [
        ("approval", None),
        ("wave", "before"),
    ]


def test_a_failed_wave_stops_later_levels(hub):
    _, deployment = hub
    activate(
        _level(0, [{"groupId": "g1", "accounts": ["111111111111"]}]),
        _level(1, [{"groupId": "g2", "accounts": ["111111111111"]}]),
    )
    asl_doubles.SCRIPT["fail_accounts"] = ["111111111111"]
    asl_doubles.SCRIPT["fail_levels"] = [0]
    result = run(deployment)
    assert result["status"] == "FAILED"
    assert {e["groupId"] for e in calls("module_start")} == {"g1"}
    failure = calls("fail")[0]
    assert failure["error"]["Error"] == "WaveFailed"


def test_readiness_runs_after_the_plan_and_a_blocker_stops_before_any_phase(hub):
    _, deployment = hub
    activate(_level(0, [{"groupId": "g1", "accounts": ["111111111111"]}]), approval=True)
    asl_doubles.SCRIPT["blocked"] = True
    result = run(deployment, approve=lambda token: True)
    assert result["status"] == "FAILED"
    names = [name for name, _ in asl_doubles.CALLS]
    # discovery and readiness are Maps: an invocation per account, then the verdict
    assert names == ["initialise", "discover", "plan", "readiness", "readiness", "fail"]
    assert calls("discover") == [
        {"executionId": calls("plan")[0]["executionId"], "accountId": "111111111111"}
    ]
    shard, verdict = calls("readiness")
    assert shard == {
        "executionId": calls("plan")[0]["executionId"],
        "accountId": "111111111111",
        "page": 0,
    }
    assert verdict == {"executionId": shard["executionId"], "action": "verdict"}
    assert calls("fail")[0]["error"]["Error"] == "ReadinessBlocked"


def test_pause_waits_for_resume_and_cancel_fails(hub):
    _, deployment = hub
    activate(_level(0, [{"groupId": "g1", "accounts": ["111111111111"]}]))
    asl_doubles.SCRIPT["flags"] = {"paused": True}
    result = run(deployment, approve=lambda token: True)
    assert result["status"] == "SUCCEEDED"
    assert [g["kind"] for g in calls("gate")] == ["resume"]
    assert [e["action"] for e in calls("checkpoint")] == [
        "before-level",
        "before-level",
        "after-level",
    ]


def _executor_states(sfn, deployment):
    """The states each executor execution entered, in order."""
    found = []
    for ex in sfn.list_executions(stateMachineArn=deployment.state_machines["executor"])[
        "executions"
    ]:
        events = sfn.get_execution_history(executionArn=ex["executionArn"])["events"]
        found.append(
            [
                e["stateEnteredEventDetails"]["name"]
                for e in events
                if "stateEnteredEventDetails" in e
            ]
        )
    return found


def test_parallel_executors_each_wait_their_own_interval(hub):
    """Four executors poll in parallel every 30 s, 6 times: each polls exactly 30 s of
    simulated time after its previous call (its own timeline), and the run takes about
    180 s, not 4 x 180 s (one shared clock moved by every executor's Wait)."""
    sandbox, deployment = hub
    asl_doubles.SCRIPT.update(waitSeconds=30, polls=6)
    accounts = ["111111111111", "222222222222", "333333333333", "444444444444"]
    activate(_level(0, [{"groupId": "g1", "accounts": accounts}]))
    before = sandbox.clock.now()
    result = run(deployment)
    assert result["status"] == "SUCCEEDED", result
    assert len(calls("module_status")) == 4 * 6
    for account in accounts:
        times = [
            at
            for name, who, at in asl_doubles.AT
            if who == account and name in ("module_start", "module_status")
        ]
        gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
        assert gaps == [30.0] * 6, (account, gaps)
    # the executors started within one interval of each other
    assert 6 * 30 <= (sandbox.clock.now() - before).total_seconds() < 7 * 30


def test_an_executor_waits_for_events_and_polls_when_they_are_lost(hub):
    """A module that awaits events: the executor registers its token with drorch-waiter; an
    answered token runs the status check at once, a lost event after the fallback timeout."""
    from drorch.engine.asl import EVENT_FALLBACK_SECONDS

    sandbox, deployment = hub
    sfn = boto3.client("stepfunctions")
    awaits = [{"key": "drs-job/drsjob-11111111111111111", "expect": 2}]
    asl_doubles.SCRIPT.update(awaits=awaits, waitSeconds=30, polls=2, wake=True)
    activate(_level(0, [{"groupId": "g1", "accounts": ["111111111111"]}]))
    before = sandbox.clock.now()
    assert run(deployment)["status"] == "SUCCEEDED"
    woken = (sandbox.clock.now() - before).total_seconds()
    registered = calls("waiter")
    assert [e["awaits"] for e in registered] == [awaits, awaits]
    assert all(e["token"] and e["executionId"] for e in registered)
    assert woken == 0  # the events came at once: no poll interval, no fallback

    asl_doubles.CALLS.clear()
    asl_doubles.SCRIPT.update(wake=False)  # the events are lost
    before = sandbox.clock.now()
    assert run(deployment)["status"] == "SUCCEEDED"
    assert len(calls("waiter")) == 2 and len(calls("module_status")) == 2
    assert (sandbox.clock.now() - before).total_seconds() == 2 * EVENT_FALLBACK_SECONDS
    # both runs: the token's wait, then the status check (answered or timed out alike)
    waited = [s for s in _executor_states(sfn, deployment) if "WaitForEvent" in s]
    expected = ["Start", "Decide", *["WaitForEvent", "Status", "Decide"] * 2, "Done"]
    assert waited == [expected, expected]
