"""Operator experience (issue 14): never hang, honest messages, conventions.

These run the real ``drorch`` entry point; none of them sets up a sandbox (a
check that must come before any set-up replaces ``sandbox_hub`` with a trap).
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from drorch.cli import engine_cmd, help, sandbox_run
from drorch.cli.follow import Follower, Interrupted
from drorch.cli.live import events, failure_text, render
from drorch.cli.main import command, main
from drorch.cli.output import clean
from tests.conftest import ACCOUNTS_DIR, REPO

EXAMPLE = REPO / "manifests" / "examples" / "three-tier-claims.yaml"
SCHEMA = json.loads(
    (REPO / "runtime" / "drorch" / "schemas" / "cli-output.schema.json").read_text()
)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([*args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def no_setup(monkeypatch):
    """Fails the test if a command starts setting up the sandbox."""

    def trap(*args, **kwargs):
        raise AssertionError("the sandbox was set up before the input was checked")

    monkeypatch.setattr(sandbox_run, "sandbox_hub", trap)


@pytest.fixture
def no_aws_env(monkeypatch, tmp_path):
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def schema_for(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}", "$defs": SCHEMA["$defs"]}


# --- never hang ------------------------------------------------------------------------
def test_a_gate_nobody_can_answer_fails_before_any_set_up(capsys, no_setup):
    """stdin is not a terminal under pytest: without --approve/--reject the drill (its
    manifest has an approval gate) is refused at once, naming the flag."""
    code, out, err = run(
        capsys,
        "execute",
        "--application",
        "claims",
        "--manifest",
        str(EXAMPLE),
        "--accounts-dir",
        str(ACCOUNTS_DIR),
    )
    assert code == 2
    assert "nobody can answer it here (stdin is not a terminal)" in err
    assert "--approve" in err and "hint:" in err
    assert out == ""


def test_non_interactive_flag(capsys, no_setup, monkeypatch):
    monkeypatch.setattr("drorch.cli.output.interactive", lambda: True)
    code, _, err = run(
        capsys,
        "execute",
        "--application",
        "claims",
        "--manifest",
        str(EXAMPLE),
        "--non-interactive",
        "--accounts-dir",
        str(ACCOUNTS_DIR),
    )
    assert code == 2 and "(--non-interactive)" in err and "--approve" in err


def test_a_gate_that_opens_unexpectedly_fails_fast_with_the_command():
    follower = Follower(sandbox=False, target=" --profile hub", non_interactive=True)
    follower._execution_id = "drill-1"
    with pytest.raises(engine_cmd.InputError) as raised:
        follower.on_gate({"gate": 3, "kind": "wave", "phase": "ACTIVATE", "level": 1})
    assert "drorch approve drill-1 --gate 3 --profile hub" in raised.value.hint


def test_ctrl_c_says_what_happens_and_how_to_reattach(capsys, monkeypatch):
    class Interrupting:
        def wait(self, *args, **kwargs):
            raise KeyboardInterrupt

    monkeypatch.setattr(engine_cmd, "aws_client", lambda profile, region: Interrupting())
    code, _, err = run(capsys, "status", "drill-1", "--wait", "--profile", "hub")
    assert code == 130
    assert "drill-1 keeps running in the hub" in err
    assert "drorch status drill-1 --wait --profile hub" in err
    assert "drorch cancel drill-1 --profile hub" in err
    assert "Traceback" not in err
    sandbox = Follower(sandbox=True)
    sandbox._execution_id = "drill-2"
    assert isinstance(sandbox.interrupted(), Interrupted)
    assert "ends with this command" in str(sandbox.interrupted())


def test_ctrl_c_during_set_up_says_so(capsys, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine_cmd, "aws_client", interrupt)
    code, _, err = run(capsys, "list", "--profile", "hub")
    assert code == 130
    assert "error: interrupted" in err and "drorch list --status RUNNING" in err


def test_the_prompt_is_not_redrawn_away():
    calls = []

    class FakeLive:
        def stop(self):
            calls.append("stop")

        def start(self):
            calls.append("start")

    follower = Follower(ask=lambda gate: calls.append("ask") or True)
    follower._live = FakeLive()
    follower._execution_id = "drill-1"
    assert follower.on_gate({"gate": 1, "kind": "approval", "phase": "ACTIVATE"}) is True
    assert calls == ["stop", "ask", "start"]


# --- input checked before any set-up --------------------------------------------------------
def test_unknown_scenario_blames_the_scenario_not_a_manifest(capsys, no_setup):
    code, _, err = run(capsys, "demo", "--scenario", "nosuch", "--accounts-dir", str(ACCOUNTS_DIR))
    assert code == 2
    assert "scenario 'nosuch' not found" in err and "manifest" not in err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--operation", "frob"], "unknown operation 'frob'"),
        (["--manifest", "no-such.yaml"], "manifest not found: no-such.yaml"),
        (["--application", "other"], "not 'other'"),
    ],
)
def test_execute_checks_arguments_before_set_up(capsys, no_setup, extra, expected):
    args = ["execute", "--application", "claims", "--manifest", str(EXAMPLE), "--approve"]
    code, _, err = run(capsys, *args, *extra, "--accounts-dir", str(ACCOUNTS_DIR))
    assert code == 2
    assert expected in err


def test_execute_refuses_a_bad_manifest_before_set_up(capsys, no_setup, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("application: claims\nwaves: 3\n")
    code, _, err = run(
        capsys, "execute", "--application", "claims", "--manifest", str(bad), "--approve"
    )
    assert code == 2 and str(bad) in err


# --- errors: one line, a hint, exit 2 -----------------------------------------------------
def test_missing_profile_is_exit_2(capsys, no_aws_env):
    code, _, err = run(capsys, "status", "drill-1", "--profile", "nosuch")
    assert code == 2
    assert "AWS profile not found: nosuch" in err and "hint:" in err


def test_missing_credentials_is_exit_2(capsys, no_aws_env):
    code, _, err = run(capsys, "list", "--region", "us-east-1")
    assert code == 2
    assert "no AWS credentials found" in err and "hint:" in err


def test_aws_profile_and_region_are_honoured(capsys, no_aws_env, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "from-the-environment")
    code, _, err = run(capsys, "status", "drill-1")
    assert code == 2
    assert "AWS profile not found: from-the-environment" in err
    monkeypatch.delenv("AWS_PROFILE")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    code, _, err = run(capsys, "status", "drill-1")
    assert code == 2 and "no AWS credentials found" in err


def test_list_refuses_an_unknown_status(capsys, no_aws_env):
    code, _, err = run(capsys, "list", "--status", "FROB", "--profile", "nosuch")
    assert code == 2
    assert "unknown status 'FROB'" in err and "SUCCEEDED" in err


def test_output_format_is_checked(capsys):
    code, _, err = run(capsys, "modules", "list", "--output", "yaml")
    assert code == 2 and "--output json, table or text" in err
    code, out, _ = run(capsys, "modules", "list", "--output", "json")
    assert code == 0 and isinstance(json.loads(out), list)


def test_failure_text_says_it_once():
    assert failure_text({"error": "FAILED", "cause": "FAILED"}) == "failed: FAILED"
    assert "FAILED FAILED" not in failure_text({"error": "FAILED", "cause": "FAILED: wave web"})


# --- the project folder --------------------------------------------------------------------
def test_commands_work_from_a_subfolder(capsys, monkeypatch):
    monkeypatch.delenv("DRORCH_ACCOUNTS_DIR", raising=False)
    monkeypatch.chdir(REPO / "manifests" / "examples")
    code, out, _ = run(capsys, "accounts", "list", "--json")
    assert code == 0 and len(json.loads(out)) == 4


def test_outside_the_project_says_how_to_set_it(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("DRORCH_ACCOUNTS_DIR", raising=False)
    monkeypatch.delenv("DRORCH_PROJECT_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "accounts", "list")
    assert code == 2 and "--project-dir" in err
    code, out, _ = run(capsys, "--project-dir", str(REPO), "accounts", "list", "--json")
    assert code == 0 and len(json.loads(out)) == 4


# --- conventions ---------------------------------------------------------------------------
def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("drorch ")


def _commands():
    yield from (path for path, _ in help._walk(command()))


@pytest.mark.parametrize("path", list(_commands()), ids=lambda p: " ".join(p) or "drorch")
def test_every_help_has_examples_exit_codes_and_honest_placeholders(capsys, path):
    code, out, _ = run(capsys, *path, "--help")
    assert code == 0
    assert "Examples:" in out and "Exit codes:" in out
    for python_type in ("<bool>", "<str>", "<int>", "<path>", "list[str]"):
        assert python_type not in out


# --- output contracts ------------------------------------------------------------------------
def test_clean_drops_storage_keys_at_any_depth():
    item = {
        "pk": "EXEC#x",
        "sk": "GATE#1",
        "expiresAt": 1,
        "token": "t",
        "gate": 1,
        "x": [{"sk": 2}],
    }
    assert clean(item) == {"gate": 1, "x": [{}]}


def resource(phase: str, resource_id: str, status: str) -> dict:
    return {
        "phase": phase,
        "wave": "data",
        "groupId": "db",
        "accountId": "333333333333",
        "resourceId": resource_id,
        "status": status,
    }


def description(**execution):
    base = {
        "executionId": "drill-1",
        "status": "RUNNING",
        "application": "claims",
        "operation": "drill",
        "startedAt": "2026-01-01T12:00:00Z",
        "phases": ["INSTANTIATE", "ACTIVATE"],
    }
    return {
        "execution": base | execution,
        "machineStatus": "RUNNING",
        "waves": [
            {
                "phase": "INSTANTIATE",
                "level": 0,
                "wave": "data",
                "status": "SUCCEEDED",
                "startedAt": "2026-01-01T12:00:00Z",
                "finishedAt": "2026-01-01T12:00:30Z",
                "rtoTargetMinutes": 30,
            },
            {
                "phase": "ACTIVATE",
                "level": 0,
                "wave": "data",
                "status": "RUNNING",
                "startedAt": "2026-01-01T12:01:00Z",
                "rtoTargetMinutes": 30,
            },
        ],
        "gates": [
            {"gate": 1, "kind": "approval", "phase": "ACTIVATE", "decision": "approved"},
            {"gate": 2, "kind": "wave", "phase": "ACTIVATE", "level": 1, "position": "before"},
        ],
        "resources": [
            resource("INSTANTIATE", "s-1", "SUCCEEDED"),
            resource("INSTANTIATE", "s-2", "SUCCEEDED"),
            resource("ACTIVATE", "s-1", "RUNNING"),
        ],
    }


def test_the_live_table_shows_counts_durations_elapsed_and_the_gate(capsys):
    from datetime import UTC, datetime

    from rich.console import Console

    console = Console(width=100, record=True)
    console.print(
        render(description(), " --profile hub", now=datetime(2026, 1, 1, 12, 5, tzinfo=UTC))
    )
    text = console.export_text()
    lines = text.splitlines()
    instantiate = next(i for i, line in enumerate(lines) if "INSTANTIATE" in line)
    activate = next(
        i
        for i, line in enumerate(lines)
        if "ACTIVATE" in line and "INSTANTIATE" not in line and "gate" not in line
    )
    assert instantiate < activate
    assert "2 succeeded" in lines[instantiate] and "30s" in lines[instantiate]
    assert "1 running" in lines[activate] and "4m00s" in lines[activate]
    assert "elapsed 5m00s of RTO target 30m" in text
    assert "drorch approve drill-1 --gate 2 --profile hub" in text


def test_events_are_one_line_each_and_never_frames():
    first = description()
    lines = events(None, first)
    assert lines[0].endswith("execution drill-1 started")
    assert any("INSTANTIATE level 0 wave data SUCCEEDED in 30s: 2 succeeded" in x for x in lines)
    assert any("waiting at gate 2" in x and "drorch approve drill-1 --gate 2" in x for x in lines)
    assert events(first, first) == []  # nothing changed, nothing printed


def test_the_schema_is_valid_and_describes_the_documents():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.validate(clean(description()), schema_for("description"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            description()
            | {"execution": {"executionId": "x", "status": "RUNNING", "pk": "EXEC#x"}},
            schema_for("description"),
        )


def test_the_schema_is_published_with_the_package():
    import drorch

    assert (Path(drorch.__file__).parent / "schemas" / "cli-output.schema.json").is_file()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [(["--operation", "frob"], "unknown operation 'frob'"), (["--scenario", "nosuch"], "nosuch")],
)
def test_manifest_plan_checks_arguments_before_set_up(capsys, no_setup, extra, expected):
    code, _, err = run(capsys, "manifest", "plan", str(EXAMPLE), *extra)
    assert code == 2 and expected in err


def renamed_example() -> str:
    """The three-tier example with wave and group names as people write them."""
    import yaml

    document = yaml.safe_load(EXAMPLE.read_text())
    document["waves"][1]["waveName"] = "Application Tier (DRS Core)"
    document["waves"][1]["technologies"][0]["name"] = "Servers (primary)"
    return yaml.safe_dump(document, sort_keys=False)


def test_wave_and_group_names_are_any_printable_text_with_a_safe_id(capsys, tmp_path):
    path = tmp_path / "renamed.yaml"
    path.write_text(renamed_example())
    code, out, err = run(capsys, "manifest", "validate", str(path), "--json")
    assert code == 0, err
    ids = {g["id"]: g for g in json.loads(out)["groups"]}
    assert "application-tier-drs-core--servers-primary" in ids
    assert all(all(c.isalnum() or c in "-_" for c in gid) for gid in ids)
    bad = tmp_path / "control.yaml"
    bad.write_text(renamed_example().replace("Application Tier (DRS Core)", '"tab\\there"'))
    code, _, err = run(capsys, "manifest", "validate", str(bad))
    assert code == 2 and "waveName" in err
