"""``drorch accounts``: the staging accounts described in accounts/."""

from __future__ import annotations

import typer
from rich.table import Table

from drorch.accounts import load_accounts
from drorch.cli.options import DEFAULT_ACCOUNTS_DIR, AccountsDir, Json
from drorch.cli.output import console, print_json

app = typer.Typer(help="Staging accounts (accounts/<name>.yaml).", no_args_is_help=True)


@app.command("list")
def list_accounts(
    accounts_dir: AccountsDir = DEFAULT_ACCOUNTS_DIR, json_output: Json = False
) -> None:
    """Validate and list the staging accounts."""
    accounts = load_accounts(accounts_dir)
    if json_output:
        print_json(
            [
                {
                    "name": a.name,
                    "accountId": a.account_id,
                    "environment": a.environment,
                    "sourceRegion": a.source_region,
                    "recoveryRegion": a.recovery_region,
                    "executionRoleArn": a.execution_role_arn,
                    "capacity": a.capacity,
                    "vpcCidr": a.vpc_cidr,
                }
                for a in accounts
            ]
        )
        return
    table = Table(title=f"Staging accounts in {accounts_dir}")
    for column in (
        "name",
        "account",
        "environment",
        "source → recovery",
        "capacity",
        "VPC",
        "execution role",
    ):
        table.add_column(column)
    for a in accounts:
        table.add_row(
            a.name,
            a.account_id,
            a.environment,
            f"{a.source_region} → {a.recovery_region}",
            str(a.capacity or "-"),
            a.vpc_cidr or "-",
            a.execution_role_name,
        )
    console.print(table)
