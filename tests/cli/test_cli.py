"""The drorch command line, end to end against the sandbox."""

from __future__ import annotations

import json

import pytest

from drorch.cli.main import main
from tests.conftest import ACCOUNTS_DIR


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([*args])
    out, err = capsys.readouterr()
    return code, out, err


def test_unknown_fail_server_is_bad_input(capsys):
    code, _, err = run(
        capsys,
        "demo",
        "--fail-server",
        "nobody",
        "--accounts-dir",
        str(ACCOUNTS_DIR),
    )
    assert code == 2
    assert "nobody" in err and "hint:" in err and "Traceback" not in err


def test_unknown_scenario_is_one_line_with_a_hint(capsys):
    code, _, err = run(capsys, "sandbox", "show", "atlantis", "--accounts-dir", str(ACCOUNTS_DIR))
    assert code == 2
    assert "scenario 'atlantis' not found" in err and "hint:" in err and "three-tier" in err


def test_bad_scenario_file_names_the_path(capsys, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\nsourceServers:\n  - {account: staging-web, hostname: h, ip: 300.1.1.1}\n"
    )
    code, _, err = run(capsys, "sandbox", "show", str(path), "--accounts-dir", str(ACCOUNTS_DIR))
    assert code == 2
    assert "$.sourceServers[0].ip" in err


def test_sandbox_show_json(capsys):
    code, out, _ = run(
        capsys, "sandbox", "show", "three-tier", "--json", "--accounts-dir", str(ACCOUNTS_DIR)
    )
    estate = json.loads(out)
    assert code == 0
    by_name = {a["name"]: a for a in estate["accounts"]}
    assert by_name["staging-data"]["waves"] == {"1": 3}
    assert by_name["staging-app"]["replication"] == {"CONTINUOUS": 5, "STALLED": 1}
    assert by_name["staging-data"]["resourceExplorer"]["indexes"] == {
        "us-east-2": "AGGREGATOR",
        "us-east-1": "LOCAL",
    }
    types = {r["type"] for r in by_name["staging-data"]["resources"]}
    assert {"aurora-cluster", "elasticache-replication-group"} <= types


def test_scenarios_and_accounts_lists(capsys):
    code, out, _ = run(capsys, "sandbox", "scenarios", "--json")
    assert code == 0
    assert {s["name"]: s["sourceServers"] for s in json.loads(out)} == {
        "large-estate": 1050,
        "three-tier": 13,
        "full-stack": 13,
    }
    code, out, _ = run(capsys, "accounts", "list", "--json", "--accounts-dir", str(ACCOUNTS_DIR))
    assert code == 0
    assert len(json.loads(out)) == 4


def test_missing_accounts_dir(capsys, tmp_path):
    code, _, err = run(capsys, "accounts", "list", "--accounts-dir", str(tmp_path / "none"))
    assert code == 2 and "accounts directory not found" in err


@pytest.mark.parametrize("args", [["--help"], ["sandbox", "--help"], ["demo", "--help"]])
def test_help(capsys, args):
    code, out, _ = run(capsys, *args)
    assert code == 0 and "Usage" in out


def test_usage_error_is_one_line_and_exit_2(capsys):
    code, _, err = run(capsys, "sandbox", "show", "--no-such-option")
    assert code == 2
    assert "No such option" in err and "Traceback" not in err
