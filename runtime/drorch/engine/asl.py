"""The three state machines, as Amazon States Language built in Python.

One definition serves everywhere: the Pulumi stacks deploy it, the sandbox runs
it on moto's interpreter, the tests inspect it. Payloads stay small: the plan
and results live in S3 and DynamoDB, and the states carry keys and counts.

* **master** (one per execution): initialise → discover (a Map, one account each) →
  plan (merges the accounts' parts) → readiness (the module
  probes before anything changes: a Map of shards, a page of one account's resources each,
  then the verdict) → for each phase
  (approval gate) → for each wave level (pause/cancel check, wave gate, module
  groups in parallel, each a lifecycle execution) → finalise; every failure
  goes through the ``fail`` handler.
* **lifecycle** (one per module group and phase): the group's accounts in
  parallel, each an executor execution.
* **executor** (one per module group, account and phase): start → wait →
  status → loop until done, with the interval taken from the input. While the
  module waits on work that announces its end (``awaits``: DRS launch jobs), the
  wait is ``WaitForEvent``: a task token the ``drorch-waiter`` function answers when
  the service's events arrive, with :data:`EVENT_FALLBACK_SECONDS` as the timeout
  after which the status check runs anyway (events lost).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from drorch import names

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"
START_CHILD = "arn:aws:states:::states:startExecution.sync:2"

# Transient failures every Lambda task retries, with backoff.
RETRY_TRANSIENT = [
    {
        "ErrorEquals": [
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
            "ThrottlingException",
            "InternalServerException",
            "ProvisionedThroughputExceededException",
            "Transient",
            # the idempotency store (Powertools) unreachable, throttled or mid-write
            "IdempotencyPersistenceLayerError",
            "IdempotencyAlreadyInProgressError",
        ],
        "IntervalSeconds": 2,
        "BackoffRate": 2.0,
        "MaxAttempts": 6,
    }
]
# A status call only reads (the module's state in S3, the service's answer): any other failure
# of it (a crashed invocation, a network error) is retried twice before the group fails;
# what a module raises on purpose (access denied, a refused drill call, bad input) is not.
RETRY_STATUS = [
    *RETRY_TRANSIENT,
    {
        "ErrorEquals": ["AccessDenied", "DrillSafetyError", "InputError", "ModuleError"],
        "MaxAttempts": 0,
    },
    {
        "ErrorEquals": ["States.TaskFailed"],
        "IntervalSeconds": 15,
        "BackoffRate": 2.0,
        "MaxAttempts": 2,
    },
]
# how long an executor waits for events before it checks the status anyway (the fallback poll)
EVENT_FALLBACK_SECONDS = 300
EVENT_WAIT_STATE = "WaitForEvent"
GROUP_CONCURRENCY = 10
ACCOUNT_CONCURRENCY = 10


@dataclass(frozen=True)
class Targets:
    """The ARNs the definitions point at, for one hub account and region."""

    account_id: str
    region: str
    partition: str = "aws"

    def function(self, key: str) -> str:
        return names.function_arn(self.account_id, self.region, key, self.partition)

    def state_machine(self, key: str) -> str:
        return names.state_machine_arn(self.account_id, self.region, key, self.partition)


def _lambda(
    targets: Targets,
    key: str,
    payload: dict[str, Any] | str = "$",
    *,
    next_state: str | None = None,
    result_path: str | None = "$.last",
    result_selector: dict[str, str] | None = None,
    output_payload: bool = False,
) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": targets.function(key)},
        "Retry": RETRY_TRANSIENT,
    }
    if payload == "$":
        state["Parameters"]["Payload.$"] = "$"
    else:
        state["Parameters"]["Payload"] = payload
    if output_payload:
        state["OutputPath"] = "$.Payload"
    else:
        state["ResultSelector"] = result_selector or {"value.$": "$.Payload"}
        state["ResultPath"] = result_path
    if next_state:
        state["Next"] = next_state
    else:
        state["End"] = True
    return state


def _gate(
    targets: Targets,
    kind: str,
    next_state: str,
    timeout_path: str | None = None,
    position: str | None = None,
) -> dict:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": LAMBDA_CALLBACK,
        "Parameters": {
            "FunctionName": targets.function("gate"),
            "Payload": {
                "executionId.$": "$.executionId",
                "kind": kind,
                "phase.$": "$.phase",
                "level.$": "$.level.level",
                "waves.$": "$.level.waves",
                "token.$": "$$.Task.Token",
                **({"position": position} if position else {}),
            },
        },
        "ResultPath": None,
        "Retry": RETRY_TRANSIENT,
        "Next": next_state,
    }
    if timeout_path:
        state["TimeoutSecondsPath"] = timeout_path
    return state


def _context(*extra: str) -> dict[str, str]:
    """Carry the execution's small context into a Map iteration."""
    keys = ("executionId", "operation", "pollSeconds", *extra)
    return {f"{key}.$": f"$.{key}" for key in keys}


