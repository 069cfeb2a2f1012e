"""The technology executor's two steps: start a module group's phase in one account, then
report its status until it is done.

Between the two, the module's state lives in S3 at
``executions/<id>/state/<groupId>/<accountId>/<phase>.json`` together with the
deadline and each resource's last known status, so the history gets one write per
resource status change (not per poll). No step sleeps or polls in a loop: the
state machine's Wait state does the waiting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from drorch import names
from drorch.engine import aws, clock, contracts, isolation
from drorch.engine import events as ev
from drorch.engine.discovery import load_group_in
from drorch.engine.runtime import Engine
from drorch.errors import DrorchError
from drorch.manifest import is_reference, resolve_parameters
from drorch.manifest.model import DEFAULT_APPROVAL_TIMEOUT_MINUTES
from drorch.manifest.references import walk
from drorch.modules.base import AccountContext, Resource, StatusResult, classify
from drorch.tags import OPTIONAL
from drorch.vocabulary import (
    BLOCKED,
    CLEANUP,
    DONE,
    FAILED,
    REPLICATE,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
)

SUMMARY_MAX = 2000
# how long a failed step (failurePolicy ask) or an approval step waits when nothing says
DECISION_TIMEOUT_MINUTES = DEFAULT_APPROVAL_TIMEOUT_MINUTES


def state_key(execution_id: str, group_id: str, account_id: str, phase: str) -> str:
    return names.state_key(execution_id, group_id, account_id, phase)


def idempotency_key(
    execution_id: str, phase: str, group_id: str, account_id: str, attempt: int = 1
) -> str:
    """The key a module tags its jobs with, so a retried start finds the first one; an
    operator's retry (``drorch retry``) is a new attempt with a key of its own."""
    key = f"{execution_id}/{phase}/{group_id}/{account_id}"
    return key if attempt <= 1 else f"{key}/attempt-{attempt}"


# which earlier runs a phase restores from (CLEANUP puts back what a drill or failover
# changed; REPLICATE, in a failback, what the failover changed)
RECORDED_BY: dict[str, tuple[str, ...]] = {
    CLEANUP: ("drill", "failover"),
    REPLICATE: ("failover",),
}
RECORDED_LOOKBACK = 20  # earlier executions of the application searched


def recorded_for(
    engine: Engine, execution: Mapping[str, Any], group_id: str, account_id: str, phase: str
) -> tuple[dict[str, dict[str, Any]], str]:
    """What the run a CLEANUP or REPLICATE follows recorded for this group in this account,
    and that run's id: the newest earlier execution of the application, of an operation
    the phase restores from, that recorded anything for the group there."""
    operations = RECORDED_BY.get(phase)
    if not operations:
        return {}, ""
    earlier = [
        e
        for e in engine.history.list_executions(
            application=execution["application"], limit=RECORDED_LOOKBACK + 1
        )
        if e["executionId"] != execution["executionId"]
        and e.get("operation") in operations
        and str(e.get("startedAt", "")) <= str(execution.get("startedAt", ""))
    ]
    earlier.sort(key=lambda e: str(e.get("startedAt", "")), reverse=True)
    for candidate in earlier[:RECORDED_LOOKBACK]:
        found = engine.history.recorded_details(candidate["executionId"], group_id, account_id)
        if found:
            return found, candidate["executionId"]
    return {}, ""


def account_context(
    engine: Engine,
    account_id: str,
    drill: bool,
    execution_id: str = "",
    recorded: tuple[Mapping[str, Mapping[str, Any]], str] = ({}, ""),
    operation: str = "",
) -> AccountContext:
    """Where a module runs: a staging account through its execution role, or the hub itself
    (``names.HUB_TARGET``, for steps such as HTTP checks)."""
    if account_id == names.HUB_TARGET:
        session = aws.hub_session()
        return AccountContext(
            session=session,
            account_id=names.HUB_TARGET,
            region=session.region_name or "",
            account_name="hub",
            drill=drill,
            now=clock.epoch(),
            execution_id=execution_id,
            recorded=dict(recorded[0]),
            recorded_from=recorded[1],
            operation=operation,
        )
    access = engine.accounts.get(account_id)
    if access is None:
        raise DrorchError(
            f"staging account {account_id} is not configured in this hub (DRORCH_ACCOUNTS)",
            hint=f"configured: {', '.join(sorted(engine.accounts)) or 'none'}",
        )
    return AccountContext(
        session=aws.assume(access, session_name="drorch-executor"),
        account_id=account_id,
        region=access.recovery_region,
        account_name=access.name,
        drill=drill,
        now=clock.epoch(),
        execution_id=execution_id,
        recorded=dict(recorded[0]),
        recorded_from=recorded[1],
        operation=operation,
    )


