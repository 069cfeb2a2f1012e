"""DRS recovery plans: ordered steps that launch source servers or wait, run as executions.

The shapes are the botocore ``drs`` model's (CreateRecoveryPlan, CreateRecoveryPlanStep,
StartRecoveryPlanExecution and the rest of the family). How an execution runs follows
the operations' documentation:

* a plan has up to 20 steps (``RecoveryPlanStepOrder``: 1-20); a step either launches
  servers (``serverStepConfiguration``) or waits (``waitStepConfiguration``,
  1-120 minutes);
* an execution runs the steps in order, in ``DRILL`` or ``RECOVERY`` mode: a server
  step starts one DRS launch job (``StartRecovery``, ``isDrill`` for a drill) and is
  ``EXECUTING`` until the job ends; a server that fails to launch fails the step when
  its ``impactLevel`` is ``CRITICAL`` (the default) and not when it is ``OPTIONAL``; a
  wait step is ``WAITING`` until its minutes have passed on the simulated clock;
* a failed step fails the execution (``FAILED``); ``RetryRecoveryPlanExecutionStep``
  runs it again (``attempt`` + 1); ``UpdateRecoveryPlanExecutionStep`` changes a step
  that has not started (or marks it ``SKIPPED``); ``CancelRecoveryPlanExecution``
  makes it ``CANCELLING`` and, once no job of it runs, ``CANCELLED`` with the steps
  not started ``SKIPPED``;
* a plan with a running execution cannot be deleted, nor can a running execution.

Progress is carried out lazily, like DRS jobs: every DRS request settles the backend,
which advances every execution to the current simulated time. A step that becomes
due starts when the sandbox next handles a DRS request (that is, at once in any
polling client).

The ARNs use the resource names ``recovery-plan/rp-…``, ``…/step/rps-…``,
``recovery-plan-execution/rpe-…`` and ``…/step/<index>`` (AWS does not document
them; they satisfy the model's ``StrictDRSARN`` pattern).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from drorch.sandbox.drs.exceptions import (
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
)
from drorch.sandbox.drs.util import iso, new_id
from drorch.sandbox.drs.validation import field_error

if TYPE_CHECKING:
    from drorch.sandbox.drs.models import DrsBackend

MAX_STEPS = 20
QUOTA_PLAN_STEPS = "sandbox-max-steps-per-recovery-plan"
RUNNING = ("CREATED", "IN_PROGRESS", "CANCELLING")


def _server_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


@dataclass
class PlanStep:
    arn: str
    name: str
    configuration: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    def describe(self, order: int) -> dict[str, Any]:
        return {
            "recoveryPlanStepArn": self.arn,
            "stepOrder": order,
            "stepName": self.name,
            "configuration": self.configuration,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
        }


@dataclass
class RecoveryPlan:
    arn: str
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    tags: dict[str, str]
    steps: list[PlanStep] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        item = {
            "recoveryPlanArn": self.arn,
            "name": self.name,
            "status": "ACTIVE",
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
        }
        return item

    def describe(self) -> dict[str, Any]:
        item = self.summary()
        if self.description is not None:
            item["description"] = self.description
        item["tags"] = dict(self.tags)
        return item


@dataclass
class ExecutionStep:
    arn: str
    index: int
    name: str
    servers: list[dict[str, Any]] | None  # server step: [{serverArn, impactLevel, jobID?}]
    wait_minutes: int | None  # wait step
    created_at: datetime
    updated_at: datetime
    status: str = "NOT_STARTED"
    attempt: int = 1
    job_id: str | None = None
    wait_until: datetime | None = None
    error: dict[str, str] | None = None

    def configuration(self) -> dict[str, Any]:
        if self.servers is not None:
            return {"executionServerStepConfiguration": {"servers": self.servers}}
        return {"waitStepConfiguration": {"waitDurationMinutes": self.wait_minutes}}

    def summary(self) -> dict[str, Any]:
        item = {
            "recoveryPlanExecutionStepArn": self.arn,
            "stepName": self.name,
            "stepIndex": self.index,
            "status": self.status,
            "configuration": self.configuration(),
        }
        if self.error:
            item["errorDetail"] = dict(self.error)
        return item

    def describe(self) -> dict[str, Any]:
        item = self.summary()
        item["attempt"] = self.attempt
        item["createdAt"] = iso(self.created_at)
        item["updatedAt"] = iso(self.updated_at)
        return item


@dataclass
class Execution:
    arn: str
    plan_arn: str
    mode: str
    started_at: datetime
    tags: dict[str, str]
    steps: list[ExecutionStep]
    snapshots: dict[str, str]  # sourceServerID -> recoverySnapshotID
    status: str = "IN_PROGRESS"
    completed_at: datetime | None = None
    error: dict[str, str] | None = None

    def summary(self) -> dict[str, Any]:
        item = {
            "recoveryPlanExecutionArn": self.arn,
            "recoveryPlanArn": self.plan_arn,
            "mode": self.mode,
            "status": self.status,
            "startedAt": iso(self.started_at),
        }
        if self.error:
            item["errorDetail"] = dict(self.error)
        return item

    def describe(self) -> dict[str, Any]:
        item = self.summary()
        if self.completed_at is not None:
            item["completedAt"] = iso(self.completed_at)
        item["tags"] = dict(self.tags)
        return item


class RecoveryPlans:
    """The recovery plans and their executions of one DRS backend (account and region)."""

    def __init__(self, backend: DrsBackend) -> None:
        self.backend = backend
        self.plans: dict[str, RecoveryPlan] = {}
        self.executions: dict[str, Execution] = {}
        self.tokens: dict[tuple[str, str], str] = {}  # (operation, clientToken) -> ARN

    # --- lookups --------------------------------------------------------------
    def plan(self, arn: str) -> RecoveryPlan:
        plan = self.plans.get(arn)
        if plan is None:
            raise ResourceNotFoundException(
                f"Recovery plan {arn} not found", resource_id=arn, resource_type="RECOVERY_PLAN"
            )
        return plan

    def plan_step(self, arn: str) -> tuple[RecoveryPlan, PlanStep]:
        for plan in self.plans.values():
            for step in plan.steps:
                if step.arn == arn:
                    return plan, step
        raise ResourceNotFoundException(
            f"Recovery plan step {arn} not found",
            resource_id=arn,
            resource_type="RECOVERY_PLAN_STEP",
        )

    def execution(self, arn: str) -> Execution:
        execution = self.executions.get(arn)
        if execution is None:
            raise ResourceNotFoundException(
                f"Recovery plan execution {arn} not found",
                resource_id=arn,
                resource_type="RECOVERY_PLAN_EXECUTION",
            )
        return execution

    def execution_step(self, arn: str) -> tuple[Execution, ExecutionStep]:
        for execution in self.executions.values():
            for step in execution.steps:
                if step.arn == arn:
                    return execution, step
        raise ResourceNotFoundException(
            f"Recovery plan execution step {arn} not found",
            resource_id=arn,
            resource_type="RECOVERY_PLAN_EXECUTION_STEP",
        )

    def tags_of(self, arn: str) -> dict[str, str] | None:
        if arn in self.plans:
            return self.plans[arn].tags
        if arn in self.executions:
            return self.executions[arn].tags
        return None

    # --- plans ----------------------------------------------------------------
    def create_plan(self, params: dict[str, Any]) -> dict[str, Any]:
        token = params.get("clientToken")
        if token and ("plan", token) in self.tokens:
            return self.plan(self.tokens[("plan", token)]).describe()
        if any(plan.name == params["name"] for plan in self.plans.values()):
            raise ConflictException(
                f"A recovery plan named {params['name']!r} already exists",
                resource_id=params["name"],
                resource_type="RECOVERY_PLAN",
            )
        now = self.backend.now()
        arn = self.backend.arn("recovery-plan", new_id("rp-"))
        plan = RecoveryPlan(
            arn, params["name"], params.get("description"), now, now, dict(params.get("tags") or {})
        )
        self.plans[arn] = plan
        if token:
            self.tokens[("plan", token)] = arn
        return plan.describe()

    def update_plan(self, params: dict[str, Any]) -> dict[str, Any]:
        plan = self.plan(params["recoveryPlanArn"])
        if "name" in params:
            plan.name = params["name"]
        if "description" in params:
            plan.description = params["description"]
        plan.updated_at = self.backend.now()
        return plan.describe()

    def _ensure_no_running_execution(self, plan: RecoveryPlan) -> None:
        for execution in self.executions.values():
            if execution.plan_arn == plan.arn and execution.status in RUNNING:
                raise ConflictException(
                    f"Recovery plan {plan.arn} has a running execution {execution.arn}",
                    resource_id=plan.arn,
                    resource_type="RECOVERY_PLAN",
                )

    def delete_plan(self, arn: str) -> None:
        plan = self.plan(arn)
        self._ensure_no_running_execution(plan)
        del self.plans[arn]

    def list_plans(self) -> list[dict[str, Any]]:
        return [plan.summary() for plan in self.plans.values()]

    # --- plan steps -------------------------------------------------------------
    def _step_configuration(self, configuration: dict[str, Any]) -> dict[str, Any]:
        servers = configuration.get("serverStepConfiguration")
        wait = configuration.get("waitStepConfiguration")
        if (servers is None) == (wait is None):
            raise field_error(
                "configuration",
                "set exactly one of serverStepConfiguration and waitStepConfiguration",
            )
        if wait is not None:
            return {"waitStepConfiguration": {"waitDurationMinutes": wait["waitDurationMinutes"]}}
        listed = []
        for index, server in enumerate(servers.get("servers") or []):
            arn = server["serverArn"]
            self._check_server(arn, f"configuration.serverStepConfiguration.servers[{index}]")
            item = {"serverArn": arn}
            if server.get("impactLevel"):
                item["impactLevel"] = server["impactLevel"]
            listed.append(item)
        if not listed:
            raise field_error("configuration.serverStepConfiguration.servers", "list a server")
        return {"serverStepConfiguration": {"servers": listed}}

    def _check_server(self, arn: str, where: str) -> None:
        backend = self.backend
        expected = backend.arn("source-server", _server_id(arn))
        if arn != expected or _server_id(arn) not in backend.source_servers:
            raise ResourceNotFoundException(
                f"{where}: source server {arn} not found in {backend.region_name}",
                resource_id=arn,
                resource_type="SOURCE_SERVER",
            )

    def create_step(self, params: dict[str, Any]) -> dict[str, Any]:
        plan = self.plan(params["recoveryPlanArn"])
        token = params.get("clientToken")
        if token and ("step", token) in self.tokens:
            _, step = self.plan_step(self.tokens[("step", token)])
            return step.describe(plan.steps.index(step) + 1)
        if len(plan.steps) >= MAX_STEPS:
            raise ServiceQuotaExceededException(
                f"A recovery plan has at most {MAX_STEPS} steps",
                quota_code=QUOTA_PLAN_STEPS,
                resource_type="RECOVERY_PLAN_STEP",
                resource_id=plan.arn,
            )
        configuration = self._step_configuration(params["configuration"])
        order = params.get("stepOrder") or len(plan.steps) + 1
        if order > len(plan.steps) + 1:
            raise field_error(
                "stepOrder",
                f"must be at most {len(plan.steps) + 1} (the plan has {len(plan.steps)} steps)",
            )
        now = self.backend.now()
        step = PlanStep(
            f"{plan.arn}/step/{new_id('rps-')}", params["stepName"], configuration, now, now
        )
        plan.steps.insert(order - 1, step)
        plan.updated_at = now
        if token:
            self.tokens[("step", token)] = step.arn
        return step.describe(order)

    def get_step(self, arn: str) -> dict[str, Any]:
        plan, step = self.plan_step(arn)
        return step.describe(plan.steps.index(step) + 1)

    def update_step(self, params: dict[str, Any]) -> dict[str, Any]:
        plan, step = self.plan_step(params["recoveryPlanStepArn"])
        if "stepName" in params:
            step.name = params["stepName"]
        if params.get("configuration") is not None:
            step.configuration = self._step_configuration(params["configuration"])
        step.updated_at = plan.updated_at = self.backend.now()
        return step.describe(plan.steps.index(step) + 1)

    def delete_step(self, arn: str) -> None:
        plan, step = self.plan_step(arn)
        plan.steps.remove(step)
        plan.updated_at = self.backend.now()

    def list_steps(self, plan_arn: str) -> list[dict[str, Any]]:
        plan = self.plan(plan_arn)
        return [step.describe(order) for order, step in enumerate(plan.steps, 1)]

    def reorder_steps(self, plan_arn: str, ordered: list[str]) -> list[dict[str, Any]]:
        plan = self.plan(plan_arn)
        current = {step.arn: step for step in plan.steps}
        if sorted(ordered) != sorted(current):
            raise field_error(
                "orderedStepArns", "list every step of the plan exactly once, in the new order"
            )
        plan.steps = [current[arn] for arn in ordered]
        plan.updated_at = self.backend.now()
        return self.list_steps(plan_arn)

    # --- executions -------------------------------------------------------------------
    def start_execution(self, params: dict[str, Any]) -> dict[str, Any]:
        plan = self.plan(params["recoveryPlanArn"])
        token = params.get("clientToken")
        if token and ("execution", token) in self.tokens:
            return self.execution(self.tokens[("execution", token)]).describe()
        if not plan.steps:
            raise field_error("recoveryPlanArn", f"recovery plan {plan.arn} has no steps")
        self._ensure_no_running_execution(plan)
        now = self.backend.now()
        arn = self.backend.arn("recovery-plan-execution", new_id("rpe-"))
        steps = []
        for index, plan_step in enumerate(plan.steps, 1):
            config = plan_step.configuration
            servers = config.get("serverStepConfiguration")
            steps.append(
                ExecutionStep(
                    arn=f"{arn}/step/{index}",
                    index=index,
                    name=plan_step.name,
                    servers=[dict(s) for s in servers["servers"]] if servers else None,
                    wait_minutes=(config.get("waitStepConfiguration") or {}).get(
                        "waitDurationMinutes"
                    ),
                    created_at=now,
                    updated_at=now,
                )
            )
        execution = Execution(
            arn=arn,
            plan_arn=plan.arn,
            mode=params["mode"],
            started_at=now,
            tags=dict(params.get("tags") or {}),
            steps=steps,
            snapshots={
                item["sourceServerID"]: item["recoverySnapshotID"]
                for item in params.get("sourceServers") or []
            },
        )
        self.executions[arn] = execution
        if token:
            self.tokens[("execution", token)] = arn
        self._advance(execution, now)
        return execution.describe()

    def list_executions(self, plan_arn: str | None, status: str | None) -> list[dict[str, Any]]:
        return [
            execution.summary()
            for execution in self.executions.values()
            if (not plan_arn or execution.plan_arn == plan_arn)
            and (not status or execution.status == status)
        ]

    def cancel_execution(self, arn: str) -> dict[str, Any]:
        execution = self.execution(arn)
        if execution.status not in RUNNING:
            raise ConflictException(
                f"Recovery plan execution {arn} is {execution.status}",
                resource_id=arn,
                resource_type="RECOVERY_PLAN_EXECUTION",
            )
        execution.status = "CANCELLING"
        self._advance(execution, self.backend.now())
        return execution.describe()

    def delete_execution(self, arn: str) -> None:
        execution = self.execution(arn)
        if execution.status in RUNNING:
            raise ConflictException(
                f"Recovery plan execution {arn} is still {execution.status}",
                resource_id=arn,
                resource_type="RECOVERY_PLAN_EXECUTION",
            )
        del self.executions[arn]

    def list_execution_steps(self, arn: str, status: str | None) -> list[dict[str, Any]]:
        execution = self.execution(arn)
        return [s.summary() for s in execution.steps if not status or s.status == status]

    def retry_step(self, arn: str) -> dict[str, Any]:
        execution, step = self.execution_step(arn)
        if step.status not in ("FAILED", "TIMED_OUT"):
            raise ConflictException(
                f"Step {arn} is {step.status}; only a FAILED or TIMED_OUT step can be retried",
                resource_id=arn,
                resource_type="RECOVERY_PLAN_EXECUTION_STEP",
            )
        now = self.backend.now()
        step.status, step.attempt, step.error, step.job_id = (
            "NOT_STARTED",
            step.attempt + 1,
            None,
            None,
        )
        step.updated_at = now
        execution.status, execution.error, execution.completed_at = "IN_PROGRESS", None, None
        self._advance(execution, now)
        return step.describe()

    def update_execution_step(self, params: dict[str, Any]) -> dict[str, Any]:
        execution, step = self.execution_step(params["recoveryPlanExecutionStepArn"])
        if step.status != "NOT_STARTED" or execution.status not in RUNNING:
            raise ConflictException(
                f"Step {step.arn} is {step.status}; only a step not started can be changed",
                resource_id=step.arn,
                resource_type="RECOVERY_PLAN_EXECUTION_STEP",
            )
        if params.get("servers") is not None:
            if step.servers is None:
                raise field_error("servers", "this is a wait step")
            for index, server in enumerate(params["servers"]):
                self._check_server(server["serverArn"], f"servers[{index}]")
            step.servers = [
                {k: v for k, v in s.items() if k in ("serverArn", "impactLevel")}
                for s in params["servers"]
            ]
        if params.get("waitDurationMinutes") is not None:
            if step.servers is not None:
                raise field_error("waitDurationMinutes", "this is a server step")
            step.wait_minutes = params["waitDurationMinutes"]
        if params.get("status") is not None:
            if params["status"] not in ("NOT_STARTED", "SKIPPED"):
                raise field_error("status", "a step not started can only be set to SKIPPED")
            step.status = params["status"]
        step.updated_at = self.backend.now()
        self._advance(execution, step.updated_at)
        return step.describe()

    # --- running ------------------------------------------------------------------------
    def advance(self, now: datetime) -> None:
        for execution in list(self.executions.values()):
            if execution.status in RUNNING:
                self._advance(execution, now)

    def _fail(
        self, execution: Execution, step: ExecutionStep, code: str, message: str, now: datetime
    ) -> None:
        step.status, step.updated_at = "FAILED", now
        step.error = {"code": code, "message": message}
        execution.status, execution.completed_at = "FAILED", now
        execution.error = {"code": code, "message": f"Step {step.index} ({step.name}): {message}"}

    def _advance(self, execution: Execution, now: datetime) -> None:
        backend = self.backend
        while execution.status in RUNNING:
            step = next(
                (s for s in execution.steps if s.status not in ("COMPLETED", "SKIPPED")), None
            )
            if execution.status == "CANCELLING":
                if step is not None and step.status == "EXECUTING":
                    job = backend.jobs.get(step.job_id or "")
                    if job is not None and job.active_at(now):
                        return  # the launch job finishes first
                    self._finish_server_step(execution, step, now)
                for pending in execution.steps:
                    if pending.status == "NOT_STARTED":
                        pending.status, pending.updated_at = "SKIPPED", now
                execution.status, execution.completed_at = "CANCELLED", now
                return
            if step is None:
                execution.status, execution.completed_at = "COMPLETED", now
                return
            if step.status == "NOT_STARTED":
                self._start(execution, step, now)
            elif step.status == "WAITING":
                if step.wait_until is not None and now >= step.wait_until:
                    step.status, step.updated_at = "COMPLETED", step.wait_until
                else:
                    return
            elif step.status == "EXECUTING":
                job = backend.jobs.get(step.job_id or "")
                if job is not None and job.active_at(now):
                    return
                self._finish_server_step(execution, step, now)
            else:  # FAILED / TIMED_OUT: the execution waits for a retry or ends
                return

    def _start(self, execution: Execution, step: ExecutionStep, now: datetime) -> None:
        step.updated_at = now
        if step.servers is None:
            step.status = "WAITING"
            step.wait_until = now + timedelta(minutes=step.wait_minutes or 0)
            return
        requested = []
        for server in step.servers:
            item = {"sourceServerID": _server_id(server["serverArn"])}
            snapshot = execution.snapshots.get(item["sourceServerID"])
            if snapshot:
                item["recoverySnapshotID"] = snapshot
            requested.append(item)
        try:
            job = self.backend.start_recovery(
                requested,
                execution.mode == "DRILL",
                {"recoveryPlanExecutionArn": execution.arn},
            )
        except Exception as error:  # noqa: BLE001 - a DRS error fails the step, as in AWS
            code = getattr(error, "code", type(error).__name__)
            self._fail(execution, step, str(code), str(error), now)
            return
        step.status, step.job_id = "EXECUTING", job["jobID"]
        for server in step.servers:
            server["jobID"] = job["jobID"]

    def _finish_server_step(self, execution: Execution, step: ExecutionStep, now: datetime) -> None:
        job = self.backend.jobs.get(step.job_id or "")
        launched = {
            p.source_server_id: p.launch_status for p in (job.participants.values() if job else [])
        }
        failed = [
            server["serverArn"]
            for server in step.servers or []
            if server.get("impactLevel", "CRITICAL") == "CRITICAL"
            and launched.get(_server_id(server["serverArn"])) != "LAUNCHED"
        ]
        if failed:
            self._fail(
                execution,
                step,
                "LAUNCH_FAILED",
                f"critical servers did not launch: {', '.join(_server_id(a) for a in failed)}",
                now,
            )
            return
        step.status, step.updated_at = "COMPLETED", now