def _child_iterator(
    targets: Targets,
    key: str,
    name_keys: tuple[str, ...],
    input_keys: tuple[str, ...],
    failed_state: str,
) -> dict[str, Any]:
    """A Map iterator that runs one child state machine (``.sync:2``) and records,
    rather than raises, its failure: the caller's checkpoint applies the policy."""
    run_state = f"Run{key.capitalize()}"
    # <executionId>-<MD5 of executionId-key-...>: at most 80 characters of [A-Za-z0-9-]
    # whatever the group ids (names.child_execution_name computes the same)
    unique_format = "-".join("{}" for _ in ("executionId", *name_keys))
    unique_args = ", ".join(f"$.{k}" for k in ("executionId", *name_keys))
    name = (
        f"States.Format('{{}}-{{}}', $.executionId, "
        f"States.Hash(States.Format('{unique_format}', {unique_args}), 'MD5'))"
    )
    return {
        "StartAt": run_state,
        "States": {
            run_state: {
                "Type": "Task",
                "Resource": START_CHILD,
                "Parameters": {
                    "StateMachineArn": targets.state_machine(key),
                    # a retried start with the same name returns the same child execution
                    "Name.$": name,
                    "Input": {
                        **_context(*input_keys),
                        "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
                    },
                },
                "ResultSelector": {"status.$": "$.Status"},
                "ResultPath": "$.result",
                "Catch": [
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": failed_state}
                ],
                "End": True,
            },
            failed_state: {"Type": "Pass", "Result": {"failed": True}, "End": True},
        },
    }


def _steps_map(targets: Targets, items_path: str, next_state: str, on_error: str) -> dict:
    """Wave actions in order (MaxConcurrency 1). A failed step whose policy is ``fail``
    stops the Map, so no later step runs; the Catch hands over to ``on_error`` (the
    after-level checkpoint records it). A ``continue`` step's failure is recorded only;
    an ``isolate`` step's (its wave's policy) fails its wave alone."""
    iterator = _child_iterator(
        targets,
        "lifecycle",
        ("phase", "groupId"),
        ("phase", "groupId", "accounts"),
        "StepFailed",
    )
    # the lifecycle records an account's failure rather than failing: ask the history
    run = iterator["States"]["RunLifecycle"]
    del run["End"]
    run["Next"] = "CheckStep"
    iterator["States"]["CheckStep"] = _lambda(
        targets,
        "checkpoint",
        {
            "action": "after-step",
            "executionId.$": "$.executionId",
            "phase.$": "$.phase",
            "groupId.$": "$.groupId",
            "accounts.$": "$.accounts",
        },
        next_state="StepOutcome",
        result_path="$.step",
        result_selector={"failed.$": "$.Payload.failed"},
    )
    iterator["States"]["StepOutcome"] = {
        "Type": "Choice",
        "Choices": [{"Variable": "$.step.failed", "BooleanEquals": True, "Next": "StepFailed"}],
        "Default": "StepDone",
    }
    iterator["States"]["StepDone"] = {"Type": "Succeed"}
    iterator["States"]["StepFailed"] = {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.failurePolicy", "StringEquals": "continue", "Next": "StepWarned"},
            # its wave fails alone: the wave's later members do not start (module_start),
            # the other waves' actions go on
            {"Variable": "$.failurePolicy", "StringEquals": "isolate", "Next": "StepWarned"},
        ],
        "Default": "StopSteps",
    }
    iterator["States"]["StepWarned"] = {"Type": "Pass", "Result": {"failed": True}, "End": True}
    iterator["States"]["StopSteps"] = {
        "Type": "Fail",
        "Error": "StepFailed",
        "Cause": "a wave action failed; see the execution history",
    }
    return {
        "Type": "Map",
        "ItemsPath": items_path,
        "MaxConcurrency": 1,
        "ItemSelector": {
            **_context("phase"),
            "groupId.$": "$$.Map.Item.Value.groupId",
            "accounts.$": "$$.Map.Item.Value.accounts",
            "failurePolicy.$": "$$.Map.Item.Value.failurePolicy",
        },
        "Iterator": iterator,
        "ResultPath": None,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.stepError", "Next": on_error}],
        "Next": next_state,
    }