def read_state(
    engine: Engine, execution_id: str, group_id: str, account_id: str, phase: str
) -> dict[str, Any]:
    """What module_start saved for a group in an account and phase (module state and all)."""
    key = state_key(execution_id, group_id, account_id, phase)
    return json.loads(engine.s3.get_object(Bucket=engine.bucket, Key=key)["Body"].read())


def counts(resources: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    found = {"total": len(resources), "running": 0, "succeeded": 0, "failed": 0, "skipped": 0}
    for entry in resources.values():
        key = str(entry.get("status", "")).lower()
        if key in found:
            found[key] += 1
    return found


def _save(engine: Engine, key: str, saved: Mapping[str, Any]) -> None:
    engine.s3.put_object(
        Bucket=engine.bucket,
        Key=key,
        Body=json.dumps(saved, default=str).encode(),
        ContentType="application/json",
    )


def _resource_items(
    request: Mapping[str, Any], saved: Mapping[str, Any], ids: list[str]
) -> list[dict[str, Any]]:
    tracked = saved["resources"]
    return [
        {
            "phase": request["phase"],
            "groupId": request["groupId"],
            "accountId": request["accountId"],
            "wave": saved.get("wave", ""),
            "resourceId": resource_id,
            **tracked[resource_id],
        }
        for resource_id in ids
    ]


def _record(
    engine: Engine,
    request: Mapping[str, Any],
    saved: Mapping[str, Any],
    before: Mapping[str, str | None],
) -> list[dict[str, Any]]:
    """Write the changed resources' items, and count and log their changes in the
    progress of their phase and wave (step ``saved["step"]``: once, whatever the retries)."""
    items = _resource_items(request, saved, list(before))
    engine.history.put_resources(request["executionId"], items)
    engine.history.record_changes(
        request["executionId"],
        request["phase"],
        saved.get("wave", ""),
        request["groupId"],
        request["accountId"],
        [
            {
                "resourceId": item["resourceId"],
                "name": item.get("name"),
                "status": item["status"],
                "before": before[item["resourceId"]],
                "error": item.get("error"),
            }
            for item in items
        ],
        step=int(saved.get("step") or 1),
    )
    return items


def _answer(
    saved: Mapping[str, Any], status: str, poll_seconds: Any = None, **extra: Any
) -> contracts.ModuleAnswer:
    """The executor's answer. ``waitSeconds``: how long its Wait state waits before the
    next status (the poll interval, or what the module asks for); ``gate``: the module
    waits for a person (an approval step)."""
    state = saved.get("state") or {}
    asked = state.get("waitSeconds")
    gate = state.get("gate")
    waiting = status == RUNNING and bool(gate) and not state.get("decision")
    # failurePolicy ask: a failure waits for an operator (once per attempt; not after the
    # wait for the decision timed out or was cancelled)
    ask = status == FAILED and saved.get("failurePolicy") == "ask" and not saved.get("decided")
    minutes = saved.get("decisionTimeoutMinutes") if ask else (gate or {}).get("timeoutMinutes")
    answer = {
        "status": status,
        "deadline": saved["deadline"],
        "counts": counts(saved["resources"]),
        "waitSeconds": int(asked) if asked else max(0, int(poll_seconds or 0)),
        "gate": waiting,
        "gateTimeoutSeconds": max(1, int(minutes or DECISION_TIMEOUT_MINUTES) * 60),
        "ask": ask,
        "attempt": int(saved.get("attempt") or 1),
        "awaits": [],
    }
    answer.update({k: v for k, v in extra.items() if v is not None})
    return answer


def attempt_of(request: Mapping[str, Any]) -> int:
    """Which attempt a start is: 1, or after an operator's retry of attempt n (failure
    policy ask; the decision in the executor's state), n + 1."""
    decision = request.get("failureDecision")
    if isinstance(decision, Mapping) and decision.get("decision") == "retry":
        return int(decision.get("attempt") or 1) + 1
    return 1


def module_start(engine: Engine, request: Mapping[str, Any]) -> contracts.ModuleAnswer:
    """Start ``phase`` of a module group in one account; returns status, deadline and counts."""
    execution_id, group_id = request["executionId"], request["groupId"]
    account_id, phase = request["accountId"], request["phase"]
    execution = engine.history.require_execution(execution_id)
    drill = execution["operation"] == "drill"
    group = load_group_in(engine.s3, engine.bucket, execution_id, group_id, account_id)
    module = engine.modules[group["module"]]
    entries = group["resources"].get(account_id, [])
    attempt = attempt_of(request)
    retry, kept, before, step = attempt > 1, {}, {}, 1
    if retry:  # an operator's retry: the resources that did not succeed, again
        previous = read_state(engine, execution_id, group_id, account_id, phase)
        before = previous["resources"]
        step = int(previous.get("step") or 1) + 1  # progress steps go on counting
        again = [e for e in entries if before.get(e["id"], {}).get("status") != SUCCEEDED]
        if again:  # (a failure with every resource succeeded: all of them again)
            kept = {e["id"]: before[e["id"]] for e in entries if e not in again}
            entries = again
    started_at = clock.iso()
    deadline = clock.epoch() + int(group.get("timeoutMinutes") or 120) * 60
    tracked = {
        entry["id"]: {
            "name": entry.get("name", ""),
            "arn": entry.get("arn", ""),
            "status": RUNNING,
            "startedAt": started_at,
            **({"impact": OPTIONAL} if entry.get("impact") == OPTIONAL else {}),
        }
        for entry in entries
    }
    saved: dict[str, Any] = {
        "module": group["module"],
        "wave": group.get("wave", ""),
        "step": step,
        "startedAt": started_at,
        "deadline": deadline,
        "drill": drill,
        "operation": execution["operation"],
        "state": {},
        "resources": {**kept, **tracked},
        "attempt": attempt,
        "failurePolicy": group.get("failurePolicy", "fail"),
        "decisionTimeoutMinutes": group.get("decisionTimeoutMinutes"),
    }
    # each started resource's status before (None: new; a retried one's last status)
    was = {i: before.get(i, {}).get("status") for i in tracked}
    key = state_key(execution_id, group_id, account_id, phase)
    blocked = None if retry else isolation.member_blocked(engine, execution_id, phase, group)
    if blocked:  # failurePolicy isolate: its wave failed or is blocked
        return _not_run(engine, request, key, saved, blocked)
    if not entries:  # nothing to do here: done at once
        saved["finished"] = SUCCEEDED
        _save(engine, key, saved)
        engine.history.put_module(
            execution_id, phase, group_id, account_id,
            status=SUCCEEDED, startedAt=started_at, finishedAt=started_at, resources=0,
            summary="no resources",
        )  # fmt: skip
        return _answer(saved, SUCCEEDED, request.get("pollSeconds"))

    recorded = recorded_for(engine, execution, group_id, account_id, phase)
    ctx = account_context(
        engine, account_id, drill, execution_id, recorded, operation=execution["operation"]
    )
    params = dict(group.get("parameters") or {})
    resources = [Resource.from_dict(e, account_id, type=e.get("type", "")) for e in entries]
    if recorded[1]:
        saved["recordedFrom"] = recorded[1]
    refs = sorted({v for _, v in walk(params) if is_reference(v)})
    doing = f"resolving {', '.join(refs)}"
    try:
        if refs:
            params = resolve_parameters(params, ctx.client("ssm"), ctx.client("cloudformation"))
        doing = f"starting {phase}"
        saved["state"] = module.start(
            ctx,
            phase,
            resources,
            params,
            drill,
            idempotency_key(execution_id, phase, group_id, account_id, attempt),
        )
    except (DrorchError, ClientError) as exc:
        if isinstance(exc, ClientError) and classify(exc) == "retryable":
            raise  # the state machine retries throttling and 5xx
        return _start_failed(engine, request, key, saved, ctx, doing, exc, was)
    _save(engine, key, saved)
    _record(engine, request, saved, was)
    engine.history.put_module(
        execution_id, phase, group_id, account_id,
        status=RUNNING, startedAt=started_at, deadline=deadline, resources=len(saved["resources"]),
        recordedFrom=recorded[1] or None, attempt=attempt if retry else None,
        clear=FINISHED_FIELDS if retry else (),
    )  # fmt: skip
    if module.finished_at_start(phase, saved["state"]):
        # the calls finished in start (DRS launch settings): its status now, so the executor
        # goes to Done (or ModuleFailed) without a Wait
        return module_status(engine, request)
    awaits = module.awaits(phase, saved["state"])
    return _answer(saved, RUNNING, request.get("pollSeconds"), awaits=awaits)


# what a finished attempt recorded on the module item, cleared when an operator retries it
FINISHED_FIELDS = ("finishedAt", "summary", "reason", "counts", "optionalFailed")


def _not_run(
    engine: Engine, request: Mapping[str, Any], key: str, saved: dict[str, Any], why: str
) -> contracts.ModuleAnswer:
    """A member of a wave that failed (or is blocked) under failurePolicy isolate: not
    started, recorded BLOCKED with the reason."""
    now = clock.iso()
    summary = f"{BLOCKED}: not run, {why}"[:SUMMARY_MAX]
    saved.update(finished=BLOCKED, summary=summary, reason="blocked", finishedAt=now)
    _save(engine, key, saved)
    engine.history.put_module(
        request["executionId"], request["phase"], request["groupId"], request["accountId"],
        status=BLOCKED, finishedAt=now, resources=0, summary=summary, reason="blocked",
    )  # fmt: skip
    return _answer(saved, BLOCKED, request.get("pollSeconds"), summary=summary)


def _work_id(detail: Any) -> str | None:
    """The id of the service's job or execution a resource's detail names (None: none)."""
    if not isinstance(detail, Mapping):
        return None
    for key in ("jobId", "jobID", "executionId", "commandId"):
        if detail.get(key):
            return str(detail[key])
    return None


def _start_failed(
    engine: Engine,
    request: Mapping[str, Any],
    key: str,
    saved: dict[str, Any],
    ctx: AccountContext,
    doing: str,
    exc: Exception,
    was: Mapping[str, str | None],
) -> contracts.ModuleAnswer:
    """A start refused before (or while) changing anything: the group, its resources and
    the cause (which resource, call and reference) recorded as FAILED, not "did not run".
    ``was``: the resources started, with their status before (a retry keeps the others)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        what = f"{exc.operation_name}: {error.get('Code')}: {error.get('Message')}"
    else:
        what = str(exc)
    group_id, account_id = request["groupId"], request["accountId"]
    where = f"account {account_id} ({ctx.region})" if ctx.region else f"account {account_id}"
    cause = f"{group_id} in {where}, {doing}: {what}"[: SUMMARY_MAX - 8]
    now = clock.iso()
    for resource_id in was:
        saved["resources"][resource_id].update(status=FAILED, error=cause[:500], finishedAt=now)
    summary = f"FAILED: {cause}"
    saved.update(finished=FAILED, summary=summary, reason="start-failed", finishedAt=now)
    _save(engine, key, saved)
    execution_id, phase = request["executionId"], request["phase"]
    tracked = saved["resources"]
    _record(engine, request, saved, dict(was))
    engine.history.put_module(
        execution_id, phase, group_id, account_id,
        status=FAILED, startedAt=saved["startedAt"], finishedAt=now, resources=len(tracked),
        summary=summary, reason="start-failed", counts=counts(tracked),
    )  # fmt: skip
    return _answer(saved, FAILED, request.get("pollSeconds"), summary=summary)


def _apply(saved: dict[str, Any], result: StatusResult, now: str) -> dict[str, str | None]:
    """Fold a module status into the tracked resources; returns the ids that changed, each
    with its status before (None: a resource the module reported for the first time)."""
    tracked = saved["resources"]
    changed: dict[str, str | None] = {}
    for res in result.resources:
        known = res.id in tracked
        entry = tracked.setdefault(res.id, {"name": res.name, "arn": "", "startedAt": now})
        before = (entry.get("status"), entry.get("error"), entry.get("detail"))
        entry["name"] = res.name or entry.get("name", "")
        entry["status"] = res.status
        entry["detail"] = res.detail
        if res.error:
            entry["error"] = res.error
        if res.status in DONE and not entry.get("finishedAt"):
            entry["finishedAt"] = now
        if (entry.get("status"), entry.get("error"), entry.get("detail")) != before:
            changed[res.id] = before[0] if known else None
    return changed


OPTIONAL_LISTED = 20  # optional failures named on the module item (then a count)


def optional_failures(resources: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The rule for resources tagged ``dr:impact=optional``, the same for every module: when
    a finished group failed only because optional resources failed (every critical one
    succeeded or was skipped), each of those as ``name: error``; otherwise (a critical
    resource failed or is unfinished, or no resource failed: the module's own failure) []."""
    failed = []
    for resource_id, entry in resources.items():
        status = entry.get("status")
        if status in (SUCCEEDED, SKIPPED):
            continue
        if status != FAILED or entry.get("impact") != OPTIONAL:
            return []
        failed.append(f"{entry.get('name') or resource_id}: {entry.get('error') or 'failed'}")
    if len(failed) > OPTIONAL_LISTED:
        failed[OPTIONAL_LISTED:] = [f"... and {len(failed) - OPTIONAL_LISTED} more"]
    return failed


def module_status(engine: Engine, request: Mapping[str, Any]) -> contracts.ModuleAnswer:
    """Where the phase is: RUNNING, SUCCEEDED or FAILED (``reason: timeout`` past the deadline)."""
    execution_id, group_id = request["executionId"], request["groupId"]
    account_id, phase = request["accountId"], request["phase"]
    key = state_key(execution_id, group_id, account_id, phase)
    saved = read_state(engine, execution_id, group_id, account_id, phase)
    poll = request.get("pollSeconds")
    decided = _failure_decided(engine, request, key, saved)
    if decided is not None:
        return decided
    if saved.get("finished"):  # a retried status call after the end: same answer
        return _answer(
            saved,
            saved["finished"],
            poll,
            summary=saved.get("summary"),
            reason=saved.get("reason"),
        )
    if request.get("decision") is not None and (saved.get("state") or {}).get("gate"):
        saved["state"]["decision"] = gate_decision(request["decision"])
    now = clock.iso()
    reason = None
    awaits = None
    if clock.epoch() > saved["deadline"]:
        changed: dict[str, str | None] = {}
        for resource_id, entry in saved["resources"].items():
            if entry.get("status") not in DONE:
                changed[resource_id] = entry.get("status")
                entry.update(status=FAILED, error="timeout", finishedAt=now)
                job = _work_id(entry.get("detail"))
                if job:  # the service's job goes on: its id is kept, as orphaned
                    entry.update(orphanedJobId=job, error=f"timeout; job {job} was still running")
        status, reason = FAILED, "timeout"
        minutes = (saved["deadline"] - clock.epoch(clock.parse(saved["startedAt"]))) // 60
        summary = f"FAILED: timeout after {minutes} min; {len(changed)} resource(s) unfinished"
    else:
        module = engine.modules[saved["module"]]
        recorded = ({}, "")
        if saved.get("recordedFrom"):
            found = engine.history.recorded_details(saved["recordedFrom"], group_id, account_id)
            recorded = (found, saved["recordedFrom"])
        ctx = account_context(
            engine,
            account_id,
            bool(saved.get("drill")),
            execution_id,
            recorded,
            operation=saved.get("operation", ""),
        )
        result = module.status(ctx, phase, saved["state"])
        saved["state"] = result.state
        if result.status == RUNNING:
            awaits = module.awaits(phase, result.state)
        changed = _apply(saved, result, now)
        status, summary = result.status, result.summary()
    optional = optional_failures(saved["resources"]) if status == FAILED else []
    if optional:  # only dr:impact=optional resources failed: the group succeeds, with a warning
        status, reason = SUCCEEDED, None
        summary = f"{SUCCEEDED}: {summary.removeprefix(f'{FAILED}: ')} (failed: optional only)"
    summary = summary[:SUMMARY_MAX]
    if status != RUNNING:
        saved.update(finished=status, summary=summary, reason=reason, finishedAt=now)
    if changed:
        saved["step"] = int(saved.get("step") or 1) + 1
    _save(engine, key, saved)
    if changed:
        items = _record(engine, request, saved, changed)
        engine.publisher.publish_many(
            ev.RESOURCE_STATUS,
            [
                {
                    "executionId": execution_id,
                    "phase": phase,
                    "groupId": group_id,
                    "accountId": account_id,
                    "resourceId": item["resourceId"],
                    "name": item.get("name"),
                    "status": item["status"],
                    "error": item.get("error"),
                }
                for item in items
            ],
        )
    if status != RUNNING:
        engine.history.put_module(
            execution_id, phase, group_id, account_id,
            status=status, finishedAt=now, summary=summary, reason=reason,
            counts=counts(saved["resources"]), optionalFailed=optional or None,
        )  # fmt: skip
    return _answer(saved, status, poll, summary=summary, reason=reason, awaits=awaits)


def _failure_decided(
    engine: Engine, request: Mapping[str, Any], key: str, saved: dict[str, Any]
) -> contracts.ModuleAnswer | None:
    """The operator's answer to a failed step that asked (failurePolicy ask), applied once:
    ``skip`` records it SKIPPED (its wave goes on); a wait that timed out or was cancelled
    records that, and the step stays FAILED. None: no decision for this attempt."""
    decision = request.get("failureDecision")
    attempt = int(saved.get("attempt") or 1)
    if not isinstance(decision, Mapping) or saved.get("finished") != FAILED:
        return None
    if saved.get("failurePolicy") != "ask" or saved.get("decided"):
        return None
    execution_id, phase = request["executionId"], request["phase"]
    group_id, account_id = request["groupId"], request["accountId"]
    poll = request.get("pollSeconds")
    if "Error" in decision:  # no decision in time, or cancelled: the history says which
        why = gate_decision(decision)
        waited = int(saved.get("decisionTimeoutMinutes") or DECISION_TIMEOUT_MINUTES)
        undecided = (
            f"no retry or skip within {waited} min"
            if why["decision"] == "timed out"
            else f"no retry or skip ({why['decision']})"
        )
        summary = f"{saved.get('summary') or FAILED}; {undecided}"[:SUMMARY_MAX]
        saved.update(decided=why["decision"], summary=summary, reason="undecided")
        _save(engine, key, saved)
        engine.gates().expire_failure(execution_id, group_id, account_id, attempt, why)
        engine.history.put_module(
            execution_id, phase, group_id, account_id,
            status=FAILED, summary=summary, reason="undecided",
        )  # fmt: skip
        return _answer(saved, FAILED, poll, summary=summary, reason="undecided")
    if decision.get("decision") != "skip" or int(decision.get("attempt") or 0) != attempt:
        return None  # a retry's decision, still in the state: it was for an earlier attempt
    who, reason = str(decision.get("decidedBy") or "unknown"), str(decision.get("reason") or "")
    now = clock.iso()
    failed = str(saved.get("summary") or "").removeprefix(f"{FAILED}: ")
    summary = f"{SKIPPED}: skipped by {who}" + (f" ({reason})" if reason else "")
    summary = f"{summary}; attempt {attempt} had failed: {failed}"[:SUMMARY_MAX]
    saved.update(finished=SKIPPED, decided="skipped", summary=summary, reason="skipped")
    _save(engine, key, saved)
    engine.history.put_module(
        execution_id, phase, group_id, account_id,
        status=SKIPPED, finishedAt=now, summary=summary, reason="skipped",
        skippedBy=who, skipReason=reason,
    )  # fmt: skip
    return _answer(saved, SKIPPED, poll, summary=summary, reason="skipped")


def gate_decision(answer: Any) -> dict[str, Any]:
    """An approval step's gate answer as the module reads it: the task's output on
    approval, or the Catch's ``{"Error", "Cause"}`` on rejection or timeout."""
    if isinstance(answer, Mapping) and "Error" in answer:
        error = str(answer.get("Error"))
        decision = {"GateRejected": "rejected", "States.Timeout": "timed out"}.get(
            error, "cancelled" if error == "Cancelled" else error
        )
        return {"decision": decision, "comment": str(answer.get("Cause") or "")[:500]}
    if isinstance(answer, Mapping):
        return {
            "decision": str(answer.get("decision") or "approved"),
            "by": answer.get("decidedBy"),
            "at": clock.iso(),
        }
    return {"decision": "approved", "at": clock.iso()}
