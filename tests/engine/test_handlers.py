"""The Lambda handlers, invoked as Lambda would (event + context), against the sandbox."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest
import yaml

from drorch import names
from drorch.engine.errors import Cancelled, ExecutionConflict, ManifestInvalid, WaveFailed
from drorch.engine.executor import idempotency_key, state_key
from drorch.engine.gates import Gates
from tests.engine.conftest import FakeLambdaContext
from tests.engine.test_gates import RecordingStepFunctions

IDEMPOTENCY_TAG = "drorch:idempotency-key"


def invoke(key: str, event: dict[str, Any]) -> dict[str, Any]:
    module = importlib.import_module(f"drorch.handlers.{key}")
    result = module.handler(json.loads(json.dumps(event)), FakeLambdaContext(names.FUNCTIONS[key]))
    json.dumps(result)  # what a handler returns must be plain JSON
    return result


def start_input(hub, manifest_text: str, execution_id: str, **extra) -> dict[str, Any]:
    text = manifest_text.replace("application: claims", f"application: claims-{execution_id}")
    ref = hub.upload_manifest(text, key=f"manifests/{execution_id}.yaml")
    return {
        "executionId": execution_id,
        "application": f"claims-{execution_id}",
        "operation": "drill",
        "manifest": ref,
        "pollSeconds": 0,
        "requestedBy": "arn:aws:iam::999999999999:user/alice",
        **extra,
    }


def discover_accounts(context: dict[str, Any]) -> list[dict[str, int]]:
    """What the master's Discover Map does: each account discovered by its own invocation."""
    return [
        invoke("discover", {"executionId": context["executionId"], "accountId": account})
        for account in context["accounts"]
    ]


def prepared(hub, manifest_text, execution_id) -> tuple[dict, dict]:
    context = invoke("initialise", start_input(hub, manifest_text, execution_id))
    context["discovery"] = discover_accounts(context)
    return context, invoke("plan", context)


def run_group(hub, execution_id, phase, group, poll=60, limit=40) -> list[dict]:
    results = []
    for account in group["accounts"]:
        request = {
            "executionId": execution_id,
            "groupId": group["groupId"],
            "phase": phase,
            "accountId": account,
            "pollSeconds": 0,
        }
        answer = invoke("module_start", request)
        assert answer["status"] in ("RUNNING", "SUCCEEDED")
        for _ in range(limit):
            if answer["status"] != "RUNNING":
                break
            hub.sandbox.advance(poll)
            answer = invoke("module_status", request)
        results.append(answer)
    return results


def jobs_with_key(hub, account_id: str, key: str) -> list[dict]:
    drs = hub.sandbox.admin_session(account_id).client("drs")
    jobs = [j for page in drs.get_paginator("describe_jobs").paginate() for j in page["items"]]
    return [j for j in jobs if j.get("tags", {}).get(IDEMPOTENCY_TAG, "").startswith(key)]


def servers_only(manifest_text: str) -> str:
    """The example without its wave actions and health checks (tests/e2e runs those)."""
    document = yaml.safe_load(manifest_text)
    document.pop("healthChecks", None)
    for wave in document["waves"]:
        for key in ("preWaveActions", "postWaveActions", "healthChecks"):
            wave.pop(key, None)
    return yaml.safe_dump(document, sort_keys=False)


