"""Executions: ``drorch execute|status|list|approve|reject|pause|resume|cancel|report|reconcile``.

Two targets. With ``--profile``/``--region`` the commands talk to a deployed
hub in AWS. Without them they use the sandbox, which lives only as long as one
command: ``execute`` then sets the sandbox up (scenario, hub, manifest), runs
the execution to its end and answers gates as told (``--approve`` /
``--reject``) or by asking.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import boto3
import typer
from botocore.config import Config as BotoConfig
from rich.live import Live
from rich.markdown import Markdown

from drorch.cli.live import render
from drorch.cli.options import DEFAULT_ACCOUNTS_DIR, AccountsDir, Json
from drorch.cli.output import console, print_json
from drorch.client import Client
from drorch.errors import InputError

Profile = Annotated[
    str | None, typer.Option(help="AWS profile of the hub account (default: the sandbox).")
]
Region = Annotated[str | None, typer.Option(help="The hub's region (with --profile).")]
ExecutionId = Annotated[
    str, typer.Argument(help="The execution id (from `drorch execute` or `drorch list`).")
]
Gate = Annotated[int | None, typer.Option(help="The gate number (default: the only open gate).")]
Comment = Annotated[str, typer.Option(help="Recorded with the decision.")]

SANDBOX_ONLY_IN_PROCESS = (
    "the sandbox lives only inside one drorch command",
    "run `drorch execute --wait` (it answers gates as you tell it) or `drorch demo`, "
    "or target a deployed hub with --profile/--region",
)


def aws_client(profile: str | None, region: str | None) -> Client:
    if profile is None and region is None:
        raise InputError(*SANDBOX_ONLY_IN_PROCESS)
    session = boto3.Session(profile_name=profile, region_name=region)
    # a throttled or briefly unavailable hub is retried (standard mode), not a crash
    session._session.set_default_client_config(
        BotoConfig(retries={"mode": "standard", "max_attempts": 8})
    )
    return Client(session)


def _report_files(client: Client, execution_id: str, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in ("md", "html", "json"):
        path = directory / f"{execution_id}.{fmt}"
        path.write_text(client.report(execution_id, fmt))
        written.append(path)
    return written


def follow(
    client: Client,
    execution_id: str,
    *,
    approve: bool,
    reject: bool,
    quiet: bool,
) -> dict[str, Any]:
    """Wait for the end, showing progress and answering gates."""

    def on_gate(gate: dict[str, Any]) -> bool | None:
        if reject:
            return False
        if approve:
            return True
        if quiet or not console.is_terminal:
            return None
        return typer.confirm(
            f"gate {gate['gate']} ({gate.get('kind')} {gate.get('phase', '')}): approve?",
            default=False,
        )

    if quiet:
        return client.wait(execution_id, on_gate=on_gate)
    with Live(console=console, refresh_per_second=4, transient=False) as live:
        return client.wait(
            execution_id, on_gate=on_gate, on_update=lambda d: live.update(render(d))
        )


def execute(
    application: Annotated[str, typer.Option(help="The application (manifest `application`).")],
    operation: Annotated[str, typer.Option(help="drill, failover, failback or cleanup.")] = "drill",
    manifest: Annotated[
        Path | None, typer.Option(help="Manifest to upload first (required in the sandbox).")
    ] = None,
    scenario: Annotated[str, typer.Option(help="Sandbox scenario to load.")] = "three-tier",
    wait: Annotated[bool, typer.Option(help="Follow the execution to its end.")] = True,
    approve: Annotated[
        bool, typer.Option("--approve", help="Approve every gate as it opens.")
    ] = False,
    reject: Annotated[
        bool, typer.Option("--reject", help="Reject the first gate that opens.")
    ] = False,
    poll_seconds: Annotated[
        int | None,
        typer.Option(help="Executor polling interval (seconds, default 30)."),
    ] = None,
    report_dir: Annotated[Path, typer.Option(help="Where the report files are written.")] = Path(
        "drorch-reports"
    ),
    accounts_dir: AccountsDir = DEFAULT_ACCOUNTS_DIR,
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Start an execution (and, with --wait, follow it and write its report)."""
    if approve and reject:
        raise InputError("--approve and --reject exclude each other")
    if profile is None and region is None:
        if manifest is None:
            raise InputError(
                "in the sandbox, --manifest is required (nothing persists between commands)",
                hint="e.g. --manifest manifests/examples/three-tier-claims.yaml",
            )
        from drorch.cli.sandbox_run import sandbox_hub

        with sandbox_hub(scenario, accounts_dir) as hub:
            _run(
                hub.client,
                application,
                operation,
                manifest,
                True,
                approve,
                reject,
                30 if poll_seconds is None else poll_seconds,
                report_dir,
                json_output,
            )
        return
    client = aws_client(profile, region)
    _run(
        client,
        application,
        operation,
        manifest,
        wait,
        approve,
        reject,
        30 if poll_seconds is None else poll_seconds,
        report_dir,
        json_output,
    )


