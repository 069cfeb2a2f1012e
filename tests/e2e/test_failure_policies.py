"""Failure policies end to end (issue 13, parts 2 and 3): a failed step that waits for an
operator's retry or skip (failurePolicy ask), an optional member whose failure only warns
(impact: optional), and a failed wave that blocks only the waves depending on it
(failurePolicy isolate). The real state machines run in the sandbox; faults make a DRS
launch fail."""

from __future__ import annotations

import json
from typing import Any

import yaml

from drorch.cli import engine_cmd
from drorch.cli.live import render
from drorch.cli.main import main
from drorch.cli.output import console
from tests.e2e.conftest import EXAMPLE, wait_until

APP = "222222222222"
WAIT = 600  # seconds at most (a run takes seconds; a loaded machine is slower)


def approve_all(gate: dict[str, Any]) -> bool:
    return True


def example() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text())


def wave(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(w for w in document["waves"] if w["waveName"] == name)


def upload(hub, document: dict[str, Any]) -> None:
    hub.client.upload_manifest("claims.yaml", yaml.safe_dump(document, sort_keys=False))


def report(hub, execution_id: str) -> dict[str, Any]:
    return json.loads(hub.client.report(execution_id, "json"))


def launched(hub, account: str) -> list[list[str]]:
    """The source servers of each DRS launch (recovery) job in an account, oldest first."""
    drs = hub.sandbox.execution_session(account).client("drs")
    jobs = [j for page in drs.get_paginator("describe_jobs").paginate() for j in page["items"]]
    jobs = [j for j in jobs if j["type"] == "LAUNCH"]
    jobs.sort(key=lambda j: j["creationDateTime"])
    return [sorted(s["sourceServerID"] for s in j["participatingServers"]) for j in jobs]


def server_id(hub, account: str, hostname: str) -> str:
    drs = hub.sandbox.execution_session(account).client("drs")
    servers = drs.describe_source_servers(filters={})["items"]
    return next(
        s["sourceServerID"]
        for s in servers
        if s["sourceProperties"]["identificationHints"]["hostname"] == hostname
    )


def app_wave(final: dict[str, Any], phase: str = "ACTIVATE") -> dict[str, Any]:
    return next(w for w in final["waves"] if w["phase"] == phase and w["wave"] == "app")


def test_a_failed_step_is_retried_then_skipped_and_the_run_succeeds(hub, monkeypatch, capsys):
    document = example()
    wave(document, "app")["failurePolicy"] = "ask"
    upload(hub, document)
    hub.sandbox.faults.fail_launch("acme-app-02", reason="capacity: no m5.xlarge in the AZ")
    client = hub.client
    monkeypatch.setattr(engine_cmd, "aws_client", lambda profile, region: client)
    execution_id = client.start_execution("claims", "drill", poll_seconds=30)

    def waiting() -> dict[str, Any] | None:
        if client.machine_status(execution_id)["status"] != "RUNNING":
            raise AssertionError("the execution ended instead of waiting for a decision")
        for gate in client.open_gates(execution_id):
            if gate["kind"] == "failure":
                return gate
            client.approve(execution_id, int(gate["gate"]))
        return None

    # attempt 1 fails: the execution waits, and status names the step and the commands
    first = wait_until(waiting, timeout=WAIT)
    assert first["step"] == f"app-servers/{APP}" and first["attempt"] == 1
    assert "acme-app-02" in first["position"] and "capacity" in first["position"]
    description = client.describe(execution_id)
    assert description["execution"]["status"] == "WAITING_APPROVAL"
    shown = "".join(str(part) for part in render(description).renderables if hasattr(part, "plain"))
    assert f"drorch retry {execution_id} --step app-servers/{APP}" in shown
    # an approval does not answer a failed step
    assert main(["approve", execution_id, "--gate", str(first["gate"]), "--region", "x"]) == 2
    assert "retry" in capsys.readouterr().err

    # retry (the CLI): only the server that failed launches again, and fails again
    assert main(["retry", execution_id, "--step", first["step"], "--reason", "quota raised"]) == 0
    second = wait_until(waiting, timeout=WAIT)
    assert second["attempt"] == 2 and second["gate"] != first["gate"]
    jobs = launched(hub, APP)
    assert len(jobs) == 2 and len(jobs[0]) == 5
    assert jobs[1] == [server_id(hub, APP, "acme-app-02")]

    # skip (the client): the wave goes on, and the run ends SUCCEEDED
    client.skip(execution_id, "app-servers", "not needed for this drill")
    final = client.wait(execution_id, on_gate=approve_all, timeout=WAIT)
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
    app = app_wave(final)
    assert app["status"] == "SUCCEEDED"
    (warning,) = app["warnings"]
    assert "SKIPPED" in warning and "not needed for this drill" in warning
    web = next(w for w in final["waves"] if w["phase"] == "ACTIVATE" and w["wave"] == "web")
    assert web["status"] == "SUCCEEDED"  # the later wave ran
    module = next(
        m for m in client.history.modules(execution_id, "ACTIVATE") if m["groupId"] == "app-servers"
    )
    assert module["status"] == "SKIPPED" and module["attempt"] == 2
    assert module["skippedBy"] == client.operator

    # both decisions, with who and why, in the history and the report
    decided = [g for g in final["gates"] if g["kind"] == "failure"]
    assert [(g["decision"], g["comment"]) for g in decided] == [
        ("retried", "quota raised"),
        ("skipped", "not needed for this drill"),
    ]
    assert {g["decidedBy"] for g in decided} == {client.operator}
    document = report(hub, execution_id)
    steps = [g for g in document["approvals"] if g["kind"] == "failure"]
    assert [(g["step"], g["decision"]) for g in steps] == [
        (f"app-servers/{APP}", "retried"),
        (f"app-servers/{APP}", "skipped"),
    ]
    markdown = client.report(execution_id, "md")
    assert f"failure app-servers/{APP}" in markdown and "not needed for this drill" in markdown
    (failed,) = [r for r in document["resources"] if r["status"] == "FAILED"]
    assert failed["name"] == "acme-app-02"  # the server did not recover: said, not hidden


def failure_gate(client, execution_id: str) -> dict[str, Any] | None:
    """The open gate of a failed step (approving the approval and pause gates before it)."""
    for gate in client.open_gates(execution_id):
        if gate["kind"] == "failure":
            return gate
        client.approve(execution_id, int(gate["gate"]))
    return None


def test_cancel_while_a_failed_step_waits_ends_the_run_cancelled(hub):
    document = example()
    document["failurePolicy"] = "ask"
    upload(hub, document)
    hub.sandbox.faults.fail_launch("acme-app-02")
    client = hub.client
    execution_id = client.start_execution("claims", "drill", poll_seconds=30)
    wait_until(lambda: failure_gate(client, execution_id), timeout=WAIT)
    client.cancel(execution_id, "abandon the drill")
    final = client.wait(execution_id, timeout=WAIT)
    assert final["execution"]["status"] == "CANCELLED", final["execution"]
    (gate,) = [g for g in final["gates"] if g["kind"] == "failure"]
    assert gate["decision"] == "cancelled"
    assert app_wave(final)["status"] == "FAILED"
    (web,) = [w for w in final["waves"] if w["phase"] == "ACTIVATE" and w["wave"] == "web"]
    assert web["status"] == "PENDING"  # no later wave started
    assert client.lock.holder("claims") is None


def test_a_failed_step_nobody_decides_ends_the_run_failed_saying_why(hub):
    """failurePolicy ask, and no retry or skip within the manifest's decision timeout
    (approvalWorkflow.timeoutMinutes, here 30): the run ends FAILED, the history says that
    nobody decided, and the lock is released."""
    document = example()
    document["approvalWorkflow"]["timeoutMinutes"] = 30
    wave(document, "app")["failurePolicy"] = "ask"
    upload(hub, document)
    hub.sandbox.faults.fail_launch("acme-app-02", reason="capacity: no m5.xlarge in the AZ")
    client = hub.client
    execution_id = client.start_execution("claims", "drill", poll_seconds=30)
    gate = wait_until(lambda: failure_gate(client, execution_id), timeout=WAIT)
    hub.sandbox.advance(29 * 60)  # within the timeout: the step still waits
    assert client.machine_status(execution_id)["status"] == "RUNNING"
    assert failure_gate(client, execution_id)["gate"] == gate["gate"]
    hub.sandbox.advance(2 * 60)
    final = client.wait(execution_id, timeout=WAIT)

    execution = final["execution"]
    assert (execution["status"], execution["error"]) == ("FAILED", "WaveFailed")
    assert "acme-app-02: capacity" in execution["cause"]
    assert "no retry or skip within 30 min" in execution["cause"]
    (expired,) = [g for g in final["gates"] if g["kind"] == "failure"]
    assert (expired["decision"], expired["decidedBy"]) == ("expired", "drorch")
    assert expired["comment"].startswith("no decision: timed out")
    (module,) = [
        m for m in client.history.modules(execution_id, "ACTIVATE") if m["groupId"] == "app-servers"
    ]
    assert (module["status"], module["reason"]) == ("FAILED", "undecided")
    assert module["summary"].endswith("; no retry or skip within 30 min")
    assert app_wave(final)["status"] == "FAILED"
    (web,) = [w for w in final["waves"] if w["phase"] == "ACTIVATE" and w["wave"] == "web"]
    assert web["status"] == "PENDING"  # no later wave started
    assert client.lock.holder("claims") is None


def test_an_optional_member_failure_leaves_its_wave_succeeded_with_a_warning(hub):
    document = example()
    app = wave(document, "app")
    (servers,) = app["technologies"]
    servers["selector"]["tags"]["Tier"] = "app"
    sftp = {**servers, "name": "sftp", "impact": "optional"}
    sftp["selector"] = {**servers["selector"], "tags": {"dr:wave": "2", "Tier": "sftp"}}
    app["technologies"] = [servers, sftp]
    upload(hub, document)
    hub.sandbox.faults.fail_launch("acme-sftp-01", reason="sftp volume snapshot missing")
    execution_id = hub.client.start_execution("claims", "drill", poll_seconds=30)
    final = hub.client.wait(execution_id, on_gate=approve_all, timeout=WAIT)

    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
    wave_item = app_wave(final)
    assert wave_item["status"] == "SUCCEEDED"
    (warning,) = wave_item["warnings"]
    assert "app-sftp" in warning and "sftp volume snapshot missing" in warning
    # the post-wave action still ran; the status and the report say it
    smoke = [r for r in final["resources"] if r["groupId"] == "app-post-smoke-test"]
    assert [r["status"] for r in smoke if r["phase"] == "ACTIVATE"] == ["SUCCEEDED"]
    shown = "".join(str(part) for part in render(final).renderables if hasattr(part, "plain"))
    assert "ACTIVATE wave app warning: app-sftp" in shown
    assert "Warning (ACTIVATE, wave app): app-sftp" in hub.client.report(execution_id, "md")


def test_an_isolated_failure_blocks_only_the_waves_that_depend_on_it(hub):
    document = example()
    document["failurePolicy"] = "isolate"
    app, web = wave(document, "app"), wave(document, "web")
    (servers,) = app["technologies"]
    servers["selector"]["tags"]["Tier"] = "app"
    web["dependsOn"] = ["data"]  # independent of app: runs beside it
    document["waves"].append(
        {
            "waveNumber": 4,
            "waveName": "sftp",
            "dependsOn": ["app"],
            "technologies": [
                {
                    "type": "drs",
                    "name": "servers",
                    "selector": {
                        "tags": {"dr:wave": "2", "Tier": "sftp"},
                        "accounts": ["staging-app"],
                    },
                }
            ],
        }
    )
    upload(hub, document)
    hub.sandbox.faults.fail_launch("acme-app-03", reason="boot volume corrupt")
    execution_id = hub.client.start_execution("claims", "drill", poll_seconds=30)
    final = hub.client.wait(execution_id, on_gate=approve_all, timeout=WAIT)

    execution = final["execution"]
    assert execution["status"] == "FAILED" and execution["error"] == "WaveFailed"
    assert "isolated failure" in execution["cause"] and "boot volume corrupt" in execution["cause"]
    waves = {w["wave"]: w for w in final["waves"] if w["phase"] == "ACTIVATE"}
    assert (waves["data"]["status"], waves["app"]["status"]) == ("SUCCEEDED", "FAILED")
    modules = {m["groupId"]: m for m in hub.client.history.modules(execution_id, "ACTIVATE")}
    # independent: it finished (else: the wave and its members, to see why)
    assert waves["web"]["status"] == "SUCCEEDED", (waves["web"], modules)
    assert waves["sftp"]["status"] == "BLOCKED"
    assert waves["sftp"]["blockedBy"] == ["app"]
    assert "wave 'app' failed in ACTIVATE" in waves["sftp"]["reason"]
    assert waves["end-of-run"]["status"] == "BLOCKED"
    # the failed wave's post-wave action did not start; the independent wave's check ran
    assert modules["app-post-smoke-test"]["status"] == "BLOCKED"
    assert modules["web-check-web-5xx"]["status"] == "SUCCEEDED"
    (job,) = launched(hub, APP)  # the app servers; the blocked wave's server never launched
    assert server_id(hub, APP, "acme-sftp-01") not in job
    # the report shows what was blocked, and why
    markdown = hub.client.report(execution_id, "md")
    assert "Blocked (ACTIVATE, wave sftp): depends on wave 'app' failed in ACTIVATE" in markdown
    assert "Not run (ACTIVATE, wave app): post-wave action 'smoke-test'" in markdown
    assert hub.client.lock.holder("claims") is None


def tag_optional(hub, account: str, hostname: str) -> None:
    """Tag a source server ``dr:impact=optional``, as its owner would in DRS."""
    drs = hub.sandbox.execution_session(account).client("drs")
    (server,) = [
        s
        for s in drs.describe_source_servers(filters={})["items"]
        if s["sourceProperties"]["identificationHints"]["hostname"] == hostname
    ]
    drs.tag_resource(resourceArn=server["arn"], tags={"dr:impact": "optional"})


def test_an_optional_resource_failure_leaves_its_group_and_wave_succeeded(
    hub, monkeypatch, capsys, tmp_path
):
    """One server tagged dr:impact=optional in the app wave's one DRS group: its launch
    fails, the four critical servers launch, and the group, the wave and the run succeed,
    through the CLI (execute, status, status --resources, report)."""
    tag_optional(hub, APP, "acme-sftp-01")
    hub.sandbox.faults.fail_launch("acme-sftp-01", reason="sftp volume snapshot missing")
    monkeypatch.setattr(engine_cmd, "aws_client", lambda profile, region: hub.client)
    target = ["--region", "us-east-2"]
    command = ["execute", "--application", "claims", "--operation", "drill", "--approve"]
    assert main([*command, "--json", "--report-dir", str(tmp_path), *target]) == 0
    final = json.loads(capsys.readouterr().out)
    execution_id = final["execution"]["executionId"]
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]

    # the group succeeded, naming the optional failure; the server is FAILED in the history
    (module,) = [
        m
        for m in hub.client.history.modules(execution_id, "ACTIVATE")
        if m["groupId"] == "app-servers"
    ]
    assert module["status"] == "SUCCEEDED" and module["counts"]["failed"] == 1
    assert module["optionalFailed"] == ["acme-sftp-01: sftp volume snapshot missing"]
    wave_item = app_wave(final)
    assert wave_item["status"] == "SUCCEEDED"
    (warning,) = wave_item["warnings"]
    assert warning == (
        f"app-servers in {APP}: optional resource(s) FAILED: "
        "acme-sftp-01: sftp volume snapshot missing"
    )
    # the post-wave action and the later wave still ran
    modules = {m["groupId"]: m for m in hub.client.history.modules(execution_id, "ACTIVATE")}
    assert modules["app-post-smoke-test"]["status"] == "SUCCEEDED"
    assert modules["web-servers"]["status"] == "SUCCEEDED"
    sftp = server_id(hub, APP, "acme-sftp-01")
    (failed,) = [r for r in final["resources"] if r["status"] == "FAILED"]
    assert (failed["resourceId"], failed["impact"]) == (sftp, "optional")

    # status: the wave's warning; status --resources: the server FAILED (optional)
    monkeypatch.setattr(console, "width", 300)
    assert main(["status", execution_id, *target]) == 0
    assert "ACTIVATE wave app warning: app-servers in" in capsys.readouterr().out
    assert main(["status", execution_id, "--resources", "--page-size", "1000", *target]) == 0
    shown = [line for line in capsys.readouterr().out.splitlines() if "acme-sftp-01" in line]
    assert sorted(("ACTIVATE" in line, "FAILED (optional)" in line) for line in shown) == [
        (False, False),  # INSTANTIATE: launch settings written (SUCCEEDED (optional))
        (True, True),
    ]
    # the report (HTML and JSON) shows it as an optional failure
    out = tmp_path / "report.html"
    assert main(["report", execution_id, "--format", "html", "--out-file", str(out), *target]) == 0
    assert "FAILED (optional)</span>" in out.read_text()
    (row,) = [
        r
        for r in report(hub, execution_id)["resources"]
        if r["resourceId"] == sftp and r["phase"] == "ACTIVATE"
    ]
    assert (row["status"], row["impact"]) == ("FAILED", "optional")
    assert hub.client.lock.holder("claims") is None


def test_a_critical_failure_beside_an_optional_one_fails_the_wave(hub):
    tag_optional(hub, APP, "acme-sftp-01")
    hub.sandbox.faults.fail_launch("acme-sftp-01", reason="sftp volume snapshot missing")
    hub.sandbox.faults.fail_launch("acme-app-02", reason="capacity: no m5.xlarge in the AZ")
    execution_id = hub.client.start_execution("claims", "drill", poll_seconds=30)
    final = hub.client.wait(execution_id, on_gate=approve_all, timeout=WAIT)

    assert final["execution"]["status"] == "FAILED", final["execution"]
    wave_item = app_wave(final)
    assert wave_item["status"] == "FAILED" and not wave_item.get("warnings")
    failure = wave_item["failures"][0]  # (then: the post-wave action did not run)
    assert failure.startswith(f"app-servers in {APP}: FAILED")
    assert "acme-app-02: capacity" in failure and "acme-sftp-01" in failure
    (module,) = [
        m
        for m in hub.client.history.modules(execution_id, "ACTIVATE")
        if m["groupId"] == "app-servers"
    ]
    assert module["status"] == "FAILED" and "optionalFailed" not in module
