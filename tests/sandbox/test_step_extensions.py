"""The sandbox extensions the generic steps and health checks need, through plain boto3 and
urllib in a strict sandbox: SSM Automation and Run Command on the simulated clock, Lambda
answers of staging accounts, HTTP(S) endpoints, and the faults of each."""

from __future__ import annotations

import itertools
import json
import ssl
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from drorch.modules.http_check.sandbox import ENDPOINTS
from drorch.modules.lambda_invoke.sandbox import declare_answer
from drorch.sandbox import Sandbox

REGION = "us-east-2"
AMI = "ami-12c6146b"  # in moto's default image catalogue
_ACCOUNTS = itertools.count(200000000001)
TOKEN = "11111111-2222-4333-8444-555555555555"

PREWARM = {
    "schemaVersion": "0.3",
    "description": "warm caches",
    "parameters": {
        "AutomationAssumeRole": {"type": "String", "default": ""},
        "Environment": {
            "type": "String",
            "default": "production",
            "allowedValues": ["production", "drill"],
        },
        "CacheNames": {"type": "StringList"},
        "Workers": {"type": "Integer", "default": 4},
    },
    "mainSteps": [
        {"name": "pause", "action": "aws:sleep", "inputs": {"Duration": "PT30S"}},
        {
            "name": "warm",
            "action": "aws:executeScript",
            "timeoutSeconds": 300,
            "inputs": {
                "Runtime": "python3.11",
                "Handler": "handler",
                "Script": "def handler(events, context): return events",
                "InputPayload": {"CacheNames": "{{ CacheNames }}", "Env": "{{ Environment }}"},
            },
            "outputs": [
                {"Name": "CacheNames", "Selector": "$.Payload.CacheNames", "Type": "StringList"}
            ],
        },
    ],
    "outputs": ["warm.CacheNames"],
}


class Account:
    """A fresh account of the module's sandbox, with clients in REGION."""

    def __init__(self, sandbox: Sandbox, account_id: str) -> None:
        self.sandbox = sandbox
        self.id = account_id
        self.session = sandbox.admin_session(account_id, REGION)
        self.ssm = self.session.client("ssm")
        self.ec2 = self.session.client("ec2")
        self.lam = self.session.client("lambda")

    def document(self, name: str, content: dict[str, Any], kind: str = "Automation") -> None:
        self.ssm.create_document(
            Name=name, Content=json.dumps(content), DocumentType=kind, DocumentFormat="JSON"
        )

    def instance(self, name: str, tier: str = "app", state: str = "running") -> str:
        instance_id = self.ec2.run_instances(
            ImageId=AMI,
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[
                {
                    "ResourceType": "instance",
                    "Tags": [{"Key": "Name", "Value": name}, {"Key": "Tier", "Value": tier}],
                }
            ],
        )["Instances"][0]["InstanceId"]
        if state == "stopped":
            self.ec2.stop_instances(InstanceIds=[instance_id])
        return instance_id

    def execution(self, execution_id: str) -> dict[str, Any]:
        return self.ssm.get_automation_execution(AutomationExecutionId=execution_id)[
            "AutomationExecution"
        ]

    def invocations(self, command_id: str) -> dict[str, dict[str, Any]]:
        found = self.ssm.list_command_invocations(CommandId=command_id, Details=True)
        return {i["InstanceId"]: i for i in found["CommandInvocations"]}

    def command(self, command_id: str) -> dict[str, Any]:
        return self.ssm.list_commands(CommandId=command_id)["Commands"][0]


@pytest.fixture
def acct(shared_sandbox: Sandbox):
    shared_sandbox.faults.clear()
    shared_sandbox.state.fidelity.violations.clear()
    yield Account(shared_sandbox, str(next(_ACCOUNTS)))
    shared_sandbox.faults.clear()
    assert shared_sandbox.state.fidelity.violations == []


def error_code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return caught.value.response["Error"]["Code"]


