"""``drorch sandbox up``: the sandbox as a local AWS endpoint, used from several processes.

The end-to-end test starts the endpoint as a user does (``drorch sandbox up``, in
the background), starts a drill from one ``drorch`` process without waiting,
then pauses, resumes, approves and reads the status from other processes, and
reads the drill's DRS jobs with the AWS CLI and with plain boto3.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drorch.sandbox import endpoint
from drorch.sandbox.server import clock_mode, clock_speed

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MANIFEST = ROOT / "manifests" / "examples" / "three-tier-claims.yaml"


# --- without a server -------------------------------------------------------------------
def test_clock_modes() -> None:
    assert clock_speed("manual") == 0
    assert clock_speed("realtime") == 1
    assert clock_speed("fast:60") == 60
    assert [clock_mode(s) for s in (0, 1, 60)] == ["manual", "realtime", "fast:60"]
    for bad in ("fast", "fast:0", "fast:x", "slow"):
        with pytest.raises(ValueError, match="not a clock mode"):
            clock_speed(bad)


def _state(directory: Path, pid: int) -> endpoint.Endpoint:
    found = endpoint.Endpoint(
        pid=pid,
        port=4599,
        url="http://localhost:4599",
        account_id="999999999999",
        region="us-east-2",
        access_key_id="AKIAOPERATOR",
        secret_access_key="secret",
        environment={"DRORCH_HISTORY_TABLE": "drorch-history"},
    )
    (directory / endpoint.STATE_FILE).write_text(json.dumps(found.to_json()))
    return found


def test_hub_commands_target_a_running_endpoint(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("DRORCH_SANDBOX_DIR", str(tmp_path))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("DRORCH_SANDBOX_ENDPOINT", raising=False)
    assert endpoint.target_endpoint("status", [], {}) is None  # no state file

    _state(tmp_path, os.getpid())
    env: dict[str, str] = {"AWS_SESSION_TOKEN": "stale"}
    assert endpoint.target_endpoint("status", ["drill-1"], env) is not None
    assert env == {
        "AWS_ENDPOINT_URL": "http://localhost:4599",
        "AWS_ACCESS_KEY_ID": "AKIAOPERATOR",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_REGION": "us-east-2",
        "AWS_DEFAULT_REGION": "us-east-2",
        "DRORCH_HISTORY_TABLE": "drorch-history",
    }
    # readiness evaluates the application's uploaded manifest in the endpoint's hub
    assert endpoint.target_endpoint("readiness", ["claims"], {}) is not None
    # manifest upload and plan talk to the hub; manifest validate and convert do not
    for arguments in (["upload", "m.yaml"], ["plan", "m.yaml", "--json"]):
        assert endpoint.target_endpoint("manifest", arguments, {}) is not None
    for arguments in (["validate", "m.yaml"], ["convert", "x.json"]):
        assert endpoint.target_endpoint("manifest", arguments, {}) is None
    # the hub's own region still means the endpoint (drorch's hints name it)
    assert endpoint.target_endpoint("approve", ["x", "--region", "us-east-2"], {}) is not None
    # a hub in AWS is chosen explicitly; demo and sandbox keep their in-process sandbox
    for command, arguments, environ in (
        ("status", ["x", "--profile", "prod"], {}),
        ("status", ["x", "--region=eu-west-1"], {}),
        ("status", ["x"], {"AWS_PROFILE": "prod"}),
        ("demo", [], {}),
        ("sandbox", ["show"], {}),
    ):
        assert endpoint.target_endpoint(command, arguments, environ) is None
        assert "AWS_ENDPOINT_URL" not in environ
    # an exported local endpoint is not for the commands with their own sandbox
    exported = {"AWS_ENDPOINT_URL": "http://localhost:4599", "AWS_ENDPOINT_URL_S3": "https://s3.x"}
    assert endpoint.target_endpoint("demo", [], exported) is None
    assert exported == {"AWS_ENDPOINT_URL_S3": "https://s3.x"}
    monkeypatch.setenv("DRORCH_SANDBOX_ENDPOINT", "off")
    assert endpoint.target_endpoint("status", [], {}) is None


def test_the_cli_routes_on_the_subcommand_and_its_arguments(monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from drorch.cli import main

    seen: list[tuple[str | None, list[str]]] = []
    monkeypatch.setattr(main, "target_endpoint", lambda c, a: seen.append((c, list(a))))
    for arguments in (["manifest", "upload", "none.yaml"], ["status", "x", "--region", "r"]):
        CliRunner().invoke(main.app, arguments)
    assert seen == [("manifest", ["upload", "none.yaml"]), ("status", ["x", "--region", "r"])]


def test_a_dead_endpoint_is_not_running(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    _state(tmp_path, child.pid)
    assert endpoint.read_state(tmp_path) is not None
    assert endpoint.running_endpoint(tmp_path) is None


# --- end to end ---------------------------------------------------------------------------
endpoint_run = pytest.mark.endpoint  # minutes: run with -m endpoint


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Shell:
    """Another terminal: runs ``drorch`` and ``aws`` as separate processes."""

    def __init__(self, state_dir: Path) -> None:
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "DRORCH_SANDBOX_ENDPOINT"))
        }
        self.env |= {"DRORCH_SANDBOX_DIR": str(state_dir), "NO_COLOR": "1", "COLUMNS": "200"}

    def run(self, *args: str, env: dict[str, str] | None = None, check: bool = True) -> Any:
        done = subprocess.run(
            [str(BIN / args[0]), *args[1:]],
            cwd=ROOT,
            env=self.env | (env or {}),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
            )
        return done

    def drorch_json(self, *args: str) -> Any:
        return json.loads(self.run("drorch", *args, "--json").stdout)


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shell]:
    state_dir = tmp_path_factory.mktemp("endpoint")
    shell = Shell(state_dir)
    started = time.monotonic()
    shell.run("drorch", "sandbox", "up", "--port", str(_free_port()), "--json")
    shell.startup_seconds = time.monotonic() - started  # type: ignore[attr-defined]
    try:
        yield shell
    finally:
        shell.run("drorch", "sandbox", "down", check=False)


def _open_gates(described: dict[str, Any]) -> list[dict[str, Any]]:
    return [g for g in described["gates"] if "decision" not in g]


def _wait_for(condition: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@endpoint_run
def test_a_drill_driven_from_several_processes(shell: Shell) -> None:
    status = shell.drorch_json("sandbox", "status")
    assert status["running"] and status["clock"] == "manual"
    state = endpoint.read_state(shell.env["DRORCH_SANDBOX_DIR"])
    assert state is not None

    started = shell.drorch_json(
        "execute",
        "--application",
        "claims",
        "--manifest",
        str(MANIFEST),
        "--no-wait",
    )
    execution = started["executionId"]

    def gate_open() -> Any:
        described = shell.drorch_json("status", execution)
        return described if _open_gates(described) else None

    described = _wait_for(gate_open, "the approval gate")
    assert described["execution"]["status"] == "WAITING_APPROVAL"

    shell.run("drorch", "pause", execution)
    assert shell.drorch_json("status", execution)["execution"]["paused"] is True
    shell.run("drorch", "resume", execution)
    assert not shell.drorch_json("status", execution)["execution"].get("paused")

    def next_gate_or_end() -> Any:
        item = shell.drorch_json("status", execution)
        if item["execution"]["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return item
        if _open_gates(item):
            shell.run("drorch", "approve", execution)
        return None

    final = _wait_for(next_gate_or_end, "the drill's end", timeout=120)
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]

    listed = shell.drorch_json("list")
    assert [e["executionId"] for e in listed] == [execution]

    # manifest upload and plan are the endpoint's too (no sandbox of their own)
    uploaded = shell.drorch_json("manifest", "upload", str(MANIFEST))
    assert uploaded["application"] == "claims" and uploaded["versionId"]
    planned = shell.run("drorch", "manifest", "plan", str(MANIFEST), "--json")
    assert json.loads(planned.stdout)["plan"]["application"] == "claims"
    assert "deploying the hub" not in planned.stderr

    # the AWS CLI, as the staging account's administrator (drorch sandbox env --account)
    exports = shell.run("drorch", "sandbox", "env", "--account", "staging-data").stdout
    account_env = dict(
        line.removeprefix("export ").split("=", 1)
        for line in exports.splitlines()
        if line.startswith("export ")
    )
    jobs = json.loads(
        shell.run(
            "aws",
            "--endpoint-url",
            state.url,
            "drs",
            "describe-jobs",
            "--output",
            "json",
            env={k: v for k, v in account_env.items() if k != "AWS_ENDPOINT_URL"},
        ).stdout
    )["items"]
    assert jobs and {j["initiatedBy"] for j in jobs} == {"START_DRILL"}
    assert all(j["status"] == "COMPLETED" for j in jobs)

    # plain boto3 in this process, through AWS_ENDPOINT_URL like any SDK
    import boto3

    session = boto3.Session(
        aws_access_key_id=account_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=account_env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=account_env["AWS_SESSION_TOKEN"],
        region_name=account_env["AWS_REGION"],
    )
    drs = session.client("drs", endpoint_url=state.url)
    servers = drs.describe_source_servers()["items"]
    assert servers and {j["jobID"] for j in drs.describe_jobs()["items"]} == {
        j["jobID"] for j in jobs
    }

    # the clock is the server's
    before = shell.drorch_json("sandbox", "clock", "show")["now"]
    after = shell.drorch_json("sandbox", "clock", "advance", "300")["now"]
    assert after > before


@endpoint_run
def test_the_state_survives_down_and_up_with_a_state_dir(tmp_path: Path) -> None:
    state_dir = str(tmp_path)
    shell = Shell(tmp_path)  # the other commands find the endpoint there too
    up = ("drorch", "sandbox", "up", "--port", str(_free_port()), "--state-dir", state_dir)
    shell.run(*up, "--json")
    try:
        ended = shell.drorch_json(
            "execute", "--application", "claims", "--manifest", str(MANIFEST), "--approve"
        )["execution"]
        assert ended["status"] == "SUCCEEDED"
        finished = ended["executionId"]
        running = shell.drorch_json(
            "execute", "--application", "claims", "--manifest", str(MANIFEST), "--no-wait"
        )["executionId"]
        jobs = _drs_jobs(shell)
        now = shell.drorch_json("sandbox", "clock", "show")["now"]
        stopped = shell.run("drorch", "sandbox", "down").stdout
        assert "its state is saved in" in " ".join(stopped.split())

        shell.run(*up, "--json")
        assert shell.drorch_json("sandbox", "status")["restored_from"]
        assert shell.drorch_json("sandbox", "clock", "show")["now"] == now
        listed = {e["executionId"]: e["status"] for e in shell.drorch_json("list")}
        # the running drill was stopped when the endpoint went down, and reconciled
        assert listed == {finished: "SUCCEEDED", running: "FAILED"}
        assert _drs_jobs(shell) == jobs

        shell.run("drorch", "sandbox", "reset")  # afresh: the saved state is discarded
        assert shell.drorch_json("list") == []
    finally:
        shell.run("drorch", "sandbox", "down", check=False)


def _drs_jobs(shell: Shell) -> list[dict[str, Any]]:
    """staging-data's DRS jobs, read with the AWS CLI as its administrator."""
    exports = shell.run("drorch", "sandbox", "env", "--account", "staging-data").stdout
    account_env = dict(
        line.removeprefix("export ").split("=", 1)
        for line in exports.splitlines()
        if line.startswith("export ")
    )
    answer = shell.run("aws", "drs", "describe-jobs", "--output", "json", env=account_env)
    return sorted(json.loads(answer.stdout)["items"], key=lambda job: job["jobID"])


