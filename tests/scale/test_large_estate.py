"""On demand (`make scale`): 1,050 servers, 4 staging accounts, 5 waves, through the engine."""

from __future__ import annotations

import pytest

from drorch.cli.sandbox_run import sandbox_hub
from tests.conftest import ACCOUNTS_DIR, REPO

pytestmark = pytest.mark.scale
MANIFEST = REPO / "manifests" / "examples" / "large-estate.yaml"


def test_drill_of_the_large_estate_respects_drs_quotas():
    with sandbox_hub("large-estate", ACCOUNTS_DIR, strict=True) as hub:
        sandbox, client, report = hub.sandbox, hub.client, hub.seeded
        assert report.server_count == 1050 and len(report.accounts) == 4
        application = client.upload_manifest(MANIFEST).application
        drill = client.start_execution(application, "drill", poll_seconds=60)
        final = client.wait(drill, on_gate=lambda gate: True, timeout=900, interval=1.0)
        assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
        activated = [r for r in final["resources"] if r["phase"] == "ACTIVATE"]
        assert len(activated) == 1050
        assert {r["status"] for r in activated} == {"SUCCEEDED"}
        waves = sorted(
            (w for w in final["waves"] if w["phase"] == "ACTIVATE"), key=lambda w: w["level"]
        )
        assert len(waves) == 5
        quota = sandbox.state.drs_quotas.max_servers_per_job
        for account in report.accounts:
            drs = sandbox.execution_session(account.account_id).client("drs")
            jobs = [
                j for page in drs.get_paginator("describe_jobs").paginate() for j in page["items"]
            ]
            launches = [j for j in jobs if j["type"] == "LAUNCH"]
            assert all(len(j["participatingServers"]) <= quota for j in jobs)
            # as few jobs as the quota allows: one per started batch of each wave
            assert len(launches) == sum(-(-n // quota) for n in _per_wave(drs))
            servers = len(report.servers[account.account_id])
            assert sum(len(j["participatingServers"]) for j in launches) == servers

        cleanup = client.start_execution(application, "cleanup", poll_seconds=60)
        final = client.wait(cleanup, on_gate=lambda gate: True, timeout=900, interval=1.0)
        assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
        for account in report.accounts:
            drs = sandbox.execution_session(account.account_id).client("drs")
            left = [
                i
                for page in drs.get_paginator("describe_recovery_instances").paginate()
                for i in page["items"]
                if i.get("isDrill")
            ]
            assert left == []
        assert sandbox.state.fidelity.violations == []


def _per_wave(drs) -> list[int]:
    counts: dict[str, int] = {}
    for page in drs.get_paginator("describe_source_servers").paginate():
        for server in page["items"]:
            counts[server["tags"]["dr:wave"]] = counts.get(server["tags"]["dr:wave"], 0) + 1
    return list(counts.values())