# --- SSM Automation ---------------------------------------------------------------------
def test_automation_runs_its_steps_on_the_simulated_clock(acct):
    acct.document("prewarm", PREWARM)
    execution_id = acct.ssm.start_automation_execution(
        DocumentName="prewarm", Parameters={"CacheNames": ["claims", "policies"]}
    )["AutomationExecutionId"]

    first = acct.execution(execution_id)
    assert first["AutomationExecutionStatus"] == "Pending"
    assert first["StepExecutions"] == []
    assert "ExecutionEndTime" not in first

    acct.sandbox.advance(10)  # Pending 2 s, then aws:sleep for its Duration (30 s)
    sleeping = acct.execution(execution_id)
    assert sleeping["AutomationExecutionStatus"] == "InProgress"
    assert (sleeping["CurrentStepName"], sleeping["CurrentAction"]) == ("pause", "aws:sleep")
    assert [s["StepStatus"] for s in sleeping["StepExecutions"]] == ["InProgress"]

    acct.sandbox.advance(30)
    warming = acct.execution(execution_id)
    assert warming["CurrentStepName"] == "warm"
    assert [s["StepStatus"] for s in warming["StepExecutions"]] == ["Success", "InProgress"]
    inputs = warming["StepExecutions"][1]["Inputs"]
    assert json.loads(inputs["InputPayload"]) == {
        "CacheNames": ["claims", "policies"],
        "Env": "production",
    }

    acct.sandbox.advance(60)  # the default 60 s for a step that is not aws:sleep
    done = acct.execution(execution_id)
    assert done["AutomationExecutionStatus"] == "Success"
    assert done["ExecutionEndTime"] - done["ExecutionStartTime"] == timedelta(seconds=92)
    assert done["Outputs"] == {"warm.CacheNames": ["claims", "policies"]}
    assert done["Parameters"] == {
        "CacheNames": ["claims", "policies"],
        "Environment": ["production"],
        "Workers": ["4"],
    }
    assert done["ExecutedBy"].endswith(
        "assumed-role/OrganizationAccountAccessRole/drorch-sandbox-admin"
    )
    steps = acct.ssm.describe_automation_step_executions(AutomationExecutionId=execution_id)
    assert [s["StepName"] for s in steps["StepExecutions"]] == ["pause", "warm"]
    assert steps["StepExecutions"][1]["Outputs"] == {"warm.CacheNames": ["claims", "policies"]}


def test_client_token_returns_the_same_execution(acct):
    acct.document("prewarm", PREWARM)
    request = {"DocumentName": "prewarm", "Parameters": {"CacheNames": ["a"]}, "ClientToken": TOKEN}
    first = acct.ssm.start_automation_execution(**request)["AutomationExecutionId"]
    again = acct.ssm.start_automation_execution(**request)["AutomationExecutionId"]
    assert again == first
    listed = acct.ssm.describe_automation_executions()["AutomationExecutionMetadataList"]
    assert [e["AutomationExecutionId"] for e in listed] == [first]
    with pytest.raises(ClientError) as caught:
        acct.ssm.start_automation_execution(**request | {"Parameters": {"CacheNames": ["b"]}})
    assert error_code(caught) == "IdempotentParameterMismatch"


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"CacheNames": ["a"], "Colour": ["blue"]}, "Colour"),
        ({}, "CacheNames"),
        ({"CacheNames": ["a"], "Environment": ["staging"]}, "staging"),
        ({"CacheNames": ["a"], "Workers": ["many"]}, "Integer"),
        ({"CacheNames": ["a"], "Environment": ["drill", "production"]}, "one value"),
    ],
)
def test_parameters_are_checked_against_the_document(acct, parameters, message):
    acct.document("prewarm", PREWARM)
    with pytest.raises(ClientError) as caught:
        acct.ssm.start_automation_execution(DocumentName="prewarm", Parameters=parameters)
    assert error_code(caught) == "InvalidAutomationExecutionParametersException"
    assert message in caught.value.response["Error"]["Message"]
    assert acct.ssm.describe_automation_executions()["AutomationExecutionMetadataList"] == []


def test_only_automation_documents_of_the_account_run(acct):
    acct.document(
        "shell",
        {
            "schemaVersion": "2.2",
            "mainSteps": [
                {"action": "aws:runShellScript", "name": "run", "inputs": {"runCommand": ["true"]}}
            ],
        },
        "Command",
    )
    acct.document("prewarm", PREWARM)
    for kwargs, code in (
        ({"DocumentName": "missing"}, "AutomationDefinitionNotFoundException"),
        ({"DocumentName": "shell"}, "AutomationDefinitionNotFoundException"),
        (
            {
                "DocumentName": "prewarm",
                "DocumentVersion": "7",
                "Parameters": {"CacheNames": ["a"]},
            },
            "AutomationDefinitionVersionNotFoundException",
        ),
    ):
        with pytest.raises(ClientError) as caught:
            acct.ssm.start_automation_execution(**kwargs)
        assert error_code(caught) == code
    with pytest.raises(ClientError) as caught:
        acct.execution("00000000-0000-4000-8000-000000000000")
    assert error_code(caught) == "AutomationExecutionNotFoundException"


