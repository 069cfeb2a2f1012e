"""Executions end to end in the sandbox: the real state machines, handlers and DRS module."""

from __future__ import annotations

import json

import pytest
import yaml

from drorch.errors import DrorchError
from drorch.manifest import ManifestError
from drorch.sandbox import DrsQuotas
from tests.e2e.conftest import drs_jobs, manifest_text, restore_hub, wait_until

STAGING = {"data": "333333333333", "app": "222222222222", "web": "111111111111"}
SERVER_GROUPS = ("data-servers", "app-servers", "web-servers")  # the example's DRS groups
DISRUPTIVE = (
    "ReverseReplication",
    "StartFailbackLaunch",
    "DisconnectRecoveryInstance",
    "StopReplication",
    "DeleteSourceServer",
)


def approve_all(gate):
    return True


def activate_waves(description):
    return sorted(
        (w for w in description["waves"] if w["phase"] == "ACTIVATE"), key=lambda w: w["level"]
    )


def test_drill_runs_three_waves_in_order_and_reports(hub):
    client = hub.client
    execution_id = client.start_execution("claims", "drill", poll_seconds=30)
    final = client.wait(execution_id, on_gate=approve_all, timeout=120)
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
    waves = activate_waves(final)
    # the example's end-of-run health check runs after the last wave
    assert [w["wave"] for w in waves] == ["data", "app", "web", "end-of-run"]
    for earlier, later in zip(waves, waves[1:], strict=False):
        assert earlier["finishedAt"] <= later["startedAt"]
    servers = [
        r for r in final["resources"] if r["phase"] == "ACTIVATE" and r["groupId"] in SERVER_GROUPS
    ]
    assert len(servers) == 10  # acme-sqldw-01 is tagged sql-ag: not DRS's to launch
    assert {r["status"] for r in servers} == {"SUCCEEDED"}
    # every DRS job was a drill; nothing disruptive was called
    for account in STAGING.values():
        assert {j["initiatedBy"] for j in drs_jobs(hub, account)} == {"START_DRILL"}
    faults = hub.sandbox.faults
    assert all(faults.call_count("drs", op) == 0 for op in DISRUPTIVE)
    # one StartRecovery per job: no duplicate launches
    jobs = sum(len(drs_jobs(hub, a)) for a in STAGING.values())
    assert faults.call_count("drs", "StartRecovery") == jobs == 3
    # gates: the approval and the pause before the app wave, with who and when
    assert [(g["kind"], g["decision"]) for g in final["gates"]] == [
        ("approval", "approved"),
        ("wave", "approved"),
    ]
    assert all(
        g["decidedBy"].endswith("user/drorch-operator") and g["decidedAt"] for g in final["gates"]
    )
    report = client.report(execution_id, "md")
    assert "acme-ora-01" in report and "RTO" in report
    assert "<html" in client.report(execution_id, "html").lower()
    # Step Functions payloads stay small
    sfn = hub.sandbox.operator_session().client("stepfunctions")
    largest = 0
    for key in ("master", "lifecycle", "executor"):
        for execution in sfn.list_executions(stateMachineArn=hub.deployment.state_machines[key])[
            "executions"
        ]:
            for event in sfn.get_execution_history(executionArn=execution["executionArn"])[
                "events"
            ]:
                for details in event.values():
                    if isinstance(details, dict):
                        for field in ("input", "output"):
                            largest = max(largest, len(details.get(field) or ""))
    assert 0 < largest < 8 * 1024


def test_a_drill_stays_within_tight_drs_quotas(hub):
    """With 2 servers per job and room for 3 servers in active jobs, each wave runs as
    several jobs, one after another; the DRS fake would refuse anything more."""
    limits = {"maxServersPerJob": 2, "maxConcurrentJobs": 2, "maxServersInActiveJobs": 3}
    hub.sandbox.state.drs_quotas = DrsQuotas(
        max_servers_per_job=2, max_concurrent_jobs=2, max_servers_in_active_jobs=3
    )
    waves = yaml.safe_load(manifest_text())["waves"]
    for wave in waves:
        for technology in wave["technologies"]:
            technology["parameters"] = limits
    hub.client.upload_manifest(
        "quotas.yaml", manifest_text(waves=waves, approvalWorkflow={"required": False})
    )
    execution_id = hub.client.start_execution("claims", "drill", poll_seconds=30)
    final = hub.client.wait(execution_id, on_gate=approve_all, timeout=120)
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
    jobs = {wave: drs_jobs(hub, account) for wave, account in STAGING.items()}
    assert {wave: len(found) for wave, found in jobs.items()} == {"data": 1, "app": 3, "web": 2}
    sizes = [len(j["participatingServers"]) for found in jobs.values() for j in found]
    assert max(sizes) == 2 and sum(sizes) == 10


