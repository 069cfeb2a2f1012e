"""``drorch accounts``: the staging accounts described in accounts/ — list, onboard, verify."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import boto3
import typer
from rich.table import Table

from drorch import names
from drorch.accounts import DEFAULT_MODULES, StagingAccount, load_account, load_accounts
from drorch.cli.options import DEFAULT_ACCOUNTS_DIR, AccountsDir, Json
from drorch.cli.output import console, print_json
from drorch.errors import InputError
from drorch.onboarding import (
    FAIL,
    OK,
    Readiness,
    hub_identity,
    new_account,
    next_steps,
    verify_accounts,
    write_account,
)

app = typer.Typer(help="Staging accounts (accounts/<name>.yaml).", no_args_is_help=True)

Profile = Annotated[
    str | None, typer.Option(help="AWS profile of the hub account (default: the sandbox).")
]
Region = Annotated[str | None, typer.Option(help="The hub's region (with --profile).")]


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
                    "modules": list(a.modules),
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
        "modules",
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
            ", ".join(a.modules),
            a.execution_role_name,
        )
    console.print(table)


# --- onboard -------------------------------------------------------------------------------


@app.command("onboard")
def onboard(
    name: Annotated[str, typer.Argument(help="Short name; the file is accounts/<name>.yaml.")],
    account_id: Annotated[str, typer.Option(help="The 12-digit AWS account id.")],
    recovery_region: Annotated[
        str, typer.Option(help="DRS staging area and recovery target.")
    ] = "us-east-2",
    source_region: Annotated[str, typer.Option(help="Where the protected servers run.")] = (
        "us-east-1"
    ),
    external_id: Annotated[
        str, typer.Option(help="ExternalId the execution role requires; 'auto' generates one.")
    ] = "auto",
    vpc_cidr: Annotated[
        str | None,
        typer.Option(help="Recovery VPC; three recovery subnets and a staging subnet are carved."),
    ] = None,
    environment: Annotated[str, typer.Option(help="production or non-production.")] = "production",
    module: Annotated[
        list[str] | None,
        typer.Option("--module", help="A module used in the account (repeat; default drs)."),
    ] = None,
    organization_id: Annotated[
        str | None, typer.Option(help="AWS Organizations id (o-...) the hub must belong to.")
    ] = None,
    capacity: Annotated[
        int | None, typer.Option(help="Planned number of replicated source servers.")
    ] = None,
    accounts_dir: AccountsDir = DEFAULT_ACCOUNTS_DIR,
    json_output: Json = False,
) -> None:
    """Describe a new staging account in accounts/<name>.yaml (never overwrites)."""
    document = new_account(
        name,
        account_id,
        recovery_region=recovery_region,
        source_region=source_region,
        external_id=external_id,
        environment=environment,
        vpc_cidr=vpc_cidr,
        modules=module or DEFAULT_MODULES,
        organization_id=organization_id,
        capacity=capacity,
    )
    path = write_account(accounts_dir, document)
    account = load_account(path)
    steps = next_steps(account, path)
    if json_output:
        print_json({"path": str(path), "account": document, "nextSteps": steps})
        return
    console.print(f"wrote {path} (account {account.account_id}, ExternalId {account.external_id})")
    console.print("next steps:")
    for number, step in enumerate(steps, 1):
        console.print(f"  {number}. {step}", highlight=False, soft_wrap=True)


# --- verify --------------------------------------------------------------------------------

# Broken states the sandbox can be put in before verifying (for demonstrations and tests).
SANDBOX_BREAKS = {
    "trust-without-external-id": "the execution role's trust policy has no ExternalId condition",
    "no-index": "the Resource Explorer index in the recovery region is deleted",
    "drs-uninitialised": "DRS is not initialised in the recovery region",
    "deny-drs-reads": "the execution role is denied drs:DescribeJobs",
}


def _parse_breaks(values: Sequence[str], known: dict[str, StagingAccount]) -> list[tuple[str, str]]:
    parsed = []
    for value in values:
        kind, _, name = value.partition(":")
        if kind not in SANDBOX_BREAKS or not name:
            raise InputError(
                f"--sandbox-break {value!r}: expected KIND:ACCOUNT",
                hint=f"KIND is one of {', '.join(SANDBOX_BREAKS)}",
            )
        if name not in known:
            raise InputError(
                f"--sandbox-break {value!r}: no account {name!r} in accounts/",
                hint=f"accounts: {', '.join(known)}",
            )
        parsed.append((kind, name))
    return parsed


def break_account(sandbox: Any, account: StagingAccount, kind: str) -> None:
    """Put a provisioned sandbox account into one of :data:`SANDBOX_BREAKS`."""
    from drorch.sandbox.drs.models import drs_backends

    region = account.recovery_region
    admin = sandbox.admin_session(account.account_id, region)
    if kind == "trust-without-external-id":
        hub_role = names.role_arn(sandbox.hub.account_id, names.ORCHESTRATOR_ROLE)
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": hub_role},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        admin.client("iam").update_assume_role_policy(
            RoleName=account.execution_role_name, PolicyDocument=json.dumps(trust)
        )
    elif kind == "no-index":
        rex = admin.client("resource-explorer-2")
        rex.delete_index(Arn=rex.get_index()["Arn"])
    elif kind == "drs-uninitialised":
        # no DRS API undoes InitializeService: this is the state of a never-initialised account
        drs_backends[account.account_id][region].initialized = False
    elif kind == "deny-drs-reads":
        sandbox.faults.deny("drs", "DescribeJobs", account=account.account_id)
    else:  # pragma: no cover - validated by _parse_breaks
        raise ValueError(kind)


@contextmanager
def _sandbox_hub_identity(
    accounts: list[StagingAccount], breaks: list[tuple[str, str]]
) -> Iterator[Any]:
    from drorch.sandbox import Sandbox

    with Sandbox() as sandbox:
        for account in accounts:
            sandbox.provision_account(account)
        by_name = {a.name: a for a in accounts}
        for kind, name in breaks:
            break_account(sandbox, by_name[name], kind)
        yield sandbox.orchestrator_session()


def _print_readiness(results: list[Readiness]) -> None:
    table = Table(title="Staging account readiness")
    for column in ("account", "check", "result", "detail", "fix"):
        table.add_column(column, overflow="fold")
    style = {OK: "green", FAIL: "bold red"}
    for result in results:
        for check in result.checks:
            colour = style.get(check.result, "yellow")
            table.add_row(
                f"{result.account.name} ({result.account.account_id})",
                check.check,
                f"[{colour}]{check.result}[/]",
                check.detail,
                check.fix,
            )
    console.print(table)
    for result in results:
        verdict = "[green]ready[/]" if result.ready else "[bold red]NOT READY[/]"
        problems = len(result.problems())
        suffix = f" ({problems} problem{'s' if problems != 1 else ''})" if problems else ""
        console.print(f"{result.account.name}: {verdict}{suffix}")


@app.command("verify")
def verify(
    account_names: Annotated[
        list[str] | None, typer.Argument(metavar="[NAME]...", help="Accounts (default: all).")
    ] = None,
    profile: Profile = None,
    region: Region = None,
    hub_role: Annotated[
        str | None,
        typer.Option(
            help="Identity to check from: a role ARN, or 'current' (default: the hub's "
            f"{names.ORCHESTRATOR_ROLE} role, which the execution roles trust)."
        ),
    ] = None,
    sandbox_break: Annotated[
        list[str] | None,
        typer.Option(
            help="Sandbox only: break an account first, KIND:ACCOUNT (repeat). KIND: "
            + ", ".join(SANDBOX_BREAKS)
            + "."
        ),
    ] = None,
    accounts_dir: AccountsDir = DEFAULT_ACCOUNTS_DIR,
    json_output: Json = False,
) -> None:
    """Check from the hub that staging accounts are ready (exit 1 if one is not)."""
    accounts = load_accounts(accounts_dir)
    by_name = {a.name: a for a in accounts}
    wanted = account_names or list(by_name)
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise InputError(
            f"no account named {', '.join(unknown)} in {accounts_dir}",
            hint=f"accounts: {', '.join(by_name) or 'none'} (see `drorch accounts list`)",
        )
    chosen = [by_name[n] for n in wanted]
    if profile is None and region is None:
        breaks = _parse_breaks(sandbox_break or [], by_name)
        with _sandbox_hub_identity(accounts, breaks) as hub:
            results = verify_accounts(hub, chosen)
    else:
        if sandbox_break:
            raise InputError("--sandbox-break only applies to the sandbox (no --profile/--region)")
        session = boto3.Session(profile_name=profile, region_name=region)
        results = verify_accounts(hub_identity(session, hub_role), chosen)
    if json_output:
        print_json(
            {"ready": all(r.ready for r in results), "accounts": [r.to_dict() for r in results]}
        )
    else:
        _print_readiness(results)
    if not all(r.ready for r in results):
        raise typer.Exit(1)
