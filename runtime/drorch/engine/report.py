"""The execution report: what ran, when, how long, against which RTO, with what outcome.

Built from the history (execution, wave, module, resource and gate items) plus
the discovery's exclusions; rendered as JSON, Markdown and a self-contained HTML
page (inline CSS, a bar per wave on a shared time axis; no external assets).

Measured recovery time of a wave = from the execution's start to the end of the
wave in the recovery phase (ACTIVATE, or the operation's last phase), compared
with the wave's target: the smallest ``dr:rto-target`` among its resources.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from typing import Any

from drorch import names
from drorch.engine import rto as rtos
from drorch.engine.clock import parse, seconds_between
from drorch.engine.history import by_kind
from drorch.tags import CRITICAL, OPTIONAL

REPORT_FORMATS = {"json": "application/json", "md": "text/markdown", "html": "text/html"}


def report_key(execution_id: str, extension: str) -> str:
    return names.report_key(execution_id, extension)


def _recovery_phase(phases: list[str]) -> str | None:
    if "ACTIVATE" in phases:
        return "ACTIVATE"
    return phases[-1] if phases else None


# up to this many resources the report lists each one; beyond, it gives the counts of each
# module group in each account (their resources are in the executor's state files), so
# finalising reads no per-resource item of a large estate
RESOURCES_LISTED = 1000


def _module_counts(
    modules: Iterable[Mapping[str, Any]],
    kinds: Mapping[str, Mapping[str, Any]],
    wave_of_group: Mapping[str, Any],
) -> dict[tuple[str, str], dict[str, int]]:
    """(phase, wave) -> resources by status, summed from the module items' counts."""
    found: dict[tuple[str, str], dict[str, int]] = {}
    for module in modules:
        if kinds.get(module.get("groupId"), {}).get("role", "module") != "module":
            continue
        where = (module["phase"], wave_of_group.get(module.get("groupId"), ""))
        counts = found.setdefault(where, _counts(()))
        for key, value in (module.get("counts") or {}).items():
            if key in counts:
                counts[key] += int(value)
    return found