def test_an_injected_failure_fails_the_named_step(acct):
    acct.document("prewarm", PREWARM)
    rule = acct.sandbox.faults.fail_automation(
        "prewarm", step="pause", reason="database not ready", times=1
    )
    failing = acct.ssm.start_automation_execution(
        DocumentName="prewarm", Parameters={"CacheNames": ["a"]}
    )["AutomationExecutionId"]
    passing = acct.ssm.start_automation_execution(
        DocumentName="prewarm", Parameters={"CacheNames": ["a"]}
    )["AutomationExecutionId"]
    acct.sandbox.advance(31)
    assert acct.execution(failing)["AutomationExecutionStatus"] == "InProgress"
    acct.sandbox.advance(1)
    failed = acct.execution(failing)
    assert failed["AutomationExecutionStatus"] == "Failed"
    assert "database not ready" in failed["FailureMessage"]
    assert [(s["StepName"], s["StepStatus"]) for s in failed["StepExecutions"]] == [
        ("pause", "Failed")
    ]
    assert failed["StepExecutions"][0]["FailureDetails"]["FailureType"] == "Execution"
    assert failed["Outputs"]["warm.CacheNames"][0].startswith("No output available")
    assert rule.hits == 1
    acct.sandbox.advance(600)
    assert acct.execution(passing)["AutomationExecutionStatus"] == "Success"


def test_a_slow_automation_takes_longer_and_a_step_times_out(acct):
    acct.document("prewarm", PREWARM)
    acct.sandbox.faults.slow_automation(3, document="prewarm")
    execution_id = acct.ssm.start_automation_execution(
        DocumentName="prewarm", Parameters={"CacheNames": ["a"]}
    )["AutomationExecutionId"]
    acct.sandbox.advance(2 + 90 + 299)  # the sleep takes 90 s; warm would take 180 s of its 300
    assert acct.execution(execution_id)["AutomationExecutionStatus"] == "Success"

    acct.sandbox.faults.slow_automation(2, document="prewarm")  # now 6x: warm needs 360 s > 300
    execution_id = acct.ssm.start_automation_execution(
        DocumentName="prewarm", Parameters={"CacheNames": ["a"]}
    )["AutomationExecutionId"]
    acct.sandbox.advance(2 + 180 + 299)
    assert acct.execution(execution_id)["AutomationExecutionStatus"] == "InProgress"
    acct.sandbox.advance(1)
    timed_out = acct.execution(execution_id)
    assert timed_out["AutomationExecutionStatus"] == "TimedOut"
    assert timed_out["StepExecutions"][-1]["StepStatus"] == "TimedOut"
    assert "timed out" in timed_out["FailureMessage"]


def test_stop_cancels_a_running_execution(acct):
    acct.document("prewarm", PREWARM)
    execution_id = acct.ssm.start_automation_execution(
        DocumentName="prewarm", Parameters={"CacheNames": ["a"]}
    )["AutomationExecutionId"]
    acct.sandbox.advance(40)
    acct.ssm.stop_automation_execution(AutomationExecutionId=execution_id)
    acct.sandbox.advance(600)
    stopped = acct.execution(execution_id)
    assert stopped["AutomationExecutionStatus"] == "Cancelled"
    assert [s["StepStatus"] for s in stopped["StepExecutions"]] == ["Success", "Cancelled"]
    with pytest.raises(ClientError) as caught:
        acct.ssm.stop_automation_execution(AutomationExecutionId=execution_id)
    assert error_code(caught) == "InvalidAutomationStatusUpdateException"


