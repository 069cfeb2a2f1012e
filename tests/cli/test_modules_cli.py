"""``drorch modules list|show``: what each registered module declares."""

from __future__ import annotations

import json

import pytest

from drorch.cli.main import main
from drorch.modules import REGISTRY

STEPS = ("ssm-automation", "ssm-command", "lambda-invoke", "wait", "approval")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([*args])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_json_gives_every_module_with_what_it_declares(capsys) -> None:
    code, out, _ = run(capsys, "modules", "list", "--json")
    assert code == 0
    listed = {item["name"]: item for item in json.loads(out)}
    assert sorted(listed) == sorted(REGISTRY)
    for name in ("drs", *STEPS):
        item = listed[name]
        assert item["parameters"] == REGISTRY[name].parameters_schema
        assert set(item["iam"]) == {"read", "drillSafe", "write"}
        assert item["aliases"] == list(REGISTRY[name].aliases) and item["aliases"]
        assert item["drill"] == REGISTRY[name].drill and item["drill"]
        assert item["probes"] == [p.action for p in REGISTRY[name].probes]
    drs = listed["drs"]
    assert drs["kind"] == "resource"
    assert drs["drillSafePhases"] == ["ACTIVATE", "CLEANUP", "INSTANTIATE"]
    assert "drs:DescribeSourceServers" in drs["probes"]
    assert {"drs:StartRecovery"} <= {a for s in drs["iam"]["drillSafe"] for a in s["Action"]}
    assert {"drs:ReverseReplication"} <= {a for s in drs["iam"]["write"] for a in s["Action"]}
    automation = listed["ssm-automation"]
    assert (automation["kind"], automation["runsInDrill"]) == ("step", False)
    assert automation["parameters"]["required"] == ["documentName"]
    assert automation["probes"] == ["ssm:DescribeAutomationExecutions"]
    assert (listed["wait"]["runsInDrill"], listed["wait"]["iam"]["read"]) == (True, [])


def test_list_is_a_table_of_name_kind_summary_drill_and_aliases(capsys) -> None:
    code, out, _ = run(capsys, "modules", "list")
    assert code == 0
    header = " ".join(out.split("\n")[2].replace("┃", " ").split())
    assert header == "name kind summary drill aliases"
    for name in ("drs", "approval", "wait"):
        assert name in out
    assert "skipped unless" in out  # a step that does not run in drills says so


@pytest.mark.parametrize("name", ["ssm-automation", "SSMAutomation", "startAutomationExecution"])
def test_show_by_name_or_alias(capsys, name: str) -> None:
    code, out, _ = run(capsys, "modules", "show", name, "--json")
    assert code == 0
    assert json.loads(out) == REGISTRY["ssm-automation"].describe()


def test_show_prints_parameters_iam_by_part_probes_aliases_and_drill(capsys) -> None:
    code, out, _ = run(capsys, "modules", "show", "ssm-command")
    assert code == 0
    text = " ".join(out.split())
    for expected in (
        "ssm-command",
        "drill: skipped unless runInDrill: true.",
        "aliases: SSMCommand, ssm_command, RunCommand",
        "probes: ssm:ListCommands",
        "instanceIds",
        "timeoutSeconds",
        "IAM: read",
        "IAM: drill-safe writes",
        "IAM: writes: none",
        "SsmSendCommand",
    ):
        assert expected in text, expected


def test_show_an_unknown_module_exits_2_with_a_suggestion(capsys) -> None:
    code, out, err = run(capsys, "modules", "show", "ssm-automaton")
    assert code == 2
    assert out == ""
    message = " ".join(err.split())
    assert "error: no module named 'ssm-automaton'" in message
    assert "did you mean 'ssm-automation'?" in message
