"""The master state machine's steps, one function per Lambda handler.

Each takes the :class:`~drorch.engine.runtime.Engine` and the state's input and
returns the small JSON payload of docs/engine-design.md. Every step is safe to
retry: Step Functions retries Lambda tasks on service errors and throttling.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from drorch import names
from drorch.engine import clock, contracts, discovery, isolation, preconditions, readiness
from drorch.engine import events as ev
from drorch.engine import plan as planning
from drorch.engine import predict as predicting
from drorch.engine import report as reporting
from drorch.engine.errors import Cancelled, InvalidTransition, ManifestInvalid, WaveFailed
from drorch.engine.executor import read_state
from drorch.engine.gates import step_id
from drorch.engine.history import (
    CANCELLED,
    FAILED,
    RUNNING,
    SUCCEEDED,
    TERMINAL,
    ExecutionNotFound,
)
from drorch.engine.runtime import Engine
from drorch.errors import InputError
from drorch.vocabulary import BLOCKED, SKIPPED

log = logging.getLogger(__name__)
CAUSE_MAX = 4000
# a member's outcomes that do not fail its wave: succeeded, skipped by an operator (failure
# policy ask), not run because its wave failed under isolate (the failure is its sibling's)
DONE_OK = frozenset({SUCCEEDED, SKIPPED, BLOCKED})


def _execution_detail(execution: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    detail = {
        "executionId": execution.get("executionId"),
        "application": execution.get("application"),
        "operation": execution.get("operation"),
        "status": execution.get("status"),
        "startedAt": execution.get("startedAt"),
        "finishedAt": execution.get("finishedAt"),
        "requestedBy": execution.get("requestedBy"),
    }
    detail.update(extra)
    return {k: v for k, v in detail.items() if v is not None}


def _publisher(engine: Engine, execution: Mapping[str, Any]) -> ev.Publisher:
    """The hub's publisher, plus the manifest's own topic when it names one."""
    topic = execution.get("notificationTopic")
    if not topic:
        return engine.publisher
    base = engine.publisher
    return ev.Publisher(base.events, base.sns, base.bus, base.topic_arn, (topic,))


# --- 1. initialise -------------------------------------------------------------------------
def initialise(engine: Engine, event: Mapping[str, Any]) -> contracts.InitialiseAnswer:
    """Load and validate the manifest, record the execution, take the application's lock."""
    execution_id = event["executionId"]
    problem = names.execution_id_problem(execution_id)
    if problem:  # child executions are named after it (names.child_execution_name)
        raise ManifestInvalid(f"execution id {execution_id!r} {problem}")
    operation = event["operation"]
    ref = dict(event["manifest"])
    manifest = engine.manifest(ref)
    try:
        phases = list(manifest.phases_for(operation))
    except InputError as exc:  # unknown operation, or no phase for it
        raise ManifestInvalid(str(exc)) from exc
    requested = event.get("application")
    if requested and requested != manifest.application:
        raise ManifestInvalid(
            f"the execution was started for application {requested!r} but the manifest "
            f"describes {manifest.application!r}"
        )
    poll_seconds = event.get("pollSeconds")
    poll_seconds = manifest.poll_seconds if poll_seconds is None else int(poll_seconds)
    execution = engine.history.create_execution(
        execution_id,
        application=manifest.application,
        operation=operation,
        requested_by=event.get("requestedBy") or "unknown",
        manifest=ref,
        status=RUNNING,
        phases=phases,
        pollSeconds=poll_seconds,
        drill=operation == planning.DRILL,
        notificationTopic=manifest.notifications.sns_topic_arn,
        force=bool(event.get("force")),  # readiness BLOCKERs do not stop it (engine/readiness)
    )
    engine.lock.acquire(manifest.application, execution_id)
    _publisher(engine, execution).publish(ev.EXECUTION_STATUS, _execution_detail(execution))
    return {
        "executionId": execution_id,
        "application": manifest.application,
        "operation": operation,
        "phases": phases,
        "pollSeconds": poll_seconds,
        "startedAt": execution["startedAt"],
        # where the Discover Map discovers, one account each
        "accounts": discovery.accounts_in_scope(manifest, engine.accounts),
    }