def test_describe_filters_and_pages(acct):
    acct.document("prewarm", PREWARM)
    acct.document("other-runbook", PREWARM)
    ids = [
        acct.ssm.start_automation_execution(DocumentName=name, Parameters={"CacheNames": ["a"]})[
            "AutomationExecutionId"
        ]
        for name in ("prewarm", "prewarm", "other-runbook")
    ]
    acct.sandbox.advance(5)
    pages = acct.ssm.get_paginator("describe_automation_executions").paginate(
        Filters=[{"Key": "DocumentNamePrefix", "Values": ["pre"]}], PaginationConfig={"PageSize": 1}
    )
    listed = [
        e["AutomationExecutionId"] for p in pages for e in p["AutomationExecutionMetadataList"]
    ]
    assert sorted(listed) == sorted(ids[:2])
    running = acct.ssm.describe_automation_executions(
        Filters=[{"Key": "ExecutionStatus", "Values": ["InProgress"]}]
    )["AutomationExecutionMetadataList"]
    assert len(running) == 3
    assert {e["CurrentStepName"] for e in running} == {"pause"}


# --- SSM Run Command --------------------------------------------------------------------
def test_run_command_progresses_per_instance(acct):
    one, two = acct.instance("app-1"), acct.instance("app-2")
    acct.instance("web-1", tier="web")
    command = acct.ssm.send_command(
        DocumentName="AWS-RunShellScript",
        Targets=[{"Key": "tag:Tier", "Values": ["app"]}],
        Parameters={"commands": ["echo 'cache warmed'", "systemctl restart app"]},
        Comment="warm",
    )["Command"]
    assert command["Status"] == "Pending"
    assert command["TargetCount"] == 2
    command_id = command["CommandId"]
    assert {i["Status"] for i in acct.invocations(command_id).values()} == {"Pending"}

    acct.sandbox.advance(3)
    invocations = acct.invocations(command_id)
    assert set(invocations) == {one, two}
    assert {i["Status"] for i in invocations.values()} == {"InProgress"}
    assert acct.command(command_id)["Status"] == "InProgress"

    acct.sandbox.advance(5)
    invocations = acct.invocations(command_id)
    assert {i["Status"] for i in invocations.values()} == {"Success"}
    plugin = invocations[one]["CommandPlugins"][0]
    assert (plugin["Name"], plugin["ResponseCode"], plugin["Output"]) == (
        "aws:runShellScript",
        0,
        "cache warmed\n",
    )
    command = acct.command(command_id)
    assert (command["Status"], command["CompletedCount"], command["ErrorCount"]) == (
        "Success",
        2,
        0,
    )
    answer = acct.ssm.get_command_invocation(CommandId=command_id, InstanceId=two)
    assert (answer["Status"], answer["StandardOutputContent"], answer["ExecutionElapsedTime"]) == (
        "Success",
        "cache warmed\n",
        "PT5.000S",
    )


def test_run_command_needs_running_instances_of_the_account(acct):
    running, stopped = acct.instance("app-1"), acct.instance("app-2", state="stopped")
    for instance_ids in (["i-0123456789abcdef0"], [running, stopped]):
        with pytest.raises(ClientError) as caught:
            acct.ssm.send_command(
                DocumentName="AWS-RunShellScript",
                InstanceIds=instance_ids,
                Parameters={"commands": ["true"]},
            )
        assert error_code(caught) == "InvalidInstanceId"
    assert acct.ssm.list_commands()["Commands"] == []
    # by tag, a stopped instance is targeted but cannot be reached
    command_id = acct.ssm.send_command(
        DocumentName="AWS-RunShellScript",
        Targets=[{"Key": "tag:Tier", "Values": ["app"]}],
        Parameters={"commands": ["true"]},
        MaxErrors="1",
    )["Command"]["CommandId"]
    acct.sandbox.advance(60)
    invocations = acct.invocations(command_id)
    assert (invocations[running]["Status"], invocations[stopped]["StatusDetails"]) == (
        "Success",
        "Undeliverable",
    )
    assert acct.command(command_id)["StatusDetails"] == "Incomplete"


def test_an_injected_failure_fails_one_instance(acct):
    ok, bad = acct.instance("app-1"), acct.instance("app-2")
    acct.sandbox.faults.fail_command("app-2", exit_code=3, stderr="disk full\n")
    command_id = acct.ssm.send_command(
        DocumentName="AWS-RunShellScript",
        InstanceIds=[ok, bad],
        Parameters={"commands": ["echo started"]},
    )["Command"]["CommandId"]
    acct.sandbox.advance(10)
    invocations = acct.invocations(command_id)
    assert (invocations[ok]["Status"], invocations[bad]["Status"]) == ("Success", "Failed")
    failed = acct.ssm.get_command_invocation(CommandId=command_id, InstanceId=bad)
    assert (failed["ResponseCode"], failed["StandardErrorContent"]) == (3, "disk full\n")
    command = acct.command(command_id)
    assert (command["Status"], command["ErrorCount"], command["CompletedCount"]) == ("Failed", 1, 2)


