"""Readiness through the real state machines (three-tier, the shared hub): the first state of
every execution; an injected replication stall is a BLOCKER that stops a failover before
anything changes, and ``--force`` lets it go on, recorded with who."""

from __future__ import annotations

import json
from datetime import timedelta

from drorch.engine import readiness
from drorch.engine.report import render_html, render_markdown
from drorch.sandbox.drs.models import drs_backends
from tests.e2e.conftest import drs_jobs

APP, REGION, HUB = "222222222222", "us-east-2", "999999999999"
STAGING = ("111111111111", "222222222222", "333333333333")


def approve_all(gate):
    return True


def by_check(findings, name):
    return {f["check"]: f for f in findings if f["name"] == name}


def stall(name: str) -> None:
    drs_backends[APP][REGION].stall_replication(name)


def test_readiness_lists_each_resource_and_the_accounts(hub):
    result = hub.client.readiness("claims")
    assert result["verdict"] != "BLOCKED" and result["counts"]["BLOCKER"] == 0
    checks = by_check(result["findings"], "acme-app-01")
    assert checks["replication"]["result"] == "OK"
    assert checks["replication"]["call"].startswith("drs:DescribeSourceServers in 222222222222")
    assert checks["launch template"]["result"] == "OK"
    assert checks["launch template"]["call"].startswith("ec2:DescribeLaunchTemplateVersions lt-")
    accounts = {f["accountId"]: f for f in result["findings"] if f["module"] == "account"}
    assert set(accounts) == set(STAGING)
    role = [f for f in result["findings"] if f["check"] == "assume execution role"]
    assert {f["result"] for f in role} == {"OK"} and len(role) == 3
    assert role[0]["call"] == "sts:AssumeRole (with the ExternalId)"


def test_a_stalled_server_blocks_a_failover_before_anything_changes(hub):
    client = hub.client
    stall("acme-app-02")
    hub.sandbox.advance(45 * 60)  # the lag grows past the servers' 30-minute RPO target
    found = client.readiness("claims")
    assert found["verdict"] == "BLOCKED"
    [blocker] = [f for f in found["findings"] if f["result"] == "BLOCKER"]
    assert blocker["name"] == "acme-app-02" and blocker["groupId"] == "app-servers"
    assert "STALLED" in blocker["detail"] and "retry-data-replication" in blocker["fix"]
    assert blocker["call"] == f"drs:DescribeSourceServers in {APP} ({REGION})"

    calls_before = dict(hub.sandbox.faults.calls)
    execution_id = client.start_execution("claims", "failover", poll_seconds=30)
    final = client.wait(execution_id, on_gate=approve_all, timeout=300)
    execution = final["execution"]
    assert execution["status"] == "FAILED"
    assert execution["error"] == "ReadinessBlocked"
    assert "acme-app-02" in execution["cause"] and "STALLED" in execution["cause"]
    # nothing changed: no DRS job in any account, no wave started, no write outside the hub
    assert all(drs_jobs(hub, account) == [] for account in STAGING)
    assert all(w.get("status") != "RUNNING" and not w.get("startedAt") for w in final["waves"])
    new_calls = {k for k, n in hub.sandbox.faults.calls.items() if n > calls_before.get(k, 0)}
    writes = {
        c for c in new_calls if c[2] in STAGING and not c[1].startswith(("Describe", "Get", "List"))
    }
    assert writes <= {("sts", "AssumeRole", c[2], c[3]) for c in writes}
    record = execution["readiness"]
    assert record["verdict"] == "BLOCKED" and record["gated"] is True
    assert "forcedBy" not in record
    assert record["findings"][0]["name"] == "acme-app-02"
    # the report's readiness table names it
    report = json.loads(client.report(execution_id, "json"))
    assert report["readiness"]["counts"]["BLOCKER"] == 1
    html = render_html(report)
    assert "<h2>Readiness</h2>" in html and '<span class="BLOCKER">BLOCKER</span>' in html
    assert "acme-app-02" in render_markdown(report).split("## Readiness", 1)[1]


def test_force_goes_on_despite_the_blocker_and_records_who(hub):
    client = hub.client
    stall("acme-app-02")
    execution_id = client.start_execution("claims", "failover", poll_seconds=30, force=True)
    final = client.wait(execution_id, on_gate=approve_all, timeout=300)
    execution = final["execution"]
    assert execution["status"] == "SUCCEEDED"
    record = execution["readiness"]
    assert record["counts"]["BLOCKER"] == 1
    assert record["forcedBy"] == client.operator
    assert "overridden with --force by" in readiness.headline(record)
    # the stalled server was left out; the others were recovered
    launched = {
        s["sourceServerID"]
        for j in drs_jobs(hub, APP)
        for s in j["participatingServers"]
        if j["type"] == "LAUNCH"
    }
    stalled = [
        s.source_server_id
        for s in drs_backends[APP][REGION].source_servers.values()
        if s.hostname == "acme-app-02"
    ]
    assert launched and not set(stalled) & launched


