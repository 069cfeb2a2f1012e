"""Make the history and the locks agree with what Step Functions says really happened.

An execution can end without drorch's own fail path running: stopped from the console
or with ``StopExecution``, timed out, or failed while the history store was denied or
throttled. Two ways in, one logic:

* the ``drorch-reconcile`` function, on the EventBridge rule for the master machine's
  status changes (``aws.states`` / "Step Functions Execution Status Change");
* ``drorch reconcile``, which sweeps every unfinished history record and every lock.

Each repair says what it did: the history's end status and reason, waves and resources
closed (running DRS jobs kept as orphaned ids), open gates expired, the lock released.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from drorch.engine import events as ev
from drorch.engine.errors import InvalidTransition
from drorch.engine.history import History
from drorch.engine.lock import ApplicationLock
from drorch.vocabulary import (
    CANCELLED,
    FAILED,
    PAUSED,
    PENDING,
    RUNNING,
    SUCCEEDED,
    TERMINAL,
    WAITING_APPROVAL,
)

log = logging.getLogger(__name__)

# Step Functions' end states -> drorch's
MACHINE_END = {"ABORTED": CANCELLED, "FAILED": FAILED, "TIMED_OUT": FAILED, "SUCCEEDED": SUCCEEDED}
MACHINE_ERROR = {
    "ABORTED": "ExecutionStopped",
    "FAILED": "ExecutionFailed",
    "TIMED_OUT": "ExecutionTimedOut",
    "SUCCEEDED": "HistoryIncomplete",
}


@dataclass
class Repair:
    execution_id: str
    actions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"executionId": self.execution_id, "actions": list(self.actions)}


def _close_progress(history: History, execution_id: str, status: str, why: str) -> list[str]:
    done: list[str] = []
    for wave in history.waves(execution_id):
        if wave.get("status") == RUNNING:
            history.wave_finished(execution_id, wave["phase"], wave["level"], wave["wave"], status)
            done.append(f"wave {wave['wave']} ({wave['phase']}) closed as {status}")
    for gate in history.gates(execution_id):
        if "decision" not in gate:
            try:
                history.decide_gate(execution_id, int(gate["gate"]), "expired", "drorch", why)
                done.append(f"gate {gate['gate']} expired")
            except InvalidTransition:
                pass
    closed, orphans = [], []
    for item in history.resources(execution_id):
        if item.get("status") != RUNNING:
            continue
        detail = item.get("detail") if isinstance(item.get("detail"), dict) else {}
        orphan = next((str(detail[k]) for k in ("jobID", "jobId") if detail.get(k)), None)
        if orphan:
            orphans.append(orphan)
        closed.append(
            {
                **{k: v for k, v in item.items() if k not in ("pk", "sk", "executionId")},
                "status": status,
                "error": f"the execution ended while this was running ({why})"[:500],
                **({"orphanedJobId": orphan} if orphan else {}),
            }
        )
    if closed:
        history.put_closed(execution_id, closed)
        done.append(f"{len(closed)} running resource(s) closed as {status}")
    if orphans:
        done.append(f"orphaned job(s) recorded: {', '.join(sorted(set(orphans)))}")
    return done


def reconcile_execution(
    history: History,
    lock: ApplicationLock,
    execution_id: str,
    machine_status: str,
    *,
    error: str = "",
    cause: str = "",
    application: str = "",
    publisher: ev.Publisher | None = None,
) -> Repair:
    """Repair one execution whose Step Functions execution ended as ``machine_status``."""
    repair = Repair(execution_id)
    if machine_status not in MACHINE_END:  # still RUNNING (or PENDING_REDRIVE): nothing to do
        return repair
    item = history.execution(execution_id)
    application = (item or {}).get("application") or application
    if item is not None and item["status"] not in TERMINAL:
        status = MACHINE_END[machine_status]
        error = error or MACHINE_ERROR[machine_status]
        cause = cause or (
            f"the Step Functions execution ended {machine_status} without drorch recording it"
            " (stopped from outside, timed out, or the history store was unavailable)"
        )
        try:
            history.set_status(execution_id, status, error=error, cause=cause[:1000])
        except InvalidTransition:  # changed meanwhile
            pass
        repair.actions.append(f"history: {item['status']} -> {status} ({error})")
        repair.actions += _close_progress(history, execution_id, status, f"{error}: {cause}"[:300])
        if publisher is not None:
            detail = {
                "executionId": execution_id,
                "application": application,
                "operation": item.get("operation"),
                "status": status,
                "error": error,
                "cause": cause,
            }
            publisher.publish(ev.EXECUTION_STATUS, detail)
    if application and lock.release(application, execution_id):
        repair.actions.append(f"lock on {application} released")
    return repair


def _machine_status(sfn: Any, master_arn: str, execution_id: str) -> dict[str, Any] | None:
    arn = master_arn.replace(":stateMachine:", ":execution:") + f":{execution_id}"
    try:
        return sfn.describe_execution(executionArn=arn)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ExecutionDoesNotExist":
            return None
        raise


def sweep(
    history: History,
    lock: ApplicationLock,
    sfn: Any,
    master_arn: str,
    *,
    publisher: ev.Publisher | None = None,
    limit: int = 1000,
) -> list[Repair]:
    """Every unfinished history record and every lock, checked against Step Functions."""
    repairs: list[Repair] = []
    seen: set[str] = set()
    for status in (PENDING, RUNNING, PAUSED, WAITING_APPROVAL):
        for item in history.list_executions(status=status, limit=limit):
            execution_id = item["executionId"]
            seen.add(execution_id)
            machine = _machine_status(sfn, master_arn, execution_id)
            machine_status = machine["status"] if machine else "FAILED"
            repair = reconcile_execution(
                history,
                lock,
                execution_id,
                machine_status,
                error="" if machine else "ExecutionNotFound",
                cause=(machine or {}).get("cause", "")
                or ("" if machine else "no Step Functions execution with this id"),
                publisher=publisher,
            )
            if repair.actions:
                repairs.append(repair)
    for held in _locks(lock):
        execution_id, application = held.get("executionId", ""), held.get("application", "")
        if execution_id in seen:
            continue
        record = history.execution(execution_id)
        if record is not None and record["status"] not in TERMINAL:
            continue
        machine = _machine_status(sfn, master_arn, execution_id)
        if machine is not None and machine["status"] == "RUNNING":
            continue  # starting: the record is written right after the lock
        if lock.release(application, execution_id):
            state = record["status"] if record else "not in the history"
            repairs.append(
                Repair(execution_id, [f"stale lock on {application} released (execution {state})"])
            )
    return repairs


def _locks(lock: ApplicationLock) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = lock.table.scan(**kwargs)
        found.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
