"""Executions: ``drorch execute|status|list|approve|reject|pause|resume|cancel|report|reconcile``.

Two targets. With ``--profile``/``--region`` (or ``AWS_PROFILE``/``AWS_REGION``)
the commands talk to a deployed hub in AWS. Without them they use the sandbox,
which lives only as long as one command: ``execute`` then sets the sandbox up
(scenario, hub, manifest), runs the execution to its end and answers gates as
told (``--approve`` / ``--reject``) or by asking.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import boto3
import typer
from botocore.config import Config as BotoConfig

from drorch.cli.follow import Follower, SandboxGateClock, run_summary, show_summary
from drorch.cli.live import render, render_resources
from drorch.cli.options import (
    DEFAULT_ACCOUNTS_DIR,
    AccountsDir,
    Json,
    NonInteractive,
    Profile,
    Region,
)
from drorch.cli.output import clean, console, note, print_json
from drorch.client import Client
from drorch.engine.history import STATUSES
from drorch.errors import InputError
from drorch.manifest import OPERATIONS, Manifest, load_manifest

ExecutionId = Annotated[
    str, typer.Argument(help="The execution id (from `drorch execute` or `drorch list`).")
]
Gate = Annotated[int | None, typer.Option(help="The gate number (default: the only open gate).")]
Comment = Annotated[str, typer.Option(help="Recorded with the decision.")]
Plain = Annotated[bool, typer.Option("--plain", help="Plain text (same as --output text).")]

SANDBOX_ONLY_IN_PROCESS = (
    "the sandbox lives only inside one drorch command",
    "run `drorch execute --wait` (it answers gates as you tell it) or `drorch demo`, "
    "start `drorch sandbox up` (then the commands talk to it), "
    "or target a deployed hub with --profile/--region (or AWS_PROFILE/AWS_REGION)",
)
CREDENTIALS_HINT = (
    "configure credentials (aws configure / aws sso login --profile NAME), "
    "or leave out --profile/--region (and AWS_PROFILE/AWS_REGION) for the sandbox"
)


def target_flags(profile: str | None, region: str | None) -> str:
    """The flags a suggested command needs to reach the same hub."""
    return (f" --profile {profile}" if profile else "") + (f" --region {region}" if region else "")


def aws_client(profile: str | None, region: str | None) -> Client:
    if profile is None and region is None:
        raise InputError(*SANDBOX_ONLY_IN_PROCESS)
    from botocore.exceptions import ProfileNotFound

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as error:
        raise InputError(f"AWS profile not found: {profile}", hint=CREDENTIALS_HINT) from error
    if session.get_credentials() is None:
        raise InputError(
            "no AWS credentials found" + (f" for profile {profile}" if profile else ""),
            hint=CREDENTIALS_HINT,
        )
    if not session.region_name:
        raise InputError("no AWS region given", hint="pass --region or set AWS_REGION")
    # a throttled or briefly unavailable hub is retried (standard mode), not a crash
    session._session.set_default_client_config(
        BotoConfig(retries={"mode": "standard", "max_attempts": 8})
    )
    return Client(session)


def has_gates(manifest: Manifest, operation: str) -> bool:
    """Whether an execution of ``operation`` stops for a person (approval or wave pause)."""
    phases = manifest.phases_for(operation)
    return any(manifest.approval.gates(p) for p in phases) or any(
        w.pause_before or w.pause_after for w in manifest.waves
    )


def checked_manifest(path: Path, application: str | None) -> Manifest:
    """The manifest, validated before anything is set up."""
    if not path.is_file():
        raise InputError(f"manifest not found: {path}", hint="check the path")
    manifest = load_manifest(path.read_text(), str(path))
    if application is not None and manifest.application != application:
        raise InputError(
            f"{path} is the manifest of {manifest.application!r}, not {application!r}",
            hint=f"pass --application {manifest.application}",
        )
    return manifest


def check_operation(operation: str) -> None:
    if operation not in OPERATIONS:
        raise InputError(
            f"unknown operation {operation!r}", hint=f"use one of: {', '.join(OPERATIONS)}"
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
    non_interactive: NonInteractive = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Go on despite readiness BLOCKERs (recorded in the history with who).",
        ),
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
    """Start an execution (and, with --wait, follow it and write its report).

    A gate (approval or wave pause) is answered by --approve/--reject, or asked at
    the terminal; with no terminal (CI, a pipe) or --non-interactive, a gate with
    neither flag fails at once, naming the command that decides it.
    """
    if approve and reject:
        raise InputError("--approve and --reject exclude each other", hint="pass one of them")
    check_operation(operation)
    poll = 30 if poll_seconds is None else poll_seconds
    if poll < 0 or poll > 3600:
        raise InputError(f"--poll-seconds {poll} must be between 0 and 3600")
    sandbox = profile is None and region is None
    if sandbox and manifest is None:
        raise InputError(
            "in the sandbox, --manifest is required (nothing persists between commands)",
            hint="e.g. --manifest manifests/examples/three-tier-claims.yaml",
        )
    loaded = checked_manifest(manifest, application) if manifest is not None else None
    follower = Follower(
        approve=approve,
        reject=reject,
        non_interactive=non_interactive,
        quiet=json_output,
        target="" if sandbox else target_flags(profile, region),
        sandbox=sandbox,
    )
    if wait and loaded is not None and has_gates(loaded, operation):
        follower.check_can_answer(application, operation)  # before any set-up
    if sandbox:
        from drorch.cli.sandbox_run import load_scenario_first, sandbox_hub

        load_scenario_first(scenario)
        with sandbox_hub(scenario, accounts_dir, progress=not json_output) as hub:
            follower.gate_clock = SandboxGateClock(hub.sandbox.clock)
            _run(
                hub.client,
                follower,
                application,
                operation,
                manifest,
                True,
                poll,
                report_dir,
                force,
            )
        return
    _run(
        aws_client(profile, region),
        follower,
        application,
        operation,
        manifest,
        wait,
        poll,
        report_dir,
        force,
    )


def _run(
    client: Client,
    follower: Follower,
    application: str,
    operation: str,
    manifest: Path | None,
    wait: bool,
    poll_seconds: int,
    report_dir: Path,
    force: bool = False,
) -> None:
    if manifest is not None:
        uploaded = client.upload_manifest(manifest)
        if uploaded.application != application:
            raise InputError(
                f"{manifest} is the manifest of {uploaded.application!r}, not {application!r}"
            )
    execution_id = client.start_execution(
        application, operation, poll_seconds=poll_seconds, force=force
    )
    if not wait:
        if follower.quiet:
            print_json({"executionId": execution_id})
        else:
            console.print(
                f"started {execution_id}; follow it with "
                f"`drorch status {execution_id} --wait{follower.target}`"
            )
        return
    final = follower.follow(client, execution_id)
    status = run_summary(client, execution_id, final, report_dir, follower)
    if status != "SUCCEEDED":
        raise typer.Exit(1)


def status(
    execution_id: ExecutionId,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow it to its end (reattach after Ctrl-C).")
    ] = False,
    approve: Annotated[
        bool, typer.Option("--approve", help="With --wait: approve every gate as it opens.")
    ] = False,
    non_interactive: NonInteractive = False,
    resources: Annotated[
        bool,
        typer.Option(
            "--resources", help="List the resources (a page at a time) instead of the waves."
        ),
    ] = False,
    page_size: Annotated[int, typer.Option(help="With --resources: resources per page.")] = 100,
    next_token: Annotated[
        str | None,
        typer.Option(help="With --resources: the page after the one that printed this token."),
    ] = None,
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Show an execution's status, waves (resources counted by status) and open gates;
    with --resources, its resources one page at a time."""
    if (next_token is not None or page_size != 100) and not resources:
        raise InputError("--page-size and --next-token go with --resources")
    if resources and wait:
        raise InputError("--resources and --wait exclude each other", hint="pass one of them")
    if not 1 <= page_size <= 1000:  # checked before any AWS call
        raise InputError(f"--page-size {page_size} must be between 1 and 1000")
    client = aws_client(profile, region)
    target = target_flags(profile, region)
    if resources:
        page = client.resources_page(execution_id, page_size=page_size, next_token=next_token)
        if json_output:
            print_json(page)
        else:
            console.print(render_resources(page, target))
        return
    if wait:
        follower = Follower(
            approve=approve,
            reject=False,
            non_interactive=non_interactive,
            quiet=json_output,
            target=target,
            sandbox=False,
        )
        description = follower.follow(client, execution_id)
    else:
        description = client.describe(execution_id)
    if json_output:
        print_json(description)
    elif wait:
        try:
            document = json.loads(client.report(execution_id, "json"))
        except InputError:
            document = None
        show_summary(description, [], document, target, hub=True)
    else:
        console.print(render(description, target))
    if wait and description["execution"].get("status") != "SUCCEEDED":
        raise typer.Exit(1)


