"""The ``lambda-invoke`` step: a custom Lambda function, with its result or error surfaced.

start: ``Invoke`` (RequestResponse) with the manifest's payload plus a ``drorch``
key (execution id, phase, step name, drill flag and an idempotency key the
function can use to ignore a repeated call); the function's answer is kept.
status: the kept answer. The step fails when the function raises (the
``X-Amz-Function-Error`` header: its errorType and errorMessage are the error) or
when it answers an object with ``"healthy": false`` or ``"status": "FAILED"``
(so the same step serves as a custom health check). The function runs inside the
start call, so it must finish within the hub's module-start timeout.

Drill: the function is not called in a drill unless the action says
``runInDrill: true``; it then receives ``drorch.drill = true`` and must act on
drill resources only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import (
    FAILED,
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
from drorch.modules.steps import StepModule, step_name

RESULT_CHARS = 4000


def verdict(result: Any) -> str | None:
    """Why a function's answer means failure (None: it does not)."""
    if isinstance(result, dict):
        if result.get("healthy") is False:
            return str(
                result.get("reason")
                or result.get("message")
                or "the function answered healthy=false"
            )
        if str(result.get("status", "")).upper() == FAILED:
            return str(
                result.get("reason") or result.get("message") or "the function answered FAILED"
            )
    return None


class LambdaInvokeStep(StepModule):
    type = "lambda-invoke"
    parameters_schema = load_schema(Path(__file__).with_name("parameters.json"))
    summary = "Invoke a custom Lambda function; its result or error is the step's outcome"
    drill = (
        "Not called in a drill unless the action says runInDrill: true; the event then "
        "carries drorch.drill = true."
    )
    aliases = ("lambda", "LambdaHook", "PreRecoveryHook", "PostRecoveryHook")
    probes = (Probe("lambda:ListFunctions", "lambda", "list_functions", {"MaxItems": 1}),)
    sandbox_extension = "drorch.modules.lambda_invoke.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return ModuleIam(
            read=[
                statement(
                    "LambdaList", ["lambda:ListFunctions"], "*", condition=in_regions(regions)
                )
            ],
            drill_safe=[
                statement(
                    "LambdaInvoke",
                    ["lambda:InvokeFunction"],
                    arns("lambda", account_id, regions, "function:*"),
                )
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
        name = step_name(resources, self.type)
        function = params.get("functionName") or params["functionArn"]
        event = {
            **(params.get("payload") or params.get("parameters") or {}),
            "drorch": {
                "executionId": ctx.execution_id,
                "phase": phase,
                "step": name,
                "drill": drill,
                "idempotencyKey": idempotency_key,
            },
        }
        request: dict[str, Any] = {
            "FunctionName": function,
            "InvocationType": "RequestResponse",
            "Payload": json.dumps(event).encode(),
        }
        if params.get("qualifier"):
            request["Qualifier"] = params["qualifier"]
        state: dict[str, Any] = {"name": name, "function": function}
        try:
            answer = ctx.client("lambda").invoke(**request)
        except ClientError as exc:
            state["error"] = self.fail_on(exc, ctx, f"invoking {function}")
            return state
        raw = answer["Payload"].read().decode("utf-8", "replace")
        try:
            result = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            result = raw
        state["statusCode"] = answer.get("StatusCode")
        if answer.get("FunctionError"):
            doc = result if isinstance(result, dict) else {}
            state["error"] = (
                f"{doc.get('errorType') or answer['FunctionError']}: "
                f"{doc.get('errorMessage') or raw[:RESULT_CHARS]}"
            )
        else:
            state["result"] = result if len(raw) <= RESULT_CHARS else raw[:RESULT_CHARS]
            why = verdict(result)
            if why:
                state["error"] = why
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        detail: dict[str, Any] = {"function": state["function"]}
        if "statusCode" in state:
            detail["statusCode"] = state["statusCode"]
        if "result" in state:
            detail["result"] = state["result"]
        if state.get("error"):
            return self.one(state, FAILED, detail, state["error"])
        return self.one(state, SUCCEEDED, detail)
