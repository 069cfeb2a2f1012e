"""``drorch sandbox``: the embedded AWS."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from drorch.accounts import load_accounts
from drorch.cli.options import DEFAULT_ACCOUNTS_DIR, AccountsDir, Json, Scenario
from drorch.cli.output import console, print_json
from drorch.sandbox import Sandbox
from drorch.sandbox.estate import describe_estate
from drorch.sandbox.scenario import builtin_scenarios, load_scenario, seed

app = typer.Typer(
    help="The embedded AWS sandbox (simulated accounts, DRS, Resource Explorer).",
    no_args_is_help=True,
)


@app.command("scenarios")
def scenarios(json_output: Json = False) -> None:
    """List the built-in scenarios."""
    rows = []
    for name, path in sorted(builtin_scenarios().items()):
        scenario = load_scenario(path)
        rows.append(
            {
                "name": name,
                "description": scenario.description,
                "accounts": scenario.account_names,
                "sourceServers": len(scenario.servers),
                "resources": len(scenario.resources),
            }
        )
    if json_output:
        print_json(rows)
        return
    table = Table(title="Built-in sandbox scenarios")
    for column in ("name", "servers", "resources", "accounts", "description"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["name"],
            str(row["sourceServers"]),
            str(row["resources"]),
            ", ".join(row["accounts"] or ["all"]),
            row["description"],
        )
    console.print(table)


def render_estate(estate: dict[str, Any]) -> None:
    console.print(
        f"[bold]{estate['scenario']}[/]: {estate['description']}\n"
        f"hub account {estate['hub']['accountId']} ({estate['hub']['region']}); recovery region "
        f"{', '.join(sorted({a['recoveryRegion'] for a in estate['accounts']}))}; "
        f"{estate['totals']['sourceServers']} source servers, "
        f"{estate['totals']['resources']} managed-service resources"
    )
    table = Table(title="Staging accounts")
    for column in (
        "account",
        "servers",
        "replication",
        "DR waves",
        "opted out",
        "bad tags",
        "indexed",
    ):
        table.add_column(column, no_wrap=column in ("account", "DR waves", "replication"))
    for a in estate["accounts"]:
        rex = a["resourceExplorer"]
        table.add_row(
            f"{a['name']}\n{a['accountId']}",
            str(a["sourceServers"]),
            "\n".join(f"{k.lower()}:{v}" for k, v in a["replication"].items()),
            " ".join(f"w{k}:{v}" for k, v in a["waves"].items()) or "-",
            str(a["optedOut"]),
            str(len(a["invalidTags"])),
            f"{rex['searchableResources']}{'' if rex['complete'] else '+'}",
        )
    console.print(table)
    resources = [
        (a["name"], r) for a in estate["accounts"] for r in a["resources"] if "/" not in r["type"]
    ]
    if resources:
        table = Table(title="Managed-service resources (supporting parts not listed)")
        for column in ("account", "type", "name", "region"):
            table.add_column(column)
        for account, r in resources:
            table.add_row(account, r["type"], r["name"], r["region"])
        console.print(table)
    for a in estate["accounts"]:
        for bad in a["invalidTags"]:
            console.print(
                f"[yellow]excluded[/] {a['name']}/{bad['hostname']}: {'; '.join(bad['reasons'])}"
            )


@app.command("show")
def show(
    scenario: Scenario = "three-tier",
    accounts_dir: AccountsDir = DEFAULT_ACCOUNTS_DIR,
    json_output: Json = False,
) -> None:
    """Load a scenario into a fresh sandbox and show the simulated estate."""
    loaded = load_scenario(scenario)
    accounts = load_accounts(accounts_dir)
    with Sandbox(hub=loaded.hub) as sandbox:
        report = seed(sandbox, loaded, accounts)
        estate = describe_estate(sandbox, loaded, report)
    if json_output:
        print_json(estate)
    else:
        render_estate(estate)