def build_report(
    items: Iterable[Mapping[str, Any]],
    groups: Iterable[Mapping[str, Any]] = (),
    plan: Mapping[str, Any] | None = None,
    *,
    listed: bool = True,
) -> dict[str, Any]:
    """The report (JSON-ready) from an execution's history items and its group files.

    ``listed`` False: ``items`` hold no module group's resource items (more than
    :data:`RESOURCES_LISTED`); the counts come from the module items, and the report
    names the state files that hold each group's resources instead of listing them."""
    execution, kinds = by_kind(items)
    waves, modules, resources, gates, edits = (
        kinds.get(kind, []) for kind in ("WAVE", "MOD", "RES", "GATE", "EDIT")
    )
    if not execution:
        raise ValueError("the history items contain no execution item")

    kinds = (plan or {}).get("groups", {})
    step_items = [
        r for r in resources if kinds.get(r.get("groupId"), {}).get("role", "module") != "module"
    ]
    resources = [
        r for r in resources if kinds.get(r.get("groupId"), {}).get("role", "module") == "module"
    ]
    phases = list(execution.get("phases") or [])
    for wave in waves:
        if wave["phase"] not in phases:
            phases.append(wave["phase"])
    recovery_phase = _recovery_phase(phases)
    started = execution.get("startedAt")

    by_phase_wave: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    wave_of_group = {}
    for group in groups:
        wave_of_group[group["groupId"]] = group.get("wave")
    if plan:
        for name, info in plan.get("waves", {}).items():
            for group_id in info.get("groups", []):
                wave_of_group.setdefault(group_id, name)
    for resource in resources:
        wave = wave_of_group.get(resource.get("groupId"), "")
        by_phase_wave.setdefault((resource["phase"], wave), []).append(resource)

    if listed:
        outcomes = {where: _counts(found) for where, found in by_phase_wave.items()}
        totals = _counts(resources)
    else:
        outcomes = _module_counts(modules, kinds, wave_of_group)
        totals = _counts(())
        for counts in outcomes.values():
            for key, value in counts.items():
                totals[key] += value
    prediction = (plan or {}).get("prediction")
    phase_entries = []
    for phase in phases:
        phase_waves = sorted(
            (w for w in waves if w["phase"] == phase), key=lambda w: (w["level"], w["wave"])
        )
        entries = []
        for wave in phase_waves:
            outcome = outcomes.get((phase, wave["wave"])) or _counts(())
            target = wave.get("rtoTargetMinutes")
            recovered_after = (
                seconds_between(started, wave.get("finishedAt"))
                if phase == recovery_phase and wave.get("status") == "SUCCEEDED"
                else None
            )
            entries.append(
                {
                    "wave": wave["wave"],
                    "level": wave["level"],
                    "status": wave.get("status"),
                    "startedAt": wave.get("startedAt"),
                    "finishedAt": wave.get("finishedAt"),
                    "durationSeconds": seconds_between(
                        wave.get("startedAt"), wave.get("finishedAt")
                    ),
                    "rtoTargetMinutes": target,
                    "recoveredAfterSeconds": recovered_after,
                    "rtoMet": (recovered_after <= target * 60)
                    if recovered_after is not None and target is not None
                    else None,
                    "failures": wave.get("failures", []),
                    "warnings": wave.get("warnings", []),
                    # failurePolicy isolate: why the wave was BLOCKED; members not started
                    "reason": wave.get("reason"),
                    "blockedBy": wave.get("blockedBy", []),
                    "notRun": wave.get("notRun", []),
                    "resources": outcome,
                    "predicted": rtos.predicted_fields(prediction, phase, wave["wave"]),
                }
            )
        starts = [w["startedAt"] for w in entries if w["startedAt"]]
        ends = [w["finishedAt"] for w in entries if w["finishedAt"]]
        phase_start = min(starts, key=parse) if starts else None
        phase_end = max(ends, key=parse) if ends else None
        phase_entries.append(
            {
                "phase": phase,
                "startedAt": phase_start,
                "finishedAt": phase_end,
                "durationSeconds": seconds_between(phase_start, phase_end),
                "waves": entries,
            }
        )

    excluded = [dict(e) for g in groups for e in g.get("excluded", [])]
    report = {
        "executionId": execution.get("executionId"),
        "application": execution.get("application"),
        "operation": execution.get("operation"),
        "status": execution.get("status"),
        "requestedBy": execution.get("requestedBy"),
        "manifest": execution.get("manifest"),
        "startedAt": started,
        "finishedAt": execution.get("finishedAt"),
        "durationSeconds": seconds_between(started, execution.get("finishedAt")),
        "error": execution.get("error"),
        "cause": execution.get("cause"),
        "recoveryPhase": recovery_phase,
        "summary": {
            "discovered": execution.get("discovered"),
            "excluded": len(excluded),
            "skipped": sum(len(g.get("skipped", [])) for g in groups),
            "resources": totals,
            "wavesFailed": sum(1 for w in waves if w.get("status") == "FAILED"),
        },
        "phases": phase_entries,
        "modules": sorted(
            (
                {
                    "phase": m["phase"],
                    "groupId": m["groupId"],
                    "accountId": m["accountId"],
                    "status": m.get("status"),
                    "startedAt": m.get("startedAt"),
                    "finishedAt": m.get("finishedAt"),
                    "summary": m.get("summary"),
                    "reason": m.get("reason"),
                    "counts": m.get("counts"),
                    "role": kinds.get(m["groupId"], {}).get("role", "module"),
                }
                for m in modules
            ),
            key=lambda m: (
                phases.index(m["phase"]) if m["phase"] in phases else 99,
                m["groupId"],
                m["accountId"],
            ),
        ),
        "resources": sorted(
            (
                {
                    "phase": r["phase"],
                    "groupId": r["groupId"],
                    "accountId": r["accountId"],
                    "resourceId": r["resourceId"],
                    "name": r.get("name", ""),
                    "status": r.get("status"),
                    "impact": r.get("impact") or CRITICAL,  # dr:impact
                    "error": r.get("error"),
                    "startedAt": r.get("startedAt"),
                    "finishedAt": r.get("finishedAt"),
                    "detail": r.get("detail", {}),
                }
                for r in resources
            ),
            key=lambda r: (
                phases.index(r["phase"]) if r["phase"] in phases else 99,
                r["groupId"],
                r["accountId"],
                r["name"] or r["resourceId"],
            ),
        ),
        # more resources than the report lists: where each group's are (the executor's state)
        "resourcesListed": listed,
        "resourceStates": []
        if listed
        else sorted(
            names.state_key(
                str(execution.get("executionId")), m["groupId"], m["accountId"], m["phase"]
            )
            for m in modules
            if kinds.get(m["groupId"], {}).get("role", "module") == "module"
        ),
        "excluded": excluded,
        # the plan's warnings: a technology that selected nothing under allowEmpty, ...
        "planWarnings": list((plan or {}).get("warnings", [])),
        # the first state's findings (drorch.engine.readiness), with who forced past BLOCKERs
        "readiness": execution.get("readiness"),
        "steps": _steps(step_items, kinds, wave_of_group, phases, plan),
        "approvals": [
            {
                "gate": g["gate"],
                "kind": g.get("kind"),
                "step": g.get("step"),  # a failed step's (retry or skip)
                "phase": g.get("phase"),
                "level": g.get("level"),
                "position": g.get("position"),
                "requestedAt": g.get("requestedAt"),
                "decision": g.get("decision"),
                "decidedBy": g.get("decidedBy"),
                "decidedAt": g.get("decidedAt"),
                "comment": g.get("comment"),
                "waitedSeconds": seconds_between(g.get("requestedAt"), g.get("decidedAt")),
            }
            for g in sorted(gates, key=lambda g: g["gate"])
        ],
    }
    report["prediction"] = {k: v for k, v in (prediction or {}).items() if k != "waves"} or None
    report["planEdits"] = [
        {
            k: e.get(k)
            for k in ("revision", "editedBy", "editedAt", "comment", "waves", "changes", "diff")
        }
        for e in sorted(edits, key=lambda e: e["revision"])
    ]
    report["rto"] = rtos.verdict(report, plan)
    return report


