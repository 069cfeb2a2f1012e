"""Safe operations (issue 11, item 6): each operation checks its preconditions before its
first change and refuses with a reason naming the run, the resource and the call; an
unresolvable reference fails its group with a cause naming the parameter."""

from __future__ import annotations

import json

import pytest
import yaml

from drorch.engine.errors import PreconditionFailed, WaveFailed
from drorch.engine.executor import account_context
from drorch.modules.base import Resource
from tests.engine.test_handlers import (
    invoke,
    jobs_with_key,
    servers_only,
    start_input,
)


def _data_only(manifest_text: str, **technology) -> str:
    document = yaml.safe_load(servers_only(manifest_text))
    document["approvalWorkflow"] = {"required": False}
    document["waves"] = document["waves"][:1]
    document["waves"][0]["technologies"][0].update(technology)
    return yaml.safe_dump(document, sort_keys=False)


def _recovery_instances(hub, account_id: str) -> list[dict]:
    drs = hub.sandbox.admin_session(account_id).client("drs")
    return [
        i
        for page in drs.get_paginator("describe_recovery_instances").paginate()
        for i in page["items"]
    ]


def test_failback_with_nothing_failed_over_is_refused_before_any_launch(
    engine, hub, manifest_text, execution_id
):
    data = hub.accounts["staging-data"].account_id
    before = _recovery_instances(hub, data)
    context = invoke(
        "initialise",
        start_input(hub, _data_only(manifest_text), execution_id, operation="failback"),
    )
    invoke("discover", context)
    with pytest.raises(PreconditionFailed, match="no completed failover in the history"):
        invoke("plan", context)
    assert jobs_with_key(hub, data, execution_id) == []
    assert _recovery_instances(hub, data) == before
    cause = json.dumps({"errorType": "PreconditionFailed", "errorMessage": "nothing to fail back"})
    failed = invoke("fail", {**context, "error": {"Error": "PreconditionFailed", "Cause": cause}})
    assert (failed["status"], failed["lockReleased"]) == ("FAILED", True)


def test_failback_after_a_failover_whose_instances_are_gone_names_servers_and_call(
    engine, hub, manifest_text, execution_id
):
    app = f"claims-{execution_id}"
    engine.history.create_execution(
        f"{execution_id}-fo",
        application=app,
        operation="failover",
        requested_by="test",
        manifest={"bucket": "b", "key": "k", "versionId": "v"},
    )
    engine.history.set_status(f"{execution_id}-fo", "SUCCEEDED")
    hub.sandbox.advance(60)
    context = invoke(
        "initialise",
        start_input(hub, _data_only(manifest_text), execution_id, operation="failback"),
    )
    invoke("discover", context)
    with pytest.raises(PreconditionFailed) as refused:
        invoke("plan", context)
    message = str(refused.value)
    assert "data-servers in account 333333333333" in message
    assert "acme-ora-01" in message and "drs:DescribeRecoveryInstances" in message
    assert "nothing to fail back" in message


def test_cleanup_with_nothing_to_clean_is_refused(engine, hub, manifest_text, execution_id):
    context = invoke(
        "initialise", start_input(hub, _data_only(manifest_text), execution_id, operation="cleanup")
    )
    invoke("discover", context)
    with pytest.raises(PreconditionFailed, match="nothing to clean"):
        invoke("plan", context)


def test_cleanup_after_a_drill_is_allowed(engine, hub, manifest_text, execution_id):
    app = f"claims-{execution_id}"
    engine.history.create_execution(
        f"{execution_id}-d",
        application=app,
        operation="drill",
        requested_by="test",
        manifest={"bucket": "b", "key": "k", "versionId": "v"},
    )
    engine.history.put_resources(
        f"{execution_id}-d",
        [
            {
                "phase": "ACTIVATE",
                "groupId": "data-servers",
                "accountId": "333333333333",
                "resourceId": "s-1",
                "status": "SUCCEEDED",
            }
        ],
    )
    engine.history.set_status(f"{execution_id}-d", "SUCCEEDED")
    hub.sandbox.advance(60)
    context = invoke(
        "initialise", start_input(hub, _data_only(manifest_text), execution_id, operation="cleanup")
    )
    invoke("discover", context)
    plan = invoke("plan", context)
    assert [p["phase"] for p in plan["phases"]] == ["CLEANUP"]


def test_a_drs_failback_activate_launches_nothing_in_the_recovery_region(engine, hub):
    data = hub.accounts["staging-data"].account_id
    ctx = account_context(engine, data, False, "x", operation="failback")
    servers = [Resource(s, "", data, ctx.region, s) for s in hub.servers[data][:2]]
    state = engine.modules["drs"].start(ctx, "ACTIVATE", servers, {}, False, "fb-activate")
    result = engine.modules["drs"].status(ctx, "ACTIVATE", state)
    assert result.status == "SUCCEEDED"
    assert {r.status for r in result.resources} == {"SKIPPED"}
    assert jobs_with_key(hub, data, "fb-activate") == []


def test_an_unresolvable_reference_fails_the_group_naming_the_parameter(
    engine, hub, manifest_text, execution_id
):
    text = _data_only(manifest_text, parameters={"maxServersPerJob": "resolve:ssm:/claims/gone"})
    context = invoke("initialise", start_input(hub, text, execution_id, operation="drill"))
    invoke("discover", context)
    plan = invoke("plan", context)
    activate = next(p for p in plan["phases"] if p["phase"] == "ACTIVATE")
    group = activate["levels"][0]["groups"][0]
    request = {
        "executionId": execution_id,
        "groupId": group["groupId"],
        "phase": "ACTIVATE",
        "accountId": group["accounts"][0],
    }
    answer = invoke("module_start", request)
    assert answer["status"] == "FAILED"
    for part in (
        "/claims/gone",
        "ssm:GetParameters",
        "parameters.maxServersPerJob",
        "333333333333",
    ):
        assert part in answer["summary"], part
    resources = [r for r in engine.history.resources(execution_id) if r["phase"] == "ACTIVATE"]
    assert resources and {r["status"] for r in resources} == {"FAILED"}
    with pytest.raises(WaveFailed, match="resolve:ssm:/claims/gone"):
        invoke(
            "checkpoint",
            {"action": "after-level", "executionId": execution_id, "phase": "ACTIVATE", "level": 0},
        )
    assert jobs_with_key(hub, group["accounts"][0], execution_id) == []
