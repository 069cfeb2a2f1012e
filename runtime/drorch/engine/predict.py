"""Predicted RTO: each wave's duration and the run's recovery time, from earlier runs.

The samples are the application's earlier SUCCEEDED executions of the same operation
(the newest :data:`MAX_SAMPLES`), read from the history: each wave's duration per phase,
each module group's (the slowest account) and each resource's (a DRS server's launch),
and the parts of the recovery time between the waves. A sample of more than
:data:`RESOURCES_READ` resources is read without its resource items (what it costs
stays that of its waves and groups, whatever the estate): its per-resource times are
left out, and a group's ``resourceP50Seconds`` comes from the smaller samples, if any.

The run's recovery time is measured as the report measures it: from the execution's
start to the end of the last wave of the recovery phase (ACTIVATE, or the operation's
last phase). The engine runs the wave levels of a phase one after another and a level
lasts as long as its slowest wave, so::

    RTO = lead (start -> first level of the recovery phase: earlier phases, approval)
          + each level's duration (its slowest wave)
          + the time between levels (checkpoints, wave pauses)

Each part gets a range from its samples, never a point: with n >= 2 samples it is
[min - m, max + m] with m = max((max - min) / (n - 1), 5 % of the median, the poll
interval) (the next sample falls outside the range of n earlier ones with probability
2 / (n + 1), and a duration seen by polling is only known to a poll interval: the margin
covers both); with one sample, +-25 % (at least a poll interval). The run's range adds up the parts' ranges. The
**critical path** is the slowest wave (by median) of each level of the recovery phase:
the chain of waves that sets the RTO. With no earlier run it says so and predicts nothing;
a wave without samples is named, and the range then leaves it out (``complete`` false).
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from drorch.engine.clock import parse, seconds_between
from drorch.engine.history import by_kind
from drorch.vocabulary import SUCCEEDED

log = logging.getLogger(__name__)
MAX_SAMPLES = 10
SINGLE_SAMPLE_MARGIN = 0.25
MIN_MARGIN = 0.05
LOOKBACK = 50  # executions of the application read to find the samples
# a sample with more resources is read without its resource items (a query per kind of
# item, not one read per resource): its per-resource launch times are left out
RESOURCES_READ = 1000


def recovery_phase(phases: Sequence[str]) -> str | None:
    """The phase the recovery time counts to (as the report measures it)."""
    if "ACTIVATE" in phases:
        return "ACTIVATE"
    return phases[-1] if phases else None


@dataclass
class RunSample:
    """What one earlier execution measured."""

    execution_id: str
    started_at: str
    poll_seconds: int = 0  # its executor's poll interval: what its durations are rounded to
    rto_seconds: int | None = None
    lead_seconds: int | None = None
    between_levels_seconds: int = 0
    waves: dict[tuple[str, str], int] = field(default_factory=dict)  # (phase, wave) -> s
    groups: dict[tuple[str, str], int] = field(default_factory=dict)  # (phase, group) -> s
    resources: dict[tuple[str, str], list[int]] = field(default_factory=dict)


def run_sample(items: Iterable[Mapping[str, Any]]) -> RunSample | None:
    """One execution's measures from its history items (None: it recovered nothing)."""
    execution, kinds = by_kind(items)
    waves, modules, resources = kinds.get("WAVE", []), kinds.get("MOD", []), kinds.get("RES", [])
    started = execution.get("startedAt")
    if not started:
        return None
    sample = RunSample(
        str(execution.get("executionId")), str(started), int(execution.get("pollSeconds") or 0)
    )
    for wave in waves:
        took = seconds_between(wave.get("startedAt"), wave.get("finishedAt"))
        if wave.get("status") == SUCCEEDED and took is not None:
            sample.waves[(wave["phase"], wave["wave"])] = took
    for module in modules:
        took = seconds_between(module.get("startedAt"), module.get("finishedAt"))
        if module.get("status") == SUCCEEDED and took is not None:
            key = (module["phase"], module["groupId"])
            sample.groups[key] = max(sample.groups.get(key, 0), took)
    for resource in resources:
        took = seconds_between(resource.get("startedAt"), resource.get("finishedAt"))
        if resource.get("status") == SUCCEEDED and took is not None:
            sample.resources.setdefault((resource["phase"], resource["groupId"]), []).append(took)
    phases = list(execution.get("phases") or sorted({w["phase"] for w in waves}))
    recovery = recovery_phase(phases)
    levels: dict[int, list[Mapping[str, Any]]] = {}
    for wave in waves:
        if wave.get("phase") == recovery and wave.get("startedAt") and wave.get("finishedAt"):
            levels.setdefault(int(wave["level"]), []).append(wave)
    if not levels:
        return sample
    spans = []
    for level in sorted(levels):
        entries = levels[level]
        spans.append(
            (
                min((w["startedAt"] for w in entries), key=parse),
                max((w["finishedAt"] for w in entries), key=parse),
            )
        )
    sample.lead_seconds = seconds_between(started, spans[0][0])
    sample.rto_seconds = seconds_between(started, spans[-1][1])
    sample.between_levels_seconds = sum(
        max(0, seconds_between(end, start) or 0)
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False)
    )
    return sample