def manifest_text(report: Mapping[str, Any]) -> str:
    """The manifest version the execution pinned (and its edits during the run)."""
    ref = report.get("manifest") or {}
    if not ref.get("key"):
        return "-"
    text = f"s3://{ref.get('bucket', '')}/{ref['key']} version {ref.get('versionId') or '-'}"
    edits = report.get("planEdits") or []
    if edits:
        text += f"; {len(edits)} plan edit(s) during the run (see Plan edits)"
    return text


STEP_LABELS = {"pre": "pre-wave action", "post": "post-wave action", "check": "health check"}
_ORDER = {"pre": 0, "post": 1, "check": 2}


def _steps(
    items: list[Mapping[str, Any]],
    kinds: Mapping[str, Mapping[str, Any]],
    wave_of_group: Mapping[str, Any],
    phases: list[str],
    plan: Mapping[str, Any] | None,
) -> list[dict[str, Any]]:
    """Wave actions and health checks, each as it ran (or why it did not, in a drill)."""
    rows = []
    for r in items:
        kind = kinds.get(r["groupId"], {})
        if r.get("resourceId") != kind.get("name"):
            continue  # per-instance lines of a Run Command step are in its detail
        rows.append(
            {
                "phase": r["phase"],
                "wave": wave_of_group.get(r["groupId"], ""),
                "kind": STEP_LABELS.get(kind.get("role"), kind.get("role")),
                "role": kind.get("role"),
                "name": kind.get("name"),
                "module": kind.get("module"),
                "accountId": r["accountId"],
                "status": r.get("status"),
                "failurePolicy": kind.get("failurePolicy"),
                "startedAt": r.get("startedAt"),
                "finishedAt": r.get("finishedAt"),
                "durationSeconds": seconds_between(r.get("startedAt"), r.get("finishedAt")),
                "detail": r.get("detail", {}),
                "error": r.get("error"),
            }
        )
    for skip in (plan or {}).get("skipped", []):
        kind = kinds.get(skip.get("groupId"), {})
        if kind.get("role", "module") == "module":
            continue
        rows.append(
            {
                "phase": skip["phase"],
                "wave": wave_of_group.get(skip["groupId"], ""),
                "kind": STEP_LABELS.get(kind.get("role"), kind.get("role")),
                "role": kind.get("role"),
                "name": kind.get("name"),
                "module": kind.get("module"),
                "accountId": "-",
                "status": "SKIPPED",
                "failurePolicy": kind.get("failurePolicy"),
                "startedAt": None,
                "finishedAt": None,
                "durationSeconds": None,
                "detail": {},
                "error": skip.get("reason"),
            }
        )
    wave_order = {name: i for i, name in enumerate((plan or {}).get("waves", {}))}
    return sorted(
        rows,
        key=lambda x: (
            phases.index(x["phase"]) if x["phase"] in phases else 99,
            wave_order.get(x["wave"], 99),
            _ORDER.get(x["role"], 9),
            x["startedAt"] or "",
            x["name"] or "",
        ),
    )


def resource_status(resource: Mapping[str, Any]) -> str:
    """A resource's status, and when it was tagged ``dr:impact=optional``, that it was: an
    optional resource's failure did not fail its group (``FAILED (optional)``)."""
    status = str(resource.get("status") or "")
    return f"{status} ({OPTIONAL})" if resource.get("impact") == OPTIONAL else status


def resource_note(resource: Mapping[str, Any]) -> str:
    """The measures a module recorded that a DR report must show: replication lag, latency,
    RPO, the mode and the writer or role after the change."""
    detail = resource.get("detail") or {}
    parts = []
    for key, value in sorted(detail.items()):
        lowered = key.lower()
        if any(word in lowered for word in ("lag", "latency", "rpo")) and not key.endswith("At"):
            parts.append(f"{key} {json.dumps(value, default=str)}")
    for key in ("mode", "role", "targetRegion", "durationSeconds"):
        if key in detail:
            parts.append(f"{key} {detail[key]}")
    return "; ".join(parts)[:300]