def test_documents_and_parameters_are_checked(acct):
    acct.instance("app-1")
    acct.document("prewarm", PREWARM)
    for kwargs, code in (
        ({"DocumentName": "missing"}, "InvalidDocument"),
        ({"DocumentName": "prewarm"}, "InvalidDocument"),
        (
            {"DocumentName": "AWS-RunShellScript", "Parameters": {"command": ["true"]}},
            "InvalidParameters",
        ),
        ({"DocumentName": "AWS-RunShellScript"}, "InvalidParameters"),
    ):
        with pytest.raises(ClientError) as caught:
            acct.ssm.send_command(Targets=[{"Key": "tag:Tier", "Values": ["app"]}], **kwargs)
        assert error_code(caught) == code


def test_a_command_document_runs_its_steps_as_plugins(acct):
    instance = acct.instance("app-1")
    acct.document(
        "restart-app",
        {
            "schemaVersion": "2.2",
            "parameters": {"Service": {"type": "String", "default": "claims"}},
            "mainSteps": [
                {
                    "action": "aws:runShellScript",
                    "name": "stop",
                    "inputs": {"runCommand": ["echo stopping {{ Service }}"]},
                },
                {
                    "action": "aws:runShellScript",
                    "name": "start",
                    "inputs": {"runCommand": ["echo starting {{ Service }}"]},
                },
            ],
        },
        "Command",
    )
    command_id = acct.ssm.send_command(DocumentName="restart-app", InstanceIds=[instance])[
        "Command"
    ]["CommandId"]
    acct.sandbox.advance(7)  # delivery 2 s + the first plugin 5 s
    plugins = acct.invocations(command_id)[instance]["CommandPlugins"]
    assert [(p["Name"], p["Status"]) for p in plugins] == [
        ("stop", "Success"),
        ("start", "InProgress"),
    ]
    acct.sandbox.advance(5)
    second = acct.ssm.get_command_invocation(
        CommandId=command_id, InstanceId=instance, PluginName="start"
    )
    assert (second["Status"], second["StandardOutputContent"]) == ("Success", "starting claims\n")
    with pytest.raises(ClientError) as caught:
        acct.ssm.get_command_invocation(
            CommandId=command_id, InstanceId=instance, PluginName="nope"
        )
    assert error_code(caught) == "InvalidPluginName"


def test_slow_commands_time_out_and_cancel_stops_them(acct):
    instance = acct.instance("app-1")
    acct.sandbox.faults.slow_commands(100)  # 500 s per plugin
    slow = acct.ssm.send_command(
        DocumentName="AWS-RunShellScript",
        InstanceIds=[instance],
        Parameters={"commands": ["true"], "executionTimeout": ["120"]},
    )["Command"]["CommandId"]
    cancelled = acct.ssm.send_command(
        DocumentName="AWS-RunShellScript", InstanceIds=[instance], Parameters={"commands": ["true"]}
    )["Command"]["CommandId"]
    acct.sandbox.advance(60)
    acct.ssm.cancel_command(CommandId=cancelled)
    acct.sandbox.advance(100)
    timed_out = acct.invocations(slow)[instance]
    assert (timed_out["Status"], timed_out["StatusDetails"]) == ("TimedOut", "ExecutionTimedOut")
    assert acct.command(cancelled)["Status"] == "Cancelled"
    with pytest.raises(ClientError) as caught:
        acct.ssm.list_command_invocations(CommandId="00000000-0000-4000-8000-000000000000")
    assert error_code(caught) == "InvalidCommandId"
    with pytest.raises(ClientError) as caught:
        acct.ssm.get_command_invocation(CommandId=slow, InstanceId="i-0123456789abcdef0")
    assert error_code(caught) == "InvocationDoesNotExist"


def test_list_commands_pages_newest_first(acct):
    instance = acct.instance("app-1")
    sent = []
    for n in range(3):
        sent.append(
            acct.ssm.send_command(
                DocumentName="AWS-RunShellScript",
                InstanceIds=[instance],
                Parameters={"commands": [f"echo {n}"]},
            )["Command"]["CommandId"]
        )
        acct.sandbox.advance(1)
    pages = acct.ssm.get_paginator("list_commands").paginate(PaginationConfig={"PageSize": 1})
    assert [c["CommandId"] for p in pages for c in p["Commands"]] == sent[::-1]


