"""What every generic step and health check shares.

A step (``kind = "step"``: SSM Automation, Run Command, a custom Lambda, a wait,
an approval) or a check (``kind = "check"``: HTTP, Route 53 health check,
CloudWatch alarm) is not found by discovery: a wave action or health check in the
manifest names it, and the engine makes one resource of it per account it runs in
(its name in ``selector.ids``). Steps and checks run through the same executor as
every module (start, then status on the state machine's Wait until done), so their
results, timings and errors land in the history, the events and the report.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import (
    FAILED,
    PHASES,
    RUNNING,
    SUCCEEDED,
    AccountContext,
    Discovered,
    Module,
    ModuleError,
    Resource,
    ResourceResult,
    StatusResult,
    raise_if_fatal,
    selector_field,
)

STEP_RESOURCE_TYPE = "drorch:step"


def step_name(resources: list[Resource], fallback: str) -> str:
    return resources[0].name or resources[0].id if resources else fallback


def client_token(idempotency_key: str) -> str:
    """A UUID derived from the idempotency key: a retried start sends the same token."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"drorch:{idempotency_key}"))


def short_key(idempotency_key: str) -> str:
    """A short, stable tag for APIs without client tokens (found again on a retry)."""
    return "drorch-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]


class StepModule(Module):
    kind = "step"
    drill_safe_phases = frozenset(PHASES)  # whether a step runs in a drill: runs_in_drill
    phases = PHASES
    runs_in_drill = False
    identified_by = "the action's or check's name in the manifest"

    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        ids = selector_field(selector, "ids")
        name = ids[0] if ids else self.type
        return Discovered(
            [
                Resource(
                    id=name,
                    arn="",
                    account_id=ctx.account_id,
                    region=ctx.region,
                    name=name,
                    type=STEP_RESOURCE_TYPE,
                )
            ]
        )

    # --- helpers ------------------------------------------------------------------------
    def fail_on(self, error: ClientError, ctx: AccountContext, doing: str) -> str:
        """Access denied and throttling are raised (named, or retried); anything else is
        the step's failure, returned as its error text."""
        raise_if_fatal(error, ctx, doing)
        err = error.response.get("Error", {})
        return f"{err.get('Code', 'Error')}: {err.get('Message', '') or error}"

    @staticmethod
    def one(
        state: Mapping[str, Any], status: str, detail: dict[str, Any], error: str | None = None
    ) -> StatusResult:
        """The step's single resource result (and the module status it implies)."""
        name = state["name"]
        result = ResourceResult(id=name, name=name, status=status, detail=detail, error=error)
        return StatusResult(
            status=status if status != "SKIPPED" else SUCCEEDED,
            resources=[result],
            state=dict(state),
        )

    def check_phase(self, phase: str, drill: bool) -> None:  # steps run in any phase
        if phase not in PHASES:
            raise ModuleError(f"{self.type}: unknown phase {phase!r}")


RETRY_PROPERTIES: dict[str, Any] = {
    "retries": {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 3,
        "description": "Attempts before the check fails.",
    },
    "intervalSeconds": {
        "type": "integer",
        "minimum": 1,
        "maximum": 3600,
        "default": 30,
        "description": "Seconds between attempts (a Step Functions Wait).",
    },
}


class CheckModule(StepModule):
    """A health check: passes on the first good attempt, fails after ``retries`` bad ones.

    Each attempt is one ``start``/``status`` call; the executor's Wait state waits
    ``intervalSeconds`` between attempts. Checks only read, so they run in drills."""

    kind = "check"
    runs_in_drill = True
    # where the check runs: "account" (through the staging account's execution role)
    # or "hub" (from the hub's own Lambda, e.g. an HTTP request)
    runs_in: str = "account"

    def attempt(
        self, ctx: AccountContext, params: Mapping[str, Any]
    ) -> tuple[bool, dict[str, Any], str | None]:
        """One attempt: (passed, detail, why it did not pass)."""
        raise NotImplementedError

    def _try(self, ctx: AccountContext, state: dict[str, Any]) -> StatusResult:
        passed, detail, why = self.attempt(ctx, state["params"])
        attempts = int(state.get("attempts", 0)) + 1
        new_state = {**state, "attempts": attempts, "last": detail, "why": why}
        detail = {**detail, "attempts": attempts}
        if passed:
            return self.one({**new_state, "waitSeconds": None}, SUCCEEDED, detail)
        if attempts >= int(state["params"].get("retries", 3)):
            done = {**new_state, "waitSeconds": None}
            return self.one(done, FAILED, detail, f"{why} (after {attempts} attempts)")
        new_state["waitSeconds"] = int(state["params"].get("intervalSeconds", 30))
        return self.one(new_state, RUNNING, detail, None)

    def start(
        self,
        ctx: AccountContext,
        phase: str,
        resources: list[Resource],
        params: dict[str, Any],
        drill: bool,
        idempotency_key: str,
    ) -> dict[str, Any]:
        state = {"name": step_name(resources, self.type), "params": dict(params), "attempts": 0}
        return self._try(ctx, state).state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        attempts = int(state.get("attempts", 0))
        last = {**(state.get("last") or {}), "attempts": attempts}
        if state.get("waitSeconds") is None and attempts:  # decided in start
            if state.get("why") is None:
                return self.one(state, SUCCEEDED, last)
            return self.one(state, FAILED, last, f"{state['why']} (after {attempts} attempts)")
        return self._try(ctx, state)


__all__ = [
    "CheckModule",
    "FAILED",
    "RETRY_PROPERTIES",
    "RUNNING",
    "STEP_RESOURCE_TYPE",
    "SUCCEEDED",
    "StepModule",
    "client_token",
    "short_key",
    "step_name",
]
