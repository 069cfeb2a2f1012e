"""The DRS module against the sandbox (strict wire fidelity), three-tier estate."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import pytest

from drorch.modules import AccessDenied, DrillSafetyError, ModuleError
from drorch.modules.drs import DISRUPTIVE_CALLS
from drorch.modules.drs.jobs import IDEMPOTENCY_TAG
from drorch.sandbox.drs.models import drs_backends
from drorch.sandbox.state import DrsQuotas
from tests.modules.conftest import APP, DATA, LAUNCH_SECONDS, REGION, WEB, Estate

SOURCE_REGION = "us-east-1"
APP_SERVERS = ["acme-app-01", "acme-app-02", "acme-app-03", "acme-app-04", "acme-sftp-01"]


def by_name(result):
    return {r.name: r for r in result.resources}


# --- discovery --------------------------------------------------------------------------


def test_discover_by_tags_ids_and_scope(estate: Estate) -> None:
    app = estate.discover(APP, tags={"Application": "claims", "Tier": "app"})
    assert [r.name for r in app] == ["acme-app-01", "acme-app-02", "acme-app-03", "acme-app-04"]
    assert all(r.type == "drs:source-server" and r.account_id == APP for r in app)
    assert app[0].arn == f"arn:aws:drs:{REGION}:{APP}:source-server/{app[0].id}"
    assert app.excluded == []

    production = estate.discover(APP, tags={"Environment": "production"})
    assert [r.name for r in production] == APP_SERVERS
    [stalled] = production.excluded
    assert stalled.name == "acme-batch-01" and "STALLED" in stalled.reasons[0]
    assert stalled.to_dict()["accountId"] == APP

    picked = estate.discover(APP, ids=[app[1].id, app[3].arn])
    assert [r.name for r in picked] == ["acme-app-02", "acme-app-04"]
    assert estate.discover(DATA, tags={"Tier": "identity", "Application": "claims"}) == []
    # a manifest Selector object works as well as its mapping form
    selector = SimpleNamespace(
        tags={"Tier": "web"}, ids=(), resource_types=("drs:source-server",), accounts=(), regions=()
    )
    assert len(estate.module.discover(estate.ctx(WEB), selector)) == 3
    assert estate.discover(WEB, tags={"Tier": "web"}, regions=["eu-west-1"]) == []
    assert estate.discover(WEB, tags={"Tier": "web"}, accounts=["staging-app"]) == []
    assert len(estate.discover(WEB, tags={"Tier": "web"}, accounts=["staging-web"])) == 3
    assert estate.discover(WEB, resourceTypes=["rds:cluster"]) == []


# --- ACTIVATE ----------------------------------------------------------------------------


@pytest.mark.accounts("staging-web")
def test_drill_launch_reports_each_server_and_its_ec2_instance(estate: Estate) -> None:
    ctx = estate.ctx(WEB, drill=True)
    servers = estate.discover(WEB, tags={"Tier": "web"})
    state = estate.module.start(ctx, "ACTIVATE", servers, {}, True, "exec-1-ACTIVATE-web")
    assert len(json.dumps(state)) < 2000  # ids, not descriptions
    first = estate.module.status(ctx, "ACTIVATE", state)
    assert first.status == "RUNNING"
    assert {r.status for r in first.resources} == {"RUNNING"}

    result = estate.run(ctx, "ACTIVATE", first.state, step=LAUNCH_SECONDS / 3)
    assert result.status == "SUCCEEDED"
    assert [r.name for r in result.resources] == ["acme-web-01", "acme-web-02", "acme-web-03"]
    instance_ids = [r.detail["ec2InstanceId"] for r in result.resources]
    assert all(
        r.detail["isDrill"] and r.detail["launchStatus"] == "LAUNCHED" for r in result.resources
    )
    ec2 = estate.sandbox.admin_session(WEB, REGION).client("ec2")
    reservations = ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]
    states = {i["State"]["Name"] for r in reservations for i in r["Instances"]}
    assert states == {"running"}
    [job] = estate.jobs(WEB)
    assert job["initiatedBy"] == "START_DRILL"
    assert job["tags"][IDEMPOTENCY_TAG] == "exec-1-ACTIVATE-web-0"
    assert estate.sandbox.faults.call_count("drs", "StartRecovery") == 1


@pytest.mark.accounts("staging-app")
def test_batches_respect_quotas_and_start_as_jobs_finish(make_estate) -> None:
    estate = make_estate(
        drs_quotas=DrsQuotas(
            max_servers_per_job=2, max_concurrent_jobs=1, max_servers_in_active_jobs=2
        )
    )
    ctx = estate.ctx(APP, drill=True)
    servers = estate.discover(APP, tags={"Environment": "production"})
    params = {"maxServersPerJob": 2, "maxConcurrentJobs": 1, "maxServersInActiveJobs": 2}
    state = estate.module.start(ctx, "ACTIVATE", servers, params, True, "quota")
    assert len(state["runner"]["pending"]) == 2  # 5 servers: one job started, two batches queued
    active_seen = []

    def check(_result) -> None:
        jobs = estate.jobs(APP)
        active_seen.append(sum(job["status"] != "COMPLETED" for job in jobs))

    result = estate.run(ctx, "ACTIVATE", state, step=120, on_poll=check)
    assert result.status == "SUCCEEDED"
    assert [r.name for r in result.resources] == APP_SERVERS
    jobs = estate.jobs(APP)
    assert len(jobs) == 3 and max(active_seen) <= 1
    assert sorted(len(job["participatingServers"]) for job in jobs) == [1, 2, 2]
    # every StartRecovery call made a job: none was refused with ServiceQuotaExceeded
    assert estate.sandbox.faults.call_count("drs", "StartRecovery") == 3
    assert sorted(job["tags"][IDEMPOTENCY_TAG] for job in jobs) == ["quota-0", "quota-1", "quota-2"]


@pytest.mark.accounts("staging-app")
def test_a_retried_status_adopts_the_batch_it_already_started(make_estate) -> None:
    estate = make_estate(
        drs_quotas=DrsQuotas(
            max_servers_per_job=2, max_concurrent_jobs=1, max_servers_in_active_jobs=2
        )
    )
    ctx = estate.ctx(APP, drill=True)
    servers = estate.discover(APP, tags={"Environment": "production"})
    params = {"maxServersPerJob": 2, "maxConcurrentJobs": 1, "maxServersInActiveJobs": 2}
    state = estate.module.start(ctx, "ACTIVATE", servers, params, True, "retry")
    estate.sandbox.advance(LAUNCH_SECONDS)
    saved = copy.deepcopy(state)  # what the handler persisted before the status call
    estate.module.status(ctx, "ACTIVATE", state)  # starts batch 1, then "crashes"
    assert estate.sandbox.faults.call_count("drs", "StartRecovery") == 2
    retried = estate.module.status(ctx, "ACTIVATE", saved)  # the retry, from the saved state
    assert estate.sandbox.faults.call_count("drs", "StartRecovery") == 2
    assert retried.state["runner"]["active"] == state["runner"]["active"]
    assert estate.run(ctx, "ACTIVATE", retried.state, step=120).status == "SUCCEEDED"
    assert estate.sandbox.faults.call_count("drs", "StartRecovery") == 3
    assert len(estate.jobs(APP)) == 3


@pytest.mark.accounts("staging-app")
def test_parameters_above_the_account_quota_fail_clearly(make_estate) -> None:
    estate = make_estate(drs_quotas=DrsQuotas(max_servers_per_job=2))
    servers = estate.discover(APP, tags={"Environment": "production"})
    with pytest.raises(ModuleError, match="maxServersPerJob"):
        estate.module.start(estate.ctx(APP, drill=True), "ACTIVATE", servers, {}, True, "k")
    with pytest.raises(Exception, match="maxServersPerJob"):
        estate.module.start(
            estate.ctx(APP, drill=True), "ACTIVATE", servers, {"maxServersPerJob": 0}, True, "k"
        )


@pytest.mark.accounts("staging-web")
def test_a_retried_start_reuses_the_job(estate: Estate) -> None:
    ctx = estate.ctx(WEB, drill=True)
    servers = estate.discover(WEB, tags={"Tier": "web"})
    first = estate.module.start(ctx, "ACTIVATE", servers, {}, True, "exec-7-ACTIVATE-web")
    estate.sandbox.advance(40)
    again = estate.module.start(ctx, "ACTIVATE", servers, {}, True, "exec-7-ACTIVATE-web")
    assert list(again["runner"]["active"]) == list(first["runner"]["active"])
    assert estate.sandbox.faults.call_count("drs", "StartRecovery") == 1
    assert estate.run(ctx, "ACTIVATE", again).status == "SUCCEEDED"
    assert len(estate.jobs(WEB)) == 1


@pytest.mark.accounts("staging-web")
def test_servers_already_in_a_job_are_reported_per_resource(estate: Estate) -> None:
    ctx = estate.ctx(WEB, drill=True)
    servers = estate.discover(WEB, tags={"Tier": "web"})
    estate.module.start(ctx, "ACTIVATE", servers[:1], {}, True, "someone-else")
    state = estate.module.start(ctx, "ACTIVATE", servers, {}, True, "mine")
    result = estate.run(ctx, "ACTIVATE", state)
    assert result.status == "FAILED"
    results = by_name(result)
    assert results["acme-web-01"].status == "FAILED"
    assert "already part of an active job" in results["acme-web-01"].error
    assert results["acme-web-02"].status == results["acme-web-03"].status == "SUCCEEDED"


@pytest.mark.accounts("staging-app")
def test_one_failed_launch_fails_only_that_server(estate: Estate) -> None:
    estate.sandbox.faults.fail_launch("acme-app-03", reason="Insufficient capacity for m5.xlarge")
    ctx = estate.ctx(APP, drill=True)
    servers = estate.discover(APP, tags={"Tier": "app"})
    state = estate.module.start(ctx, "ACTIVATE", servers, {}, True, "k")
    result = estate.run(ctx, "ACTIVATE", state)
    assert result.status == "FAILED"
    results = by_name(result)
    assert results["acme-app-03"].status == "FAILED"
    assert results["acme-app-03"].error == "Insufficient capacity for m5.xlarge"
    assert {results[n].status for n in ("acme-app-01", "acme-app-02", "acme-app-04")} == {
        "SUCCEEDED"
    }
    assert "acme-app-03: Insufficient capacity" in result.summary()


@pytest.mark.accounts("staging-web")
def test_throttled_describe_jobs_is_absorbed(estate: Estate) -> None:
    ctx = estate.ctx(WEB, drill=True)
    servers = estate.discover(WEB, tags={"Tier": "web"})
    state = estate.module.start(ctx, "ACTIVATE", servers, {}, True, "k")
    estate.sandbox.advance(LAUNCH_SECONDS)
    before = estate.sandbox.faults.call_count("drs", "DescribeJobs")
    # (one burst: botocore's backoff really sleeps, so keep it short)
    estate.sandbox.faults.throttle("drs", "DescribeJobs", times=1)
    result = estate.module.status(ctx, "ACTIVATE", state)
    assert result.status == "SUCCEEDED"
    assert estate.sandbox.faults.call_count("drs", "DescribeJobs") == before + 2


@pytest.mark.accounts("staging-web")
def test_access_denied_is_raised_with_a_clear_message(estate: Estate) -> None:
    estate.sandbox.faults.deny("drs", "StartRecovery", account=WEB)
    servers = estate.discover(WEB, tags={"Tier": "web"})
    with pytest.raises(AccessDenied, match=f"account {WEB}.*starting a DRS launch job"):
        estate.module.start(estate.ctx(WEB, drill=True), "ACTIVATE", servers, {}, True, "k")


@pytest.mark.accounts("staging-web")
def test_launch_from_a_point_in_time_snapshot(estate: Estate) -> None:
    ctx = estate.ctx(WEB, drill=True)
    servers = estate.discover(WEB, tags={"Tier": "web"})
    drs = estate.drs(WEB)
    snapshots = drs.describe_recovery_snapshots(sourceServerID=servers[0].id, order="DESC")["items"]
    older = snapshots[3]
    state = estate.module.start(
        ctx, "ACTIVATE", servers[:1], {"recoverySnapshot": older["timestamp"]}, True, "pit"
    )
    assert state["snapshots"] == {servers[0].id: older["snapshotID"]}
    result = estate.run(ctx, "ACTIVATE", state)
    assert result.status == "SUCCEEDED"
    assert result.resources[0].detail["recoverySnapshotId"] == older["snapshotID"]
    [job] = estate.jobs(WEB)
    events = [i["event"] for i in drs.describe_job_log_items(jobID=job["jobID"])["items"]]
    assert "USING_PREVIOUS_SNAPSHOT" in events and "SNAPSHOT_START" not in events

    latest = estate.module.start(
        ctx, "ACTIVATE", servers[1:2], {"recoverySnapshot": "latest"}, True, "l"
    )
    assert (
        latest["snapshots"][servers[1].id]
        == drs.describe_recovery_snapshots(sourceServerID=servers[1].id, order="DESC")["items"][0][
            "snapshotID"
        ]
    )
    too_old = estate.module.start(
        ctx, "ACTIVATE", servers[2:], {"recoverySnapshot": "2001-01-01T00:00:00Z"}, True, "o"
    )
    result = estate.module.status(ctx, "ACTIVATE", too_old)
    assert result.status == "FAILED"
    assert "no recovery snapshot" in result.resources[0].error


# --- INSTANTIATE ----------------------------------------------------------------------------


@pytest.mark.accounts("staging-data", "staging-app")
def test_instantiate_applies_the_layered_launch_settings(estate: Estate) -> None:
    data = estate.discover(DATA, tags={"Application": "claims"})
    ctx = estate.ctx(DATA)
    state = estate.module.start(ctx, "INSTANTIATE", data, {}, False, "i")
    result = estate.module.status(ctx, "INSTANTIATE", state)
    assert result.status == "SUCCEEDED"
    assert result.resources[0].detail["layers"] == [
        "defaults.yaml",
        "account-333333333333.yaml",
        "tag-Environment-production.yaml",
    ]
    config = estate.drs(DATA).get_launch_configuration(sourceServerID=data[0].id)
    assert config["licensing"] == {"osByol": True}  # account layer
    assert config["targetInstanceTypeRightSizingMethod"] == "NONE"  # account layer
    assert config["postLaunchEnabled"] is True and config["copyPrivateIp"] is False  # tag layer
    assert config["copyTags"] is True and config["launchDisposition"] == "STARTED"  # defaults

    app = estate.discover(APP, tags={"Tier": "app"})
    params = {"launchSettings": {"launchDisposition": "STOPPED"}}
    estate.module.start(estate.ctx(APP), "INSTANTIATE", app, params, False, "i")
    config = estate.drs(APP).get_launch_configuration(sourceServerID=app[0].id)
    assert config["licensing"] == {"osByol": False}
    assert config["targetInstanceTypeRightSizingMethod"] == "BASIC"
    assert config["launchDisposition"] == "STOPPED"  # the manifest's layer wins


@pytest.mark.accounts("staging-web")
def test_bad_settings_file_changes_nothing(estate: Estate, tmp_path) -> None:
    from drorch.errors import InputError
    from drorch.modules.drs import DrsModule

    (tmp_path / "defaults.yaml").write_text("copyTags: true\nnetworking: {createPublicIP: false}\n")
    module = DrsModule(settings_dir=tmp_path)
    servers = estate.discover(WEB, tags={"Tier": "web"})
    drs = estate.drs(WEB)
    before = drs.get_launch_configuration(sourceServerID=servers[0].id)
    before.pop("ResponseMetadata")
    with pytest.raises(InputError, match=r"defaults.yaml: \$.networking: not a DRS launch"):
        module.start(estate.ctx(WEB), "INSTANTIATE", servers, {}, False, "i")
    after = drs.get_launch_configuration(sourceServerID=servers[0].id)
    assert {k: v for k, v in after.items() if k != "ResponseMetadata"} == before
    assert estate.sandbox.faults.call_count("drs", "UpdateLaunchConfiguration") == 0


# --- CLEANUP and drill safety ----------------------------------------------------------------


@pytest.mark.accounts("staging-web", "staging-app")
def test_cleanup_terminates_drill_instances_only(estate: Estate) -> None:
    web = estate.discover(WEB, tags={"Tier": "web"})
    drill = estate.ctx(WEB, drill=True)
    estate.run(drill, "ACTIVATE", estate.module.start(drill, "ACTIVATE", web, {}, True, "d"))
    app = estate.discover(APP, tags={"Tier": "sftp"})
    failover = estate.ctx(APP)
    assert (
        estate.run(
            failover, "ACTIVATE", estate.module.start(failover, "ACTIVATE", app, {}, False, "f")
        ).status
        == "SUCCEEDED"
    )

    state = estate.module.start(drill, "CLEANUP", web, {}, True, "c")
    result = estate.run(drill, "CLEANUP", state)
    assert result.status == "SUCCEEDED"
    assert all(r.detail["recoveryInstances"] for r in result.resources)
    assert estate.drs(WEB).describe_recovery_instances()["items"] == []
    [terminate] = [j for j in estate.jobs(WEB) if j["type"] == "TERMINATE"]
    assert len(terminate["participatingServers"]) == 3

    kept = estate.module.start(estate.ctx(APP), "CLEANUP", app, {}, False, "c")
    result = estate.module.status(estate.ctx(APP), "CLEANUP", kept)
    assert result.status == "SUCCEEDED" and result.resources[0].status == "SKIPPED"
    assert len(estate.drs(APP).describe_recovery_instances()["items"]) == 1
    assert estate.sandbox.faults.call_count("drs", "TerminateRecoveryInstances", account=APP) == 0


def test_a_drill_never_makes_a_disruptive_call(estate: Estate) -> None:
    for account, tier in ((DATA, "database"), (APP, "app"), (WEB, "web")):
        ctx = estate.ctx(account, drill=True)
        servers = estate.discover(account, tags={"Tier": tier})
        for phase in ("INSTANTIATE", "ACTIVATE", "CLEANUP"):
            state = estate.module.start(ctx, phase, servers, {}, True, f"drill-{phase}")
            assert estate.run(ctx, phase, state).status == "SUCCEEDED"
        with pytest.raises(DrillSafetyError, match="REPLICATE"):
            estate.module.start(ctx, "REPLICATE", servers, {}, True, "drill-REPLICATE")
        # drill=False with a drill context is still a drill
        with pytest.raises(DrillSafetyError):
            estate.module.start(ctx, "REPLICATE", servers, {}, False, "drill-REPLICATE")
    for operation in DISRUPTIVE_CALLS:
        if operation != "StartRecovery":
            assert estate.sandbox.faults.call_count("drs", operation) == 0, operation
    launches = [j for a in (DATA, APP, WEB) for j in estate.jobs(a) if j["type"] == "LAUNCH"]
    assert len(launches) == 3 and {j["initiatedBy"] for j in launches} == {"START_DRILL"}


@pytest.mark.accounts("staging-web")
def test_the_drill_client_refuses_disruptive_calls_before_sending(estate: Estate) -> None:
    module = estate.module
    ctx = estate.ctx(WEB, drill=True)
    drs = ctx.client("drs", guard=module.drill_guard(True))
    server = estate.discover(WEB, tags={"Tier": "web"})[0]
    with pytest.raises(DrillSafetyError, match="StartRecovery"):
        drs.start_recovery(sourceServers=[{"sourceServerID": server.id}], isDrill=False)
    with pytest.raises(DrillSafetyError, match="ReverseReplication"):
        drs.reverse_replication(recoveryInstanceID="i-0123456789abcdef0")
    assert estate.sandbox.faults.call_count("drs", "StartRecovery") == 0
    assert estate.sandbox.faults.call_count("drs", "ReverseReplication") == 0
    drs.start_recovery(sourceServers=[{"sourceServerID": server.id}], isDrill=True)
    assert module.is_disruptive("StartRecovery", {"isDrill": False})
    assert not module.is_disruptive("StartRecovery", {"isDrill": True})
    assert not module.is_disruptive("DescribeJobs", {})


# --- failover and failback --------------------------------------------------------------------


@pytest.mark.accounts("staging-app")
def test_failover_then_failback_with_reverse_replication(estate: Estate) -> None:
    # a source server that is itself an EC2 instance in us-east-1 (cross-region DR)
    estate.drs(APP, SOURCE_REGION).initialize_service()
    seeded = drs_backends[APP][REGION].add_source_server(
        hostname="acme-api-01",
        ip="10.201.2.60",
        source_instance_id="i-0aa11bb22cc33dd44",
        source_region=SOURCE_REGION,
        tags={"Application": "claims", "Tier": "api"},
    )
    ctx = estate.ctx(APP)
    servers = estate.discover(APP, tags={"Tier": "api"})
    assert [s.id for s in servers] == [seeded.source_server_id]
    result = estate.run(
        ctx, "ACTIVATE", estate.module.start(ctx, "ACTIVATE", servers, {}, False, "fo")
    )
    assert result.status == "SUCCEEDED" and result.resources[0].detail["isDrill"] is False
    assert [j["initiatedBy"] for j in estate.jobs(APP)] == ["START_RECOVERY"]

    state = estate.module.start(ctx, "REPLICATE", servers, {}, False, "fb")
    [wait] = state["waiting"].values()
    assert wait["mode"] == "reverse-replication"
    assert wait["reversedSourceServerArn"].startswith(f"arn:aws:drs:{SOURCE_REGION}:{APP}:")
    assert estate.module.status(ctx, "REPLICATE", state).status == "RUNNING"
    again = estate.module.start(ctx, "REPLICATE", servers, {}, False, "fb")  # a retried start
    assert again["waiting"] == state["waiting"]

    result = estate.run(ctx, "REPLICATE", state, step=120)
    assert result.status == "SUCCEEDED"
    assert estate.sandbox.faults.call_count("drs", "StartFailbackLaunch") == 1
    [failback] = [j for j in estate.jobs(APP) if j["initiatedBy"] == "FAILBACK"]
    assert failback["tags"][IDEMPOTENCY_TAG] == "fb-failback-0"
    instance = estate.drs(APP).describe_recovery_instances()["items"][0]
    assert instance["failback"]["state"] == "FAILBACK_COMPLETED"


@pytest.mark.accounts("staging-web")
def test_on_premises_failback_waits_for_the_failback_client(estate: Estate) -> None:
    ctx = estate.ctx(WEB)
    servers = estate.discover(WEB, tags={"Tier": "web"})[:1]
    estate.run(ctx, "ACTIVATE", estate.module.start(ctx, "ACTIVATE", servers, {}, False, "fo"))
    state = estate.module.start(ctx, "REPLICATE", servers, {}, False, "fb")
    [(instance_id, wait)] = state["waiting"].items()
    assert wait["mode"] == "failback-client"
    assert estate.sandbox.faults.call_count("drs", "ReverseReplication") == 0
    estate.sandbox.advance(3600)
    waiting = estate.module.status(ctx, "REPLICATE", state)
    assert waiting.status == "RUNNING"
    assert waiting.resources[0].detail["failbackStates"] == {instance_id: "FAILBACK_NOT_STARTED"}
    drs_backends[WEB][REGION].connect_failback_client(instance_id)
    result = estate.run(ctx, "REPLICATE", waiting.state, step=120)
    assert result.status == "SUCCEEDED"
    assert estate.sandbox.faults.call_count("drs", "StartFailbackLaunch") == 1


@pytest.mark.accounts("staging-data")
def test_instantiate_writes_only_what_differs_and_cleanup_restores_it(estate: Estate) -> None:
    from dataclasses import replace

    servers = estate.discover(DATA, tags={"Application": "claims"})
    drs, faults = estate.drs(DATA), estate.sandbox.faults
    original = {
        s.id: drs.get_launch_configuration(sourceServerID=s.id) for s in servers
    }  # as seeded
    ctx = estate.ctx(DATA, drill=True)
    state = estate.module.start(ctx, "INSTANTIATE", servers, {}, True, "i-1")
    assert estate.module.finished_at_start("INSTANTIATE", state)  # no status poll needed
    first = estate.module.status(ctx, "INSTANTIATE", state)
    assert first.status == "SUCCEEDED"
    changed = {r.id: r.detail for r in first.resources}
    assert all(d["changed"] for d in changed.values())  # the seed differs from the layers
    assert faults.call_count("drs", "UpdateLaunchConfiguration") == len(servers)
    for server_id, detail in changed.items():
        previous = detail["previousLaunchSettings"]
        assert sorted(previous) == detail["changed"]
        assert previous == {k: original[server_id][k] for k in detail["changed"]}

    # the same settings again: read, compared, nothing written
    again = estate.module.status(
        ctx, "INSTANTIATE", estate.module.start(ctx, "INSTANTIATE", servers, {}, True, "i-2")
    )
    assert again.status == "SUCCEEDED"
    assert {r.detail["note"] for r in again.resources} == {"launch settings already as wanted"}
    assert all("changed" not in r.detail for r in again.resources)
    assert faults.call_count("drs", "UpdateLaunchConfiguration") == len(servers)

    # CLEANUP after the first run puts back what it replaced, and only that
    cleanup = replace(ctx, recorded=changed, recorded_from="exec-1")
    state = estate.module.start(cleanup, "CLEANUP", servers, {}, True, "c")
    result = estate.run(cleanup, "CLEANUP", state)
    assert result.status == "SUCCEEDED"
    for r in result.resources:
        assert r.detail["launchSettingsRestored"] == changed[r.id]["changed"]
        now = drs.get_launch_configuration(sourceServerID=r.id)
        assert {k: now[k] for k in changed[r.id]["changed"]} == changed[r.id][
            "previousLaunchSettings"
        ]
    assert faults.call_count("drs", "UpdateLaunchConfiguration") == 2 * len(servers)
