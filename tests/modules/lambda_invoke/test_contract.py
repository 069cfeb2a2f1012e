"""The lambda-invoke step against staging-account functions whose answers the sandbox declares."""

from __future__ import annotations

import io
import json
import zipfile

from drorch.modules.lambda_invoke.sandbox import INVOCATIONS, declare_answer
from tests.modules.contract import SKIPPED_BY_PLAN, Case, ModuleContract, Phase, Run, Staging

FUNCTION = "claims-smoke-test"
PARAMS = {"functionName": FUNCTION, "payload": {"url": "https://claims.example.com"}}
TRUSTED = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def function(answer: dict):
    def seed(world: Staging) -> None:
        role = world.admin("iam").create_role(
            RoleName="claims-smoke-test", AssumeRolePolicyDocument=json.dumps(TRUSTED)
        )["Role"]["Arn"]
        world.admin("lambda").create_function(
            FunctionName=FUNCTION,
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": _zip()},
        )
        declare_answer(world.account_id, world.region, FUNCTION, **answer)

    return seed


HEALTHY = function({"result": {"healthy": True, "checked": 3}})


def failing(world: Staging) -> None:
    HEALTHY(world)
    world.sandbox.faults.fail_function(
        FUNCTION, message="smoke test timed out", error_type="Timeout"
    )


def keys(world: Staging) -> list[str]:
    """The idempotency keys the function received: a retried start sends the same one, so the
    function can ignore the repeat (Lambda itself has no client token)."""
    return sorted({i["event"]["drorch"]["idempotencyKey"] for i in INVOCATIONS})


def event_and_result(drill: bool):
    def check(world: Staging, run: Run) -> None:
        [invocation] = INVOCATIONS
        assert invocation["event"]["url"] == "https://claims.example.com"
        assert invocation["event"]["drorch"]["drill"] is drill
        assert invocation["event"]["drorch"]["executionId"] == "contract-exec-1"
        [result] = run.phases[-1].final.resources
        assert result.detail["result"] == {"healthy": True, "checked": 3}

    return check


REPEATS = {
    "lambda:InvokeFunction": "Lambda has no client token; the event's drorch.idempotencyKey "
    "lets the function ignore a repeat (checked by the effect)"
}


class TestLambdaInvokeContract(ModuleContract):
    module = "lambda-invoke"
    cases = (
        Case(
            "failover",
            (Phase("ACTIVATE", PARAMS),),
            seed=HEALTHY,
            selector={"ids": ["smoke-test"]},
            effect=keys,
            repeats=REPEATS,
            check=event_and_result(False),
        ),
        Case(
            "drill-by-default-skipped",
            (Phase("ACTIVATE", PARAMS, expect=SKIPPED_BY_PLAN),),
            drill=True,
            seed=HEALTHY,
            selector={"ids": ["smoke-test"]},
        ),
        Case(
            "drill-opted-in",
            (Phase("ACTIVATE", PARAMS),),
            drill=True,
            run_in_drill=True,
            seed=HEALTHY,
            selector={"ids": ["smoke-test"]},
            effect=keys,
            repeats=REPEATS,
            check=event_and_result(True),
        ),
        Case(
            "function-error",
            (Phase("ACTIVATE", PARAMS, expect="FAILED", error="Timeout: smoke test timed out"),),
            seed=failing,
            selector={"ids": ["smoke-test"]},
            extra=True,
        ),
        Case(
            "answers-unhealthy",
            (Phase("ACTIVATE", PARAMS, expect="FAILED", error="database unreachable"),),
            seed=function({"result": {"healthy": False, "reason": "database unreachable"}}),
            selector={"ids": ["smoke-test"]},
            extra=True,
        ),
    )
