"""The ``approval`` step: a manual gate in the middle of a wave's actions.

``start`` asks the executor for a gate (``gate`` in the module state): the
executor state machine waits on a persisted Step Functions task token, exactly
like the approval before a phase, and ``drorch approve|reject EXECUTION`` answers
it. The engine puts the decision into the state and ``status`` turns it into the
step's result: approved → SUCCEEDED, rejected or timed out → FAILED, with who
decided, when and why. Drill: asks as in a failover; makes no AWS call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drorch.modules.base import (
    FAILED,
    RUNNING,
    SUCCEEDED,
    AccountContext,
    Resource,
    StatusResult,
    load_schema,
)
from drorch.modules.steps import StepModule, step_name


class ApprovalStep(StepModule):
    type = "approval"
    parameters_schema = load_schema(Path(__file__).with_name("parameters.json"))
    summary = "A manual approval as a step (a task-token gate answered by drorch approve/reject)"
    drill = "Asks for approval as in a failover; makes no AWS call."
    aliases = ("Approval", "ManualApproval", "manual_approval")
    runs_in_drill = True

    def start(
        self,
        ctx: AccountContext,
        phase: str,
        resources: list[Resource],
        params: dict[str, Any],
        drill: bool,
        idempotency_key: str,
    ) -> dict[str, Any]:
        name = step_name(resources, self.type)
        return {
            "name": name,
            "gate": {
                "message": params.get("message") or f"approve step {name}",
                "approvers": list(params.get("approvers") or []),
                "timeoutMinutes": int(params.get("timeoutMinutes", 60)),
            },
        }

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        decision = state.get("decision")
        if not decision:
            return self.one(state, RUNNING, {"waiting": "approval"})
        detail = {k: decision[k] for k in ("decision", "by", "at", "comment") if decision.get(k)}
        if decision.get("decision") == "approved":
            return self.one(state, SUCCEEDED, detail)
        why = decision.get("comment") or decision.get("decision") or "not approved"
        return self.one(state, FAILED, detail, f"approval {decision.get('decision')}: {why}")