# --- the HTTP layer, in this process (fast) ------------------------------------------------------
@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Any, str, Any]]:
    """A sandbox with one staging account, served over HTTP on a free port."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from drorch.accounts import load_accounts
    from drorch.sandbox import Sandbox
    from drorch.sandbox.server import EndpointApp

    account = next(a for a in load_accounts(ROOT / "accounts") if a.name == "staging-data")
    with Sandbox() as sandbox:
        sandbox.provision_account(account)
        app = EndpointApp(sandbox, {"_started": time.monotonic(), "scenario": "none"})
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield sandbox, f"http://127.0.0.1:{server.server_address[1]}", account
        finally:
            server.shutdown()
            thread.join()


def _http_client(sandbox: Any, url: str, service: str, **credentials: str) -> Any:
    import boto3

    credentials = credentials or {
        "aws_access_key_id": sandbox.operator_session().get_credentials().access_key,
        "aws_secret_access_key": sandbox.operator_session().get_credentials().secret_key,
    }
    return boto3.Session(region_name="us-east-2", **credentials).client(service, endpoint_url=url)


def test_over_http_the_execution_role_needs_its_external_id(served: Any) -> None:
    from botocore.exceptions import ClientError

    sandbox, url, account = served
    sts = _http_client(sandbox, url, "sts")
    role = account.execution_role_arn
    with pytest.raises(ClientError) as refused:
        sts.assume_role(RoleArn=role, RoleSessionName="no-external-id")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    credentials = sts.assume_role(
        RoleArn=role, RoleSessionName="ok", ExternalId=account.external_id
    )["Credentials"]
    drs = _http_client(
        sandbox,
        url,
        "drs",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    assert drs.describe_source_servers()["items"] == []  # the account's DRS, initialised


def test_over_http_an_unsupported_operation_is_named(served: Any) -> None:
    from botocore.exceptions import ClientError

    sandbox, url, _ = served
    with pytest.raises(ClientError) as refused:
        _http_client(sandbox, url, "ssm").get_ops_summary()
    error = refused.value.response["Error"]
    assert error["Code"] == "UnknownOperationException"
    assert "GetOpsSummary is not supported by the drorch sandbox" in error["Message"]


def test_the_control_paths(served: Any) -> None:
    sandbox, url, _ = served
    found = endpoint.Endpoint(
        pid=os.getpid(),
        port=0,
        url=url,
        account_id="",
        region="us-east-2",
        access_key_id="",
        secret_access_key="",
    )
    before = sandbox.clock.now()
    answer = endpoint.control(found, "clock", {"advance": 600})
    assert answer["clock"] == "manual"
    assert (sandbox.clock.now() - before).total_seconds() >= 600
    assert endpoint.control(found, "status")["scenario"] == "none"
    with pytest.raises(endpoint.EndpointError, match="cannot go backwards"):
        endpoint.control(found, "clock", {"advance": -1})
    with pytest.raises(endpoint.EndpointError, match="not a clock mode"):
        endpoint.control(found, "clock", {"mode": "slow"})
