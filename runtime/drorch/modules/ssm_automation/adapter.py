"""The ``ssm-automation`` step: run an SSM Automation document and follow it to the end.

start: ``StartAutomationExecution`` with a ``ClientToken`` derived from the
idempotency key (a retried start gets the same execution back); status:
``GetAutomationExecution`` until the execution's own status is terminal. The
execution's ``Outputs`` go into the result; its ``FailureMessage`` is the error.

Drill: a runbook changes things, so the step does not run in a drill unless the
manifest says ``runInDrill: true`` for it; then ``drillParameters`` replace the
matching document parameters, so a runbook can be pointed at drill instances.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import (
    FAILED,
    RUNNING,
    SUCCEEDED,
    AccountContext,
    ModuleIam,
    Probe,
    Resource,
    StatusResult,
    arns,
    in_regions,
    load_schema,
    statement,
)
from drorch.modules.steps import StepModule, client_token, step_name

DONE_OK = frozenset({"Success", "CompletedWithSuccess"})
DONE_FAILED = frozenset(
    {
        "Failed",
        "TimedOut",
        "Cancelled",
        "Rejected",
        "CompletedWithFailure",
        "ChangeCalendarOverrideRejected",
        "Exited",
    }
)


def _strings(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in values]


class SsmAutomationStep(StepModule):
    type = "ssm-automation"
    parameters_schema = load_schema(Path(__file__).with_name("parameters.json"))
    summary = "Run an SSM Automation document (runbook) and wait for its result"
    drill = (
        "Skipped in a drill unless the action says runInDrill: true; then drillParameters "
        "replace the matching document parameters. drorch itself changes nothing else."
    )
    aliases = ("SSMAutomation", "ssm_automation", "startAutomationExecution")
    probes = (
        Probe(
            "ssm:DescribeAutomationExecutions",
            "ssm",
            "describe_automation_executions",
            {"MaxResults": 1},
        ),
    )
    sandbox_extension = "drorch.modules.ssm_automation.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return ModuleIam(
            read=[
                statement(
                    "SsmAutomationRead",
                    ["ssm:GetAutomationExecution"],
                    arns("ssm", account_id, regions, "automation-execution/*"),
                ),
                statement(
                    "SsmAutomationList",
                    ["ssm:DescribeAutomationExecutions"],
                    "*",
                    condition=in_regions(regions),
                ),
            ],
            drill_safe=[
                statement(
                    "SsmAutomationStart",
                    ["ssm:StartAutomationExecution"],
                    # the Service Authorization Reference requires the new execution and
                    # the document as well as the runbook (the account's or AWS-owned)
                    arns(
                        "ssm",
                        account_id,
                        regions,
                        "automation-definition/*",
                        "automation-execution/*",
                        "document/*",
                    )
                    + [
                        f"arn:aws:ssm:{r}::{kind}/*"
                        for r in sorted(set(regions))
                        for kind in ("automation-definition", "document")
                    ],
                ),
                statement(
                    "SsmAutomationPassRole",
                    ["iam:PassRole"],
                    [f"arn:aws:iam::{account_id}:role/*"],
                    condition={"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}},
                ),
            ],
        )

    def start(
        self,
        ctx: AccountContext,
        phase: str,
        resources: list[Resource],
        params: dict[str, Any],
        drill: bool,
        idempotency_key: str,
    ) -> dict[str, Any]:
        self.check_phase(phase, drill)
        values: Mapping[str, Any] = dict(params.get("parameters") or {})
        if drill:
            values = {**values, **(params.get("drillParameters") or {})}
        request: dict[str, Any] = {
            "DocumentName": params["documentName"],
            "Parameters": {k: _strings(v) for k, v in values.items()},
            "ClientToken": client_token(idempotency_key),
        }
        if params.get("documentVersion"):
            request["DocumentVersion"] = params["documentVersion"]
        state: dict[str, Any] = {
            "name": step_name(resources, self.type),
            "document": params["documentName"],
        }
        ssm = ctx.client("ssm")
        try:
            state["executionId"] = ssm.start_automation_execution(**request)[
                "AutomationExecutionId"
            ]
        except ClientError as exc:
            state["error"] = self.fail_on(
                exc, ctx, f"starting Automation {request['DocumentName']}"
            )
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        detail = {"document": state["document"]}
        if state.get("error"):
            return self.one(state, FAILED, detail, state["error"])
        detail["automationExecutionId"] = state["executionId"]
        try:
            execution = ctx.client("ssm").get_automation_execution(
                AutomationExecutionId=state["executionId"]
            )["AutomationExecution"]
        except ClientError as exc:
            return self.one(state, FAILED, detail, self.fail_on(exc, ctx, "reading Automation"))
        status = execution.get("AutomationExecutionStatus", "")
        detail["automationStatus"] = status
        if execution.get("CurrentStepName"):
            detail["currentStep"] = execution["CurrentStepName"]
        if execution.get("Outputs"):
            detail["outputs"] = execution["Outputs"]
        if status in DONE_OK:
            return self.one(state, SUCCEEDED, detail)
        if status in DONE_FAILED:
            why = execution.get("FailureMessage") or f"the automation ended {status}"
            return self.one(state, FAILED, detail, f"{state['document']}: {why}")
        return self.one(state, RUNNING, detail)
