"""The plan: phases × wave levels × module groups × accounts.

Execution order is phase-major: for each phase, wave levels in dependency
order; in a level, module groups in parallel; in a group, accounts in parallel.
The plan holds keys only (group ids, account ids) — never resource lists — so
its size grows with waves × groups × accounts, not with servers.

``build_plan`` returns the full plan (written to ``executions/<id>/plan.json``);
``payload`` is the part the master state machine iterates over.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from drorch import names
from drorch.engine.errors import EmptySelection, PlanTooLarge
from drorch.manifest import Manifest, wave_levels
from drorch.manifest.model import END_OF_RUN

# the phase wave actions and health checks run in unless they name their phases
STEP_DEFAULT_PHASE = "ACTIVATE"

DRILL = "drill"


def plan_key(execution_id: str, revision: int | None = None) -> str:
    return names.plan_key(execution_id, revision)


def empty_selections(
    manifest: Manifest,
    counts: Mapping[str, Mapping[str, int]],
    excluded: Mapping[str, int] | None = None,
    skipped: Mapping[str, int] | None = None,
) -> tuple[list[str], list[str]]:
    """(errors, warnings): each technology of a wave whose groups found nothing to act on.

    The groups routed from one TRS category count together (one of them finding
    resources is enough). Nothing matched, or everything matched was excluded, is an
    error unless the technology says ``allowEmpty: true`` (then a warning); everything
    matched being ``dr:enabled=false`` is a warning."""
    excluded, skipped = excluded or {}, skipped or {}
    errors: list[str] = []
    warnings: list[str] = []
    for wave in manifest.waves:
        technologies: dict[str, list[Any]] = {}
        for group in wave.groups:
            technologies.setdefault(group.technology or group.id, []).append(group)
        for groups in technologies.values():
            if any(sum(counts.get(g.id, {}).values()) for g in groups):
                continue
            first = groups[0]
            label = first.routed_from or first.type
            what = (
                f"wave {wave.name!r}, group {first.technology or first.name!r} ({label}): "
                f"the selector [{first.selector.describe()}]"
            )
            out = sum(excluded.get(g.id, 0) for g in groups)
            off = sum(skipped.get(g.id, 0) for g in groups)
            if out:
                problem = (
                    f"{what} matched {out} resource(s), all excluded (see the plan's excluded)"
                )
            elif off:
                warnings.append(f"{what} matched only dr:enabled=false resources ({off})")
                continue
            else:
                problem = f"{what} matched no resource in any staging account"
            if first.allow_empty:
                warnings.append(f"{problem} (allowEmpty)")
            else:
                errors.append(problem)
    return errors, warnings


def _drill_safe(module: Any, phase: str) -> bool:
    safe = getattr(module, "drill_safe_phases", None)
    return safe is None or phase in safe


def build_plan(
    manifest: Manifest,
    operation: str,
    counts: Mapping[str, Mapping[str, int]],
    *,
    modules: Mapping[str, Any] | None = None,
    rto_targets: Mapping[str, int | None] | None = None,
    execution_id: str = "",
    excluded: Mapping[str, int] | None = None,
    skipped_off: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The full plan.

    ``counts``: groupId -> accountId -> resources discovered there; a group runs
    in the accounts where it found something. In a drill, a group whose module
    does not declare a phase drill-safe is left out of that phase (and listed in
    ``skipped``).
    """
    phases = manifest.phases_for(operation)
    levels = wave_levels(manifest)
    empty_errors, empty_warnings = empty_selections(manifest, counts, excluded, skipped_off)
    drill = operation == DRILL
    rto_targets = rto_targets or {}
    skipped: list[dict[str, str]] = []
    waves: dict[str, dict[str, Any]] = {}
    kinds: dict[str, dict[str, Any]] = {}
    for index, level in enumerate(levels):
        for wave in level:
            # the wave's target: the smallest of its resources' dr:rto-target and its own
            targets = [rto_targets.get(g.id) for g in wave.groups] + [wave.rto_target_minutes]
            known = [t for t in targets if t is not None]
            waves[wave.name] = {
                "level": index,
                "number": wave.number,
                "dependsOn": list(wave.depends_on),
                "failurePolicy": wave.failure_policy,
                "timeoutMinutes": wave.timeout_minutes,
                "rtoTargetMinutes": min(known) if known else None,
                "groups": [g.id for g in wave.all_groups],
            }
    if manifest.health_checks:
        waves[END_OF_RUN] = {
            "level": len(levels),
            "number": None,
            "dependsOn": [w.name for w in manifest.waves],
            "failurePolicy": "stop",
            "timeoutMinutes": max(g.timeout_minutes or 30 for g in manifest.health_checks),
            "rtoTargetMinutes": None,
            "groups": [g.id for g in manifest.health_checks],
        }
    wave_of = {g.id: w for w in manifest.waves for g in w.all_groups}
    for group in manifest.groups:
        kinds[group.id] = {
            "role": group.role,
            "name": group.name,
            "module": group.type,
            "wave": wave_of[group.id].name if group.id in wave_of else END_OF_RUN,
            # fail | continue (an optional member's too) | ask
            "failurePolicy": group.failure_policy,
            "impact": group.impact,
            # a TRS category's group: its module gets the resources of its strategies
            "routedFrom": group.routed_from or None,
        }

    def step_policy(group: Any) -> str:
        """What a failed action does to the level's later actions: a ``fail`` action in an
        ``isolate`` wave fails its wave alone (the other waves' actions go on)."""
        wave = wave_of.get(group.id)
        if group.failure_policy == "fail" and wave and wave.failure_policy == "isolate":
            return "isolate"
        return group.failure_policy

    def accounts_of(group: Any) -> list[str]:
        return sorted(a for a, n in counts.get(group.id, {}).items() if n > 0)

    def module_item(phase: str, group: Any) -> dict[str, Any] | None:
        accounts = accounts_of(group)
        if not accounts:
            return None
        module = (modules or {}).get(group.type)
        if drill and module is not None and not _drill_safe(module, phase):
            skipped.append(
                {
                    "phase": phase,
                    "groupId": group.id,
                    "reason": f"module {group.type} is not drill-safe in {phase}",
                }
            )
            return None
        return {"groupId": group.id, "accounts": accounts}

    def step_item(phase: str, group: Any) -> dict[str, Any] | None:
        wanted = group.phases or (STEP_DEFAULT_PHASE,)
        if phase not in wanted:
            return None
        module = (modules or {}).get(group.type)
        runs = group.run_in_drill
        if runs is None:
            runs = bool(getattr(module, "runs_in_drill", True))
        if drill and not runs:
            skipped.append(
                {
                    "phase": phase,
                    "groupId": group.id,
                    "reason": f"{group.role} {group.name!r} does not run in a drill "
                    "(set runInDrill: true to run it)",
                }
            )
            return None
        accounts = accounts_of(group)
        if not accounts:
            skipped.append(
                {
                    "phase": phase,
                    "groupId": group.id,
                    "reason": f"{group.role} {group.name!r} has no account to run in "
                    "(the wave found no resources; name accounts: for it)",
                }
            )
            return None
        return {"groupId": group.id, "accounts": accounts, "failurePolicy": step_policy(group)}

    def items(phase: str, groups: Any, make: Any) -> list[dict[str, Any]]:
        return [i for i in (make(phase, g) for g in groups) if i is not None]

    # Wave pauses stop the phase that changes things: ACTIVATE when the operation has
    # one (not the pre-warming before it), otherwise each of its phases.
    pausing = {"ACTIVATE"} if "ACTIVATE" in phases else set(phases)
    plan_phases = []
    for phase in phases:
        plan_levels = []
        for index, level in enumerate(levels):
            pre = items(phase, [g for w in level for g in w.pre_actions], step_item)
            post = items(phase, [g for w in level for g in w.post_actions], step_item)
            checks = items(phase, [g for w in level for g in w.health_checks], step_item)
            plan_levels.append(
                {
                    "level": index,
                    "waves": [w.name for w in level],
                    "pauseBefore": phase in pausing and any(w.pause_before for w in level),
                    "pauseAfter": phase in pausing and any(w.pause_after for w in level),
                    "pre": pre,
                    "groups": items(phase, [g for w in level for g in w.groups], module_item),
                    "post": post,
                    "checks": checks,
                    "after": bool(post or checks),
                }
            )
        final = items(phase, manifest.health_checks, step_item)
        if final:
            plan_levels.append(
                {
                    "level": len(levels),
                    "waves": [END_OF_RUN],
                    "pauseBefore": False,
                    "pauseAfter": False,
                    "pre": [],
                    "groups": [],
                    "post": [],
                    "checks": final,
                    "after": True,
                }
            )
        plan_phases.append(
            {
                "phase": phase,
                "approval": manifest.approval.gates(phase),
                "approvalTimeoutSeconds": max(1, math.ceil(manifest.approval.timeout_minutes * 60)),
                "levels": plan_levels,
            }
        )
    return {
        "executionId": execution_id,
        "application": manifest.application,
        "operation": operation,
        "drill": drill,
        "rtoTargetMinutes": manifest.rto_target_minutes,
        "approval": {
            "timeoutMinutes": manifest.approval.timeout_minutes,
            "approvers": list(manifest.approval.approvers),
        },
        "phases": plan_phases,
        "waves": waves,
        "groups": kinds,
        "skipped": skipped,
        "errors": empty_errors,
        "warnings": empty_warnings,
    }