# --- 2. discover ------------------------------------------------------------------------------
def discover(engine: Engine, event: Mapping[str, Any]) -> contracts.DiscoverAnswer:
    """With ``accountId`` (the master's Discover Map, one account each): that account's
    discovery, a part per group to S3, merged by the plan step. Without: every account."""
    execution_id = event["executionId"]
    execution = engine.history.require_execution(execution_id)
    manifest = engine.manifest(execution["manifest"], validated=True)
    if event.get("accountId"):
        access = engine.accounts.get(event["accountId"])
        if access is None:
            raise InputError(
                f"discover: staging account {event['accountId']} is not configured in this hub",
                hint=f"configured: {', '.join(sorted(engine.accounts)) or 'none'}",
            )
        return discovery.discover_account(  # type: ignore[return-value]
            execution_id, manifest, access, engine.modules, engine.s3, engine.bucket
        )
    summary = discovery.discover(
        execution_id, manifest, engine.accounts, engine.modules, engine.s3, engine.bucket
    )
    return _discovered(engine, execution_id, summary)


def _discovered(
    engine: Engine, execution_id: str, summary: discovery.DiscoverySummary
) -> contracts.DiscoverAnswer:
    result: contracts.DiscoverAnswer = {
        "discovered": summary.discovered,
        "excluded": summary.excluded,
        "skipped": summary.skipped,
    }
    engine.history.update_execution(execution_id, **result)
    return result


# --- 3. plan ----------------------------------------------------------------------------------
def plan(engine: Engine, event: Mapping[str, Any]) -> contracts.PlanAnswer:
    execution_id = event["executionId"]
    execution = engine.history.require_execution(execution_id)
    manifest = engine.manifest(execution["manifest"], validated=True)
    if isinstance(event.get("discovery"), list):  # the Discover Map's parts: merged here
        summary = discovery.discover(
            execution_id,
            manifest,
            engine.accounts,
            engine.modules,
            engine.s3,
            engine.bucket,
            from_parts=True,
        )
        _discovered(engine, execution_id, summary)
        found = {group_id: g.to_dict() for group_id, g in summary.groups.items()}
    else:
        found = {
            group.id: discovery.load_group(engine.s3, engine.bucket, execution_id, group.id)
            for group in manifest.groups
        }
    full = planning.build_plan(
        manifest,
        execution["operation"],
        modules=engine.modules,
        execution_id=execution_id,
        **discovery.plan_inputs(found),
    )
    full["prediction"] = predicting.for_execution(engine.history, execution, full)
    engine.history.update_execution(
        execution_id, predictedRto=predicting.summary(full["prediction"])
    )
    planning.write_plan(engine.s3, engine.bucket, execution_id, full)
    planning.check_payload(full)  # what the master carries stays under 64 KiB
    planning.check_plan(full)  # nothing has changed yet: a selector matching nothing ends it here
    preconditions.check(engine, execution, full)  # nothing to fail back or clean: refused here
    for phase in full["phases"]:
        for level in phase["levels"]:
            for wave in level["waves"]:
                engine.history.plan_wave(
                    execution_id,
                    phase["phase"],
                    level["level"],
                    wave,
                    full["waves"][wave]["rtoTargetMinutes"],
                )
    # the readiness shards (pages of each account's resources): the master's Readiness Map
    shards = readiness.shards({g: found[g] for g in full["groups"] if g in found})
    return {**planning.payload(full), "readiness": shards}


# --- 4. gates ---------------------------------------------------------------------------------
def gate(engine: Engine, event: Mapping[str, Any]) -> contracts.GateAnswer:
    """Persist the task token of a gate (``.waitForTaskToken``); the answer comes from a person."""
    execution_id = event["executionId"]
    kind = event["kind"]
    level = event.get("level")
    if isinstance(level, Mapping):
        level = level.get("level")
    approvers: list[str] = []
    timeout = None
    step = None
    position = event.get("position")
    if kind == "approval":
        full = planning.read_plan(engine.s3, engine.bucket, execution_id)
        approvers = full["approval"]["approvers"]
        timeout = full["approval"]["timeoutMinutes"]
    elif kind == "step":  # an approval step: what it asks is in its module state
        saved = read_state(
            engine, execution_id, event["groupId"], event["accountId"], event["phase"]
        )
        asked = saved["state"].get("gate") or {}
        approvers = asked.get("approvers") or []
        timeout = asked.get("timeoutMinutes")
        position = f"step {event['groupId']} in {event['accountId']}: {asked.get('message', '')}"
    elif kind == "failure":  # failurePolicy ask: a failed step waits for retry or skip
        group_id, account_id = event["groupId"], event["accountId"]
        saved = read_state(engine, execution_id, group_id, account_id, event["phase"])
        attempt = int(event.get("attempt") or saved.get("attempt") or 1)
        timeout = saved.get("decisionTimeoutMinutes")
        step = {
            "groupId": group_id,
            "accountId": account_id,
            "attempt": attempt,
            "step": step_id(group_id, account_id),
        }
        position = f"attempt {attempt} failed: {saved.get('summary') or 'FAILED'}"[:CAUSE_MAX]
    opened = engine.gates().open(
        execution_id,
        kind,
        event["token"],
        phase=event.get("phase"),
        level=level,
        position=position,
        approvers=approvers,
        timeout_minutes=timeout,
        step=step,
    )
    return {"gate": opened["gate"], "kind": kind}


