"""The ssm-automation step against the sandbox's Automation executions (simulated clock)."""

from __future__ import annotations

import json

from tests.modules.contract import SKIPPED_BY_PLAN, Case, ModuleContract, Phase, Run, Staging

DOCUMENT = "drorch-RestartApp"
PARAMS = {"documentName": DOCUMENT, "parameters": {"Target": "app-prod"}}
IN_DRILL = {**PARAMS, "drillParameters": {"Target": "app-drill"}}


def runbook(world: Staging) -> None:
    content = {
        "schemaVersion": "0.3",
        "description": "Restart the application tier",
        "parameters": {"Target": {"type": "String"}},
        "mainSteps": [
            {"name": "drain", "action": "aws:sleep", "inputs": {"Duration": "PT2M"}},
            {"name": "restart", "action": "aws:sleep", "inputs": {"Duration": "PT1M"}},
        ],
    }
    world.admin("ssm").create_document(
        Name=DOCUMENT,
        Content=json.dumps(content),
        DocumentType="Automation",
        DocumentFormat="JSON",
    )


def failing_runbook(world: Staging) -> None:
    runbook(world)
    world.sandbox.faults.fail_automation(DOCUMENT, step="restart", reason="service did not stop")


def executions(world: Staging) -> list[str]:
    answer = world.admin("ssm").describe_automation_executions()
    return sorted(e["AutomationExecutionId"] for e in answer["AutomationExecutionMetadataList"])


def target_of(expected: str):
    def check(world: Staging, run: Run) -> None:
        [execution_id] = executions(world)
        execution = world.admin("ssm").get_automation_execution(AutomationExecutionId=execution_id)[
            "AutomationExecution"
        ]
        assert execution["Parameters"]["Target"] == [expected]
        [result] = run.phases[-1].final.resources
        assert result.detail["automationStatus"] == "Success"

    return check


class TestSsmAutomationContract(ModuleContract):
    module = "ssm-automation"
    cases = (
        Case(
            "failover",
            (Phase("ACTIVATE", PARAMS),),
            seed=runbook,
            selector={"ids": ["restart-app"]},
            writes=(),  # StartAutomationExecution carries a ClientToken: a retry gets the same
            effect=executions,
            check=target_of("app-prod"),
        ),
        Case(
            "drill-by-default-skipped",
            (Phase("ACTIVATE", IN_DRILL, expect=SKIPPED_BY_PLAN),),
            drill=True,
            seed=runbook,
            selector={"ids": ["restart-app"]},
        ),
        Case(
            "drill-opted-in",
            (Phase("ACTIVATE", IN_DRILL),),
            drill=True,
            run_in_drill=True,
            seed=runbook,
            selector={"ids": ["restart-app"]},
            effect=executions,
            check=target_of("app-drill"),
        ),
        Case(
            "failing-automation",
            (Phase("ACTIVATE", PARAMS, expect="FAILED", error="service did not stop"),),
            seed=failing_runbook,
            selector={"ids": ["restart-app"]},
            extra=True,
        ),
    )
