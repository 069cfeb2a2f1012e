"""``drorch modules``: what each registered module declares (``list``, ``show NAME``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from drorch.cli.options import Json
from drorch.cli.output import console, print_json
from drorch.errors import InputError
from drorch.manifest.problems import suggest
from drorch.modules import REGISTRY, Module, by_alias

app = typer.Typer(
    help="Modules: what each one recovers or does, and what it needs.", no_args_is_help=True
)

IAM_PARTS = (("read", "read"), ("drillSafe", "drill-safe writes"), ("write", "writes"))


def _drill_short(described: Mapping[str, Any]) -> str:
    """In a drill: the phases it runs (a resource module), or whether it runs (a step)."""
    if described["kind"] == "resource":
        return "drill-safe: " + (", ".join(described["drillSafePhases"]) or "no phase")
    return "runs" if described["runsInDrill"] else "skipped unless runInDrill: true"


def _drill_text(described: Mapping[str, Any]) -> str:
    return f"{_drill_short(described)}. {described['drill']}"


def _module(name: str) -> Module:
    module = by_alias(name)
    if module is None:
        known = sorted({n for m in REGISTRY.values() for n in (m.type, *m.aliases)})
        raise InputError(
            f"no module named {name!r}",
            hint=f"{suggest(name, known)}see `drorch modules list` ({', '.join(sorted(REGISTRY))})",
        )
    return module


@app.command("list")
def list_modules(json_output: Json = False) -> None:
    """The registered modules: name, kind, summary, drill behaviour, aliases
    (``drorch modules show NAME`` for everything one declares)."""
    described = [REGISTRY[name].describe() for name in sorted(REGISTRY)]
    if json_output:
        print_json(described)
        return
    table = Table(title="drorch modules")
    for column in ("name", "kind", "summary", "drill", "aliases"):
        table.add_column(column, overflow="fold")
    for item in described:
        table.add_row(
            item["name"],
            item["kind"],
            item["summary"],
            _drill_short(item),
            ", ".join(item["aliases"]) or "-",
        )
    console.print(table)


def _parameters(schema: Mapping[str, Any]) -> Table:
    table = Table(title="parameters", title_justify="left")
    for column in ("name", "type", "required", "default", "description"):
        table.add_column(column, overflow="fold")
    required = set(schema.get("required", ()))
    for name, spec in schema.get("properties", {}).items():
        kind = spec.get("type") or " | ".join(
            str(s.get("type", "?")) for s in spec.get("anyOf", spec.get("oneOf", []))
        )
        table.add_row(
            name,
            kind if isinstance(kind, str) else " | ".join(kind),
            "yes" if name in required else "",
            json.dumps(spec["default"]) if "default" in spec else "",
            spec.get("description", ""),
        )
    return table


def _iam(statements: list[Mapping[str, Any]], title: str) -> Table:
    table = Table(title=f"IAM: {title}", title_justify="left")
    for column in ("sid", "actions", "resources", "condition"):
        table.add_column(column, overflow="fold")
    for item in statements:
        actions = [item["Action"]] if isinstance(item["Action"], str) else item["Action"]
        resources = [item["Resource"]] if isinstance(item["Resource"], str) else item["Resource"]
        condition = json.dumps(item["Condition"]) if item.get("Condition") else ""
        table.add_row(item["Sid"], "\n".join(actions), "\n".join(resources), condition)
    return table


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="A module's name or one of its aliases.")],
    json_output: Json = False,
) -> None:
    """Everything a module declares: parameters, IAM by part, probes, aliases, drill."""
    described = _module(name).describe()
    if json_output:
        print_json(described)
        return
    fields = (
        ("kind", described["kind"]),
        ("summary", described["summary"]),
        ("drill", _drill_text(described)),
        ("phases", ", ".join(described["phases"])),
        ("disruptive calls", ", ".join(described["disruptiveCalls"]) or "none"),
        ("aliases", ", ".join(described["aliases"]) or "none"),
        ("resource types", ", ".join(described["resourceTypes"]) or "none"),
        ("identified by", described["identifiedBy"] or "-"),
        ("probes", ", ".join(described["probes"]) or "none"),
        ("sandbox extension", described["sandboxExtension"] or "none"),
    )
    console.print(f"[bold]{escape(described['name'])}[/]", highlight=False)
    for label, value in fields:
        console.print(f"  {label}: {escape(str(value))}", highlight=False, soft_wrap=True)
    console.print(_parameters(described["parameters"]))
    for key, title in IAM_PARTS:
        statements = described["iam"][key]
        if statements:
            console.print(_iam(statements, title))
        else:
            console.print(f"IAM: {title}: none", highlight=False)
    console.print(
        "[dim]IAM shown for account 111111111111 in us-east-1; the staging stack "
        "grants it for each account and its regions.[/]"
    )
