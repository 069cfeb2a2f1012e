"""Step Functions in the sandbox refuses and fails what AWS does.

Each test states the documented behaviour and the document it comes from.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from drorch.sandbox import activity
from tests.sandbox.conftest import REGION

ROLE = "arn:aws:iam::{account}:role/sfn"


class Machines:
    def __init__(self, env: Any) -> None:
        self.env = env
        self.sfn = env.sandbox.admin_session(env.account, REGION).client("stepfunctions")
        self.count = 0

    def create(self, states: dict[str, Any], start: str | None = None) -> str:
        self.count += 1
        definition = {"StartAt": start or next(iter(states)), "States": states}
        return self.sfn.create_state_machine(
            name=f"m{self.count}",
            definition=json.dumps(definition),
            roleArn=ROLE.format(account=self.env.account),
        )["stateMachineArn"]

    def run(self, arn: str, payload: Any = None, **kwargs: Any) -> dict[str, Any]:
        execution = self.sfn.start_execution(
            stateMachineArn=arn, input=json.dumps(payload or {}), **kwargs
        )["executionArn"]

        def done() -> bool:
            return self.sfn.describe_execution(executionArn=execution)["status"] != "RUNNING"

        assert activity.wait_for(done, 10.0)
        return self.sfn.describe_execution(executionArn=execution)


@pytest.fixture
def machines(env: Any) -> Machines:
    return Machines(env)


PASS = {"P": {"Type": "Pass", "End": True}}


# --- execution names ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["has space", "a/b", "x:y", "tab\there", "bell\x07", "c\x85d"])
def test_execution_name_with_a_forbidden_character_is_invalid_name(machines, name):
    """API_StartExecution (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html):
    "A name must not contain: white space, brackets < > { } [ ], wildcard characters ? *,
    special characters " # % \\ ^ | ~ ` $ & , ; : /, control characters (U+0000-001F,
    U+007F-009F)"; errors: InvalidName."""
    arn = machines.create(PASS)
    with pytest.raises(ClientError) as caught:
        machines.sfn.start_execution(stateMachineArn=arn, name=name)
    assert caught.value.response["Error"]["Code"] == "InvalidName"


def test_execution_name_longer_than_80_characters_is_refused(machines):
    """API_StartExecution: name "Length Constraints: Minimum length of 1. Maximum length
    of 80." An 80-character name is accepted."""
    arn = machines.create(PASS)
    with pytest.raises(ClientError) as caught:
        machines.sfn.start_execution(stateMachineArn=arn, name="n" * 81)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert machines.run(arn, name="n" * 80)["status"] == "SUCCEEDED"


def test_unnamed_execution_gets_a_uuid_name(machines):
    """API_StartExecution: "If you don't provide a name for the execution, Step Functions
    automatically generates a universally unique identifier (UUID) as the execution name."
    """
    arn = machines.create(PASS)
    described = machines.run(arn)
    name = described["name"]
    assert len(name) == 36 and name.count("-") == 4
    assert described["executionArn"].endswith(f":{name}")


# --- definitions -----------------------------------------------------------------------
BAD_DEFINITIONS = {
    "unknown state type": ({"A": {"Type": "Bogus", "End": True}}, "A", "/States/A/Type"),
    "bad StartAt": (PASS, "Nowhere", "/StartAt"),
    "bad Next": ({"A": {"Type": "Pass", "Next": "Nowhere"}}, "A", "/States/A/Next"),
    "bad Default": (
        {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "P"}],
                "Default": "Nowhere",
            },
            **PASS,
        },
        "C",
        "/States/C/Default",
    ),
    "bad JSONPath": (
        {"A": {"Type": "Pass", "InputPath": "$.[[x", "End": True}},
        "A",
        "/States/A/InputPath",
    ),
    "path without $": (
        {"A": {"Type": "Pass", "Parameters": {"v.$": "x.y"}, "End": True}},
        "A",
        "/States/A/Parameters/v.$",
    ),
    "neither Next nor End": ({"A": {"Type": "Pass"}}, "A", "/States/A"),
}


@pytest.mark.parametrize("case", sorted(BAD_DEFINITIONS))
def test_invalid_definition_is_refused_at_create_and_update(machines, case):
    """API_CreateStateMachine / API_UpdateStateMachine
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html):
    InvalidDefinition, "The provided Amazon States Language definition is not valid." The
    Amazon States Language (https://states-language.net/spec.html) requires StartAt, Next
    and Default to name states of the same scope, a known Type, exactly one of Next/End on
    Task, Pass, Wait, Parallel and Map states, and paths that are JSONPaths starting with $.
    """
    states, start, pointer = BAD_DEFINITIONS[case]
    definition = json.dumps({"StartAt": start, "States": states})
    with pytest.raises(ClientError) as caught:
        machines.sfn.create_state_machine(
            name="bad", definition=definition, roleArn=ROLE.format(account=machines.env.account)
        )
    assert caught.value.response["Error"]["Code"] == "InvalidDefinition"
    assert f"at {pointer}" in caught.value.response["Error"]["Message"]
    arn = machines.create(PASS)
    with pytest.raises(ClientError) as caught:
        machines.sfn.update_state_machine(stateMachineArn=arn, definition=definition)
    assert caught.value.response["Error"]["Code"] == "InvalidDefinition"


