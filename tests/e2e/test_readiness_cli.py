"""``drorch readiness`` and ``drorch execute`` through the real CLI on the `full-stack`
scenario, with a replication stall injected (the scenario's acme-app-03 seeded STALLED)."""

from __future__ import annotations

import json

import yaml

from drorch.cli.main import main
from drorch.sandbox.scenario import builtin_scenarios
from tests.conftest import ACCOUNTS_DIR, REPO

FULL_STACK = REPO / "manifests" / "examples" / "full-stack.yaml"


def stalled_scenario(tmp_path, hostname: str = "acme-app-03"):
    """The full-stack scenario with one server of the plan's app wave STALLED."""
    document = yaml.safe_load(builtin_scenarios()["full-stack"].read_text())
    (server,) = [s for s in document["sourceServers"] if s["hostname"] == hostname]
    server["replicationState"] = "STALLED"
    path = tmp_path / "full-stack-stalled.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def run(capsys, *args: str) -> tuple[int, str]:
    code = main([*args, "--accounts-dir", str(ACCOUNTS_DIR)])
    return code, capsys.readouterr().out


def test_readiness_lists_every_resource_and_a_stall_is_a_blocker(capsys, tmp_path):
    scenario = stalled_scenario(tmp_path)
    code, out = run(
        capsys,
        "readiness",
        "claims",
        "--manifest",
        str(FULL_STACK),
        "--scenario",
        str(scenario),
        "--output",
        "json",
    )
    assert code == 1  # a BLOCKER: a failover would be refused
    result = json.loads(out)
    assert result["application"] == "claims" and result["verdict"] == "BLOCKED"
    (blocker,) = [f for f in result["findings"] if f["result"] == "BLOCKER"]
    assert blocker["name"] == "acme-app-03" and blocker["groupId"] == "app-servers"
    assert "STALLED" in blocker["detail"] and blocker["call"].startswith(
        "drs:DescribeSourceServers"
    )
    # findings per resource: every module group of the plan, and each staging account
    groups = {f["groupId"] for f in result["findings"] if f["groupId"]}
    assert {
        "database-claims-db",
        "app-servers",
        "capacity-web-fleet",
        "traffic-claims-dns",
    } <= groups
    named = {f["name"] for f in result["findings"]}
    assert {"acme-claims-db-dr", "acme-web-dr", "acme-ora-01", "acme-web-03"} <= named
    assert {f["accountId"] for f in result["findings"] if f["module"] == "account"} == {
        "111111111111",
        "222222222222",
        "333333333333",
    }
    assert all(f["call"] for f in result["findings"] if f["module"] != "plan")


def test_a_failover_with_a_stalled_server_is_refused_before_anything_changes(capsys, tmp_path):
    scenario = stalled_scenario(tmp_path)
    code, out = run(
        capsys,
        "execute",
        "--application",
        "claims",
        "--operation",
        "failover",
        "--manifest",
        str(FULL_STACK),
        "--scenario",
        str(scenario),
        "--approve",
        "--json",
        "--report-dir",
        str(tmp_path),
    )
    assert code == 1
    final = json.loads(out)
    execution = final["execution"]
    assert execution["status"] == "FAILED" and execution["error"] == "ReadinessBlocked"
    assert "acme-app-03" in execution["cause"]
    assert final["resources"] == [] and final["gates"] == []  # no phase began
    assert execution["readiness"]["verdict"] == "BLOCKED"