def _groups_map(targets: Targets, items_path: str, next_state: str) -> dict:
    """Module groups (or health checks) in parallel, each a lifecycle execution; a failure
    is recorded, and the after-level checkpoint applies the policy."""
    return {
        "Type": "Map",
        "ItemsPath": items_path,
        "MaxConcurrency": GROUP_CONCURRENCY,
        "ItemSelector": {
            **_context("phase"),
            "groupId.$": "$$.Map.Item.Value.groupId",
            "accounts.$": "$$.Map.Item.Value.accounts",
        },
        "Iterator": _child_iterator(
            targets,
            "lifecycle",
            ("phase", "groupId"),
            ("phase", "groupId", "accounts"),
            "GroupFailed",
        ),
        "ResultPath": None,
        "Next": next_state,
    }


def master_definition(targets: Targets) -> dict[str, Any]:
    level_states = {
        "BeforeLevel": _lambda(
            targets,
            "checkpoint",
            {
                "action": "before-level",
                "executionId.$": "$.executionId",
                "phase.$": "$.phase",
                "level.$": "$.level",
            },
            next_state="CurrentLevel",
            result_path="$.check",
            result_selector={"paused.$": "$.Payload.paused", "cancelled.$": "$.Payload.cancelled"},
        ),
        # the level as the plan stands now: `drorch plan edit` may have changed its waves
        # while they had not started (the whole state comes back, with the level replaced)
        "CurrentLevel": _lambda(
            targets,
            "checkpoint",
            {"action": "current-level", "state.$": "$"},
            next_state="PausedOrCancelled",
            output_payload=True,
        ),
        "PausedOrCancelled": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.check.cancelled", "BooleanEquals": True, "Next": "Cancelled"},
                {"Variable": "$.check.paused", "BooleanEquals": True, "Next": "WaitForResume"},
                {
                    "Variable": "$.level.pauseBefore",
                    "BooleanEquals": True,
                    "Next": "PauseBeforeWave",
                },
            ],
            "Default": "PreActions",
        },
        "WaitForResume": _gate(targets, "resume", "BeforeLevel"),
        "PauseBeforeWave": _gate(targets, "wave", "PreActions", position="before"),
        "Cancelled": {"Type": "Fail", "Error": "Cancelled", "Cause": "cancelled by an operator"},
        "PreActions": _steps_map(targets, "$.level.pre", "ModuleGroups", "AfterLevel"),
        "ModuleGroups": _groups_map(targets, "$.level.groups", "AnythingAfter"),
        "AnythingAfter": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.level.after", "BooleanEquals": True, "Next": "AfterGroups"}
            ],
            "Default": "AfterLevel",
        },
        "AfterGroups": _lambda(
            targets,
            "checkpoint",
            {
                "action": "after-groups",
                "executionId.$": "$.executionId",
                "phase.$": "$.phase",
                "level.$": "$.level",
            },
            next_state="GroupsFailed",
            result_path="$.groupsCheck",
            result_selector={"failed.$": "$.Payload.failed"},
        ),
        "GroupsFailed": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.groupsCheck.failed", "BooleanEquals": True, "Next": "AfterLevel"}
            ],
            "Default": "PostActions",
        },
        "PostActions": _steps_map(targets, "$.level.post", "HealthChecks", "AfterLevel"),
        "HealthChecks": _groups_map(targets, "$.level.checks", "AfterLevel"),
        "AfterLevel": _lambda(
            targets,
            "checkpoint",
            {
                "action": "after-level",
                "executionId.$": "$.executionId",
                "phase.$": "$.phase",
                "level.$": "$.level",
            },
            next_state="PauseAfter",
        ),
        "PauseAfter": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.level.pauseAfter", "BooleanEquals": True, "Next": "PauseAfterWave"}
            ],
            "Default": "LevelDone",
        },
        "PauseAfterWave": _gate(targets, "wave", "LevelDone", position="after"),
        "LevelDone": {"Type": "Succeed"},
    }
    phase_states = {
        "NeedsApproval": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.approval", "BooleanEquals": True, "Next": "Approval"}],
            "Default": "Levels",
        },
        "Approval": {
            **_gate(targets, "approval", "Levels", timeout_path="$.approvalTimeoutSeconds"),
            "Parameters": {
                "FunctionName": targets.function("gate"),
                "Payload": {
                    "executionId.$": "$.executionId",
                    "kind": "approval",
                    "phase.$": "$.phase",
                    "token.$": "$$.Task.Token",
                },
            },
        },
        "Levels": {
            "Type": "Map",
            "ItemsPath": "$.levels",
            "MaxConcurrency": 1,
            "ItemSelector": {**_context("phase"), "level.$": "$$.Map.Item.Value"},
            "Iterator": {"StartAt": "BeforeLevel", "States": level_states},
            "ResultPath": None,
            "End": True,
        },
    }
    catch_all = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}]
    states: dict[str, Any] = {
        "Initialise": {
            **_lambda(targets, "initialise", next_state="Discover", output_payload=True),
            "Catch": catch_all,
        },
        # each staging account discovered by an invocation of its own (a part per group to
        # S3); the plan step merges the parts
        "Discover": {
            "Type": "Map",
            "ItemsPath": "$.accounts",
            "MaxConcurrency": ACCOUNT_CONCURRENCY,
            "ItemSelector": {
                "executionId.$": "$.executionId",
                "accountId.$": "$$.Map.Item.Value",
            },
            "Iterator": {
                "StartAt": "DiscoverAccount",
                "States": {
                    "DiscoverAccount": _lambda(
                        targets, "discover", output_payload=True, next_state=None
                    )
                },
            },
            "ResultPath": "$.discovery",
            "Catch": catch_all,
            "Next": "Plan",
        },
        "Plan": {
            **_lambda(
                targets,
                "plan",
                next_state="Readiness",
                result_path="$.plan",
                result_selector={
                    "phases.$": "$.Payload.phases",
                    "readiness.$": "$.Payload.readiness",
                },
            ),
            "Catch": catch_all,
        },
        # the module probes before anything changes, a page of one account's resources per
        # shard (each writes its findings to S3); then the verdict: a BLOCKER ends the run
        # (unless forced)
        "Readiness": {
            "Type": "Map",
            "ItemsPath": "$.plan.readiness",
            "MaxConcurrency": ACCOUNT_CONCURRENCY,
            "ItemSelector": {
                "executionId.$": "$.executionId",
                "accountId.$": "$$.Map.Item.Value.accountId",
                "page.$": "$$.Map.Item.Value.page",
            },
            "Iterator": {
                "StartAt": "ReadinessShard",
                "States": {
                    "ReadinessShard": _lambda(
                        targets, "readiness", result_path=None, next_state=None
                    )
                },
            },
            "ResultPath": None,
            "Catch": catch_all,
            "Next": "ReadinessVerdict",
        },
        "ReadinessVerdict": {
            **_lambda(
                targets,
                "readiness",
                {"executionId.$": "$.executionId", "action": "verdict"},
                next_state="Phases",
                result_path="$.readiness",
            ),
            "Catch": catch_all,
        },
        "Phases": {
            "Type": "Map",
            "ItemsPath": "$.plan.phases",
            "MaxConcurrency": 1,
            "ItemSelector": {
                **_context(),
                "phase.$": "$$.Map.Item.Value.phase",
                "approval.$": "$$.Map.Item.Value.approval",
                "approvalTimeoutSeconds.$": "$$.Map.Item.Value.approvalTimeoutSeconds",
                "levels.$": "$$.Map.Item.Value.levels",
            },
            "Iterator": {"StartAt": "NeedsApproval", "States": phase_states},
            "ResultPath": None,
            "Catch": catch_all,
            "Next": "Finalise",
        },
        "Finalise": {
            **_lambda(targets, "finalise", next_state="Succeeded", result_path="$.final"),
            "Catch": catch_all,
        },
        "Succeeded": {"Type": "Succeed"},
        # a failure that cannot be recorded (store denied) still ends the execution FAILED;
        # the reconciler (rule on Step Functions status changes) repairs history and lock
        "RecordFailure": {
            **_lambda(targets, "fail", next_state="Failed", result_path="$.failure"),
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "ResultPath": "$.failureNotRecorded",
                    "Next": "FailedUnrecorded",
                }
            ],
        },
        "FailedUnrecorded": {
            "Type": "Fail",
            "Error": "ExecutionFailed",
            "Cause": "the failure could not be recorded; drorch reconcile repairs the history",
        },
        "Failed": {
            "Type": "Fail",
            "Error": "ExecutionFailed",
            "Cause": "see the execution history",
        },
    }
    return {
        "Comment": "drorch master: one DR execution (phases x wave levels x module groups)",
        "StartAt": "Initialise",
        "States": states,
    }