def check_plan(plan: Mapping[str, Any]) -> None:
    """Refuse a plan with errors (a selector that matched nothing), before anything runs."""
    errors = plan.get("errors") or []
    if errors:
        raise EmptySelection(
            "; ".join(errors)[:3000],
            hint="fix the selector (ids accept a source server id, hostname, instance id or ARN) "
            "or set allowEmpty: true on the technology",
        )


def payload(plan: Mapping[str, Any]) -> dict[str, Any]:
    """What the plan handler returns to the master (keys only)."""
    return {"phases": plan["phases"]}


# Step Functions carries the plan payload in the master's state; with the context around
# it every state stays within 64 KiB (the service allows 256 KiB; drorch keeps a margin).
PAYLOAD_LIMIT = 64 * 1024
PLAN_PAYLOAD_BUDGET = 48 * 1024
_PROBE_ACCOUNT = "000000000000"


def payload_size(plan: Mapping[str, Any]) -> int:
    """Bytes of the plan payload as the master receives it (JSON)."""
    return len(json.dumps(payload(plan)).encode())


def check_payload(plan: Mapping[str, Any]) -> None:
    """Refuse a plan whose payload would not fit the budget (before anything runs)."""
    size = payload_size(plan)
    if size > PLAN_PAYLOAD_BUDGET:
        phases = plan.get("phases", [])
        groups = sum(len(lv["groups"]) for p in phases for lv in p["levels"])
        raise PlanTooLarge(
            f"the plan of {plan.get('application')} ({plan.get('operation')}) is {size} bytes: "
            f"over drorch's {PLAN_PAYLOAD_BUDGET} byte budget for a Step Functions payload "
            f"({len(plan.get('waves', {}))} waves, {groups} group runs across accounts)",
            hint="split the application into several manifests, or use fewer waves, "
            "module groups or accounts per group",
        )


