"""The drill rehearsal behind `drorch demo`: discovery, batching within quotas, cleanup."""

from __future__ import annotations

from drorch.accounts import load_accounts
from drorch.sandbox import DrsQuotas, Sandbox
from drorch.sandbox.rehearsal import rehearse_drill
from drorch.sandbox.scenario import load_scenario, seed
from tests.conftest import ACCOUNTS_DIR


def test_rehearsal_stays_within_tight_drs_quotas():
    """With 2 servers per job and room for only one active job, the 5-server wave
    runs as three jobs one after another; the fake would refuse anything more."""
    scenario = load_scenario("three-tier")
    quotas = DrsQuotas(max_servers_per_job=2, max_concurrent_jobs=2, max_servers_in_active_jobs=3)
    with Sandbox(hub=scenario.hub, drs_quotas=quotas, strict=True) as sandbox:
        report = seed(sandbox, scenario, load_accounts(ACCOUNTS_DIR))
        result = rehearse_drill(sandbox, [a.account_id for a in report.accounts])
        assert result.succeeded
        assert {w.wave: len(w.jobs) for w in result.waves} == {"1": 2, "2": 3, "3": 2}
        wave2 = next(w for w in result.waves if w.wave == "2")
        # one round per job: three times the single-job wave duration
        wave1 = next(w for w in result.waves if w.wave == "1")
        assert wave2.duration > wave1.duration
        assert result.terminated_instances == 11
        app = sandbox.execution_session("222222222222").client("drs")
        jobs = app.describe_jobs()["items"]
        assert max(len(j["participatingServers"]) for j in jobs) <= 2


def test_rehearsal_reports_a_failed_launch_and_still_cleans_up():
    scenario = load_scenario("three-tier")
    with Sandbox(hub=scenario.hub, strict=True) as sandbox:
        report = seed(sandbox, scenario, load_accounts(ACCOUNTS_DIR))
        sandbox.faults.fail_launch("acme-ora-02")
        result = rehearse_drill(sandbox, [a.account_id for a in report.accounts])
        assert not result.succeeded
        failed = [s.hostname for w in result.waves for s in w.failed]
        assert failed == ["acme-ora-02"]
        assert result.terminated_instances == 10
        ec2 = sandbox.admin_session("333333333333").client("ec2")
        running = ec2.describe_instances(
            Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}]
        )["Reservations"]
        assert running == []
