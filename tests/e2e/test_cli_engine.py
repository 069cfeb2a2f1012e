"""The engine through the real CLI, against the sandbox."""

from __future__ import annotations

import json

from drorch.cli.main import main
from tests.conftest import ACCOUNTS_DIR
from tests.e2e.conftest import EXAMPLE


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([*args])
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_runs_a_drill_and_its_cleanup(capsys, tmp_path):
    code, out, _ = run(
        capsys, "demo", "--json", "--accounts-dir", str(ACCOUNTS_DIR), "--report-dir", str(tmp_path)
    )
    result = json.loads(out)
    assert code == 0
    assert result["succeeded"] is True
    assert result["drill"]["status"] == "SUCCEEDED"
    assert result["cleanup"]["status"] == "SUCCEEDED"
    assert result["runningDrillInstances"] == 0
    assert result["fidelityViolations"] == []
    assert {g["kind"] for g in result["drill"]["gates"]} == {"approval", "wave"}
    assert all(
        (tmp_path / f"{result['drill']['executionId']}.{ext}").exists()
        for ext in ("md", "html", "json")
    )


def test_execute_with_a_rejected_gate_exits_1(capsys, tmp_path):
    code, out, _ = run(
        capsys,
        "execute",
        "--application",
        "claims",
        "--manifest",
        str(EXAMPLE),
        "--reject",
        "--json",
        "--accounts-dir",
        str(ACCOUNTS_DIR),
        "--report-dir",
        str(tmp_path),
    )
    assert code == 1
    final = json.loads(out)
    assert final["execution"]["status"] == "FAILED"
    assert [g["decision"] for g in final["gates"]] == ["rejected"]
    # INSTANTIATE ran before the approval gate; nothing was launched after it
    assert {r["phase"] for r in final["resources"]} == {"INSTANTIATE"}
    assert len(final["resources"]) == 10  # the DRS servers (acme-sqldw-01 is sql-ag's)


def test_manifest_plan_is_a_dry_run(capsys):
    code, out, _ = run(
        capsys, "manifest", "plan", str(EXAMPLE), "--json", "--accounts-dir", str(ACCOUNTS_DIR)
    )
    assert code == 0
    result = json.loads(out)
    phases = {p["phase"]: p for p in result["plan"]["phases"]}
    assert set(phases) == {"INSTANTIATE", "ACTIVATE"} and phases["ACTIVATE"]["approval"] is True
    data = result["groups"]["data-servers"]["resources"]["333333333333"]
    assert sorted(r["name"] for r in data) == ["acme-ora-01", "acme-ora-02"]
    excluded = {e["name"]: e["reasons"] for e in result["groups"]["data-servers"]["excluded"]}
    assert excluded["acme-sqldw-01"] == [
        "dr:recovery-strategy=sql-ag: recovered by the sqlserver-ag module, not by drs"
    ]


def test_commands_that_need_a_deployed_hub_say_so(capsys):
    code, _, err = run(capsys, "status", "drill-20260101T000000-abcdef")
    assert code == 2
    assert "sandbox lives only inside one drorch command" in err
    assert "--profile" in err
