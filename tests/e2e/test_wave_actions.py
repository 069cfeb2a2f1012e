"""Wave actions and health checks, end to end: the real state machines run the runbook of the
three-tier example (an SSM Automation before the app wave, the smoke-test Lambda after it,
the web 5xx alarm after the web wave, the public endpoint at the end of the run)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from drorch.engine.clock import parse
from tests.e2e.conftest import EXAMPLE

APP, WEB = "222222222222", "111111111111"
PREWARM = "acme-app-prewarm"


def approve_all(gate: dict[str, Any]) -> bool:
    return True


def run(hub, document: dict[str, Any] | None = None, operation: str = "drill") -> dict:
    if document is not None:
        hub.client.upload_manifest("claims.yaml", yaml.safe_dump(document, sort_keys=False))
    execution_id = hub.client.start_execution("claims", operation, poll_seconds=30)
    return hub.client.wait(execution_id, on_gate=approve_all, timeout=180)


def example() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text())


def wave(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(w for w in document["waves"] if w["waveName"] == name)


def activated(final: dict, group_id: str) -> list[dict[str, Any]]:
    return [r for r in final["resources"] if r["phase"] == "ACTIVATE" and r["groupId"] == group_id]


def report(hub, final: dict) -> dict[str, Any]:
    return json.loads(hub.client.report(final["execution"]["executionId"], "json"))


def test_the_runbook_runs_in_order_around_the_servers(hub):
    final = run(hub)
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
    (warm,) = activated(final, "app-pre-warm-caches")
    (smoke,) = activated(final, "app-post-smoke-test")
    (alarm,) = activated(final, "web-check-web-5xx")
    (endpoint,) = activated(final, "end-of-run-check-claims-health")
    servers = activated(final, "app-servers")
    web = activated(final, "web-servers")
    assert {r["status"] for r in (warm, smoke, alarm, endpoint)} == {"SUCCEEDED"}
    # pre-wave action, then the wave's servers, then the post-wave action
    assert warm["finishedAt"] <= min(r["startedAt"] for r in servers)
    assert smoke["startedAt"] >= max(r["finishedAt"] for r in servers)
    # the web wave starts after the app wave's post-wave action; its check after its servers
    assert min(r["startedAt"] for r in web) >= smoke["finishedAt"]
    assert alarm["startedAt"] >= max(r["finishedAt"] for r in web)
    assert endpoint["startedAt"] >= alarm["finishedAt"]
    # the runbook was told it runs in a drill (drillParameters)
    ssm = hub.sandbox.execution_session(APP).client("ssm")
    detail = ssm.get_automation_execution(
        AutomationExecutionId=warm["detail"]["automationExecutionId"]
    )
    assert detail["AutomationExecution"]["Parameters"]["Environment"] == ["drill"]
    # the smoke test's answer and the alarm states are in the history and the report
    assert smoke["detail"]["result"]["passed"] is True
    assert alarm["detail"]["alarms"] == {"acme-claims-5xx": "OK"}
    steps = report(hub, final)["steps"]
    assert [(s["wave"], s["kind"], s["name"], s["status"]) for s in steps] == [
        ("app", "pre-wave action", "warm-caches", "SUCCEEDED"),
        ("app", "post-wave action", "smoke-test", "SUCCEEDED"),
        ("web", "health check", "web-5xx", "SUCCEEDED"),
        ("end-of-run", "health check", "claims-health", "SUCCEEDED"),
    ]
    markdown = hub.client.report(final["execution"]["executionId"], "md")
    assert "## Wave actions and health checks" in markdown and "warm-caches" in markdown


def test_a_failed_pre_wave_action_fails_its_wave_and_no_later_wave_runs(hub):
    hub.sandbox.faults.fail_automation(PREWARM, reason="cache cluster unreachable")
    final = run(hub)
    execution = final["execution"]
    assert execution["status"] == "FAILED"
    assert "warm-caches" in execution["cause"] and "cache cluster unreachable" in execution["cause"]
    waves = {w["wave"]: w["status"] for w in final["waves"] if w["phase"] == "ACTIVATE"}
    assert (waves["data"], waves["app"]) == ("SUCCEEDED", "FAILED")
    assert waves.get("web", "PENDING") == "PENDING"
    # the app servers were never launched, the post-wave action never ran
    assert hub.sandbox.faults.call_count("drs", "StartRecovery", account=APP) == 0
    assert activated(final, "app-servers") == []
    assert activated(final, "app-post-smoke-test") == []
    assert hub.sandbox.faults.call_count("lambda", "Invoke", account=APP) == 0
    steps = report(hub, final)["steps"]
    (warm,) = [s for s in steps if s["name"] == "warm-caches"]
    assert warm["status"] == "FAILED" and "cache cluster unreachable" in warm["error"]


def test_a_continue_action_only_warns(hub):
    document = example()
    wave(document, "app")["postWaveActions"][0]["failurePolicy"] = "continue"
    hub.sandbox.faults.fail_function("acme-smoke-test", message="3 of 12 checks failed")
    final = run(hub, document)
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
    (app,) = [w for w in final["waves"] if w["phase"] == "ACTIVATE" and w["wave"] == "app"]
    assert app["status"] == "SUCCEEDED"
    assert any("smoke-test" in w and "3 of 12 checks failed" in w for w in app["warnings"])
    (smoke,) = activated(final, "app-post-smoke-test")
    assert smoke["status"] == "FAILED"


def test_a_failed_health_check_fails_the_run_and_names_the_check(hub):
    hub.sandbox.faults.fail_url("https://claims.acme.example/health", status=503)
    final = run(hub)
    assert final["execution"]["status"] == "FAILED"
    assert "claims-health" in final["execution"]["cause"]
    (endpoint,) = activated(final, "end-of-run-check-claims-health")
    assert endpoint["status"] == "FAILED" and "503" in endpoint["error"]
    assert endpoint["detail"]["attempts"] == 5  # retries: 5 in the example


def test_steps_that_do_not_opt_in_are_skipped_in_a_drill_and_say_so(hub):
    document = example()
    del wave(document, "app")["preWaveActions"][0]["runInDrill"]
    final = run(hub, document)
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
    assert hub.sandbox.faults.call_count("ssm", "StartAutomationExecution") == 0
    (warm,) = [s for s in report(hub, final)["steps"] if s["name"] == "warm-caches"]
    assert warm["status"] == "SKIPPED" and "does not run in a drill" in warm["error"]


def test_an_approval_and_a_wait_step_between_actions(hub):
    document = example()
    app = wave(document, "app")
    app["preWaveActions"] = [
        {"type": "approval", "name": "db-checked", "message": "are the databases consistent?"},
        {"type": "wait", "name": "dns-ttl", "seconds": 300},
        *app["preWaveActions"],
    ]
    asked: list[dict[str, Any]] = []

    def decide(gate: dict[str, Any]) -> bool:
        asked.append(gate)
        return True

    hub.client.upload_manifest("claims.yaml", yaml.safe_dump(document, sort_keys=False))
    execution_id = hub.client.start_execution("claims", "drill", poll_seconds=30)
    final = hub.client.wait(execution_id, on_gate=decide, timeout=180)
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
    step_gates = [g for g in asked if g["kind"] == "step"]
    assert len(step_gates) == 1 and "are the databases consistent?" in step_gates[0]["position"]
    (approval,) = activated(final, "app-pre-db-checked")
    (pause,) = activated(final, "app-pre-dns-ttl")
    (warm,) = activated(final, "app-pre-warm-caches")
    assert approval["status"] == pause["status"] == "SUCCEEDED"
    assert approval["detail"]["decision"] == "approved"
    # in order; the wait lasted its 300 s of (simulated) time
    assert approval["finishedAt"] <= pause["startedAt"] and pause["finishedAt"] <= warm["startedAt"]
    waited = (parse(pause["finishedAt"]) - parse(pause["startedAt"])).total_seconds()
    assert 300 <= waited < 360


def test_a_rejected_approval_step_fails_the_wave(hub):
    document = example()
    wave(document, "app")["preWaveActions"].insert(0, {"type": "approval", "name": "go-no-go"})
    hub.client.upload_manifest("claims.yaml", yaml.safe_dump(document, sort_keys=False))
    execution_id = hub.client.start_execution("claims", "drill", poll_seconds=30)
    # reject the step gate, approve the others
    final = hub.client.wait(execution_id, on_gate=lambda g: g["kind"] != "step", timeout=180)
    assert final["execution"]["status"] == "FAILED"
    assert "go-no-go" in final["execution"]["cause"]
    # the actions after it did not run, nor did the wave's servers
    assert hub.sandbox.faults.call_count("ssm", "StartAutomationExecution") == 0
    assert hub.sandbox.faults.call_count("drs", "StartRecovery", account=APP) == 0
