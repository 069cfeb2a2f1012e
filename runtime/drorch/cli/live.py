"""A live view of one execution: a table at a terminal, one line per event elsewhere.

Both read the description :meth:`drorch.client.Client.describe` returns: waves
in the order they run (phases as the execution runs them, then levels),
resources with their wave, gates with their decision.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from drorch.engine import clock

STYLE = {
    "SUCCEEDED": "green",
    "FAILED": "red",
    "CANCELLED": "yellow",
    "RUNNING": "cyan",
    "PENDING": "dim",
    "PAUSED": "yellow",
    "WAITING_APPROVAL": "magenta",
    "SKIPPED": "yellow",
    "BLOCKED": "red",
}
ORDER = ("SUCCEEDED", "RUNNING", "PENDING", "FAILED", "SKIPPED", "CANCELLED")


def styled(status: str) -> Text:
    return Text(status, style=STYLE.get(status, ""))


def clock_text(seconds: float | None) -> str:
    """``1h02m``, ``12m30s`` or ``45s``; empty when unknown."""
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _seconds(start: str | None, end: str | None | datetime) -> float | None:
    if not start or end is None:
        return None
    finish = end if isinstance(end, datetime) else clock.parse(end)
    return (finish - clock.parse(start)).total_seconds()


def _now() -> datetime:
    return clock.now()


def wave_counts(description: Mapping[str, Any]) -> dict[tuple[str, str], Counter[str]]:
    """Resources by status of each (phase, wave): the counters each wave carries
    (``resources``, kept by the engine), else counted from the description's resources."""
    counts: dict[tuple[str, str], Counter[str]] = {}
    waves = description.get("waves", [])
    if any("resources" in w for w in waves):
        for wave in waves:
            kept = Counter(
                {s.upper(): n for s, n in (wave.get("resources") or {}).items() if s != "total"}
            )
            counts[(wave.get("phase", ""), wave.get("wave", ""))] = +kept
        return counts
    for resource in description.get("resources", []):
        key = (resource.get("phase", ""), resource.get("wave", ""))
        counts.setdefault(key, Counter())[resource.get("status", "?")] += 1
    return counts


def count_text(counts: Counter[str]) -> str:
    if not counts:
        return "-"
    known = [s for s in ORDER if counts.get(s)] + sorted(set(counts) - set(ORDER))
    return " ".join(f"{counts[s]} {s.lower()}" for s in known)