def list_executions(
    status_filter: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="Only this status: PENDING, RUNNING, PAUSED, WAITING_APPROVAL, SUCCEEDED, "
            "FAILED or CANCELLED.",
        ),
    ] = None,
    application: Annotated[str | None, typer.Option(help="Only this application.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
    plain: Plain = False,
) -> None:
    """List executions, newest first."""
    if status_filter is not None:
        status_filter = status_filter.upper()
        if status_filter not in STATUSES:  # checked before any AWS call
            raise InputError(
                f"unknown status {status_filter!r}",
                hint=f"use one of: {', '.join(sorted(STATUSES))}",
            )
    found = aws_client(profile, region).list_executions(status_filter, application, limit)
    columns = ("executionId", "application", "operation", "status", "startedAt", "finishedAt")
    if json_output:
        print_json(found)
        return
    if plain:
        for item in found:
            print("\t".join(str(item.get(c, "")) for c in columns))
        return
    from rich.table import Table

    table = Table(title="Executions")
    for column in ("execution", "application", "operation", "status", "started", "finished"):
        table.add_column(column)
    for item in found:
        table.add_row(*(str(item.get(c, "")) for c in columns))
    console.print(table)


def _decided(result: dict[str, Any], json_output: bool, message: str) -> None:
    if json_output:
        print_json(result)
    else:
        console.print(message)


def _decision_text(result: dict[str, Any], verb: str) -> str:
    result = clean(result)
    return (
        f"{verb} gate {result.get('gate')} of {result.get('executionId')}"
        + (
            f" ({result.get('kind')} {result.get('phase') or ''})".rstrip()
            if result.get("kind")
            else ""
        )
        + (f": {result['comment']}" if result.get("comment") else "")
    )


def approve(
    execution_id: ExecutionId,
    gate: Gate = None,
    comment: Comment = "",
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Approve an open gate (recorded with who and when)."""
    result = aws_client(profile, region).approve(execution_id, gate, comment)
    _decided(result, json_output, _decision_text(result, "approved"))


def reject(
    execution_id: ExecutionId,
    gate: Gate = None,
    comment: Comment = "",
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Reject an open gate: the execution fails and no later wave runs."""
    result = aws_client(profile, region).reject(execution_id, gate, comment)
    _decided(result, json_output, _decision_text(result, "rejected"))


Step = Annotated[
    str,
    typer.Option(
        help="The failed step: <groupId>/<accountId> as `drorch status` shows it, or a group "
        "id (the group in every account where it waits)."
    ),
]
Reason = Annotated[str, typer.Option(help="Why (recorded with who decided, in the history).")]


def _steps_text(results: list[dict[str, Any]], verb: str) -> str:
    return "; ".join(
        f"{verb} step {r.get('step')} of {r.get('executionId')} (gate {r.get('gate')})"
        + (f": {r['comment']}" if r.get("comment") else "")
        for r in results
    )


def retry(
    execution_id: ExecutionId,
    step: Step,
    reason: Reason,
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Start a failed step again (failurePolicy ask): its resources that did not succeed."""
    results = aws_client(profile, region).retry(execution_id, step, reason)
    _decided({"decisions": results}, json_output, _steps_text(results, "retrying"))


def skip(
    execution_id: ExecutionId,
    step: Step,
    reason: Reason,
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Skip a failed step (failurePolicy ask): recorded SKIPPED, and its wave goes on."""
    results = aws_client(profile, region).skip(execution_id, step, reason)
    _decided({"decisions": results}, json_output, _steps_text(results, "skipped"))


def pause(
    execution_id: ExecutionId,
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Stop at the next wave boundary until `resume`."""
    result = aws_client(profile, region).pause(execution_id)
    _decided(
        result,
        json_output,
        f"pause requested: {execution_id} stops at the next wave boundary; "
        f"continue it with `drorch resume {execution_id}{target_flags(profile, region)}`",
    )


def resume(
    execution_id: ExecutionId,
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Continue a paused execution."""
    result = aws_client(profile, region).resume(execution_id)
    _decided(result, json_output, f"resumed {execution_id}")


def cancel(
    execution_id: ExecutionId,
    comment: Comment = "",
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Start no new wave; in-flight module phases finish; the execution ends CANCELLED."""
    result = aws_client(profile, region).cancel(execution_id, comment)
    _decided(
        result,
        json_output,
        f"cancel requested: {execution_id} starts no new wave and ends CANCELLED",
    )


def report(
    execution_id: ExecutionId,
    fmt: Annotated[str, typer.Option("--format", help="md, html or json.")] = "md",
    out_file: Annotated[
        Path | None, typer.Option("--out-file", "-f", help="Write to this file instead.")
    ] = None,
    profile: Profile = None,
    region: Region = None,
) -> None:
    """An execution's full report (wave timeline, measured vs target RTO, per-resource
    outcomes) on stdout, or in a file with --out-file."""
    if fmt not in ("md", "html", "json"):
        raise InputError(
            f"report format {fmt!r} is not known", hint="use --format md, html or json"
        )
    text = aws_client(profile, region).report(execution_id, fmt)
    if out_file:
        out_file.write_text(text)
        note(f"written {out_file}")
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
    for command in (approve, reject, retry, skip, pause, resume, cancel, report, reconcile):
        app.command(command.__name__)(command)
