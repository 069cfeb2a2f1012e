"""On demand (`make scale`): 1,050 servers, 4 staging accounts, 5 waves."""

from __future__ import annotations

import pytest

from drorch.accounts import load_accounts
from drorch.sandbox import Sandbox
from drorch.sandbox.rehearsal import rehearse_drill
from drorch.sandbox.scenario import load_scenario, seed
from tests.conftest import ACCOUNTS_DIR

pytestmark = pytest.mark.scale


def test_drill_of_the_large_estate_respects_drs_quotas():
    scenario = load_scenario("large-estate")
    with Sandbox(hub=scenario.hub, strict=True) as sandbox:
        report = seed(sandbox, scenario, load_accounts(ACCOUNTS_DIR))
        assert report.server_count == 1050 and len(report.accounts) == 4
        result = rehearse_drill(sandbox, [a.account_id for a in report.accounts], poll_seconds=30)
        assert result.succeeded and not result.excluded
        assert [w.wave for w in result.waves] == ["1", "2", "3", "4", "5"]
        assert sum(len(w.servers) for w in result.waves) == 1050
        assert result.terminated_instances == 1050
        quota = sandbox.state.drs_quotas.max_servers_per_job
        for account in report.accounts:
            drs = sandbox.execution_session(account.account_id).client("drs")
            jobs = [
                j for page in drs.get_paginator("describe_jobs").paginate() for j in page["items"]
            ]
            launches = [j for j in jobs if j["type"] == "LAUNCH"]
            assert all(len(j["participatingServers"]) <= quota for j in jobs)
            servers = len(report.servers[account.account_id])
            assert len(launches) == sum(-(-n // quota) for n in _per_wave(report, account, sandbox))
            assert sum(len(j["participatingServers"]) for j in launches) == servers
        assert sandbox.state.fidelity.violations == []


def _per_wave(report, account, sandbox):
    drs = sandbox.execution_session(account.account_id).client("drs")
    counts: dict[str, int] = {}
    for page in drs.get_paginator("describe_source_servers").paginate():
        for server in page["items"]:
            counts[server["tags"]["dr:wave"]] = counts.get(server["tags"]["dr:wave"], 0) + 1
    return counts.values()
