"""A live view of one execution: status, waves, resources, gates."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

STYLE = {
    "SUCCEEDED": "green",
    "FAILED": "red",
    "CANCELLED": "yellow",
    "RUNNING": "cyan",
    "PENDING": "dim",
    "PAUSED": "yellow",
    "WAITING_APPROVAL": "magenta",
}


def styled(status: str) -> Text:
    return Text(status, style=STYLE.get(status, ""))


def render(description: dict[str, Any]) -> Group:
    execution = description["execution"]
    header = Text.assemble(
        ("execution ", "bold"),
        execution.get("executionId", "?"),
        "  ",
        styled(execution.get("status", "?")),
        f"  {execution.get('application', '')} {execution.get('operation', '')}",
    )
    waves = Table(show_header=True, header_style="bold", expand=False)
    for column in ("phase", "level", "wave", "status", "resources", "duration"):
        waves.add_column(column)
    per_wave: dict[tuple[str, str], Counter[str]] = {}
    for resource in description.get("resources", []):
        key = (resource.get("phase", ""), resource.get("wave", ""))
        per_wave.setdefault(key, Counter())[resource.get("status", "?")] += 1
    for wave in description.get("waves", []):
        counts = per_wave.get((wave.get("phase", ""), wave.get("wave", "")), Counter())
        summary = " ".join(f"{k.lower()}:{v}" for k, v in sorted(counts.items())) or "-"
        duration = wave.get("durationSeconds")
        waves.add_row(
            wave.get("phase", ""),
            str(wave.get("level", "")),
            wave.get("wave", ""),
            styled(wave.get("status", "?")),
            summary,
            f"{int(duration) // 60}m{int(duration) % 60:02d}s" if duration is not None else "",
        )
    parts: list[Any] = [header, waves]
    for gate in description.get("gates", []):
        if "decision" not in gate:
            parts.append(
                Text(
                    f"waiting at gate {gate.get('gate')} ({gate.get('kind')}"
                    f"{' ' + gate['phase'] if gate.get('phase') else ''}): "
                    f"drorch approve {execution.get('executionId')} --gate {gate.get('gate')}",
                    style="magenta",
                )
            )
    if execution.get("error"):
        parts.append(
            Text(f"error: {execution.get('error')}: {execution.get('cause', '')}", style="red")
        )
    return Group(*parts)
