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

from drorch.manifest import Manifest, wave_levels

DRILL = "drill"


def plan_key(execution_id: str) -> str:
    return f"executions/{execution_id}/plan.json"


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
) -> dict[str, Any]:
    """The full plan.

    ``counts``: groupId -> accountId -> resources discovered there; a group runs
    in the accounts where it found something. In a drill, a group whose module
    does not declare a phase drill-safe is left out of that phase (and listed in
    ``skipped``).
    """
    phases = manifest.phases_for(operation)
    levels = wave_levels(manifest)
    drill = operation == DRILL
    rto_targets = rto_targets or {}
    skipped: list[dict[str, str]] = []
    waves: dict[str, dict[str, Any]] = {}
    for index, level in enumerate(levels):
        for wave in level:
            targets = [rto_targets.get(g.id) for g in wave.groups]
            known = [t for t in targets if t is not None]
            waves[wave.name] = {
                "level": index,
                "number": wave.number,
                "dependsOn": list(wave.depends_on),
                "failurePolicy": wave.failure_policy,
                "timeoutMinutes": wave.timeout_minutes,
                "rtoTargetMinutes": min(known) if known else None,
                "groups": [g.id for g in wave.groups],
            }

    # Wave pauses stop the phase that changes things: ACTIVATE when the operation has
    # one (not the pre-warming before it), otherwise each of its phases.
    pausing = {"ACTIVATE"} if "ACTIVATE" in phases else set(phases)
    plan_phases = []
    for phase in phases:
        plan_levels = []
        for index, level in enumerate(levels):
            groups = []
            for wave in level:
                for group in wave.groups:
                    accounts = sorted(a for a, n in counts.get(group.id, {}).items() if n > 0)
                    if not accounts:
                        continue
                    module = (modules or {}).get(group.type)
                    if drill and module is not None and not _drill_safe(module, phase):
                        skipped.append(
                            {
                                "phase": phase,
                                "groupId": group.id,
                                "reason": f"module {group.type} is not drill-safe in {phase}",
                            }
                        )
                        continue
                    groups.append({"groupId": group.id, "accounts": accounts})
            plan_levels.append(
                {
                    "level": index,
                    "waves": [w.name for w in level],
                    "pauseBefore": phase in pausing and any(w.pause_before for w in level),
                    "pauseAfter": phase in pausing and any(w.pause_after for w in level),
                    "groups": groups,
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
        "approval": {
            "timeoutMinutes": manifest.approval.timeout_minutes,
            "approvers": list(manifest.approval.approvers),
        },
        "phases": plan_phases,
        "waves": waves,
        "skipped": skipped,
    }


def payload(plan: Mapping[str, Any]) -> dict[str, Any]:
    """What the plan handler returns to the master (keys only)."""
    return {"phases": plan["phases"]}


def level_of(plan: Mapping[str, Any], phase: str, level: int) -> dict[str, Any]:
    for entry in plan["phases"]:
        if entry["phase"] == phase:
            for candidate in entry["levels"]:
                if candidate["level"] == level:
                    return candidate
    raise KeyError(f"the plan has no level {level} in phase {phase}")


def write_plan(s3: Any, bucket: str, execution_id: str, plan: Mapping[str, Any]) -> str:
    key = plan_key(execution_id)
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=json.dumps(plan).encode(),
        ContentType="application/json",
    )
    return key


def read_plan(s3: Any, bucket: str, execution_id: str) -> dict[str, Any]:
    body = s3.get_object(Bucket=bucket, Key=plan_key(execution_id))["Body"].read()
    return json.loads(body)