# --- Lambda in staging accounts -------------------------------------------------------------
def _function(acct: Account, name: str) -> str:
    iam = acct.session.client("iam")
    role = iam.create_role(
        RoleName=f"{name}-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    return acct.lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
    )["FunctionArn"]


def test_a_declared_function_answers_invoke(acct):
    _function(acct, "smoke-test")
    _function(acct, "broken")
    declare_answer(acct.id, REGION, "smoke-test", result={"passed": True, "checks": 3})
    declare_answer(
        acct.id, REGION, "broken", error_message="no database", error_type="ConnectionError"
    )
    answer = acct.lam.invoke(FunctionName="smoke-test", Payload=b'{"wave": 2}')
    assert (answer["StatusCode"], answer.get("FunctionError")) == (200, None)
    assert json.loads(answer["Payload"].read()) == {"passed": True, "checks": 3}
    error = acct.lam.invoke(FunctionName="broken", Payload=b"{}")
    assert (error["StatusCode"], error["FunctionError"]) == (200, "Unhandled")
    payload = json.loads(error["Payload"].read())
    assert (payload["errorMessage"], payload["errorType"]) == ("no database", "ConnectionError")
    queued = acct.lam.invoke(FunctionName="smoke-test", InvocationType="Event", Payload=b"{}")
    assert (queued["StatusCode"], queued["Payload"].read()) == (202, b"")
    with pytest.raises(ClientError) as caught:
        acct.lam.invoke(FunctionName="missing", Payload=b"{}")
    assert error_code(caught) == "ResourceNotFoundException"


def test_an_injected_function_failure(acct):
    arn = _function(acct, "smoke-test")
    declare_answer(acct.id, REGION, "smoke-test", result={"passed": True})
    acct.sandbox.faults.fail_function(
        arn, message="2 checks failed", error_type="SmokeTestFailed", times=1
    )
    failed = acct.lam.invoke(FunctionName="smoke-test", Payload=b"{}")
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "SmokeTestFailed"
    assert "FunctionError" not in acct.lam.invoke(FunctionName="smoke-test", Payload=b"{}")


def hub_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"handled": "in-process", "echo": event}


def test_hub_functions_still_run_in_process(acct):
    _function(acct, "smoke-test")
    declare_answer(acct.id, REGION, "smoke-test", result="staging")
    hub_arn = f"arn:aws:lambda:{REGION}:{acct.sandbox.hub.account_id}:function:drorch-test-hub"
    handlers = acct.sandbox.state.lambda_runtime.handlers
    handlers[hub_arn] = f"{__name__}:hub_handler"
    try:
        hub = acct.sandbox.orchestrator_session(REGION).client("lambda")
        answer = json.loads(hub.invoke(FunctionName=hub_arn, Payload=b'{"n": 1}')["Payload"].read())
        assert answer == {"handled": "in-process", "echo": {"n": 1}}
        assert json.loads(acct.lam.invoke(FunctionName="smoke-test")["Payload"].read()) == "staging"
    finally:
        handlers.pop(hub_arn)


# --- HTTP(S) endpoints ------------------------------------------------------------------
def get(url: str, timeout: float = 5, **kwargs: Any) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout, **kwargs) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def endpoints(shared_sandbox: Sandbox):
    shared_sandbox.faults.clear()
    ENDPOINTS.clear()
    yield ENDPOINTS
    ENDPOINTS.clear()
    shared_sandbox.faults.clear()


def test_declared_urls_answer_and_others_are_unreachable(shared_sandbox, endpoints):
    endpoints.declare("https://claims.acme.example/health", body={"status": "ok"})
    endpoints.declare("http://claims.acme.example:8080/ready?deep=1", status=204)
    with urllib.request.urlopen("https://Claims.ACME.example:443/health", timeout=5) as answer:
        assert (answer.status, answer.headers["Content-Type"]) == (200, "application/json")
        assert json.loads(answer.read()) == {"status": "ok"}
    assert get("http://claims.acme.example:8080/ready?deep=1")[0] == 204
    assert get("https://claims.acme.example/admin")[0] == 404  # a declared host, another path
    with pytest.raises(urllib.error.URLError) as caught:
        urllib.request.urlopen("https://unknown.acme.example/health", timeout=5)
    assert not isinstance(caught.value, urllib.error.HTTPError)
    # an SSL context, or an opener of one's own, is intercepted too
    assert get("https://claims.acme.example/health", context=ssl.create_default_context())[0] == 200
    assert endpoints.count("https://claims.acme.example/health") == 2


