"""Gates: where an execution waits for a person, on a persisted Step Functions task token.

Five kinds: ``approval`` (before a phase), ``wave`` (``pauseBeforeWave`` /
``pauseAfterWave``), ``resume`` (after an operator's ``pause``), ``step`` (an
``approval`` step among a wave's actions, waited on by the executor) and ``failure``
(a module group or action that failed under failurePolicy ``ask``, in one account:
``retry`` starts it again, ``skip`` records it SKIPPED; both record who and why). The master
state machine calls the ``gate`` handler with ``.waitForTaskToken``; the
handler stores the token under ``GATE#<n>``; ``approve`` / ``reject`` /
``resume`` / ``cancel`` answer it with SendTaskSuccess / SendTaskFailure and
record who decided and when. A rejection fails the execution (error
``GateRejected``); a cancellation fails it with ``Cancelled``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from drorch import names
from drorch.engine import aws, clock
from drorch.engine import events as ev
from drorch.engine.errors import GateNotFound, GateRejected, InvalidTransition
from drorch.engine.history import (
    PAUSED,
    RUNNING,
    TERMINAL,
    WAITING_APPROVAL,
    History,
    can_transition,
)
from drorch.errors import DrorchError, InputError

KINDS = ("approval", "wave", "resume", "step", "failure")
APPROVED, REJECTED, RESUMED, CANCELLED = "approved", "rejected", "resumed", "cancelled"
RETRIED, SKIPPED = "retried", "skipped"  # a failure gate's decisions
# what the executor's Choice reads for each (``$.failureDecision.decision``)
FAILURE_ANSWERS = {RETRIED: "retry", SKIPPED: "skip"}
# the token no longer waits: the execution timed out the gate, ended, or was answered
_GONE = {"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"}


class GateClosed(DrorchError):
    """The gate's task token no longer waits (the gate timed out or the execution ended)."""


def step_id(group_id: str, account_id: str) -> str:
    """How an operator names a failed step: ``<groupId>/<accountId>``."""
    return f"{group_id}/{account_id}"


def _error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


