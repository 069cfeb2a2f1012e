"""``drorch readiness APP``: could the application fail over now? Discovery and plan (nothing
started), then every resource's readiness probes, each finding OK, WARNING or BLOCKER.

Exit codes: 0 ready (warnings allowed), 1 a BLOCKER (a failover would be refused), 2 bad
input. In the sandbox ``--manifest`` is required (nothing persists between commands);
against a hub, the application's uploaded manifest is used unless ``--manifest`` is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from drorch.cli.engine_cmd import Plain, aws_client, check_operation, checked_manifest
from drorch.cli.options import DEFAULT_ACCOUNTS_DIR, AccountsDir, Json, Profile, Region
from drorch.cli.output import console, print_json
from drorch.engine.readiness import finding_line, headline, named, where
from drorch.errors import InputError

STYLE = {"OK": "green", "WARNING": "yellow", "BLOCKER": "bold red"}


def title(result: Mapping[str, Any]) -> str:
    return f"{result.get('application', '')} {headline(result)}"


def render_table(result: Mapping[str, Any]) -> None:
    console.print(f"[bold]{escape(title(result))}[/]", highlight=False)
    table = Table(show_lines=False)
    for column in ("Result", "Resource", "Where", "Check", "Detail", "Call", "What to do"):
        table.add_column(column, overflow="fold")
    for f in result["findings"]:
        table.add_row(
            f"[{STYLE[f['result']]}]{f['result']}[/]",
            escape(named(f)),
            escape(where(f)),
            escape(f["check"]),
            escape(f["detail"]),
            escape(f["call"] or "-"),
            escape(f["fix"] or "-"),
        )
    console.print(table)


def render_text(result: Mapping[str, Any]) -> None:
    print(title(result))
    for finding in result["findings"]:
        print(finding_line(finding))


def readiness(
    application: Annotated[str, typer.Argument(help="The application (manifest `application`).")],
    operation: Annotated[
        str, typer.Option(help="What it should be ready for: failover, failback, drill, cleanup.")
    ] = "failover",
    manifest: Annotated[
        Path | None,
        typer.Option(help="Manifest to evaluate (required in the sandbox; default: uploaded)."),
    ] = None,
    scenario: Annotated[str, typer.Option(help="Sandbox scenario to load.")] = "three-tier",
    accounts_dir: AccountsDir = DEFAULT_ACCOUNTS_DIR,
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
    plain: Plain = False,
) -> None:
    """Readiness of an application: every resource of its plan probed (read-only), each
    finding OK, WARNING or BLOCKER with the call that showed it and what to do."""
    check_operation(operation)
    if manifest is not None:
        checked_manifest(manifest, application)
    if profile is None and region is None:
        if manifest is None:
            raise InputError(
                "in the sandbox, --manifest is required (nothing persists between commands)",
                hint="e.g. --manifest manifests/examples/full-stack.yaml --scenario full-stack",
            )
        from drorch.cli.sandbox_run import load_scenario_first, sandbox_hub

        load_scenario_first(scenario)
        with sandbox_hub(scenario, accounts_dir, progress=not json_output) as hub:
            result = hub.client.readiness(application, operation, manifest)
    else:
        result = aws_client(profile, region).readiness(application, operation, manifest)
    if json_output:
        print_json(result)
    elif plain:
        render_text(result)
    else:
        render_table(result)
    if result["counts"]["BLOCKER"]:
        raise typer.Exit(1)
