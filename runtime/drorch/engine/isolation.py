"""failurePolicy ``isolate``: a failed wave blocks only the waves that depend on it.

A wave whose policy is ``isolate`` and that FAILED (in any phase so far) stops its own
later members from starting and makes every wave that depends on it — directly or
through another blocked wave — BLOCKED, with the reason; waves with no dependency path
to it go on. A wave that failed or was blocked in one phase is blocked in the later
phases too (its INSTANTIATE failed: it is not activated). The execution then ends
FAILED (:func:`outcome`), never SUCCEEDED.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from drorch.engine import plan as planning
from drorch.engine.runtime import Engine
from drorch.vocabulary import BLOCKED, FAILED

ISOLATE = "isolate"


def uses_isolation(plan: Mapping[str, Any]) -> bool:
    return any(w.get("failurePolicy") == ISOLATE for w in plan.get("waves", {}).values())


def stopped_waves(
    waves: Iterable[Mapping[str, Any]], plan: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Wave name -> why its dependents must not run (``reason``; ``roots``: the waves that
    failed), from the history's wave items of every phase so far."""
    stopped: dict[str, dict[str, Any]] = {}
    for item in waves:
        name, status = item["wave"], item.get("status")
        if name in stopped:
            continue
        if status == FAILED and plan["waves"].get(name, {}).get("failurePolicy") == ISOLATE:
            stopped[name] = {
                "reason": f"wave {name!r} failed in {item['phase']}",
                "roots": [name],
            }
        elif status == BLOCKED:
            roots = list(item.get("blockedBy") or [])
            stopped[name] = {
                "reason": f"wave {name!r} is blocked (wave {', '.join(roots)} failed)",
                "roots": roots,
            }
    return stopped


def blocked_waves(
    engine: Engine, execution_id: str, plan: Mapping[str, Any], waves: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Which of ``waves`` (a level about to start) must not run, and why."""
    if not uses_isolation(plan):
        return {}
    stopped = stopped_waves(engine.history.waves(execution_id), plan)
    blocked: dict[str, dict[str, Any]] = {}
    for wave in waves:
        if wave in stopped:  # failed (or blocked) in an earlier phase
            blocked[wave] = stopped[wave]
            continue
        hit = [d for d in plan["waves"][wave].get("dependsOn", []) if d in stopped]
        if hit:
            blocked[wave] = {
                "reason": "depends on " + "; ".join(f"{stopped[d]['reason']}" for d in hit),
                "roots": sorted({r for d in hit for r in stopped[d]["roots"]}),
            }
    return blocked


def member_blocked(
    engine: Engine, execution_id: str, phase: str, group: Mapping[str, Any]
) -> str | None:
    """Why a module group, action or check must not start (None: it may): its wave is
    BLOCKED, or another member of its wave already failed under ``isolate``."""
    if not group.get("isolation"):
        return None
    wave = group["wave"]
    for item in engine.history.waves(execution_id, phase):
        if item["wave"] == wave and item.get("status") == BLOCKED:
            return str(item.get("reason") or f"wave {wave!r} is blocked")
    if group.get("wavePolicy") != ISOLATE:
        return None
    revision = engine.history.require_execution(execution_id).get("planRevision")
    plan = planning.read_plan(engine.s3, engine.bucket, execution_id, revision)
    members = set(plan["waves"][wave]["groups"]) - {group["groupId"]}
    kinds = plan.get("groups", {})
    for item in engine.history.modules(execution_id, phase):
        group_id = item["groupId"]
        if (
            group_id in members
            and item.get("status") == FAILED
            and kinds.get(group_id, {}).get("failurePolicy") != "continue"
        ):
            return f"wave {wave!r} failed ({group_id} in {item['accountId']})"
    return None


def outcome(engine: Engine, execution_id: str, plan: Mapping[str, Any] | None) -> str | None:
    """Why an execution under ``isolate`` must end FAILED (None: nothing failed or was
    blocked): each failed wave and each blocked wave, with the reason."""
    if not plan or not uses_isolation(plan):
        return None
    failed, blocked = [], []
    for item in engine.history.waves(execution_id):
        where = f"{item['wave']} ({item['phase']})"
        if item.get("status") == FAILED and (
            plan["waves"].get(item["wave"], {}).get("failurePolicy") == ISOLATE
        ):
            failed.append(f"{where}: " + "; ".join(item.get("failures") or []))
        elif item.get("status") == BLOCKED:
            blocked.append(f"{where} {item.get('reason', '')}".strip())
    if not failed and not blocked:
        return None
    text = "isolated failure: wave " + " | ".join(failed)
    if blocked:
        text += " || blocked: " + " | ".join(blocked)
    return text