def samples_from_history(
    history: Any,
    application: str,
    operation: str,
    *,
    before: str | None = None,
    exclude: str | None = None,
) -> list[RunSample]:
    """The newest earlier SUCCEEDED runs of ``operation`` of the application, measured."""
    found = [
        e
        for e in history.list_executions(application=application, limit=LOOKBACK)
        if e.get("operation") == operation
        and e.get("status") == SUCCEEDED
        and e.get("executionId") != exclude
        and (before is None or str(e.get("startedAt", "")) < before)
    ]
    found.sort(key=lambda e: str(e.get("startedAt", "")), reverse=True)
    samples = []
    for execution in found[:MAX_SAMPLES]:
        if int(execution.get("discovered") or 0) > RESOURCES_READ:
            items = history.report_items(execution["executionId"])
        else:
            items = history.items(execution["executionId"])
        sample = run_sample(items)
        if sample is not None and sample.rto_seconds is not None:
            samples.append(sample)
    return samples


def interval(values: Sequence[float], quantum: float = 0) -> dict[str, Any]:
    """A range for the next value from earlier ones (see the module's docstring);
    ``quantum``: how precisely each was measured (the executor's poll interval)."""
    n = len(values)
    if n == 0:
        return {"samples": 0}
    low, high, median = min(values), max(values), statistics.median(values)
    if n == 1:
        margin = max(SINGLE_SAMPLE_MARGIN * median, quantum)
    else:
        margin = max((high - low) / (n - 1), MIN_MARGIN * median, quantum)
    return {
        "samples": n,
        "minSeconds": int(low),
        "p50Seconds": int(round(median)),
        "maxSeconds": int(high),
        "lowSeconds": int(max(0.0, low - margin)),
        "highSeconds": int(round(high + margin)),
    }


def _wave_groups(plan: Mapping[str, Any], wave: str, phase: str) -> list[str]:
    """The module groups (not actions or checks) a wave runs in a phase."""
    kinds = plan.get("groups", {})
    ran = {
        g["groupId"]
        for entry in plan.get("phases", [])
        if entry["phase"] == phase
        for level in entry["levels"]
        if wave in level["waves"]
        for key in ("pre", "groups", "post", "checks")
        for g in level.get(key, [])
    }
    return [
        g
        for g in plan.get("waves", {}).get(wave, {}).get("groups", [])
        if g in ran and kinds.get(g, {}).get("role", "module") == "module"
    ]


def _wave_prediction(
    plan: Mapping[str, Any], samples: Sequence[RunSample], phase: str, level: int, wave: str
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "phase": phase,
        "level": level,
        "wave": wave,
        **interval(
            [s.waves[(phase, wave)] for s in samples if (phase, wave) in s.waves],
            max(s.poll_seconds for s in samples),
        ),
    }
    groups = []
    for group in _wave_groups(plan, wave, phase):
        took = [s.groups[(phase, group)] for s in samples if (phase, group) in s.groups]
        each = [t for s in samples for t in s.resources.get((phase, group), [])]
        if took:
            groups.append(
                {
                    "groupId": group,
                    "module": plan.get("groups", {}).get(group, {}).get("module"),
                    "samples": len(took),
                    "p50Seconds": int(statistics.median(took)),
                    "maxSeconds": max(took),
                    # per resource (a DRS server's launch): what one takes
                    "resourceP50Seconds": int(statistics.median(each)) if each else None,
                    "resourceMaxSeconds": max(each) if each else None,
                }
            )
    groups.sort(key=lambda g: g["p50Seconds"], reverse=True)
    entry["groups"] = groups
    entry["slowestGroup"] = groups[0]["groupId"] if groups else None
    return entry


