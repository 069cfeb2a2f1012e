"""What the terminal shows when an execution ends: a summary, not the whole report.

Status, measured recovery time against the target for each wave of the
recovery phase, the failures with their causes, and where the full report is
(``drorch report ID --format md|html|json`` prints it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from drorch.cli.live import clock_text, failure_text, readiness_lines, styled
from drorch.engine.report import rto_verdict

MAX_FAILURES = 5


def _verdict(wave: Mapping[str, Any]) -> Text:
    verdict = rto_verdict(wave)
    if verdict is None:
        return Text("")
    return Text(verdict, style="green" if verdict == "met" else "bold red")


def _failures(report: Mapping[str, Any]) -> list[str]:
    lines = []
    for resource in report.get("resources", []):
        if resource.get("status") == "FAILED":
            name = resource.get("name") or resource.get("resourceId")
            lines.append(
                f"{resource.get('phase')} {name} ({resource.get('groupId')}, "
                f"{resource.get('accountId')}): {resource.get('error') or 'failed'}"
            )
    for step in report.get("steps", []):
        if step.get("status") == "FAILED":
            lines.append(
                f"{step.get('phase')} {step.get('kind')} {step.get('name')}: "
                f"{step.get('error') or 'failed'}"
            )
    return lines


def render_summary(
    report: Mapping[str, Any], files: Sequence[str] = (), target: str = "", hub: bool = False
) -> Group:
    execution_id = report.get("executionId", "")
    status = report.get("status", "?")
    parts: list[Any] = [
        Text.assemble(
            (execution_id, "bold"),
            " ",
            styled(status),
            f"  {report.get('application', '')} {report.get('operation', '')}"
            f" in {clock_text(report.get('durationSeconds'))}",
        )
    ]
    recovery = report.get("recoveryPhase")
    waves = next(
        (p.get("waves", []) for p in report.get("phases", []) if p.get("phase") == recovery), []
    )
    if waves:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for column in ("wave", "status", "resources", "recovered", "target", "RTO"):
            table.add_column(column, no_wrap=True)
        for wave in waves:
            counts = wave.get("resources") or {}
            target_minutes = wave.get("rtoTargetMinutes")
            table.add_row(
                f"{wave.get('level')} {wave.get('wave')}",
                styled(wave.get("status", "?")),
                (
                    f"{counts.get('succeeded', 0)}/{counts.get('total', 0)} ok"
                    + (f", {counts['failed']} failed" if counts.get("failed") else "")
                )
                if counts.get("total")
                else "-",
                clock_text(wave.get("recoveredAfterSeconds")) or "-",
                f"{target_minutes}m" if target_minutes is not None else "-",
                _verdict(wave),
            )
        parts.append(table)
        parts.append(
            Text(
                f"recovered = from the execution's start to the end of the wave's {recovery} phase",
                style="dim",
            )
        )
    parts += readiness_lines(report.get("readiness"))
    verdict = report.get("rto") or {}
    if verdict.get("text") and report.get("operation") != "cleanup":
        met = verdict.get("met")
        style = "green" if met else "bold red" if met is False else "dim"
        parts.append(Text(verdict["text"], style=style))
    if (report.get("prediction") or {}).get("available"):
        from drorch.engine.rto import prediction_text

        parts.append(Text(prediction_text(report["prediction"]), style="dim"))
    if status not in ("SUCCEEDED",) and (report.get("error") or report.get("cause")):
        parts.append(Text(failure_text(report), style="red"))
    failures = _failures(report)
    for line in failures[:MAX_FAILURES]:
        parts.append(Text(f"  ✗ {line}", style="red"))
    if len(failures) > MAX_FAILURES:
        parts.append(Text(f"  … and {len(failures) - MAX_FAILURES} more failures (see the report)"))
    for gate in report.get("approvals", []):
        who = str(gate.get("decidedBy") or "").rsplit("/", 1)[-1]
        parts.append(
            Text(
                f"gate {gate.get('gate')} {gate.get('kind')} {gate.get('phase') or ''}: "
                f"{gate.get('decision') or 'open'}"
                + (f" by {who}" if who else "")
                + (
                    f" after {clock_text(gate.get('waitedSeconds'))}"
                    if gate.get("decision")
                    else ""
                ),
                style="dim",
            )
        )
    if files:
        from drorch.cli.follow import report_paths

        parts.append(Text("report: " + report_paths(list(files)), no_wrap=True, overflow="ignore"))
    if hub:
        parts.append(
            Text(
                f"full report: drorch report {execution_id}{target} --format md",
                style="dim",
                no_wrap=True,
                overflow="ignore",
            )
        )
    return Group(*parts)


def render_unreported(description: Mapping[str, Any]) -> Group:
    """When the execution ended before a report could be written."""
    execution = description["execution"]
    parts: list[Any] = [
        Text.assemble(
            (execution.get("executionId", ""), "bold"), " ", styled(execution.get("status", "?"))
        )
    ]
    if execution.get("error") or execution.get("cause"):
        parts.append(Text(failure_text(execution), style="red"))
    parts.append(Text("no report: the execution ended before one could be written", style="dim"))
    return Group(*parts)