def test_failover_recovers_for_real(hub):
    client = hub.client
    execution_id = client.start_execution("claims", "failover", poll_seconds=30)
    final = client.wait(execution_id, on_gate=approve_all, timeout=120)
    assert final["execution"]["status"] == "SUCCEEDED"
    assert {j["initiatedBy"] for j in drs_jobs(hub, STAGING["data"])} == {"START_RECOVERY"}


def test_rejected_approval_fails_and_launches_nothing(hub):
    client = hub.client
    execution_id = client.start_execution("claims", "drill", poll_seconds=30)
    final = client.wait(execution_id, on_gate=lambda gate: False, timeout=120)
    assert final["execution"]["status"] == "FAILED"
    assert "GateRejected" in json.dumps(final["execution"])
    assert hub.sandbox.faults.call_count("drs", "StartRecovery") == 0
    assert [g["decision"] for g in final["gates"]] == ["rejected"]
    assert client.lock.holder("claims") is None  # the fail path released the lock


def test_unanswered_approval_times_out_and_fails(hub):
    client = hub.client
    execution_id = client.start_execution("claims", "drill", poll_seconds=30)
    wait_until(lambda: client.open_gates(execution_id))
    hub.sandbox.advance(61 * 60)  # the manifest gives approvers an hour
    final = client.wait(execution_id, timeout=60)
    assert final["execution"]["status"] == "FAILED"
    assert hub.sandbox.faults.call_count("drs", "StartRecovery") == 0


def test_pause_then_resume(hub):
    client = hub.client
    hub.client.upload_manifest("pause.yaml", manifest_text(approvalWorkflow={"required": False}))
    execution_id = client.start_execution("claims", "drill", poll_seconds=30)
    wait_until(lambda: (client.history.execution(execution_id) or {}).get("status") == "RUNNING")
    client.pause(execution_id)
    gate = wait_until(lambda: [g for g in client.open_gates(execution_id) if g["kind"] == "resume"])
    wait_until(lambda: client.history.execution(execution_id)["status"] == "PAUSED")
    client.resume(execution_id)
    final = client.wait(execution_id, on_gate=approve_all, timeout=120)
    assert final["execution"]["status"] == "SUCCEEDED"
    assert any(g["gate"] == gate[0]["gate"] and g["decision"] == "resumed" for g in final["gates"])


def test_cancel_mid_wave_runs_no_later_wave(hub):
    client = hub.client
    hub.client.upload_manifest("cancel.yaml", manifest_text(approvalWorkflow={"required": False}))
    execution_id = client.start_execution("claims", "drill", poll_seconds=30)
    wait_until(
        lambda: any(
            w["phase"] == "ACTIVATE" and w["wave"] == "data" and w["status"] == "RUNNING"
            for w in client.history.waves(execution_id)
        )
    )
    client.cancel(execution_id, comment="test")
    final = client.wait(execution_id, on_gate=lambda gate: None, timeout=120)
    assert final["execution"]["status"] == "CANCELLED"
    started = {w["wave"] for w in activate_waves(final) if w.get("startedAt")}
    assert started == {"data"}


def test_a_failed_launch_fails_the_wave_and_stops(hub):
    client = hub.client
    hub.sandbox.faults.fail_launch("acme-app-02")
    execution_id = client.start_execution("claims", "drill", poll_seconds=30)
    final = client.wait(execution_id, on_gate=approve_all, timeout=120)
    assert final["execution"]["status"] == "FAILED"
    assert "WaveFailed" in json.dumps(final["execution"])
    failed = [r for r in final["resources"] if r["status"] == "FAILED"]
    assert [r.get("name") for r in failed] == ["acme-app-02"]
    assert {w["wave"] for w in activate_waves(final) if w.get("startedAt")} == {"data", "app"}
    assert "acme-app-02" in client.report(execution_id, "md")