def plan_size_problem(manifest: Manifest) -> str | None:
    """Why a manifest can never run because its plan would be too large (None: it can).

    The smallest plan each operation could make (every group in one account) must fit;
    more accounts only make it larger, which the plan step checks with the real counts."""
    counts = {g.id: {_PROBE_ACCOUNT: 1} for g in manifest.groups}
    # the operation with the most phases makes the largest plan (one level list per phase)
    which = max(manifest.phases, key=lambda op: len(manifest.phases.get(op) or ()))
    if not manifest.phases.get(which):
        return None
    largest = payload_size(build_plan(manifest, which, counts))
    if largest <= PLAN_PAYLOAD_BUDGET:
        return None
    return (
        f"the {which} plan of these {len(manifest.waves)} waves and {len(manifest.groups)} "
        f"module groups, actions and checks would be at least {largest} bytes, over drorch's "
        f"{PLAN_PAYLOAD_BUDGET} byte budget for a Step Functions payload "
        f"(limit {PAYLOAD_LIMIT // 1024} KiB per state): split the application into "
        "several manifests or use fewer waves and groups"
    )


def level_of(plan: Mapping[str, Any], phase: str, level: int) -> dict[str, Any]:
    for entry in plan["phases"]:
        if entry["phase"] == phase:
            for candidate in entry["levels"]:
                if candidate["level"] == level:
                    return candidate
    raise KeyError(f"the plan has no level {level} in phase {phase}")


def write_plan(
    s3: Any, bucket: str, execution_id: str, plan: Mapping[str, Any], revision: int | None = None
) -> str:
    key = plan_key(execution_id, revision)
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(plan).encode(),
        ContentType="application/json",
    )
    return key


def read_plan(
    s3: Any, bucket: str, execution_id: str, revision: int | None = None
) -> dict[str, Any]:
    """The plan; ``revision`` (the history's ``planRevision``): as a plan edit left it."""
    body = s3.get_object(Bucket=bucket, Key=plan_key(execution_id, revision))["Body"].read()
    return json.loads(body)