def test_drorch_definitions_pass_the_validation():
    """The engine's own ASL is valid by the same rules (it is what the hub deploys)."""
    from drorch.engine import asl
    from drorch.sandbox.asl_validation import definition_problems

    targets = asl.Targets("999999999999", REGION)
    for build in (asl.master_definition, asl.lifecycle_definition, asl.executor_definition):
        assert definition_problems(json.dumps(build(targets))) == [], build.__name__


# --- run time ---------------------------------------------------------------------------
def test_choice_on_a_missing_path_fails_with_states_runtime(machines):
    """Choice workflow state
    (https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html): a comparison
    on a Variable whose path is not in the input fails the execution with States.Runtime
    ("Invalid path '$.missing': The choice state's condition path references an invalid
    value."); only IsPresent tests for absence. It does not fall through to Default."""
    arn = machines.create(
        {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.missing", "StringEquals": "x", "Next": "P"}],
                "Default": "D",
            },
            "D": {"Type": "Succeed"},
            **PASS,
        }
    )
    described = machines.run(arn, {"other": 1})
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert "$.missing" in described["cause"]


def test_choice_is_present_on_a_missing_path_takes_default(machines):
    """Choice workflow state: IsPresent is false for a path that is not there (no error)."""
    arn = machines.create(
        {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.missing", "IsPresent": True, "Next": "F"}],
                "Default": "P",
            },
            "F": {"Type": "Fail", "Error": "Wrong"},
            **PASS,
        }
    )
    assert machines.run(arn)["status"] == "SUCCEEDED"


@pytest.mark.parametrize("value", ["ten", 0, -5, 1.5, None])
def test_timeout_seconds_path_must_be_a_positive_integer(machines, value):
    """Task workflow state (https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html):
    "TimeoutSecondsPath ... must point to a JSON node with a positive integer value";
    anything else fails the execution with States.Runtime."""
    arn = machines.create(
        {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sts:getCallerIdentity",
                "TimeoutSecondsPath": "$.timeout",
                "End": True,
            }
        }
    )
    described = machines.run(arn, {"timeout": value})
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Runtime"
    assert "TimeoutSecondsPath" in described["cause"]


def test_heartbeat_seconds_path_must_be_a_positive_integer(machines):
    """Task workflow state: "HeartbeatSecondsPath ... must be a positive integer"."""
    arn = machines.create(
        {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sts:getCallerIdentity",
                "HeartbeatSecondsPath": "$.beat",
                "End": True,
            }
        }
    )
    described = machines.run(arn, {"beat": "soon"})
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")


@pytest.mark.parametrize(
    ("result", "output"),
    [("abc", '"abc"'), (None, "null"), (7, "7"), ({"a": [1]}, '{"a":[1]}')],
)
def test_execution_output_is_json_text(machines, result, output):
    """API_DescribeExecution: output is "The JSON output data of the execution"; a string
    result is a JSON string (quoted) and a null result is the JSON null."""
    arn = machines.create({"P": {"Type": "Pass", "Result": result, "End": True}})
    described = machines.run(arn)
    assert described["status"] == "SUCCEEDED"
    assert described["output"] == output
    assert json.loads(described["output"]) == result


def test_retry_interval_passes_on_the_simulated_clock(machines):
    """Handling errors in Step Functions workflows
    (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html):
    a Retrier waits IntervalSeconds, multiplied by BackoffRate per attempt, before
    retrying. In the sandbox the 10 + 20 + 40 seconds pass on the simulated clock."""
    arn = machines.create(
        {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sts:getCallerIdentity",
                "Retry": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "IntervalSeconds": 10,
                        "BackoffRate": 2,
                        "MaxAttempts": 3,
                    }
                ],
                "End": True,
            }
        }
    )
    machines.env.sandbox.faults.deny("sts", "GetCallerIdentity", times=None)
    before, started = machines.env.sandbox.now(), time.monotonic()
    described = machines.run(arn)
    assert described["status"] == "FAILED"
    assert time.monotonic() - started < 5.0
    assert (machines.env.sandbox.now() - before).total_seconds() >= 70