def lifecycle_definition(targets: Targets) -> dict[str, Any]:
    return {
        "Comment": "drorch lifecycle: one module group in one phase, across its accounts",
        "StartAt": "Accounts",
        "States": {
            "Accounts": {
                "Type": "Map",
                "ItemsPath": "$.accounts",
                "MaxConcurrency": ACCOUNT_CONCURRENCY,
                "ItemSelector": {
                    **_context("phase", "groupId"),
                    "accountId.$": "$$.Map.Item.Value",
                },
                "Iterator": _child_iterator(
                    targets,
                    "executor",
                    ("phase", "groupId", "accountId"),
                    ("phase", "groupId", "accountId"),
                    "AccountFailed",
                ),
                "End": True,
            }
        },
    }


def executor_definition(targets: Targets) -> dict[str, Any]:
    answer = {
        "status.$": "$.Payload.status",
        "waitSeconds.$": "$.Payload.waitSeconds",
        "gate.$": "$.Payload.gate",
        "gateTimeoutSeconds.$": "$.Payload.gateTimeoutSeconds",
        "ask.$": "$.Payload.ask",
        "attempt.$": "$.Payload.attempt",
        "awaits.$": "$.Payload.awaits",
    }
    return {
        "Comment": "drorch technology executor: start, then poll status until done (no Lambda sleeps)",
        "StartAt": "Start",
        "States": {
            "Start": _lambda(
                targets,
                "module_start",
                next_state="Decide",
                result_path="$.module",
                result_selector=answer,
            ),
            # the module may ask for a longer wait (a wait step, a check's retry interval)
            "Wait": {"Type": "Wait", "SecondsPath": "$.module.waitSeconds", "Next": "Status"},
            "Status": {
                **_lambda(
                    targets,
                    "module_status",
                    next_state="Decide",
                    result_path="$.module",
                    result_selector=answer,
                ),
                "Retry": RETRY_STATUS,
            },
            "Decide": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.module.status", "StringEquals": "SUCCEEDED", "Next": "Done"},
                    # skipped by an operator, or not run (its wave failed under isolate)
                    {"Variable": "$.module.status", "StringEquals": "SKIPPED", "Next": "Done"},
                    {"Variable": "$.module.status", "StringEquals": "BLOCKED", "Next": "Done"},
                    {
                        "And": [
                            {"Variable": "$.module.status", "StringEquals": "FAILED"},
                            {"Variable": "$.module.ask", "BooleanEquals": True},
                        ],
                        "Next": "AskOperator",
                    },
                    {
                        "Variable": "$.module.status",
                        "StringEquals": "FAILED",
                        "Next": "ModuleFailed",
                    },
                    {"Variable": "$.module.gate", "BooleanEquals": True, "Next": "StepApproval"},
                    {"Variable": "$.module.awaits[0]", "IsPresent": True, "Next": EVENT_WAIT_STATE},
                ],
                "Default": "Wait",
            },
            # the module's work announces its end: wait for those events (drorch-waiter
            # answers the token), or for the timeout, then check the status either way;
            # a registration that fails falls back to the poll interval
            EVENT_WAIT_STATE: {
                "Type": "Task",
                "Resource": LAMBDA_CALLBACK,
                "Parameters": {
                    "FunctionName": targets.function("waiter"),
                    "Payload": {
                        "executionId.$": "$.executionId",
                        "awaits.$": "$.module.awaits",
                        "token.$": "$$.Task.Token",
                    },
                },
                "ResultPath": None,
                "TimeoutSeconds": EVENT_FALLBACK_SECONDS,
                "Retry": RETRY_TRANSIENT,
                "Catch": [
                    {"ErrorEquals": ["States.Timeout"], "ResultPath": None, "Next": "Status"},
                    {"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "Wait"},
                ],
                "Next": "Status",
            },
            # an approval step: a persisted task token, answered by drorch approve/reject
            "StepApproval": {
                "Type": "Task",
                "Resource": LAMBDA_CALLBACK,
                "Parameters": {
                    "FunctionName": targets.function("gate"),
                    "Payload": {
                        "executionId.$": "$.executionId",
                        "kind": "step",
                        "phase.$": "$.phase",
                        "groupId.$": "$.groupId",
                        "accountId.$": "$.accountId",
                        "token.$": "$$.Task.Token",
                    },
                },
                "ResultPath": "$.decision",
                "TimeoutSecondsPath": "$.module.gateTimeoutSeconds",
                "Retry": RETRY_TRANSIENT,
                "Catch": [
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.decision", "Next": "Status"}
                ],
                "Next": "Status",
            },
            # failurePolicy ask: a persisted task token, answered by drorch retry / skip (or
            # cancel); a timeout or a cancel goes to Status, which records it and fails
            "AskOperator": {
                "Type": "Task",
                "Resource": LAMBDA_CALLBACK,
                "Parameters": {
                    "FunctionName": targets.function("gate"),
                    "Payload": {
                        "executionId.$": "$.executionId",
                        "kind": "failure",
                        "phase.$": "$.phase",
                        "groupId.$": "$.groupId",
                        "accountId.$": "$.accountId",
                        "attempt.$": "$.module.attempt",
                        "token.$": "$$.Task.Token",
                    },
                },
                "ResultPath": "$.failureDecision",
                "TimeoutSecondsPath": "$.module.gateTimeoutSeconds",
                "Retry": RETRY_TRANSIENT,
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "ResultPath": "$.failureDecision",
                        "Next": "Status",
                    }
                ],
                "Next": "Decided",
            },
            "Decided": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": "$.failureDecision.decision",
                        "StringEquals": "retry",
                        "Next": "Start",
                    }
                ],
                "Default": "Status",
            },
            "Done": {"Type": "Succeed"},
            "ModuleFailed": {
                "Type": "Fail",
                "Error": "ModuleFailed",
                "Cause": "one or more resources failed; see the execution history",
            },
        },
    }


DEFINITIONS = {
    "master": master_definition,
    "lifecycle": lifecycle_definition,
    "executor": executor_definition,
}


def definition_json(key: str, targets: Targets) -> str:
    return json.dumps(DEFINITIONS[key](targets), separators=(",", ":"))
