"""The execution commands against a hub deployed in the sandbox (as ``--profile hub``).

One deployment for the module, restored before each test (as tests/e2e does).
"""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from drorch.cli import engine_cmd
from drorch.cli.follow import Follower, SandboxGateClock
from drorch.cli.main import main
from drorch.cli.sandbox_run import sandbox_hub
from drorch.sandbox import activity
from drorch.sandbox.checkpoint import Checkpoint
from tests.cli.test_operator_cli import SCHEMA, schema_for
from tests.conftest import ACCOUNTS_DIR, REPO

EXAMPLE = REPO / "manifests" / "examples" / "three-tier-claims.yaml"
STORAGE = ('"pk"', '"sk"', '"expiresAt"', '"token"', "GATE#", "EXEC#")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([*args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def deployed():
    with sandbox_hub("three-tier", ACCOUNTS_DIR, strict=True) as running:
        yield running, Checkpoint.take(running.sandbox, running.deployment)


@pytest.fixture
def hub(deployed, monkeypatch):
    running, checkpoint = deployed
    checkpoint.restore()
    running.client.upload_manifest(EXAMPLE)
    monkeypatch.setattr(engine_cmd, "aws_client", lambda profile, region: running.client)
    yield running
    assert running.sandbox.state.fidelity.violations == []


def approve_all(gate):
    return True


def test_wrong_states_are_one_line_a_hint_and_exit_2(capsys, hub):
    code, _, err = run(capsys, "approve", "drill-20260101T000000-abcdef", "--profile", "hub")
    assert code == 2
    assert "no execution 'drill-20260101T000000-abcdef'" in err and "waits on no gate" not in err
    assert "drorch list" in err

    execution_id = hub.client.start_execution("claims", "drill")
    code, _, err = run(capsys, "resume", execution_id, "--profile", "hub")
    assert code == 2 and f"execution {execution_id} is not paused" in err and "hint:" in err
    code, _, err = run(capsys, "approve", execution_id, "--gate", "9", "--profile", "hub")
    assert code == 2 and "gate 9" in err and "is not open" in err

    hub.client.wait(execution_id, on_gate=approve_all, timeout=120)
    code, _, err = run(capsys, "approve", execution_id, "--profile", "hub")
    assert code == 2 and "already finished (SUCCEEDED)" in err
    code, _, err = run(capsys, "list", "--status", "FROB", "--profile", "hub")
    assert code == 2 and "unknown status 'FROB'" in err


def test_json_is_one_document_without_storage_keys(capsys, hub):
    execution_id = hub.client.start_execution("claims", "drill")
    hub.client.wait(execution_id, on_gate=approve_all, timeout=120)
    code, out, err = run(capsys, "status", execution_id, "--output", "json", "--profile", "hub")
    assert code == 0
    document = json.loads(out)  # one document, nothing else on stdout
    jsonschema.validate(document, schema_for("description"))
    assert not any(key in out for key in STORAGE)
    phases = [w["phase"] for w in document["waves"]]
    assert phases == sorted(phases, key=["INSTANTIATE", "ACTIVATE"].index)  # in run order
    levels = [w["level"] for w in document["waves"] if w["phase"] == "ACTIVATE"]
    assert levels == sorted(levels)
    # the waves carry their resources counted by status; the resources are a page away
    counted = {w["wave"] for w in document["waves"] if w["resources"].get("succeeded")}
    assert counted >= {"data", "app", "web"} and "resources" not in document

    code, out, _ = run(capsys, "list", "--json", "--profile", "hub")
    jsonschema.validate(
        json.loads(out), {"$ref": "#/$defs/executionList", "$defs": SCHEMA["$defs"]}
    )
    assert not any(key in out for key in STORAGE)
    code, out, _ = run(
        capsys, "list", "--output", "text", "--status", "succeeded", "--profile", "hub"
    )
    assert code == 0 and out.split("\t")[0] == execution_id

    code, out, _ = run(capsys, "status", execution_id, "--profile", "hub")
    assert code == 0 and not any(key in out for key in STORAGE)
    assert "2 succeeded" in out  # resources are counted per wave (they carry a groupId)


def test_status_wait_without_a_terminal_prints_events_and_never_hangs(capsys, hub):
    execution_id = hub.client.start_execution("claims", "drill")
    code, out, err = run(capsys, "status", execution_id, "--wait", "--profile", "hub")
    assert code == 2
    assert f"gate 1 (approval ACTIVATE) of {execution_id} needs a decision" in err
    assert f"drorch approve {execution_id} --gate 1 --profile hub" in err
    lines = out.splitlines()
    assert lines[0] == f"following {execution_id}"
    assert any("INSTANTIATE level 0 wave data SUCCEEDED" in line for line in lines)
    assert not any(box in out for box in "│┃━─")  # lines, never frames

    code, out, _ = run(capsys, "approve", execution_id, "--comment", "go", "--profile", "hub")
    assert code == 0
    assert out.strip() == f"approved gate 1 of {execution_id} (approval ACTIVATE): go"
    code, out, _ = run(capsys, "status", execution_id, "--wait", "--approve", "--profile", "hub")
    assert code == 0
    assert f"{execution_id} SUCCEEDED  claims drill" in out  # the summary
    assert (
        out.splitlines()[-1]
        == f"full report: drorch report {execution_id} --profile hub --format md"
    )

    code, out, _ = run(capsys, "report", execution_id, "--profile", "hub")
    assert code == 0 and out.startswith("#") and len(out.splitlines()) > 40  # the full report
    code, out, _ = run(capsys, "report", execution_id, "--format", "json", "--profile", "hub")
    assert json.loads(out)["executionId"] == execution_id


def test_a_gate_times_out_on_the_sandbox_clock_while_it_waits(hub):
    document = yaml.safe_load(EXAMPLE.read_text())
    document["approvalWorkflow"]["timeoutMinutes"] = 5
    hub.client.upload_manifest("short-gate.yaml", yaml.safe_dump(document))
    execution_id = hub.client.start_execution("claims", "drill")
    asked = []

    def nobody_answers(gate):
        # a person who never answers: wait until the gate is closed (by its timeout)
        asked.append(gate["gate"])
        activity.wait_for(lambda: hub.client.machine_status(execution_id)["status"] != "RUNNING")
        return None

    follower = Follower(
        quiet=True, ask=nobody_answers, gate_clock=SandboxGateClock(hub.sandbox.clock, rate=600)
    )
    final = follower.follow(hub.client, execution_id)
    assert asked == [1]
    assert final["execution"]["status"] == "FAILED"


def test_a_drill_of_waves_named_as_people_write_them(capsys, hub, tmp_path):
    from tests.cli.test_operator_cli import renamed_example

    path = tmp_path / "renamed.yaml"
    path.write_text(renamed_example())
    args = ["execute", "--application", "claims", "--manifest", str(path), "--approve"]
    code, out, err = run(capsys, *args, "--report-dir", str(tmp_path), "--profile", "hub", "--json")
    assert code == 0, err
    final = json.loads(out)
    assert final["execution"]["status"] == "SUCCEEDED"
    assert "Application Tier (DRS Core)" in {w["wave"] for w in final["waves"]}
    assert {
        r["wave"] for r in final["resources"] if r["groupId"].startswith("application-tier")
    } == {"Application Tier (DRS Core)"}
    report = (tmp_path / f"{final['execution']['executionId']}.html").read_text()
    assert "Application Tier (DRS Core)" in report