def test_throttling_is_absorbed_by_retries(hub):
    client = hub.client
    hub.sandbox.faults.throttle("drs", "DescribeJobs", times=2)
    hub.sandbox.faults.throttle("drs", "StartRecovery", times=1)
    execution_id = client.start_execution("claims", "drill", poll_seconds=30)
    final = client.wait(execution_id, on_gate=approve_all, timeout=120)
    assert final["execution"]["status"] == "SUCCEEDED"
    jobs = sum(len(drs_jobs(hub, a)) for a in STAGING.values())
    assert jobs == 3  # the throttled StartRecovery was retried, not duplicated


def test_a_second_execution_of_the_application_is_refused(hub):
    client = hub.client
    first = client.start_execution("claims", "drill", poll_seconds=30)
    wait_until(lambda: client.open_gates(first))
    with pytest.raises(DrorchError, match="already has a running execution"):
        client.start_execution("claims", "failover", poll_seconds=30)
    # the engine refuses too, even when the client's check is bypassed
    sfn = hub.sandbox.operator_session().client("stepfunctions")
    second = "drill-bypass-000001"
    sfn.start_execution(
        stateMachineArn=client.state_machine_arn(),
        name=second,
        input=json.dumps(
            {
                "executionId": second,
                "application": "claims",
                "operation": "drill",
                "manifest": client.manifest_location("claims"),
                "pollSeconds": 30,
                "requestedBy": "test",
            }
        ),
    )
    refused = client.wait(second, timeout=60)
    assert refused["machineStatus"] == "FAILED"
    assert "ExecutionConflict" in json.dumps(refused, default=str)
    assert client._is_running(first)
    client.reject(first)
    assert client.wait(first, timeout=60)["execution"]["status"] == "FAILED"


def test_an_invalid_manifest_is_never_uploaded_nor_run(hub):
    client = hub.client
    bad = manifest_text(
        waves=[{"waveNumber": 1, "waveName": "x", "technologies": [{"type": "nope"}]}]
    )
    with pytest.raises(ManifestError) as caught:
        client.upload_manifest("bad.yaml", bad)
    assert "$.waves[0].technologies[0].type" in str(caught.value)
    s3 = hub.sandbox.operator_session().client("s3")
    versions = s3.list_object_versions(Bucket=client.config.manifest_bucket).get("Versions", [])
    assert len(versions) == 1  # only the fixture's good upload
    assert client.list_executions() == []


def test_what_a_test_leaves_behind_is_gone_for_the_next(hub):
    """The deployment is shared, so a restore must undo everything a test can do:
    a running execution holding the lock, DRS jobs and drill instances, faults."""
    client, sandbox = hub.client, hub.sandbox
    running = client.start_execution("claims", "drill", poll_seconds=30)
    wait_until(lambda: client.open_gates(running))
    drs = sandbox.execution_session(STAGING["web"]).client("drs")
    servers = [s["sourceServerID"] for s in drs.describe_source_servers()["items"]]
    drs.start_recovery(isDrill=True, sourceServers=[{"sourceServerID": servers[0]}])
    sandbox.advance(900)  # the drill instance is launched (the approval gate waits an hour)
    sandbox.faults.throttle("drs", "StartRecovery", times=5)
    assert drs_jobs(hub, STAGING["web"]) and client.lock.holder("claims")

    restore_hub()
    assert sandbox.faults.wire == [] and sandbox.faults.call_count() == 0
    sfn = sandbox.operator_session().client("stepfunctions")
    still_running = [
        e
        for arn in hub.deployment.state_machines.values()
        for e in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
    ]
    assert still_running == []
    assert client.list_executions() == []
    assert client.lock.holder("claims") is None
    assert all(drs_jobs(hub, account) == [] for account in STAGING.values())
    assert drs.describe_recovery_instances()["items"] == []
    ec2 = sandbox.admin_session(STAGING["web"]).client("ec2")
    launched = ec2.describe_instances(
        Filters=[
            {"Name": "instance-state-name", "Values": ["pending", "running"]},
            {"Name": "tag-key", "Values": ["AWSElasticDisasterRecoveryManaged"]},
        ]
    )["Reservations"]
    assert launched == []
    manifests = (
        sandbox.operator_session()
        .client("s3")
        .list_object_versions(Bucket=client.config.manifest_bucket)
    )
    assert manifests.get("Versions", []) == []