def test_first_requests_fail_then_the_endpoint_answers(shared_sandbox, endpoints):
    endpoints.declare("https://claims.acme.example/health", fail_first=2)
    endpoints.declare("https://refusing.acme.example/", fail_first=1, fail_status=None)
    assert [get("https://claims.acme.example/health")[0] for _ in range(3)] == [503, 503, 200]
    with pytest.raises(urllib.error.URLError, match="refused"):
        get("https://refusing.acme.example/")
    assert get("https://refusing.acme.example/")[0] == 200


def test_url_faults(shared_sandbox, endpoints):
    endpoints.declare("https://claims.acme.example/health")
    shared_sandbox.faults.fail_url(
        "https://claims.acme.example/health", status=503, body="down", times=1
    )
    assert get("https://claims.acme.example/health") == (503, b"down")
    assert get("https://claims.acme.example/health")[0] == 200
    shared_sandbox.faults.fail_url("https://claims.acme.example/health", status=None, times=1)
    with pytest.raises(urllib.error.URLError, match="refused"):
        get("https://claims.acme.example/health")


def test_latency_is_simulated_time_and_can_time_out(shared_sandbox, endpoints):
    endpoints.declare("https://claims.acme.example/health", latency=2)
    before = shared_sandbox.now()
    assert get("https://claims.acme.example/health", timeout=5)[0] == 200
    assert shared_sandbox.now() - before >= timedelta(seconds=2)
    shared_sandbox.faults.slow_url("https://claims.acme.example/health", 30)
    before = shared_sandbox.now()
    with pytest.raises(TimeoutError):
        get("https://claims.acme.example/health", timeout=5)
    assert timedelta(seconds=5) <= shared_sandbox.now() - before < timedelta(seconds=30)


# --- Route 53 health checks follow the endpoints (opt-in extension) -----------------------
@pytest.fixture
def route53_checks(monkeypatch, endpoints):
    """The Route 53 extension answering, as its install hook would make it (undone after)."""
    from moto.route53.responses import Route53

    from drorch.modules.route53_health_check.sandbox import get_health_check_status

    monkeypatch.setattr(Route53, "get_health_check_status", get_health_check_status)
    return endpoints


def _check(acct: Account, kind: str, fqdn: str, **config: Any) -> str:
    route53 = acct.session.client("route53")
    return route53.create_health_check(
        CallerReference=f"{fqdn}-{kind}-{len(config)}",
        HealthCheckConfig={"Type": kind, "FullyQualifiedDomainName": fqdn, **config},
    )["HealthCheck"]["Id"]


def _reports(acct: Account, check_id: str) -> set[str]:
    found = acct.session.client("route53").get_health_check_status(HealthCheckId=check_id)
    return {o["StatusReport"]["Status"] for o in found["HealthCheckObservations"]}


def test_route53_health_checks_see_the_declared_endpoints(acct, route53_checks):
    route53_checks.declare("https://claims.acme.example/health", body="status: ok")
    healthy = _check(acct, "HTTPS", "claims.acme.example", ResourcePath="/health")
    matching = _check(
        acct, "HTTPS_STR_MATCH", "claims.acme.example", ResourcePath="/health", SearchString="ok"
    )
    missing = _check(
        acct, "HTTPS_STR_MATCH", "claims.acme.example", ResourcePath="/health", SearchString="up"
    )
    unknown = _check(acct, "HTTP", "nowhere.acme.example", ResourcePath="/")
    assert _reports(acct, healthy) == {"Success: HTTP Status Code 200, OK"}
    assert _reports(acct, matching) == {"Success: HTTP Status Code 200, OK"}
    assert _reports(acct, missing) == {"Failure: Search string not found in the response body."}
    assert [r.startswith("Failure: DNS resolution failed") for r in _reports(acct, unknown)] == [
        True
    ]
    found = acct.session.client("route53").get_health_check_status(HealthCheckId=healthy)
    assert len(found["HealthCheckObservations"]) == 8

    acct.sandbox.faults.fail_url("https://claims.acme.example/health", status=503)
    assert _reports(acct, healthy) == {"Failure: HTTP Status Code 503, Service Unavailable"}