def _run(
    client: Client,
    application: str,
    operation: str,
    manifest: Path | None,
    wait: bool,
    approve: bool,
    reject: bool,
    poll_seconds: int,
    report_dir: Path,
    json_output: bool,
) -> None:
    if manifest is not None:
        uploaded = client.upload_manifest(manifest)
        if uploaded.application != application:
            raise InputError(
                f"{manifest} is the manifest of {uploaded.application!r}, not {application!r}"
            )
    execution_id = client.start_execution(application, operation, poll_seconds=poll_seconds)
    if not wait:
        if json_output:
            print_json({"executionId": execution_id})
        else:
            console.print(f"started {execution_id}; follow it with `drorch status {execution_id}`")
        return
    final = follow(client, execution_id, approve=approve, reject=reject, quiet=json_output)
    status = final["execution"].get("status")
    files = []
    try:
        files = _report_files(client, execution_id, report_dir)
    except InputError:
        pass  # failed before a report could be written: the error is in the history
    if json_output:
        print_json(final | {"reportFiles": [str(f) for f in files]})
    else:
        if files:
            console.print(Markdown(files[0].read_text()))
            console.print(f"report: {', '.join(str(f) for f in files)}")
        console.print(f"execution {execution_id}: {status}")
    if status != "SUCCEEDED":
        raise typer.Exit(1)


def status(
    execution_id: ExecutionId,
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Show an execution's status, waves, resources and open gates."""
    description = aws_client(profile, region).describe(execution_id)
    if json_output:
        print_json(description)
    else:
        console.print(render(description))


def list_executions(
    status_filter: Annotated[str | None, typer.Option("--status", help="Only this status.")] = None,
    application: Annotated[str | None, typer.Option(help="Only this application.")] = None,
    limit: int = 50,
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """List executions, newest first."""
    found = aws_client(profile, region).list_executions(status_filter, application, limit)
    if json_output:
        print_json(found)
        return
    from rich.table import Table

    table = Table(title="Executions")
    for column in ("execution", "application", "operation", "status", "started", "finished"):
        table.add_column(column)
    for item in found:
        table.add_row(
            item["executionId"],
            item.get("application", ""),
            item.get("operation", ""),
            item.get("status", ""),
            item.get("startedAt", ""),
            item.get("finishedAt", ""),
        )
    console.print(table)


def _decided(result: dict[str, Any], json_output: bool, verb: str) -> None:
    if json_output:
        print_json(result)
    else:
        console.print(f"{verb}: {json.dumps(result, default=str)}")


def approve(
    execution_id: ExecutionId,
    gate: Gate = None,
    comment: Comment = "",
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Approve an open gate (recorded with who and when)."""
    _decided(
        aws_client(profile, region).approve(execution_id, gate, comment), json_output, "approved"
    )


def reject(
    execution_id: ExecutionId,
    gate: Gate = None,
    comment: Comment = "",
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Reject an open gate: the execution fails and no later wave runs."""
    _decided(
        aws_client(profile, region).reject(execution_id, gate, comment), json_output, "rejected"
    )


def pause(
    execution_id: ExecutionId,
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Stop at the next wave boundary until `resume`."""
    _decided(aws_client(profile, region).pause(execution_id), json_output, "pause requested")


def resume(
    execution_id: ExecutionId,
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Continue a paused execution."""
    _decided(aws_client(profile, region).resume(execution_id), json_output, "resumed")


def cancel(
    execution_id: ExecutionId,
    comment: Comment = "",
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Start no new wave; in-flight module phases finish; the execution ends CANCELLED."""
    _decided(
        aws_client(profile, region).cancel(execution_id, comment), json_output, "cancel requested"
    )


def report(
    execution_id: ExecutionId,
    fmt: Annotated[str, typer.Option("--format", help="md, html or json.")] = "md",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to this file.")
    ] = None,
    profile: Profile = None,
    region: Region = None,
) -> None:
    """An execution's report: wave timeline, measured vs target RTO, per-resource outcomes."""
    text = aws_client(profile, region).report(execution_id, fmt)
    if output:
        output.write_text(text)
        console.print(f"written {output}")
    elif fmt == "md":
        console.print(Markdown(text))
    else:
        print(text)


def reconcile(
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Repair what an execution that ended outside drorch left behind (stopped from the
    console, timed out, store denied): unfinished histories and held locks, checked
    against Step Functions. Says what it did; safe to run at any time."""
    repairs = aws_client(profile, region).reconcile()
    if json_output:
        print_json({"repairs": repairs})
        return
    if not repairs:
        console.print("nothing to repair: every history and lock agrees with Step Functions")
    for repair in repairs:
        for action in repair["actions"]:
            console.print(f"{repair['executionId']}: {action}")


def register(app: typer.Typer) -> None:
    app.command("execute")(execute)
    app.command("status")(status)
    app.command("list")(list_executions)
    for command in (approve, reject, pause, resume, cancel, report, reconcile):
        app.command(command.__name__)(command)
