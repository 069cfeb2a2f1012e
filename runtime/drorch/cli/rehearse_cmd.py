"""``drorch sandbox rehearse``: a DRS-only drill driven straight through the AWS APIs.

It exercises the sandbox without the engine: discovery with Resource Explorer,
drill launches batched within the DRS quotas, cleanup. ``drorch demo`` runs the
real engine instead.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from drorch.accounts import load_accounts
from drorch.cli.options import DEFAULT_ACCOUNTS_DIR, AccountsDir, Json
from drorch.cli.output import console, print_json
from drorch.cli.sandbox_cmd import render_estate
from drorch.errors import InputError
from drorch.sandbox import Sandbox
from drorch.sandbox.estate import describe_estate
from drorch.sandbox.rehearsal import RehearsalResult, rehearse_drill
from drorch.sandbox.scenario import load_scenario, seed


def _minutes(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s"


def _result_json(result: RehearsalResult) -> dict[str, Any]:
    return {
        "succeeded": result.succeeded,
        "waves": [
            {
                "wave": w.wave,
                "servers": len(w.servers),
                "launched": len(w.servers) - len(w.failed),
                "failed": [s.hostname for s in w.failed],
                "jobs": w.jobs,
                "simulatedSeconds": w.duration,
            }
            for w in result.waves
        ],
        "excluded": [{"hostname": e.hostname, "reasons": list(e.reasons)} for e in result.excluded],
        "optedOut": result.opted_out,
        "terminatedDrillInstances": result.terminated_instances,
        "cleanupSimulatedSeconds": result.cleanup_seconds,
    }


def rehearse(
    scenario: Annotated[
        str, typer.Option(help="Built-in scenario name or YAML file.")
    ] = "three-tier",
    accounts_dir: AccountsDir = DEFAULT_ACCOUNTS_DIR,
    keep: Annotated[
        bool, typer.Option(help="Keep the drill instances (skip the cleanup).")
    ] = False,
    fail_server: Annotated[
        list[str] | None,
        typer.Option(help="Inject a launch failure for this hostname (repeatable)."),
    ] = None,
    json_output: Json = False,
) -> None:
    """Rehearse a DRS drill straight through the AWS APIs (no engine): a sandbox self-test."""
    loaded = load_scenario(scenario)
    accounts = load_accounts(accounts_dir)
    unknown = sorted(set(fail_server or []) - {s.hostname for s in loaded.servers})
    if unknown:
        raise InputError(
            f"--fail-server names hosts that are not in scenario {loaded.name}: {', '.join(unknown)}",
            hint="`drorch sandbox show` lists the scenario's servers",
        )
    quiet = json_output

    def on_event(kind: str, data: dict[str, Any]) -> None:
        if quiet:
            return
        if kind == "wave-start":
            console.print(
                f"[bold]wave {data['wave']}[/]: drill launch of {data['servers']} servers "
                f"in {data['jobs']} DRS job(s)"
            )
        elif kind == "wave-end":
            wave = data["wave"]
            status = "[green]ok[/]" if not wave.failed else f"[red]{len(wave.failed)} failed[/]"
            console.print(
                f"  wave {wave.wave} done in {_minutes(wave.duration)} simulated: "
                f"{len(wave.servers) - len(wave.failed)}/{len(wave.servers)} launched, {status}"
            )
        elif kind == "cleanup-start":
            console.print(f"[bold]cleanup[/]: terminating {data['instances']} drill instances")

    with Sandbox(hub=loaded.hub) as sandbox:
        for hostname in fail_server or []:
            sandbox.faults.fail_launch(hostname)
        if not quiet:
            console.rule(
                f"drorch sandbox rehearse: a DRS drill straight through the APIs ({loaded.name})"
            )
        report = seed(sandbox, loaded, accounts)
        if not quiet:
            render_estate(describe_estate(sandbox, loaded, report))
            console.rule("drill")
        account_ids = [a.account_id for a in report.accounts]
        result = rehearse_drill(sandbox, account_ids, cleanup=not keep, on_event=on_event)
        calls = sandbox.faults.calls
        per_service: dict[str, int] = {}
        for (service, _op, _acct, _region), count in calls.items():
            per_service[service] = per_service.get(service, 0) + count
        violations = list(sandbox.state.fidelity.violations)
        remaining = 0
        if not keep:
            for account_id in account_ids:
                ec2 = sandbox.admin_session(account_id).client("ec2")
                for page in ec2.get_paginator("describe_instances").paginate(
                    Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}]
                ):
                    remaining += sum(len(r["Instances"]) for r in page["Reservations"])

    summary = _result_json(result) | {
        "scenario": loaded.name,
        "apiCalls": dict(sorted(per_service.items())),
        "fidelityViolations": violations,
        "runningInstancesAfterCleanup": None if keep else remaining,
    }
    if json_output:
        print_json(summary)
    else:
        table = Table(title="Drill result (simulated time)")
        for column in ("wave", "servers", "launched", "failed", "DRS jobs", "duration"):
            table.add_column(column)
        for w in summary["waves"]:
            table.add_row(
                w["wave"],
                str(w["servers"]),
                str(w["launched"]),
                ", ".join(w["failed"]) or "-",
                str(len(w["jobs"])),
                _minutes(w["simulatedSeconds"]),
            )
        console.print(table)
        for excluded in result.excluded:
            console.print(f"[yellow]excluded[/] {excluded.hostname}: {'; '.join(excluded.reasons)}")
        if not keep:
            console.print(
                f"cleanup: {result.terminated_instances} drill instances terminated in "
                f"{_minutes(result.cleanup_seconds)} simulated; running instances left: {remaining}"
            )
        console.print(
            "AWS API calls: "
            + ", ".join(f"{service} {count}" for service, count in summary["apiCalls"].items())
        )
        console.print(f"wire fidelity violations: {len(violations)}")
        console.print(
            "[green bold]drill succeeded[/]"
            if result.succeeded
            else "[red bold]drill had failed launches[/]"
        )
    if not result.succeeded or violations or (not keep and remaining):
        raise typer.Exit(1)