@dataclass
class Gates:
    history: History
    sfn: Any  # boto3 stepfunctions client
    publisher: ev.Publisher | None = None

    @classmethod
    def from_config(
        cls, config: names.EnvConfig, publisher: ev.Publisher | None = None, session: Any = None
    ) -> Gates:
        return cls(
            History.from_config(config, session), aws.client("stepfunctions", session), publisher
        )

    # --- the master's side ------------------------------------------------------------
    def open(
        self,
        execution_id: str,
        kind: str,
        token: str,
        *,
        phase: str | None = None,
        level: int | None = None,
        position: str | None = None,
        approvers: tuple[str, ...] | list[str] = (),
        timeout_minutes: int | None = None,
        step: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Persist the task token of a gate; returns the gate item (with its number).
        ``step``: a failure gate's groupId, accountId, attempt (and step id)."""
        if kind not in KINDS:
            raise ValueError(f"unknown gate kind {kind!r}; expected one of {', '.join(KINDS)}")
        execution = self.history.require_execution(execution_id)
        where = {"kind": kind, "phase": phase, "level": level, "position": position, **(step or {})}
        number = self._same_open_gate(execution_id, where)  # a retried gate task reuses it
        if number is None:
            number = self.history.next_gate_number(execution_id)
        gate = self.history.put_gate(
            execution_id,
            number,
            **{k: v for k, v in where.items() if v is not None},
            token=token,
            requestedAt=clock.iso(),
            approvers=list(approvers),
            timeoutMinutes=timeout_minutes,
        )
        if execution.get("cancelRequested"):
            self._answer(gate, CANCELLED, "drorch", "cancel requested before the gate opened")
            return self.history.gate(execution_id, number) or gate
        if kind == "resume" and not execution.get("paused"):
            self._answer(gate, RESUMED, "drorch", "resumed before the gate opened")
            return self.history.gate(execution_id, number) or gate
        self._move(execution_id, PAUSED if kind == "resume" else WAITING_APPROVAL)
        detail = {
            "executionId": execution_id,
            "application": execution.get("application"),
            "operation": execution.get("operation"),
            "gate": number,
            "kind": kind,
            "phase": phase,
            "level": level,
            "position": position,
            "approvers": list(approvers),
            "timeoutMinutes": timeout_minutes,
            **({"step": step["step"]} if step else {}),
        }
        if self.publisher:
            self.publisher.publish(
                ev.EXECUTION_PAUSED if kind == "resume" else ev.APPROVAL_REQUESTED, detail
            )
        return gate

    def _same_open_gate(self, execution_id: str, where: dict[str, Any]) -> int | None:
        for gate in self.history.gates(execution_id):
            if "decision" in gate:
                continue
            if all(gate.get(k) == v for k, v in where.items()):
                return int(gate["gate"])
        return None

    def _move(self, execution_id: str, status: str) -> None:
        current = self.history.require_execution(execution_id)["status"]
        if can_transition(current, status) and current not in TERMINAL:
            try:
                self.history.set_status(execution_id, status)
            except InvalidTransition:
                pass  # finished meanwhile: a finished execution is not touched

    # --- the operator's side ------------------------------------------------------------
    def open_gates(self, execution_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        return [
            g
            for g in self.history.gates(execution_id)
            if "decision" not in g and (kind is None or g.get("kind") == kind)
        ]

    def approve(
        self, execution_id: str, number: int, decided_by: str, comment: str = ""
    ) -> dict[str, Any]:
        """Let the execution pass gate ``number``; records who and when."""
        gate = self._require(execution_id, number, decisions="approve")
        decision = RESUMED if gate.get("kind") == "resume" else APPROVED
        return self._answer(gate, decision, decided_by, comment)

    def reject(
        self, execution_id: str, number: int, decided_by: str, comment: str = ""
    ) -> dict[str, Any]:
        """Fail the execution at gate ``number`` (error GateRejected); records who and when."""
        gate = self._require(execution_id, number, decisions="reject")
        return self._answer(gate, REJECTED, decided_by, comment)

    # --- failed steps (failurePolicy ask) -------------------------------------------------
    def waiting_steps(self, execution_id: str, step: str | None = None) -> list[dict[str, Any]]:
        """The failure gates that wait for retry or skip; ``step``: only those of this step
        (``<groupId>/<accountId>``, or a group id for the group in all its accounts)."""
        return [
            g
            for g in self.open_gates(execution_id, "failure")
            if step is None or step in (g.get("step"), g.get("groupId"))
        ]

    def decide_step(
        self, execution_id: str, step: str, decision: str, decided_by: str, reason: str
    ) -> list[dict[str, Any]]:
        """Retry (``RETRIED``) or skip (``SKIPPED``) a failed step that waits for a decision,
        in each account where it waits; records who and why."""
        if decision not in FAILURE_ANSWERS:
            raise ValueError(f"unknown step decision {decision!r}")
        if not reason.strip():
            raise InputError(
                "a reason is required to retry or skip a step", hint='pass --reason "..."'
            )
        gates = self.waiting_steps(execution_id, step)
        if not gates:
            waiting = [str(g.get("step")) for g in self.waiting_steps(execution_id)]
            raise GateNotFound(
                f"no failed step {step!r} of execution {execution_id} waits for a decision",
                hint="waiting: " + ", ".join(waiting)
                if waiting
                else f"no step waits; `drorch status {execution_id}` shows the execution",
            )
        return [self._answer(g, decision, decided_by, reason) for g in gates]

    def expire_failure(
        self,
        execution_id: str,
        group_id: str,
        account_id: str,
        attempt: int,
        why: dict[str, Any],
    ) -> None:
        """A failure gate that got no decision (timed out) is recorded as expired; one a
        cancel answered keeps that answer."""
        for gate in self.open_gates(execution_id, "failure"):
            if (gate.get("groupId"), gate.get("accountId"), gate.get("attempt")) == (
                group_id,
                account_id,
                attempt,
            ):
                try:
                    self.history.decide_gate(
                        execution_id,
                        int(gate["gate"]),
                        "expired",
                        "drorch",
                        f"no decision: {why.get('decision')} {why.get('comment', '')}".strip(),
                    )
                except InvalidTransition:
                    pass  # decided at this very moment

    def pause(self, execution_id: str, requested_by: str) -> dict[str, Any]:
        """Ask the master to stop at the next wave boundary and wait for ``resume``."""
        self.history.set_flag(execution_id, "paused", True)
        return self.history.update_execution(
            execution_id, pausedBy=requested_by, pausedAt=clock.iso()
        )

    def resume(self, execution_id: str, requested_by: str) -> dict[str, Any]:
        """Clear the pause; if the master already waits on a resume gate, release it."""
        self.history.set_flag(execution_id, "paused", False)
        for gate in self.open_gates(execution_id, "resume"):
            self._answer(gate, RESUMED, requested_by, "")
        return self.history.update_execution(
            execution_id, resumedBy=requested_by, resumedAt=clock.iso()
        )

    def cancel(self, execution_id: str, requested_by: str, comment: str = "") -> dict[str, Any]:
        """Stop new work: no further wave starts; a waiting gate fails with ``Cancelled``."""
        self.history.set_flag(execution_id, "cancelRequested", True)
        self.history.update_execution(
            execution_id, cancelledBy=requested_by, cancelRequestedAt=clock.iso()
        )
        for gate in self.open_gates(execution_id):
            self._answer(gate, CANCELLED, requested_by, comment)
        return self.history.require_execution(execution_id)

    # --- answering a token ------------------------------------------------------------
    def _require(self, execution_id: str, number: int, decisions: str = "") -> dict[str, Any]:
        gate = self.history.gate(execution_id, number)
        if gate is None:
            open_numbers = [g["gate"] for g in self.open_gates(execution_id)]
            raise GateNotFound(
                f"execution {execution_id} has no gate {number}",
                hint=f"open gates: {', '.join(map(str, open_numbers))}"
                if open_numbers
                else "the execution waits on no gate",
            )
        if decisions and gate.get("kind") == "failure":
            raise InputError(
                f"gate {number} of execution {execution_id} is a failed step "
                f"({gate.get('step')}): it cannot be {decisions}d",
                hint=f"`drorch retry {execution_id} --step {gate.get('step')} --reason ...` "
                "or `drorch skip ...`; `drorch cancel` ends the execution",
            )
        return gate

    def _answer(
        self, gate: dict[str, Any], decision: str, decided_by: str, comment: str
    ) -> dict[str, Any]:
        execution_id, number = gate["executionId"], int(gate["gate"])
        decided = self.history.decide_gate(execution_id, number, decision, decided_by, comment)
        try:
            if decision in FAILURE_ANSWERS:
                self.sfn.send_task_success(
                    taskToken=gate["token"],
                    output=json.dumps(
                        {
                            "gate": number,
                            "decision": FAILURE_ANSWERS[decision],
                            "attempt": int(gate.get("attempt") or 1),
                            "decidedBy": decided_by,
                            "reason": comment,
                        }
                    ),
                )
            elif decision in (APPROVED, RESUMED):
                self.sfn.send_task_success(
                    taskToken=gate["token"],
                    output=json.dumps(
                        {"gate": number, "decision": decision, "decidedBy": decided_by}
                    ),
                )
            else:
                error = GateRejected.__name__ if decision == REJECTED else "Cancelled"
                why = f"gate {number} ({gate.get('kind')}) {decision} by {decided_by}"
                self.sfn.send_task_failure(
                    taskToken=gate["token"],
                    error=error,
                    cause=f"{why}: {comment}" if comment else why,
                )
        except ClientError as exc:
            if _error_code(exc) not in _GONE:
                raise
            self.history.put_gate(execution_id, number, closed=_error_code(exc))
            raise GateClosed(
                f"gate {number} of execution {execution_id} no longer waits "
                f"({_error_code(exc)}): the gate timed out or the execution ended",
                hint=f"see: drorch describe {execution_id}",
            ) from exc
        if decision in (APPROVED, RESUMED, *FAILURE_ANSWERS) and not self.open_gates(execution_id):
            self._move(execution_id, RUNNING)  # unless it still waits on another gate
        if self.publisher:
            execution = self.history.execution(execution_id) or {}
            self.publisher.publish(
                ev.GATE_DECIDED,
                {
                    "executionId": execution_id,
                    "application": execution.get("application"),
                    "operation": execution.get("operation"),
                    "gate": number,
                    "kind": gate.get("kind"),
                    "phase": gate.get("phase"),
                    "status": decision,
                    "decidedBy": decided_by,
                    "comment": comment,
                },
            )
        return decided