def predict(plan: Mapping[str, Any], samples: Sequence[RunSample]) -> dict[str, Any]:
    """Each wave's predicted duration, the run's RTO range and its critical path."""
    application, operation = plan.get("application"), plan.get("operation")
    result: dict[str, Any] = {
        "application": application,
        "operation": operation,
        "samples": len(samples),
        "from": [s.execution_id for s in samples],
    }
    if not samples:
        result.update(
            available=False,
            note=f"no earlier successful {operation} of {application} in the history: "
            "no prediction (run a drill first)",
            waves=[],
        )
        return result
    phases = [p["phase"] for p in plan.get("phases", [])]
    recovery = recovery_phase(phases)
    waves = []
    lows = highs = mids = 0.0
    critical: list[str] = []
    unknown: list[str] = []
    for entry in plan.get("phases", []):
        for level in entry["levels"]:
            predicted = [
                _wave_prediction(plan, samples, entry["phase"], level["level"], w)
                for w in level["waves"]
            ]
            waves.extend(predicted)
            if entry["phase"] != recovery:
                continue
            unknown += [p["wave"] for p in predicted if not p["samples"]]
            known = [p for p in predicted if p["samples"]]
            if known:
                slowest = max(known, key=lambda p: p["p50Seconds"])
                critical.append(slowest["wave"])
                lows += max(p["lowSeconds"] for p in known)
                highs += max(p["highSeconds"] for p in known)
                mids += slowest["p50Seconds"]
    leads = [s.lead_seconds for s in samples if s.lead_seconds is not None]
    # the lead is polled too when earlier phases ran (a drill's INSTANTIATE)
    lead = interval(leads, max(s.poll_seconds for s in samples) if any(leads) else 0)
    between = interval([s.between_levels_seconds for s in samples])
    measured = interval([s.rto_seconds for s in samples if s.rto_seconds is not None])
    for part in (lead, between):
        if part["samples"]:
            lows += part["lowSeconds"]
            highs += part["highSeconds"]
            mids += part["p50Seconds"]
    note = f"from {len(samples)} earlier {operation}(s); range = the parts' ranges added up" + (
        f"; no history for wave(s) {', '.join(unknown)}: left out" if unknown else ""
    )
    result.update(
        available=True,
        complete=not unknown,
        recoveryPhase=recovery,
        rto={
            "lowSeconds": int(lows),
            "p50Seconds": int(mids),
            "highSeconds": int(highs),
            "samples": len(samples),
        },
        measuredBefore=measured,  # the earlier runs' own RTOs
        leadSeconds=lead,
        betweenLevelsSeconds=between,
        criticalPath=critical,
        wavesWithoutHistory=unknown,
        waves=waves,
        note=note,
    )
    if plan.get("rtoTargetMinutes"):
        target = int(plan["rtoTargetMinutes"]) * 60
        result["rto"]["targetSeconds"] = target
        result["rto"]["risk"] = (
            "within target"
            if highs <= target
            else "may miss the target"
            if lows <= target
            else "will miss the target"
        )
    return result


def wave_prediction(
    prediction: Mapping[str, Any] | None, phase: str, wave: str
) -> Mapping[str, Any] | None:
    """The prediction of one wave in one phase (None: none, or no samples)."""
    for entry in (prediction or {}).get("waves", []):
        if entry["phase"] == phase and entry["wave"] == wave and entry.get("samples"):
            return entry
    return None


def for_execution(
    history: Any, execution: Mapping[str, Any], plan: Mapping[str, Any]
) -> dict[str, Any]:
    """The prediction the plan step makes before a run: from the runs that ended before it
    started (kept in the plan, so the report shows what was predicted, not a hindsight)."""
    try:
        samples = samples_from_history(
            history,
            str(execution.get("application")),
            str(execution.get("operation")),
            before=str(execution.get("startedAt") or "") or None,
            exclude=str(execution.get("executionId")),
        )
        return predict(plan, samples)
    except Exception as exc:  # noqa: BLE001 - a prediction never stops a recovery
        log.exception("no prediction for %s", execution.get("executionId"))
        return {"available": False, "samples": 0, "waves": [], "note": f"no prediction: {exc}"}


def summary(prediction: Mapping[str, Any]) -> dict[str, Any]:
    """What the execution item keeps of a prediction (status shows it during the run)."""
    if not prediction.get("available"):
        return {"available": False, "note": prediction.get("note")}
    return {
        "available": True,
        **prediction["rto"],
        "criticalPath": prediction["criticalPath"],
        "complete": prediction["complete"],
    }
