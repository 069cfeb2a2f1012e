"""``drorch demo``: the README's first command — a DR drill, end to end, in the sandbox.

It deploys the hub into the sandbox, loads the scenario, uploads its manifest
and runs a drill through the real state machines and Lambda handlers: an
approval gate (which the demo approves, as an operator would), waves in
dependency order, DRS launches, the report; then a cleanup execution that
terminates the drill instances. The terminal gets the progress and a summary;
the full reports are files (``drorch-reports/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from drorch.cli.engine_cmd import checked_manifest
from drorch.cli.follow import (
    Follower,
    SandboxGateClock,
    report_paths,
    show_summary,
    write_reports,
)
from drorch.cli.options import DEFAULT_ACCOUNTS_DIR, AccountsDir, Json, in_project
from drorch.cli.output import console, print_json
from drorch.errors import InputError

EXAMPLES = {
    "three-tier": Path("manifests/examples/three-tier-claims.yaml"),
    "large-estate": Path("manifests/examples/large-estate.yaml"),
    "full-stack": Path("manifests/examples/full-stack.yaml"),
}


def _running_instances(hub: Any) -> int:
    count = 0
    for account_id in hub.sandbox.accounts:
        ec2 = hub.sandbox.admin_session(account_id).client("ec2")
        for page in ec2.get_paginator("describe_instances").paginate(
            Filters=[
                {"Name": "instance-state-name", "Values": ["pending", "running"]},
                {"Name": "tag-key", "Values": ["AWSElasticDisasterRecoveryManaged"]},
            ]
        ):
            count += sum(len(r["Instances"]) for r in page["Reservations"])
    return count


def demo(
    scenario: Annotated[
        str, typer.Option(help="Built-in scenario name or YAML file.")
    ] = "three-tier",
    manifest: Annotated[
        Path | None, typer.Option(help="Manifest (default: the scenario's example).")
    ] = None,
    accounts_dir: AccountsDir = DEFAULT_ACCOUNTS_DIR,
    keep: Annotated[
        bool, typer.Option(help="Keep the drill instances (skip the cleanup run).")
    ] = False,
    fail_server: Annotated[
        list[str] | None,
        typer.Option(help="Inject a launch failure for this hostname (repeatable)."),
    ] = None,
    report_dir: Annotated[Path, typer.Option(help="Where reports are written.")] = Path(
        "drorch-reports"
    ),
    json_output: Json = False,
) -> None:
    """Run a DR drill in the sandbox, end to end, through the real engine: the progress
    and a summary here, the full reports in --report-dir."""
    # the sandbox is imported only when it is used: `drorch --help` stays quick
    from drorch.cli.sandbox_run import sandbox_hub
    from drorch.sandbox.scenario import load_scenario

    # every argument is checked before anything is set up: the scenario first
    loaded = load_scenario(scenario)
    if manifest is None:
        example = EXAMPLES.get(scenario)
        if example is None:
            raise InputError(
                f"scenario {scenario!r} has no example manifest",
                hint="pass --manifest FILE (an application manifest for its servers)",
            )
        manifest = in_project(example)
        if not manifest.is_file():
            raise InputError(
                f"the example manifest of scenario {scenario!r} is not here: {manifest}",
                hint="run drorch from the project folder (or below it), pass --project-dir DIR, "
                "or pass --manifest FILE",
            )
    app = checked_manifest(manifest, None).application
    unknown = sorted(set(fail_server or []) - {s.hostname for s in loaded.servers})
    if unknown:
        raise InputError(
            f"--fail-server names hosts that are not in scenario {loaded.name}: {', '.join(unknown)}",
            hint="`drorch sandbox show` lists the scenario's servers",
        )
    results: dict[str, Any] = {}
    finals: dict[str, tuple[dict[str, Any], list[str], dict[str, Any] | None]] = {}
    with sandbox_hub(scenario, accounts_dir, progress=not json_output) as hub:
        for hostname in fail_server or []:
            hub.sandbox.faults.fail_launch(hostname)
        client = hub.client
        uploaded = client.upload_manifest(manifest)
        if not json_output:
            console.print(
                Text(
                    f"drorch demo: a {app} drill in the sandbox ({scenario}): "
                    f"{hub.seeded.server_count} DRS source servers in "
                    f"{len(hub.seeded.accounts)} staging accounts; the demo approves every "
                    "gate, as an operator would with `drorch approve`",
                    style="bold",
                )
            )
        follower = Follower(approve=True, quiet=json_output, sandbox=True)
        follower.gate_clock = SandboxGateClock(hub.sandbox.clock)

        def run(operation: str) -> dict[str, Any]:
            execution_id = client.start_execution(uploaded.application, operation, poll_seconds=30)
            final = follower.follow(client, execution_id)
            files, document = write_reports(client, execution_id, report_dir)
            finals[operation] = (final, files, document)
            return {
                "executionId": execution_id,
                "status": final["execution"].get("status"),
                "error": final["execution"].get("error"),
                "reports": files,
                "waves": final["waves"],
                "gates": final["gates"],
                "resources": len(final["resources"]),
            }

        results["drill"] = run("drill")
        if not keep and results["drill"]["status"] == "SUCCEEDED":
            results["cleanup"] = run("cleanup")
        results["runningDrillInstances"] = _running_instances(hub)
        results["lambdaInvocations"] = dict(hub.sandbox.state.lambda_runtime.invocations)
        results["apiCalls"] = hub.sandbox.faults.call_count()
        results["fidelityViolations"] = list(hub.sandbox.state.fidelity.violations)
    ok = results["drill"]["status"] == "SUCCEEDED" and (
        keep
        or (
            results.get("cleanup", {}).get("status") == "SUCCEEDED"
            and results["runningDrillInstances"] == 0
        )
    )
    if json_output:
        print_json(results | {"succeeded": ok})
    else:
        _print_summary(results, finals, app, keep, ok)
    if not ok:
        raise typer.Exit(1)


def _print_summary(
    results: dict[str, Any],
    finals: dict[str, tuple[dict[str, Any], list[str], dict[str, Any] | None]],
    application: str,
    keep: bool,
    ok: bool,
) -> None:
    console.rule("summary")
    final, files, document = finals["drill"]
    show_summary(final, [], document, "")
    if "cleanup" in results:
        cleanup = results["cleanup"]
        console.print(
            f"cleanup {cleanup['executionId']} {cleanup['status']}: drill instances terminated"
            if cleanup["status"] == "SUCCEEDED"
            else f"cleanup {cleanup['executionId']} {cleanup['status']}",
            highlight=False,
        )
    running = results["runningDrillInstances"]
    if running:
        why = (
            "kept with --keep"
            if keep
            else "the cleanup did not run"
            if "cleanup" not in results
            else "the cleanup did not terminate them"
        )
        console.print(
            f"{running} drill instances still running ({why}). In the sandbox they end with "
            f"this command; against a hub: `drorch execute --application {application} "
            "--operation cleanup --profile NAME`",
            highlight=False,
        )
    console.print(
        f"Lambda invocations: {sum(results['lambdaInvocations'].values())}; "
        f"AWS API calls: {results['apiCalls']}; "
        f"wire fidelity violations: {len(results['fidelityViolations'])}",
        style="dim",
        highlight=False,
    )
    console.print("[green bold]demo succeeded[/]" if ok else "[red bold]demo failed[/]")
    for operation in ("drill", "cleanup"):
        if operation in finals and finals[operation][1]:
            console.print(
                f"{operation} report: {report_paths(finals[operation][1])}",
                highlight=False,
                soft_wrap=True,  # a path stays whole, to be copied
            )