def test_a_drill_runs_through_every_handler_and_reports(engine, hub, manifest_text, execution_id):
    master = start_input(hub, servers_only(manifest_text), execution_id)
    context = invoke("initialise", master)
    assert context == {
        "executionId": execution_id,
        "application": f"claims-{execution_id}",
        "operation": "drill",
        "phases": ["INSTANTIATE", "ACTIVATE"],
        "pollSeconds": 0,
        "startedAt": context["startedAt"],
        "accounts": sorted(a.account_id for a in hub.accounts.values()),
    }
    # the master's Discover Map: one account each, the plan merges their parts
    context["discovery"] = discover_accounts(context)
    # acme-sqldw-01 is tagged sql-ag: excluded by the DRS module (sqlserver-ag recovers it)
    assert {
        key: sum(part[key] for part in context["discovery"])
        for key in ("discovered", "excluded", "skipped")
    } == {"discovered": 10, "excluded": 1, "skipped": 0}
    plan = invoke("plan", context)
    execution = engine.history.require_execution(execution_id)
    assert (execution["discovered"], execution["excluded"]) == (10, 1)
    # the master's Readiness Map: a shard per page of an account's resources, then the verdict
    assert {s["accountId"] for s in plan["readiness"]} == set(context["accounts"])
    for shard in plan["readiness"]:
        invoke("readiness", {"executionId": execution_id, **shard})
    verdict = invoke("readiness", {"executionId": execution_id, "action": "verdict"})
    assert verdict["blockers"] == 0 and verdict["forced"] is False
    recorded = engine.history.require_execution(execution_id)["readiness"]
    assert recorded["resources"] >= 10 and recorded["counts"]["BLOCKER"] == 0
    answers = Gates(engine.history, RecordingStepFunctions(), engine.publisher)

    for phase in plan["phases"]:
        name = phase["phase"]
        if phase["approval"]:
            opened = invoke(
                "gate",
                {
                    "executionId": execution_id,
                    "kind": "approval",
                    "phase": name,
                    "token": f"tok-{name}",
                },
            )
            hub.sandbox.advance(120)
            answers.approve(execution_id, opened["gate"], "dr-lead@acme.example", "go")
        for level in phase["levels"]:
            flags = invoke(
                "checkpoint",
                {
                    "action": "before-level",
                    "executionId": execution_id,
                    "phase": name,
                    "level": level,
                },
            )
            assert flags == {"paused": False, "cancelled": False}
            if level["pauseBefore"]:
                opened = invoke(
                    "gate",
                    {
                        "executionId": execution_id,
                        "kind": "wave",
                        "phase": name,
                        "level": level,
                        "position": "before",
                        "token": f"tok-{name}-{level['level']}",
                    },
                )
                answers.approve(execution_id, opened["gate"], "ops@acme.example")
            for group in level["groups"]:
                assert {r["status"] for r in run_group(hub, execution_id, name, group)} == {
                    "SUCCEEDED"
                }
            after = invoke(
                "checkpoint",
                {
                    "action": "after-level",
                    "executionId": execution_id,
                    "phase": name,
                    "level": level["level"],
                },
            )
            assert after["failed"] == []

    done = invoke("finalise", context)
    assert done["status"] == "SUCCEEDED"
    assert done["resources"]["succeeded"] == 20  # 10 DRS servers x 2 phases
    assert done["report"] == {
        ext: f"executions/{execution_id}/report.{ext}" for ext in ("json", "md", "html")
    }
    assert engine.lock.holder(f"claims-{execution_id}") is None
    execution = engine.history.require_execution(execution_id)
    assert execution["status"] == "SUCCEEDED"
    assert execution["requestedBy"] == master["requestedBy"]

    report = json.loads(
        engine.s3.get_object(Bucket=hub.artifacts_bucket, Key=done["report"]["json"])["Body"].read()
    )
    activate = next(p for p in report["phases"] if p["phase"] == "ACTIVATE")
    assert [w["wave"] for w in activate["waves"]] == ["data", "app", "web"]
    data = activate["waves"][0]
    assert data["rtoTargetMinutes"] == 30  # the Oracle hosts (the SQL Server host is not DRS's)
    assert data["durationSeconds"] > 0  # simulated minutes of DRS launch
    assert data["rtoMet"] is (data["recoveredAfterSeconds"] <= 30 * 60)
    assert [(a["kind"], a["phase"], a["decidedBy"]) for a in report["approvals"]] == [
        ("approval", "ACTIVATE", "dr-lead@acme.example"),
        ("wave", "ACTIVATE", "ops@acme.example"),
    ]
    assert report["approvals"][0]["waitedSeconds"] == 120
    markdown = (
        engine.s3.get_object(Bucket=hub.artifacts_bucket, Key=done["report"]["md"])["Body"]
        .read()
        .decode()
    )
    assert "acme-ora-01" in markdown and "dr-lead@acme.example" in markdown
    # the DRS jobs were drills
    data_account = hub.accounts["staging-data"].account_id
    jobs = jobs_with_key(
        hub, data_account, idempotency_key(execution_id, "ACTIVATE", "data-servers", data_account)
    )
    assert len(jobs) == 1 and jobs[0]["type"] == "LAUNCH"