def open_gates(description: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [g for g in description.get("gates", []) if "decision" not in g]


def gate_label(gate: Mapping[str, Any]) -> str:
    where = gate.get("phase") or ""
    if gate.get("kind") == "wave" and gate.get("level") is not None:
        where += f" {gate.get('position', 'before')} level {gate.get('level')}"
    if gate.get("kind") == "failure":  # a failed step that waits for retry or skip
        where += f" step {gate.get('step')}"
    return f"gate {gate.get('gate')} ({gate.get('kind')}{' ' + where if where else ''})"


def approve_command(execution_id: str, gate: Mapping[str, Any], target: str = "") -> str:
    """The command that answers the gate (a failed step: retry or skip it)."""
    if gate.get("kind") == "failure":
        step = f"{execution_id} --step {gate.get('step')} --reason '...'{target}"
        return f"drorch retry {step} | drorch skip {step} ({gate.get('position', '')})"
    return f"drorch approve {execution_id} --gate {gate.get('gate')}{target}"


def wave_notes(description: Mapping[str, Any]) -> list[Text]:
    """A wave's warnings (optional members that failed, skipped steps) and why a wave is
    BLOCKED (failurePolicy isolate)."""
    lines = []
    for wave in description.get("waves", []):
        where = f"{wave.get('phase')} wave {wave.get('wave')}"
        if wave.get("status") == "BLOCKED":
            lines.append(Text(f"{where} BLOCKED: {wave.get('reason', '')}", style="red"))
        for warning in wave.get("warnings") or []:
            lines.append(Text(f"{where} warning: {warning}", style="yellow"))
    return lines


def rto_target_minutes(description: Mapping[str, Any]) -> int | None:
    """The target the run is racing now: the running wave's in the recovery phase, else
    the largest (when every wave with a target must be recovered)."""
    waves = description.get("waves", [])
    phases = [w.get("phase") for w in waves]
    recovery = "ACTIVATE" if "ACTIVATE" in phases else (phases[-1] if phases else None)
    targets = [
        w for w in waves if w.get("phase") == recovery and w.get("rtoTargetMinutes") is not None
    ]
    running = [w for w in targets if w.get("status") == "RUNNING"]
    if running:
        return min(w["rtoTargetMinutes"] for w in running)
    return max((w["rtoTargetMinutes"] for w in targets), default=None)


def elapsed_text(description: Mapping[str, Any], now: datetime | None = None) -> str:
    execution = description["execution"]
    end: str | datetime | None = execution.get("finishedAt") or (now or _now())
    elapsed = _seconds(execution.get("startedAt"), end)
    if elapsed is None:
        return ""
    recovers = execution.get("operation") in ("drill", "failover", "failback")
    target = rto_target_minutes(description) if recovers else None
    text = f"elapsed {clock_text(elapsed)}"
    if target is not None:
        text += f" of RTO target {target}m"
        if elapsed > target * 60:
            text += " (over)"
    return text


def render(description: Mapping[str, Any], target: str = "", now: datetime | None = None) -> Group:
    """The table a terminal shows while an execution runs (and ``drorch status``)."""
    execution = description["execution"]
    execution_id = execution.get("executionId", "?")
    header = Text.assemble(
        (f"{execution_id}", "bold"),
        "  ",
        styled(execution.get("status", "?")),
        f"  {execution.get('application', '')} {execution.get('operation', '')}",
        f"  {elapsed_text(description, now)}",
    )
    table = Table(show_header=True, header_style="bold", expand=False, pad_edge=False)
    for column in ("phase", "level", "wave", "status", "resources", "duration"):
        table.add_column(column, no_wrap=column != "resources")
    counts = wave_counts(description)
    moment = now or _now()
    for wave in description.get("waves", []):
        status = wave.get("status", "?")
        end = wave.get("finishedAt") or (moment if status == "RUNNING" else None)
        table.add_row(
            wave.get("phase", ""),
            str(wave.get("level", "")),
            wave.get("wave", ""),
            styled(status),
            count_text(counts.get((wave.get("phase", ""), wave.get("wave", "")), Counter())),
            clock_text(_seconds(wave.get("startedAt"), end)),
        )
    parts: list[Any] = [header, table, *wave_notes(description)]
    for gate in open_gates(description):
        parts.append(
            Text(
                f"waiting at {gate_label(gate)}: {approve_command(execution_id, gate, target)}",
                style="magenta",
            )
        )
    parts += readiness_lines(execution.get("readiness"))
    for edit in description.get("planEdits", []):
        parts.append(
            Text(
                f"plan edit {edit.get('revision')} by {str(edit.get('editedBy', '')).rsplit('/', 1)[-1]}"
                f" at {_stamp(edit.get('editedAt'))}: waves {', '.join(edit.get('waves') or [])}",
                style="dim",
            )
        )
    predicted = execution.get("predictedRto") or {}
    if predicted.get("available"):
        parts.append(
            Text(
                f"predicted RTO {clock_text(predicted.get('lowSeconds'))}.."
                f"{clock_text(predicted.get('highSeconds'))}"
                f" ({predicted.get('samples')} earlier runs)",
                style="dim",
            )
        )
    if execution.get("error"):
        parts.append(Text(failure_text(execution), style="red"))
    return Group(*parts)


def readiness_lines(record: Mapping[str, Any] | None) -> list[Text]:
    """The execution's readiness (its first state): the verdict, then BLOCKERs and WARNINGs."""
    if not record:
        return []
    from drorch.engine.readiness import headline, notable

    style = {"BLOCKED": "bold red", "WARNINGS": "yellow"}.get(record.get("verdict", ""), "green")
    return [Text(headline(record), style=style)] + [
        Text(f"  {line}", style="red" if line.startswith("BLOCKER") else "yellow")
        for line in notable(record)
    ]


def failure_text(execution: Mapping[str, Any]) -> str:
    """``error: cause`` without saying the same word twice (no ``FAILED FAILED``)."""
    error = str(execution.get("error") or "").strip()
    cause = str(execution.get("cause") or "").strip()
    if cause and error and (cause == error or cause.startswith(error)):
        return f"failed: {cause}"
    if cause and error:
        return f"failed: {error}: {cause}"
    return f"failed: {error or cause or execution.get('status', '')}"


def _stamp(moment: str | None) -> str:
    return moment[11:19] if moment and len(moment) >= 19 else "--:--:--"


def events(
    before: Mapping[str, Any] | None, after: Mapping[str, Any], target: str = ""
) -> list[str]:
    """What changed between two descriptions, one line per event (for logs and CI):
    the start, each wave as it ends, each gate as it opens and is decided, the end."""
    lines: list[str] = []
    old = before or {"execution": {}, "waves": [], "gates": []}
    new_execution, old_execution = after["execution"], old["execution"]
    execution_id = new_execution.get("executionId", "")
    status = new_execution.get("status")
    if new_execution.get("startedAt") and not old_execution.get("startedAt"):
        lines.append(f"{_stamp(new_execution.get('startedAt'))} execution {execution_id} started")
    old_waves = {(w.get("phase"), w.get("wave")): w for w in old.get("waves", [])}
    counts = wave_counts(after)
    for wave in after.get("waves", []):
        key = (wave.get("phase"), wave.get("wave"))
        wave_status = wave.get("status")
        if (
            wave_status in ("PENDING", "RUNNING")
            or old_waves.get(key, {}).get("status") == wave_status
        ):
            continue  # one line per wave, when it ends
        took = clock_text(_seconds(wave.get("startedAt"), wave.get("finishedAt")))
        lines.append(
            f"{_stamp(wave.get('finishedAt'))} {wave.get('phase')} level {wave.get('level')} "
            f"wave {wave.get('wave')} {wave_status} in {took}: "
            f"{count_text(counts.get(key, Counter()))}"
        )
    for change in after.get("changes", []):  # a failed resource is told as it fails
        if change.get("status") == "FAILED" and change.get("before") != "FAILED":
            lines.append(
                f"{_stamp(change.get('at'))} {change.get('phase')} {change.get('groupId')} "
                f"{change.get('name') or change.get('resourceId')} ({change.get('accountId')}) "
                f"FAILED: {change.get('error') or 'failed'}"
            )
    old_gates = {g.get("gate"): g for g in old.get("gates", [])}
    for gate in after.get("gates", []):
        previous = old_gates.get(gate.get("gate"))
        if previous is None and "decision" not in gate:
            lines.append(
                f"{_stamp(gate.get('requestedAt'))} waiting at {gate_label(gate)}: "
                f"{approve_command(execution_id, gate, target)}"
            )
        if "decision" in gate and (previous is None or "decision" not in previous):
            who = str(gate.get("decidedBy", "")).rsplit("/", 1)[-1]
            lines.append(
                f"{_stamp(gate.get('decidedAt'))} {gate_label(gate)} {gate['decision']}"
                + (f" by {who}" if who else "")
            )
    if status in ("SUCCEEDED", "FAILED", "CANCELLED") and status != old_execution.get("status"):
        took = clock_text(_seconds(new_execution.get("startedAt"), new_execution.get("finishedAt")))
        lines.append(f"{_stamp(new_execution.get('finishedAt'))} {execution_id} {status} in {took}")
    return lines


def render_resources(page: Mapping[str, Any], target: str = "") -> Group:
    """One page of ``drorch status ID --resources``, and the command for the next."""
    from drorch.engine.report import resource_status  # FAILED (optional): dr:impact

    table = Table(show_header=True, header_style="bold", expand=False, pad_edge=False)
    for column in ("phase", "wave", "group", "account", "resource", "status", "error"):
        table.add_column(column, no_wrap=column != "error")
    for resource in page.get("resources", []):
        table.add_row(
            resource.get("phase", ""),
            resource.get("wave", ""),
            resource.get("groupId", ""),
            resource.get("accountId", ""),
            str(resource.get("name") or resource.get("resourceId", "")),
            Text(resource_status(resource) or "?", style=STYLE.get(resource.get("status"), "")),
            str(resource.get("error") or ""),
        )
    parts: list[Any] = [table]
    token = page.get("nextToken")
    if token:
        parts.append(
            Text(
                f"next page: drorch status {page.get('executionId')} --resources "
                f"--next-token '{token}'{target}",
                style="dim",
                no_wrap=True,
                overflow="ignore",
            )
        )
    return Group(*parts)