# --- 5. checkpoints around a wave level -------------------------------------------------------
def _level_input(event: Mapping[str, Any]) -> tuple[int, list[str] | None]:
    level = event["level"]
    if isinstance(level, Mapping):
        return int(level["level"]), list(level.get("waves", [])) or None
    return int(level), list(event["waves"]) if event.get("waves") else None


def checkpoint(engine: Engine, event: Mapping[str, Any]) -> dict[str, Any]:
    action = event["action"]
    if action == "before-level":
        return before_level(engine, event)
    if action == "current-level":
        return current_level(engine, event)
    if action == "after-level":
        return after_level(engine, event)
    if action == "after-groups":
        return after_groups(engine, event)
    if action == "after-step":
        return after_step(engine, event)
    raise ValueError(
        f"unknown checkpoint action {action!r}; "
        "expected before-level, current-level, after-step, after-groups or after-level"
    )


def current_level(engine: Engine, event: Mapping[str, Any]) -> dict[str, Any]:
    """The level's state with the level as the plan stands now: a plan edit (``drorch plan
    edit``) may have changed waves not started yet. Runs after ``before-level`` marked the
    level's waves started, so an edit either committed before (and is read here) or is
    refused (its conditional write sees them started)."""
    state = dict(event["state"])
    execution = engine.history.require_execution(state["executionId"])
    revision = execution.get("planRevision")
    if not revision:
        return state  # never edited: the level as the plan step made it
    level, _ = _level_input(state)
    full = planning.read_plan(engine.s3, engine.bucket, state["executionId"], revision)
    state["level"] = planning.level_of(full, state["phase"], level)
    return state


def after_step(engine: Engine, event: Mapping[str, Any]) -> contracts.FailedAnswer:
    """Whether a wave action failed in one of its accounts (the next one must not run if so
    and its policy is ``fail``)."""
    execution_id, phase, group_id = event["executionId"], event["phase"], event["groupId"]
    results = {
        m["accountId"]: m.get("status")
        for m in engine.history.modules(execution_id, phase)
        if m["groupId"] == group_id
    }
    failed = sorted(a for a in event["accounts"] if results.get(a) not in DONE_OK)
    return {"failed": bool(failed), "accounts": failed}


def after_groups(engine: Engine, event: Mapping[str, Any]) -> contracts.FailedAnswer:
    """Whether a module group of the level failed: then the post-wave actions and health
    checks do not run (the after-level checkpoint applies the failure policy). An optional
    (or ``continue``) group's failure does not count, nor one in an ``isolate`` wave: that
    wave's own actions and checks do not start (module_start), the other waves' do."""
    execution_id, phase = event["executionId"], event["phase"]
    level, _ = _level_input(event)
    revision = engine.history.require_execution(execution_id).get("planRevision")
    full = planning.read_plan(engine.s3, engine.bucket, execution_id, revision)
    planned = event["level"] if isinstance(event.get("level"), Mapping) else None
    if planned is None or "groups" not in planned:
        planned = planning.level_of(full, phase, level)
    kinds, waves = full.get("groups", {}), full.get("waves", {})

    def counts(group_id: str) -> bool:
        kind = kinds.get(group_id, {})
        policy = waves.get(kind.get("wave"), {}).get("failurePolicy")
        return kind.get("failurePolicy") != "continue" and policy != isolation.ISOLATE

    results = {
        (m["groupId"], m["accountId"]): m.get("status")
        for m in engine.history.modules(execution_id, phase)
    }
    failed = [
        f"{g['groupId']} in {a}"
        for g in planned["groups"]
        for a in g["accounts"]
        if results.get((g["groupId"], a)) not in DONE_OK and counts(g["groupId"])
    ]
    return {"failed": bool(failed), "groups": failed[:20]}