def test_module_start_is_idempotent(engine, hub, manifest_text, execution_id):
    _, plan = prepared(hub, manifest_text, execution_id)
    group = plan["phases"][1]["levels"][0]["groups"][0]  # ACTIVATE, data tier
    account = group["accounts"][0]
    request = {
        "executionId": execution_id,
        "groupId": group["groupId"],
        "phase": "ACTIVATE",
        "accountId": account,
        "pollSeconds": 0,
    }

    first = invoke("module_start", request)
    hub.sandbox.advance(5)
    again = invoke(
        "module_start", {**request, "pollSeconds": 30}
    )  # Step Functions retried the task
    assert again == first
    key = idempotency_key(execution_id, "ACTIVATE", group["groupId"], account)
    assert len(jobs_with_key(hub, account, key)) == 1

    # even with the idempotency record gone, the module finds its tagged job again
    dynamodb = hub.client("dynamodb")
    for item in dynamodb.scan(TableName=names.IDEMPOTENCY_TABLE)["Items"]:
        dynamodb.delete_item(TableName=names.IDEMPOTENCY_TABLE, Key={"id": item["id"]})
    invoke("module_start", request)
    assert len(jobs_with_key(hub, account, key)) == 1


def test_a_module_past_its_deadline_fails_and_the_wave_stops(
    engine, hub, manifest_text, execution_id
):
    context, plan = prepared(hub, manifest_text, execution_id)
    level = plan["phases"][1]["levels"][0]
    group = level["groups"][0]
    request = {
        "executionId": execution_id,
        "groupId": group["groupId"],
        "phase": "ACTIVATE",
        "accountId": group["accounts"][0],
    }
    invoke(
        "checkpoint",
        {
            "action": "before-level",
            "executionId": execution_id,
            "phase": "ACTIVATE",
            "level": level,
        },
    )
    # DRS jobs an earlier test left running end first (a start refused at once by DRS
    # would answer FAILED straight away, before any deadline)
    hub.sandbox.advance(60 * 60)
    started = invoke("module_start", request)
    assert started["status"] == "RUNNING"
    hub.sandbox.advance(121 * 60)  # the data wave has 120 minutes
    answer = invoke("module_status", request)
    assert answer["status"] == "FAILED"
    assert answer["reason"] == "timeout"
    assert answer["deadline"] == started["deadline"]
    assert answer["counts"]["failed"] == 2  # the two Oracle hosts
    assert invoke("module_status", request) == answer  # asked again: same answer

    with pytest.raises(
        WaveFailed, match="wave data \\(ACTIVATE\\): data-servers in 333333333333: FAILED"
    ):
        invoke(
            "checkpoint",
            {"action": "after-level", "executionId": execution_id, "phase": "ACTIVATE", "level": 0},
        )
    cause = json.dumps({"errorType": "WaveFailed", "errorMessage": "wave data (ACTIVATE): timeout"})
    failed = invoke("fail", {**context, "error": {"Error": "WaveFailed", "Cause": cause}})
    assert failed["status"] == "FAILED"
    assert failed["cause"] == "wave data (ACTIVATE): timeout"
    assert failed["lockReleased"] is True
    waves = {w["wave"]: w for w in engine.history.waves(execution_id, "ACTIVATE")}
    assert waves["data"]["status"] == "FAILED"
    assert waves["app"]["status"] == "PENDING"  # never started
    saved = json.loads(
        engine.s3.get_object(
            Bucket=hub.artifacts_bucket,
            Key=state_key(execution_id, group["groupId"], group["accounts"][0], "ACTIVATE"),
        )["Body"].read()
    )
    assert saved["finished"] == "FAILED"


