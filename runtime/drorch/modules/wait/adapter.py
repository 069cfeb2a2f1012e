"""The ``wait`` step: let time pass (e.g. for DNS TTLs or a cache to warm).

The waiting is done by the executor state machine's Wait state: ``start`` asks
for a wait of ``seconds`` (``waitSeconds`` in the module state), and ``status``
says SUCCEEDED once the engine's clock has passed the end. No Lambda sleeps.
Drill: runs as in a failover; it calls no AWS API.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from drorch.modules.base import (
    RUNNING,
    SUCCEEDED,
    AccountContext,
    Resource,
    StatusResult,
    load_schema,
)
from drorch.modules.steps import StepModule, step_name


def _now(ctx: AccountContext) -> float:
    if ctx.now is None:
        raise ValueError("the wait step needs the engine's clock (AccountContext.now)")
    return ctx.now


class WaitStep(StepModule):
    type = "wait"
    parameters_schema = load_schema(Path(__file__).with_name("parameters.json"))
    summary = "Wait a number of seconds (a Step Functions Wait state, never a sleeping Lambda)"
    drill = "Waits as in a failover; makes no AWS call."
    aliases = ("Wait", "Sleep")
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
        seconds = int(params["seconds"])
        return {
            "name": step_name(resources, self.type),
            "seconds": seconds,
            "until": _now(ctx) + seconds,
            "waitSeconds": seconds,
        }

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        left = state["until"] - _now(ctx)
        detail = {"seconds": state["seconds"]}
        if left <= 0:
            return self.one({**state, "waitSeconds": None}, SUCCEEDED, detail)
        return self.one({**state, "waitSeconds": max(1, math.ceil(left))}, RUNNING, detail)
