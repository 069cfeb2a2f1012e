"""Chaos: what `drorch manifest plan` says of selectors that match nothing or match by another
name, and a failover while the primary region is gone (issue 11, items 5 and 7). Each starts
a sandbox of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import yaml

from drorch.cli.main import main
from drorch.cli.sandbox_run import sandbox_hub
from tests.chaos.conftest import EXAMPLE, end_state
from tests.conftest import ACCOUNTS_DIR

pytestmark = pytest.mark.chaos
PRIMARY = "us-east-1"
DATA = "333333333333"


def _plan(tmp_path, capsys, document: dict) -> tuple[int, dict, str]:
    target = tmp_path / "plan.yaml"
    target.write_text(yaml.safe_dump(document))
    code = main(
        ["manifest", "plan", str(target), "--operation", "failover", "--json",
         "--accounts-dir", str(ACCOUNTS_DIR)]
    )  # fmt: skip
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_plan_with_a_selector_matching_nothing_exits_2_naming_it(tmp_path, capsys):
    document = yaml.safe_load(EXAMPLE.read_text())
    document["waves"][2]["technologies"][0]["selector"] = {"ids": ["acme-web-99"]}
    code, result, _ = _plan(tmp_path, capsys, document)
    assert code == 2
    (error,) = result["plan"]["errors"]
    assert "wave 'web', group 'servers' (drs)" in error and "acme-web-99" in error


def test_plan_shows_which_identifier_matched_which_server(tmp_path, capsys):
    document = yaml.safe_load(EXAMPLE.read_text())
    document["waves"][0]["technologies"][0]["selector"] = {
        "ids": ["acme-ora-01", "acme-ora-02.claims.acme.internal"],
        "accounts": ["staging-data"],
    }
    code, result, _ = _plan(tmp_path, capsys, document)
    assert code == 0, result["plan"].get("errors")
    found = [r for items in result["groups"]["data-servers"]["resources"].values() for r in items]
    assert {r["name"]: r["matchedBy"] for r in found} == {
        "acme-ora-01": "acme-ora-01",
        "acme-ora-02": "acme-ora-02.claims.acme.internal",
    }


@pytest.fixture
def full_stack() -> Iterator:
    with sandbox_hub("full-stack", ACCOUNTS_DIR, strict=True) as hub:
        yield hub
        assert hub.sandbox.state.fidelity.violations == []


def _data_tier_and_servers(mode: str, policy: str) -> dict:
    """The full-stack scenario's data tier and its database servers: what a failover needs
    from the recovery region alone (Route 53 records are left out: their control plane is
    in us-east-1, which a blackhole of us-east-1 takes away as a real outage would)."""
    staging_data = {"accounts": ["staging-data"]}
    return {
        "manifestVersion": "2.0",
        "application": "claims",
        "customer": "acme",
        "environment": "production",
        "pollSeconds": 30,
        "waves": [
            {
                "waveNumber": 1,
                "waveName": "database",
                "failurePolicy": policy,
                "technologies": [
                    {
                        "type": "aurora-global",
                        "name": "claims-db",
                        "selector": {"ids": ["acme-claims-db-dr"], **staging_data},
                        "parameters": {"mode": mode, "maxReplicationLagSeconds": 30},
                    },
                    {
                        "type": "rds-instance",
                        "name": "policies-db",
                        "selector": {"ids": ["acme-policies-db-dr"], **staging_data},
                        "parameters": {"mode": "promote"},
                    },
                    {
                        "type": "elasticache-global",
                        "name": "sessions",
                        "selector": {"ids": ["acme-sessions-dr"], **staging_data},
                    },
                    {
                        "type": "dynamodb-global",
                        "name": "claim-events",
                        "selector": {"ids": ["acme-claim-events"], **staging_data},
                    },
                ],
            },
            {
                "waveNumber": 2,
                "waveName": "data",
                "technologies": [
                    {
                        "type": "drs",
                        "name": "servers",
                        "selector": {"tags": {"dr:wave": "1", "Application": "claims"}},
                    }
                ],
            },
        ],
    }


def _failover_without_primary(hub, mode: str, policy: str = "stop") -> str:
    document = _data_tier_and_servers(mode, policy)
    hub.client.upload_manifest("claims.yaml", yaml.safe_dump(document))
    hub.sandbox.faults.blackhole_region(PRIMARY)  # the primary region is gone
    execution_id = hub.client.start_execution("claims", "failover", poll_seconds=30)
    hub.client.wait(execution_id, on_gate=lambda gate: True, timeout=300)
    return execution_id


def test_a_failover_completes_while_the_primary_region_is_gone(full_stack):
    execution_id = _failover_without_primary(full_stack, "failover")
    state = end_state(full_stack, execution_id, (DATA,))
    assert state.status == "SUCCEEDED", state.execution
    state.assert_closed()
    assert state.instances and not any(i["isDrill"] for i in state.instances)
    rds = full_stack.sandbox.execution_session(DATA, "us-east-2").client("rds")
    (cluster,) = rds.describe_global_clusters()["GlobalClusters"]
    writers = [m["DBClusterArn"] for m in cluster["GlobalClusterMembers"] if m["IsWriter"]]
    assert writers == ["arn:aws:rds:us-east-2:333333333333:cluster:acme-claims-db-dr"]


def test_a_switchover_needing_the_gone_primary_fails_with_a_clear_cause_and_policy(full_stack):
    # the database wave says continue: the switchover fails, the servers still recover
    execution_id = _failover_without_primary(full_stack, "switchover", policy="continue")
    state = end_state(full_stack, execution_id, (DATA,))
    assert state.status == "SUCCEEDED", state.execution
    state.assert_closed()
    (database,) = [w for w in state.waves if w["phase"] == "ACTIVATE" and w["wave"] == "database"]
    assert database["status"] == "FAILED"
    (why,) = [f for f in database["failures"] if "database-claims-db" in f]
    assert "arn:aws:rds:us-east-1:333333333333:cluster:acme-claims-db" in why
    assert "Could not connect to the endpoint URL" in why and "use mode failover" in why
    assert state.instances  # the data servers were recovered after it