def test_an_invalid_manifest_fails_before_anything_is_written(engine, hub, execution_id):
    ref = hub.upload_manifest(
        "manifestVersion: '2.0'\ncustomer: acme\nwaves: []\n",
        key=f"manifests/{execution_id}-bad.yaml",
    )
    master = {
        "executionId": execution_id,
        "application": "acme-bad",
        "operation": "drill",
        "manifest": ref,
        "requestedBy": "alice",
    }
    with pytest.raises(ManifestInvalid, match="invalid manifest"):
        invoke("initialise", master)
    assert engine.history.execution(execution_id) is None
    failed = invoke(
        "fail", {**master, "error": {"Error": "ManifestInvalid", "Cause": "environment is missing"}}
    )
    assert failed["status"] == "FAILED"
    execution = engine.history.require_execution(execution_id)
    assert (execution["error"], execution["application"]) == ("ManifestInvalid", "acme-bad")


def test_a_second_execution_of_the_application_conflicts_and_leaves_the_lock(
    engine, hub, manifest_text, execution_id
):
    first = start_input(hub, manifest_text, execution_id)
    invoke("initialise", first)
    second = {**first, "executionId": f"{execution_id}-b"}
    with pytest.raises(ExecutionConflict):
        invoke("initialise", second)
    failed = invoke("fail", {**second, "error": {"Error": "ExecutionConflict", "Cause": "locked"}})
    assert failed["status"] == "FAILED"
    assert failed["lockReleased"] is False
    assert engine.lock.holder(first["application"])["executionId"] == execution_id


def test_cancel_and_pause_show_at_the_next_wave_boundary(engine, hub, manifest_text, execution_id):
    context, plan = prepared(hub, manifest_text, execution_id)
    gates = engine.gates()
    boundary = {
        "action": "before-level",
        "executionId": execution_id,
        "phase": "INSTANTIATE",
        "level": plan["phases"][0]["levels"][0],
    }
    gates.pause(execution_id, "ops")
    assert invoke("checkpoint", boundary) == {"paused": True, "cancelled": False}
    gates.resume(execution_id, "ops")
    gates.cancel(execution_id, "ops")
    assert invoke("checkpoint", boundary) == {"paused": False, "cancelled": True}
    failed = invoke(
        "fail", {**context, "error": {"Error": Cancelled.__name__, "Cause": "cancelled by ops"}}
    )
    assert failed["status"] == "CANCELLED"
    assert engine.lock.holder(context["application"]) is None


def test_an_approval_nobody_answers_fails_the_execution(engine, hub, manifest_text, execution_id):
    context, plan = prepared(hub, manifest_text, execution_id)
    activate = plan["phases"][1]
    assert activate["approval"] is True and activate["approvalTimeoutSeconds"] == 3600
    gate = {"executionId": execution_id, "kind": "approval", "phase": "ACTIVATE", "token": "t"}
    invoke("gate", gate)
    assert engine.history.require_execution(execution_id)["status"] == "WAITING_APPROVAL"
    hub.sandbox.advance(3600)  # Step Functions times the task out (TimeoutSecondsPath)
    timeout = {"Error": "States.Timeout", "Cause": "approval timed out"}
    failed = invoke("fail", {**context, "error": timeout})
    assert failed["status"] == "FAILED"
    (expired,) = engine.history.gates(execution_id)
    assert (expired["decision"], expired["decidedBy"]) == ("expired", "drorch")
    assert engine.lock.holder(context["application"]) is None