def test_a_cleanup_records_readiness_but_is_not_stopped_by_it(hub):
    client = hub.client
    drill = client.start_execution("claims", "drill", poll_seconds=30)
    assert client.wait(drill, on_gate=approve_all, timeout=300)["execution"]["status"] == (
        "SUCCEEDED"
    )
    stall("acme-app-02")
    cleanup = client.start_execution("claims", "cleanup", poll_seconds=30)
    final = client.wait(cleanup, on_gate=approve_all, timeout=300)
    assert final["execution"]["status"] == "SUCCEEDED"
    assert final["execution"]["readiness"]["gated"] is False


def blockers_metric(hub, application: str) -> float | None:
    cloudwatch = hub.sandbox.admin_session(HUB).client("cloudwatch")
    now = hub.sandbox.now()
    points = cloudwatch.get_metric_statistics(
        Namespace="drorch/Readiness",
        MetricName="Blockers",
        Dimensions=[{"Name": "Application", "Value": application}],
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=5),
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    return max(p["Maximum"] for p in points) if points else None


def invoke_scheduled(hub, event: dict) -> dict:
    answer = (
        hub.sandbox.admin_session(HUB)
        .client("lambda")
        .invoke(FunctionName="drorch-readiness", Payload=json.dumps(event).encode())
    )
    assert "FunctionError" not in answer, answer["Payload"].read()
    return json.loads(answer["Payload"].read())


def test_the_scheduled_run_writes_the_blockers_metric_per_application(hub):
    ready = invoke_scheduled(hub, {"application": "claims"})
    assert ready["applications"]["claims"]["BLOCKER"] == 0
    assert blockers_metric(hub, "claims") == 0
    stall("acme-app-02")
    hub.sandbox.advance(120)
    every = invoke_scheduled(hub, {})  # no application: every one with a manifest
    assert every["operation"] == "failover"
    assert every["applications"]["claims"]["verdict"] == "BLOCKED"
    assert blockers_metric(hub, "claims") == 1
    assert blockers_metric(hub, "ALL") == 1


def test_replication_lag_over_the_rpo_is_a_blocker_that_stops_a_failover(
    hub, monkeypatch, capsys, tmp_path
):
    """acme-app-03 replicates (CONTINUOUS) but 45 minutes behind, against its dr:rpo-target
    of 30: `drorch readiness` names it, and `drorch execute` refuses the failover."""
    from drorch.cli import engine_cmd, readiness_cmd
    from drorch.cli.main import main

    for command in (engine_cmd, readiness_cmd):
        monkeypatch.setattr(command, "aws_client", lambda profile, region: hub.client)
    hub.sandbox.faults.lag_replication("acme-app-03", 45 * 60, account=APP)
    target = ["--region", REGION]
    assert main(["readiness", "claims", "--output", "json", *target]) == 1
    found = json.loads(capsys.readouterr().out)
    assert found["verdict"] == "BLOCKED"
    [blocker] = [f for f in found["findings"] if f["result"] == "BLOCKER"]
    assert (blocker["name"], blocker["check"]) == ("acme-app-03", "replication lag")
    assert blocker["detail"] == ("CONTINUOUS, lag PT45M (2700 s) exceeds the RPO target of 30 min")
    assert blocker["call"] == f"drs:DescribeSourceServers in {APP} ({REGION})"
    others = by_check(found["findings"], "acme-app-02")
    assert others["replication"]["detail"] == "CONTINUOUS, lag PT0S within the RPO target of 30 min"

    command = ["execute", "--application", "claims", "--operation", "failover", "--approve"]
    assert main([*command, "--json", "--report-dir", str(tmp_path), *target]) == 1
    final = json.loads(capsys.readouterr().out)
    execution = final["execution"]
    assert (execution["status"], execution["error"]) == ("FAILED", "ReadinessBlocked")
    assert "acme-app-03" in execution["cause"] and "PT45M" in execution["cause"]
    assert final["resources"] == [] and final["gates"] == []  # no phase began
    assert all(drs_jobs(hub, account) == [] for account in STAGING)
    assert hub.client.lock.holder("claims") is None

    # the same server tagged dr:impact=optional: its failure would not fail its wave, so
    # the lag is a WARNING and nothing blocks
    drs = hub.sandbox.execution_session(APP).client("drs")
    drs.tag_resource(
        resourceArn=server_arn(drs, blocker["resource"]), tags={"dr:impact": "optional"}
    )
    assert main(["readiness", "claims", "--output", "json", *target]) == 0
    found = json.loads(capsys.readouterr().out)
    [warning] = [f for f in found["findings"] if f["check"] == "replication lag"]
    assert (warning["name"], warning["result"], warning["impact"]) == (
        "acme-app-03",
        "WARNING",
        "optional",
    )
    assert warning["detail"].endswith("(a BLOCKER, but the resource is dr:impact=optional)")


def server_arn(drs, server_id: str) -> str:
    return drs.describe_source_servers(filters={"sourceServerIDs": [server_id]})["items"][0]["arn"]