def step_outcome(step: Mapping[str, Any]) -> str:
    """One line: the step's error, or what it returned."""
    if step.get("error"):
        return str(step["error"])
    detail = step.get("detail") or {}
    for key in ("outputs", "result", "status", "alarms", "automationStatus", "seconds"):
        if key in detail:
            return f"{key}: {json.dumps(detail[key], default=str)[:200]}"
    return ""


def _unlisted(report: Mapping[str, Any]) -> str:
    total = report["summary"]["resources"]["total"]
    return (
        f"{total} resources, more than the {RESOURCES_LISTED} a report lists: each module "
        "group's resources in each account and phase (status, times, errors, recovery "
        f"instances) are in its state file, executions/{report['executionId']}/state/"
        "<group>/<account>/<phase>.json; their counts:"
    )


def _unlisted_rows(report: Mapping[str, Any]) -> list[list[str]]:
    """Phase, group, account, status and counts of each module group in each account."""
    rows = []
    for module in report["modules"]:
        if module.get("role", "module") != "module":
            continue
        counts = module.get("counts") or {}
        rows.append(
            [
                str(module["phase"]),
                str(module["groupId"]),
                str(module["accountId"]),
                str(module.get("status")),
                *(str(counts.get(k, 0)) for k in ("total", "succeeded", "failed", "skipped")),
            ]
        )
    return rows


UNLISTED_HEADERS = [
    "Phase", "Group", "Account", "Status", "Resources", "Succeeded", "Failed", "Skipped",
]  # fmt: skip