def before_level(engine: Engine, event: Mapping[str, Any]) -> contracts.BeforeLevelAnswer:
    """Pause and cancel flags at a wave boundary; marks the level's waves RUNNING when it goes."""
    execution_id, phase = event["executionId"], event["phase"]
    level, waves = _level_input(event)
    execution = engine.history.require_execution(execution_id)
    cancelled = bool(execution.get("cancelRequested"))
    paused = bool(execution.get("paused")) and not cancelled
    if cancelled or paused:
        return {"paused": paused, "cancelled": cancelled}
    full = planning.read_plan(engine.s3, engine.bucket, execution_id, execution.get("planRevision"))
    if waves is None:
        waves = planning.level_of(full, phase, level)["waves"]
    blocked = isolation.blocked_waves(engine, execution_id, full, waves)
    details = []
    for wave in waves:
        detail = {
            "executionId": execution_id,
            "application": execution.get("application"),
            "phase": phase,
            "level": level,
            "wave": wave,
        }
        if wave in blocked:  # failurePolicy isolate: a wave it depends on failed
            why = blocked[wave]
            item = engine.history.wave_finished(
                execution_id, phase, level, wave, BLOCKED,
                reason=why["reason"], blockedBy=why["roots"],
            )  # fmt: skip
            details.append(detail | {"status": BLOCKED, "cause": why["reason"]})
            continue
        item = engine.history.wave_started(execution_id, phase, level, wave)
        details.append(detail | {"status": RUNNING, "startedAt": item.get("startedAt")})
    engine.publisher.publish_many(ev.WAVE_STATUS, details)
    return {"paused": False, "cancelled": False}


ROLE_LABELS = {"pre": "pre-wave action", "post": "post-wave action", "check": "health check"}
_ROLE_ORDER = {"pre": 0, "module": 1, "post": 2, "check": 3}