def _counts(resources: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = {"total": 0, "succeeded": 0, "failed": 0, "running": 0, "skipped": 0}
    for resource in resources:
        counts["total"] += 1
        key = str(resource.get("status", "")).lower()
        if key in counts:
            counts[key] += 1
    return counts


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def rto_verdict(wave: Mapping[str, Any]) -> str | None:
    """``met``, ``not met`` (over the target, or never recovered), or None (no target,
    or not a wave of the recovery phase, or still running)."""
    if wave.get("rtoMet") is not None:
        return "met" if wave["rtoMet"] else "not met"
    if wave.get("rtoTargetMinutes") is not None and wave.get("status") in ("FAILED", "CANCELLED"):
        return "not met"
    return None


def _rto(wave: Mapping[str, Any]) -> str:
    target = wave.get("rtoTargetMinutes")
    measured = wave.get("recoveredAfterSeconds")
    verdict = rto_verdict(wave)
    target_text = f"{target} min" if target is not None else "no target"
    if measured is None:
        if verdict == "not met":
            return f"not recovered / {target_text}: not met"
        return f"target {target} min" if target is not None else "-"
    return f"{duration(measured)} / {target_text}" + (f": {verdict}" if verdict else "")


def recovery_time_note(report: Mapping[str, Any]) -> str:
    """What the measured recovery time counts from, and to."""
    return (
        "Recovery time counts from the start of the execution "
        f"({report.get('startedAt') or '-'}) to the end of the wave in the "
        f"{report.get('recoveryPhase') or 'last'} phase; the target is the wave's smallest "
        "dr:rto-target."
    )


def recovery_instance(resource: Mapping[str, Any]) -> str:
    """The instance a recovery launched for the resource (DRS), if any."""
    detail = resource.get("detail") or {}
    return str(detail.get("recoveryInstanceId") or detail.get("ec2InstanceId") or "")


# --- Markdown ----------------------------------------------------------------------------


def wave_notes(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(css class, text) for each wave's warnings (an optional member that failed, a step an
    operator skipped), each BLOCKED wave and why, and each member an isolated failure kept
    from starting."""
    notes = []
    for phase in report["phases"]:
        for wave in phase["waves"]:
            where = f"{phase['phase']}, wave {wave['wave']}"
            if wave.get("status") == "BLOCKED":
                notes.append(("BLOCKED", f"Blocked ({where}): {wave.get('reason') or ''}"))
            for warning in wave.get("warnings", []):
                notes.append(("warning", f"Warning ({where}): {warning}"))
            for member in wave.get("notRun") or []:
                notes.append(("BLOCKED", f"Not run ({where}): {member}"))
    return notes


def gate_kind(gate: Mapping[str, Any]) -> str:
    """A gate's kind, with the step of a failed step's gate."""
    return f"{gate['kind']} {gate['step']}" if gate.get("step") else str(gate["kind"])


def _md(text: Any) -> str:
    return str("" if text is None else text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Mapping[str, Any]) -> str:
    summary = report["summary"]
    counts = summary["resources"]
    lines = [
        f"# drorch {report['operation']} of {report['application']}: {report['status']}",
        "",
        f"- Execution: `{report['executionId']}`",
        f"- Requested by: {report.get('requestedBy') or '-'}",
        f"- Started: {report.get('startedAt') or '-'}; finished: {report.get('finishedAt') or '-'} "
        f"({duration(report.get('durationSeconds'))})",
        f"- Resources: {counts['total']} ({counts['succeeded']} succeeded, {counts['failed']} failed, "
        f"{counts['running']} unfinished); excluded: {summary['excluded']}; "
        f"skipped (dr:enabled=false): {summary['skipped']}",
    ]
    if report.get("error"):
        lines.append(f"- Error: **{_md(report['error'])}**: {_md(report.get('cause'))}")
    lines.append(f"- {recovery_time_note(report)}")
    lines.append(f"- **{_md((report.get('rto') or {}).get('text', '-'))}**")
    lines.append(
        f"- Prediction before the run: {_md(rtos.prediction_text(report.get('prediction')))}"
    )
    lines.append(f"- Manifest: {_md(manifest_text(report))}")
    lines += _readiness_markdown(report.get("readiness"))
    comparison = rtos.comparison_rows(report)
    if comparison:
        lines += [
            "",
            f"## Predicted vs measured vs target ({report.get('recoveryPhase')})",
            "",
            "| " + " | ".join(rtos.COMPARISON_HEADERS) + " |",
            "|" + " --- |" * len(rtos.COMPARISON_HEADERS),
        ]
        lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in comparison]
    for phase in report["phases"]:
        lines += [
            "",
            f"## {phase['phase']} ({duration(phase['durationSeconds'])})",
            "",
            "| Level | Wave | Status | Start | End | Duration | Recovery time / RTO target | Resources ok/failed |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for wave in phase["waves"]:
            res = wave["resources"]
            lines.append(
                f"| {wave['level']} | {_md(wave['wave'])} | {wave['status']} | "
                f"{wave['startedAt'] or '-'} | {wave['finishedAt'] or '-'} | "
                f"{duration(wave['durationSeconds'])} | {_rto(wave)} | "
                f"{res['succeeded']}/{res['failed']} of {res['total']} |"
            )
    if report.get("steps"):
        lines += [
            "",
            "## Wave actions and health checks",
            "",
            "| Phase | Wave | Kind | Name | Module | Account | Status | Duration | Outcome |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for step in report["steps"]:
            lines.append(
                f"| {step['phase']} | {_md(step['wave'])} | {step['kind']} | {_md(step['name'])} | "
                f"{step['module']} | {step['accountId']} | {step['status']} | "
                f"{duration(step['durationSeconds'])} | {_md(step_outcome(step))} |"
            )
    for warning in report.get("planWarnings", []):
        lines.append(f"\n- Warning (plan): {_md(warning)}")
    for _, note in wave_notes(report):
        lines.append(f"\n- {_md(note)}")
    if report["approvals"]:
        lines += [
            "",
            "## Gates",
            "",
            "| Gate | Kind | Phase | Requested | Decision | By | At | Comment |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for gate in report["approvals"]:
            lines.append(
                f"| {gate['gate']} | {gate_kind(gate)} | {gate.get('phase') or '-'} | "
                f"{gate.get('requestedAt') or '-'} | {gate.get('decision') or 'pending'} | "
                f"{_md(gate.get('decidedBy')) or '-'} | {gate.get('decidedAt') or '-'} | "
                f"{_md(gate.get('comment'))} |"
            )
    if report.get("planEdits"):
        lines += ["", "## Plan edits", ""]
        for edit in report["planEdits"]:
            lines.append(
                f"- revision {edit['revision']} by {_md(edit.get('editedBy'))} at "
                f"{edit.get('editedAt')}: waves {_md(', '.join(edit.get('waves') or []))}"
                + (f" ({_md(edit['comment'])})" if edit.get("comment") else "")
            )
            if edit.get("diff"):
                lines += ["", "```diff", str(edit["diff"]), "```", ""]
    if report["resources"]:
        lines += [
            "",
            "## Resources",
            "",
            "| Phase | Group | Account | Resource | Status | Duration | Recovery instance | Lag, RPO, result | Error |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for res in report["resources"]:
            label = f"{res['name']} ({res['resourceId']})" if res["name"] else res["resourceId"]
            took = duration(seconds_between(res.get("startedAt"), res.get("finishedAt")))
            lines.append(
                f"| {res['phase']} | {_md(res['groupId'])} | {res['accountId']} | {_md(label)} | "
                f"{resource_status(res)} | {took} | {_md(recovery_instance(res)) or '-'} | "
                f"{_md(resource_note(res))} | {_md(res.get('error'))} |"
            )
    if not report.get("resourcesListed", True):
        lines += ["", "## Resources", "", _unlisted(report), ""]
        lines.append("| " + " | ".join(UNLISTED_HEADERS) + " |")
        lines.append("|" + " --- |" * len(UNLISTED_HEADERS))
        lines += ["| " + " | ".join(_md(c) for c in r) + " |" for r in _unlisted_rows(report)]
    if report["excluded"]:
        lines += [
            "",
            "## Excluded resources",
            "",
            "| Account | Resource | Group | Reasons |",
            "| --- | --- | --- | --- |",
        ]
        for entry in report["excluded"]:
            label = entry.get("name") or entry.get("arn") or entry.get("id")
            lines.append(
                f"| {entry.get('accountId')} | {_md(label)} | {_md(entry.get('groupId'))} | "
                f"{_md('; '.join(entry.get('reasons', [])))} |"
            )
    return "\n".join(lines) + "\n"


# --- HTML --------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2933}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}
th,td{border:1px solid #d9e2ec;padding:.25rem .5rem;text-align:left}th{background:#f0f4f8}
.SUCCEEDED,.OK{color:#137333}.FAILED,.BLOCKER,.BLOCKED{color:#c5221f}.WARNING{color:#b06000}.CANCELLED{color:#b06000}.RUNNING,.PENDING{color:#52606d}
.timeline{border:1px solid #d9e2ec;padding:.5rem;max-width:60rem}
.row{display:flex;align-items:center;margin:.15rem 0}
.label{width:14rem;font-size:.8rem;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.track{position:relative;flex:1;height:1rem;background:#f5f7fa}
.bar{position:absolute;top:0;height:100%;border-radius:2px;background:#4c8bf5}
.bar.FAILED{background:#e8716d}.bar.CANCELLED{background:#f0b429}.bar.SUCCEEDED{background:#57ae5b}
.missed{font-weight:bold;color:#c5221f}
.axis{position:relative;flex:1;height:1.1rem;font-size:.7rem;color:#52606d}
.tick{position:absolute;top:0;border-left:1px solid #9aa5b1;padding-left:2px;height:100%}
.gate{position:absolute;top:-.1rem;bottom:-.1rem;width:0;border-left:2px dashed #8e44ad}
.legend{font-size:.75rem;color:#52606d}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _timeline(report: Mapping[str, Any]) -> str:
    bars = [
        (phase["phase"], wave)
        for phase in report["phases"]
        for wave in phase["waves"]
        if wave.get("startedAt") and wave.get("finishedAt")
    ]
    start = report.get("startedAt")
    if not bars or not start:
        return "<p>No wave has run.</p>"
    t0 = parse(start)
    ends = [parse(w["finishedAt"]) for _, w in bars]
    if report.get("finishedAt"):
        ends.append(parse(report["finishedAt"]))
    span = max((max(ends) - t0).total_seconds(), 1.0)

    def at(moment: str) -> float:
        return max(min((parse(moment) - t0).total_seconds() / span * 100, 100.0), 0.0)

    gates = [g for g in report.get("approvals", []) if g.get("requestedAt")]
    markers = "".join(
        f'<span class="gate" data-gate="{_e(g["gate"])}" style="left:{at(g["requestedAt"]):.2f}%" '
        f'title="{_e(_gate_title(g))}"></span>'
        for g in gates
    )
    rows = []
    for phase, wave in bars:
        left = at(wave["startedAt"])
        width = max((wave["durationSeconds"] or 0) / span * 100, 0.5)
        title = f"{phase} {wave['wave']}: {duration(wave['durationSeconds'])}"
        rows.append(
            f'<div class="row"><span class="label">{_e(phase)} · {_e(wave["wave"])}</span>'
            f'<span class="track">{markers}<span class="bar {_e(wave["status"])}" '
            f'style="left:{left:.2f}%;width:{width:.2f}%" title="{_e(title)}"></span></span></div>'
        )
    step = _tick_step(span)
    ticks = "".join(
        f'<span class="tick" style="left:{t / span * 100:.2f}%">{_e(_tick_label(t))}</span>'
        for t in range(0, int(span) + 1, step)
    )
    legend = (
        f'<p class="legend">Time since the execution started ({_e(start)}); ticks every '
        f"{_e(_tick_label(step))}; dashed lines: gates "
        + ", ".join(f"{_e(g['gate'])} ({_e(g['kind'])} {_e(g.get('phase') or '')})" for g in gates)
        + ".</p>"
        if gates
        else f'<p class="legend">Time since the execution started ({_e(start)}); ticks every '
        f"{_e(_tick_label(step))}.</p>"
    )
    return (
        f'<div class="timeline">{"".join(rows)}'
        f'<div class="row"><span class="label"></span><span class="axis">{ticks}</span></div>'
        f"</div>{legend}"
    )


TICK_STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def _tick_step(span: float) -> int:
    """A round interval giving at most about 10 ticks over ``span`` seconds."""
    return next((s for s in TICK_STEPS if span / s <= 10), TICK_STEPS[-1])


def _tick_label(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    minutes = rest // 60
    if hours:
        return f"{hours}h{minutes:02d}" if minutes else f"{hours}h"
    return f"{minutes}m"


def _gate_title(gate: Mapping[str, Any]) -> str:
    decided = gate.get("decision") or "open"
    return (
        f"gate {gate.get('gate')} ({gate.get('kind')} {gate.get('phase') or ''}) "
        f"requested {gate.get('requestedAt')}: {decided}"
        + (f" at {gate['decidedAt']}" if gate.get("decidedAt") else "")
    )


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: Mapping[str, Any]) -> str:
    status = report["status"]
    counts = report["summary"]["resources"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>drorch {_e(report['operation'])} {_e(report['application'])} {_e(report['executionId'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>drorch {_e(report['operation'])} of {_e(report['application'])}: "
        f'<span class="{_e(status)}">{_e(status)}</span></h1>',
        "<ul>",
        f"<li>Execution: <code>{_e(report['executionId'])}</code></li>",
        f"<li>Requested by: {_e(report.get('requestedBy'))}</li>",
        f"<li>Started {_e(report.get('startedAt'))}, finished {_e(report.get('finishedAt'))} "
        f"({_e(duration(report.get('durationSeconds')))})</li>",
        f"<li>Resources: {counts['total']} — {counts['succeeded']} succeeded, "
        f"{counts['failed']} failed; excluded {report['summary']['excluded']}</li>",
    ]
    if report.get("error"):
        parts.append(
            f'<li class="FAILED">Error: <b>{_e(report["error"])}</b>: {_e(report.get("cause"))}</li>'
        )
    for warning in report.get("planWarnings", []):
        parts.append(f'<li class="warning">Warning (plan): {_e(warning)}</li>')
    for css, note in wave_notes(report):
        parts.append(f'<li class="{css}">{_e(note)}</li>')
    parts.append(f"<li>{_e(recovery_time_note(report))}</li>")
    verdict = report.get("rto") or {}
    verdict_class = {True: "SUCCEEDED", False: "FAILED"}.get(verdict.get("met"), "")
    parts.append(f'<li class="rto {verdict_class}"><b>{_e(verdict.get("text", "-"))}</b></li>')
    parts.append(
        f"<li>Prediction before the run: {_e(rtos.prediction_text(report.get('prediction')))}</li>"
    )
    parts.append(f"<li>Manifest: {_e(manifest_text(report))}</li>")
    parts += ["</ul>", *_readiness_html(report.get("readiness"))]
    parts += ["<h2>Timeline</h2>", _timeline(report)]
    comparison = rtos.comparison_rows(report)
    if comparison:
        parts.append(
            f"<h2>Predicted vs measured vs target ({_e(report.get('recoveryPhase'))})</h2>"
        )
        parts.append(_table(rtos.COMPARISON_HEADERS, [[_e(c) for c in row] for row in comparison]))
    for phase in report["phases"]:
        rows = []
        for wave in phase["waves"]:
            res = wave["resources"]
            rto = _e(_rto(wave))
            if rto_verdict(wave) == "not met":
                rto = f'<span class="missed">{rto}</span>'
            rows.append(
                [
                    str(wave["level"]),
                    _e(wave["wave"]),
                    f'<span class="{_e(wave["status"])}">{_e(wave["status"])}</span>',
                    _e(wave["startedAt"] or "-"),
                    _e(wave["finishedAt"] or "-"),
                    _e(duration(wave["durationSeconds"])),
                    rto,
                    f"{res['succeeded']}/{res['failed']} of {res['total']}",
                ]
            )
        parts.append(f"<h2>{_e(phase['phase'])} ({_e(duration(phase['durationSeconds']))})</h2>")
        parts.append(
            _table(
                [
                    "Level",
                    "Wave",
                    "Status",
                    "Start",
                    "End",
                    "Duration",
                    "Recovery time / RTO target",
                    "OK/failed",
                ],
                rows,
            )
        )
    if report.get("steps"):
        parts.append("<h2>Wave actions and health checks</h2>")
        parts.append(
            _table(
                [
                    "Phase",
                    "Wave",
                    "Kind",
                    "Name",
                    "Module",
                    "Account",
                    "Status",
                    "Duration",
                    "Outcome",
                ],
                [
                    [
                        _e(x["phase"]),
                        _e(x["wave"]),
                        _e(x["kind"]),
                        _e(x["name"]),
                        _e(x["module"]),
                        _e(x["accountId"]),
                        f'<span class="{_e(x["status"])}">{_e(x["status"])}</span>',
                        _e(duration(x["durationSeconds"])),
                        _e(step_outcome(x)),
                    ]
                    for x in report["steps"]
                ],
            )
        )
    if report["approvals"]:
        parts.append("<h2>Gates</h2>")
        parts.append(
            _table(
                ["Gate", "Kind", "Phase", "Requested", "Decision", "By", "At", "Comment"],
                [
                    [
                        _e(g["gate"]),
                        _e(gate_kind(g)),
                        _e(g.get("phase") or "-"),
                        _e(g.get("requestedAt")),
                        _e(g.get("decision") or "pending"),
                        _e(g.get("decidedBy")),
                        _e(g.get("decidedAt")),
                        _e(g.get("comment")),
                    ]
                    for g in report["approvals"]
                ],
            )
        )
    if report.get("planEdits"):
        parts.append("<h2>Plan edits</h2>")
        for edit in report["planEdits"]:
            parts.append(
                f"<p>Revision {_e(edit['revision'])} by {_e(edit.get('editedBy'))} at "
                f"{_e(edit.get('editedAt'))}: waves {_e(', '.join(edit.get('waves') or []))}"
                + (f" ({_e(edit['comment'])})" if edit.get("comment") else "")
                + f"</p><pre>{_e(edit.get('diff'))}</pre>"
            )
    if report["resources"]:
        parts.append("<h2>Resources</h2>")
        parts.append(
            _table(
                [
                    "Phase",
                    "Group",
                    "Account",
                    "Resource",
                    "Status",
                    "Duration",
                    "Recovery instance",
                    "Lag, RPO, result",
                    "Error",
                ],
                [
                    [
                        _e(r["phase"]),
                        _e(r["groupId"]),
                        _e(r["accountId"]),
                        _e(f"{r['name']} ({r['resourceId']})" if r["name"] else r["resourceId"]),
                        f'<span class="{_e(r["status"])}">{_e(resource_status(r))}</span>',
                        _e(duration(seconds_between(r.get("startedAt"), r.get("finishedAt")))),
                        _e(recovery_instance(r) or "-"),
                        _e(resource_note(r)),
                        _e(r.get("error")),
                    ]
                    for r in report["resources"]
                ],
            )
        )
    if not report.get("resourcesListed", True):
        parts.append(f"<h2>Resources</h2><p>{_e(_unlisted(report))}</p>")
        rows = [[_e(c) for c in r] for r in _unlisted_rows(report)]
        parts.append(_table(UNLISTED_HEADERS, rows))
    if report["excluded"]:
        parts.append("<h2>Excluded resources</h2>")
        parts.append(
            _table(
                ["Account", "Resource", "Group", "Reasons"],
                [
                    [
                        _e(x.get("accountId")),
                        _e(x.get("name") or x.get("arn") or x.get("id")),
                        _e(x.get("groupId")),
                        _e("; ".join(x.get("reasons", []))),
                    ]
                    for x in report["excluded"]
                ],
            )
        )
    parts.append("</body></html>")
    return "\n".join(parts)


READINESS_COLUMNS = ["Result", "Resource", "Where", "Check", "Detail", "Call", "What to do"]


def _readiness_rows(readiness: Mapping[str, Any]) -> list[list[str]]:
    from drorch.engine.readiness import named, where

    return [
        [f["result"], named(f), where(f), f["check"], f["detail"], f.get("call") or "-"]
        + [f.get("fix") or "-"]
        for f in readiness.get("findings", [])
    ]


def _readiness_markdown(readiness: Mapping[str, Any] | None) -> list[str]:
    """The readiness table (the execution's first state), worst first."""
    if not readiness:
        return []
    from drorch.engine.readiness import headline

    lines = ["", "## Readiness", "", headline(readiness), ""]
    lines.append("| " + " | ".join(READINESS_COLUMNS) + " |")
    lines.append("|" + " --- |" * len(READINESS_COLUMNS))
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in _readiness_rows(readiness)]
    return lines


def _readiness_html(readiness: Mapping[str, Any] | None) -> list[str]:
    if not readiness:
        return []
    from drorch.engine.readiness import headline

    rows = [
        [f'<span class="{_e(row[0])}">{_e(row[0])}</span>', *(_e(c) for c in row[1:])]
        for row in _readiness_rows(readiness)
    ]
    return [
        "<h2>Readiness</h2>",
        f"<p>{_e(headline(readiness))}</p>",
        _table(READINESS_COLUMNS, rows),
    ]


def write_report(s3: Any, bucket: str, report: Mapping[str, Any]) -> dict[str, str]:
    """The report in all three formats to S3; returns format -> key."""
    execution_id = report["executionId"]
    bodies = {
        "json": json.dumps(report, indent=2, default=str),
        "md": render_markdown(report),
        "html": render_html(report),
    }
    keys = {}
    for extension, body in bodies.items():
        key = report_key(execution_id, extension)
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body.encode(),
            ContentType=f"{REPORT_FORMATS[extension]}; charset=utf-8",
        )
        keys[extension] = key
    return keys