def _in_run_order(group_ids: list[str], kinds: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return sorted(group_ids, key=lambda g: _ROLE_ORDER.get(kinds.get(g, {}).get("role"), 1))


def after_level(engine: Engine, event: Mapping[str, Any]) -> contracts.AfterLevelAnswer:
    """Each wave's outcome from its groups' results; applies the failure policy."""
    execution_id, phase = event["executionId"], event["phase"]
    level, _ = _level_input(event)
    execution = engine.history.require_execution(execution_id)
    full = planning.read_plan(engine.s3, engine.bucket, execution_id, execution.get("planRevision"))
    planned = planning.level_of(full, phase, level)
    ran = {
        g["groupId"]: g["accounts"]
        for key in ("pre", "groups", "post", "checks")
        for g in planned.get(key, [])
    }
    results = {
        (m["groupId"], m["accountId"]): m for m in engine.history.modules(execution_id, phase)
    }
    outcome: dict[str, str] = {}
    stops: list[str] = []
    kinds = full.get("groups", {})
    marked = {w["wave"]: w for w in engine.history.waves(execution_id, phase)}
    for wave in planned["waves"]:
        info = full["waves"][wave]
        if marked.get(wave, {}).get("status") == BLOCKED:  # before-level blocked it
            outcome[wave] = BLOCKED
            continue
        failures: list[str] = []
        warnings: list[str] = []
        not_run: list[str] = []
        starts = []
        for group_id in _in_run_order(info["groups"], kinds):
            kind = kinds.get(group_id, {})
            label = (
                group_id
                if kind.get("role", "module") == "module"
                else (f"{ROLE_LABELS[kind['role']]} {kind['name']!r} ({kind['module']})")
            )
            for account_id in ran.get(group_id, []):
                result = results.get((group_id, account_id))
                if result and result.get("startedAt"):
                    starts.append(result["startedAt"])
                if result is None:
                    problem = f"{label} in {account_id}: did not run"
                elif result.get("status") in (SKIPPED, BLOCKED):  # an operator's skip; isolate
                    listed = warnings if result["status"] == SKIPPED else not_run
                    listed.append(f"{label} in {account_id}: {result.get('summary', '')}")
                    continue
                elif result.get("status") != SUCCEEDED:
                    status = str(result.get("status"))
                    why = str(result.get("summary") or result.get("reason") or "")
                    if why.startswith(f"{status}: "):  # the summary starts with the status
                        why = why[len(status) + 2 :]
                    problem = f"{label} in {account_id}: {status} {why}".strip()
                else:  # succeeded; resources tagged dr:impact=optional may have failed
                    if result.get("optionalFailed"):
                        failed = "; ".join(result["optionalFailed"])
                        warnings.append(
                            f"{label} in {account_id}: optional resource(s) FAILED: {failed}"
                        )
                    continue
                if kind.get("failurePolicy") == "continue":
                    warnings.append(problem)
                else:
                    failures.append(problem)
        status = FAILED if failures else SUCCEEDED
        item = engine.history.wave_finished(
            execution_id,
            phase,
            level,
            wave,
            status,
            started_at=min(starts, key=clock.parse) if starts else None,
            failures=failures,
            warnings=warnings,
            failurePolicy=info["failurePolicy"],
            notRun=not_run or None,
        )
        outcome[wave] = status
        detail = {
            "executionId": execution_id,
            "application": execution.get("application"),
            "operation": execution.get("operation"),
            "phase": phase,
            "level": level,
            "wave": wave,
            "status": status,
            "startedAt": item.get("startedAt"),
            "finishedAt": item.get("finishedAt"),
        }
        if failures:
            detail["cause"] = "; ".join(failures)[:CAUSE_MAX]
        if warnings:
            detail["warnings"] = "; ".join(warnings)[:CAUSE_MAX]
        _publisher(engine, execution).publish(ev.WAVE_STATUS, detail, notify=bool(failures))
        # ask: the decision timed out or the execution was cancelled; isolate: only the
        # waves that depend on it are blocked (before-level), and finalise fails the run
        if failures and info["failurePolicy"] in ("stop", "ask"):
            stops.append(f"wave {wave} ({phase}): " + "; ".join(failures))
    if stops and execution.get("cancelRequested"):
        raise Cancelled(("cancelled by an operator; " + " | ".join(stops))[:CAUSE_MAX])
    if stops:
        raise WaveFailed(" | ".join(stops)[:CAUSE_MAX])
    return {
        "level": level,
        "waves": outcome,
        "failed": sorted(w for w, s in outcome.items() if s == FAILED),
    }


# --- 6. the end -------------------------------------------------------------------------------
def _groups(engine: Engine, execution_id: str, full: Mapping[str, Any] | None) -> list[dict]:
    found = []
    for group_id in sorted(
        {g for w in (full or {}).get("waves", {}).values() for g in w["groups"]}
    ):
        try:
            found.append(discovery.load_group(engine.s3, engine.bucket, execution_id, group_id))
        except engine.s3.exceptions.NoSuchKey:
            continue
    return found


def _plan_or_none(engine: Engine, execution_id: str) -> dict[str, Any] | None:
    execution = engine.history.execution(execution_id) or {}
    try:
        return planning.read_plan(
            engine.s3, engine.bucket, execution_id, execution.get("planRevision")
        )
    except engine.s3.exceptions.NoSuchKey:
        return None


def write_report(engine: Engine, execution_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The report; past ``reporting.RESOURCES_LISTED`` resources, built without reading the
    module groups' resource items (their counts come from the module items)."""
    full = _plan_or_none(engine, execution_id)
    listed = engine.history.resource_total(execution_id) <= reporting.RESOURCES_LISTED
    if listed:
        items = engine.history.items(execution_id)
    else:
        steps = [
            group_id
            for group_id, kind in (full or {}).get("groups", {}).items()
            if kind.get("role", "module") != "module"
        ]
        items = engine.history.report_items(execution_id, steps)
    built = reporting.build_report(items, _groups(engine, execution_id, full), full, listed=listed)
    keys = reporting.write_report(engine.s3, engine.bucket, built)
    # the verdict (met, by how much) in the history too: `drorch status --json` shows it
    engine.history.update_execution(execution_id, report=keys, rto=built["rto"])
    return built, keys


def finalise(engine: Engine, event: Mapping[str, Any]) -> contracts.FinaliseAnswer:
    """SUCCEEDED (or CANCELLED if a cancel came in at the end): report, notify, unlock."""
    execution_id = event["executionId"]
    execution = engine.history.require_execution(execution_id)
    status = CANCELLED if execution.get("cancelRequested") else SUCCEEDED
    if status == SUCCEEDED:  # failurePolicy isolate: a failed or blocked wave fails the run
        isolated = isolation.outcome(engine, execution_id, _plan_or_none(engine, execution_id))
        if isolated:
            raise WaveFailed(isolated[:CAUSE_MAX])
    execution = engine.history.set_status(execution_id, status)
    built, keys = write_report(engine, execution_id)
    report_uri = f"s3://{engine.bucket}/{keys['html']}"
    engine.lock.release(execution["application"], execution_id)  # before the (best-effort) news
    _publisher(engine, execution).publish(
        ev.EXECUTION_STATUS, _execution_detail(execution, report=report_uri)
    )
    return {
        "executionId": execution_id,
        "status": status,
        "report": keys,
        "durationSeconds": built["durationSeconds"],
        "resources": built["summary"]["resources"],
        "wavesFailed": built["summary"]["wavesFailed"],
    }


def error_of(event: Mapping[str, Any]) -> tuple[str, str]:
    """(error, cause) from a Catch's ``ResultPath`` (``{"Error", "Cause"}``) or plain keys.

    A Lambda error's Cause is its JSON error document: the message is kept.
    """
    raw = event.get("error") or event.get("Error") or {}
    if isinstance(raw, str):
        error, cause = raw, event.get("cause") or event.get("Cause") or ""
    else:
        error = raw.get("Error") or raw.get("error") or "Unknown"
        cause = raw.get("Cause") or raw.get("cause") or ""
    if isinstance(cause, str) and cause.startswith("{"):
        try:
            document = json.loads(cause)
            cause = document.get("errorMessage") or document.get("Cause") or cause
        except (json.JSONDecodeError, AttributeError):
            pass
    return str(error), str(cause)[:CAUSE_MAX]


def close_running_resources(engine: Engine, execution_id: str, status: str, why: str) -> int:
    """Resources still RUNNING when the execution ends: recorded with its end status, and
    their job / work ids kept as orphaned (nothing is left RUNNING in the history)."""
    closed = []
    for item in engine.history.resources_of_running_modules(execution_id):
        if item.get("status") != RUNNING:
            continue
        detail = item.get("detail") if isinstance(item.get("detail"), dict) else {}
        orphan = next(
            (
                str(detail[k])
                for k in ("jobID", "jobId", "executionId", "commandId")
                if detail.get(k)
            ),
            None,
        )
        closed.append(
            {
                **{k: v for k, v in item.items() if k not in ("pk", "sk", "executionId")},
                "status": status,
                "error": f"the execution ended while this was running ({why})"[:500],
                **({"orphanedJobId": orphan} if orphan else {}),
            }
        )
    if closed:
        engine.history.put_closed(execution_id, closed)
    return len(closed)


def fail(engine: Engine, event: Mapping[str, Any]) -> contracts.FailAnswer:
    """Record why, mark FAILED (CANCELLED for ``Cancelled``), report, notify, unlock."""
    execution_id = event["executionId"]
    error, cause = error_of(event)
    status = CANCELLED if error == "Cancelled" else FAILED
    try:
        engine.history.require_execution(execution_id)
    except ExecutionNotFound:  # failed before it was recorded (e.g. an invalid manifest)
        engine.history.create_execution(
            execution_id,
            application=event.get("application") or "unknown",
            operation=event.get("operation") or "unknown",
            requested_by=event.get("requestedBy") or "unknown",
            manifest=dict(event.get("manifest") or {}),
            status=status,
        )
    try:
        execution = engine.history.set_status(execution_id, status, error=error, cause=cause)
    except InvalidTransition:
        execution = engine.history.require_execution(execution_id)
        log.warning("execution %s is already %s", execution_id, execution["status"])
    for open_gate in engine.gates().open_gates(execution_id):  # e.g. an approval that timed out
        try:
            engine.history.decide_gate(
                execution_id, int(open_gate["gate"]), "expired", "drorch", f"{error}: {cause}"[:500]
            )
        except InvalidTransition:
            pass  # decided at this very moment
    for wave in engine.history.waves(execution_id):
        if wave.get("status") == RUNNING:
            engine.history.wave_finished(
                execution_id, wave["phase"], wave["level"], wave["wave"], status
            )
    close_running_resources(engine, execution_id, status, f"{error}: {cause}")
    report_uri = None
    try:
        _, keys = write_report(engine, execution_id)
        report_uri = f"s3://{engine.bucket}/{keys['html']}"
    except Exception:  # noqa: BLE001 - the failure is recorded and the lock released regardless
        log.exception("no report for failed execution %s", execution_id)
    execution = engine.history.require_execution(execution_id)
    released = False  # the lock first: a notification that fails must not keep it held
    if execution.get("application") and execution["status"] in TERMINAL:
        released = engine.lock.release(execution["application"], execution_id)
    _publisher(engine, execution).publish(
        ev.EXECUTION_STATUS,
        _execution_detail(execution, error=error, cause=cause, report=report_uri),
    )
    return {
        "executionId": execution_id,
        "status": execution["status"],
        "error": error,
        "cause": cause,
        "lockReleased": released,
    }
