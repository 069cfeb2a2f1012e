"""``drorch demo``: the README's first command — a DR drill, end to end, in the sandbox.

It deploys the hub into the sandbox, loads the scenario, uploads its manifest
and runs a drill through the real state machines and Lambda handlers: an
approval gate (which the demo approves, as an operator would), waves in
dependency order, DRS launches, the report; then a cleanup execution that
terminates the drill instances.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markdown import Markdown

from drorch.cli.engine_cmd import follow
from drorch.cli.options import DEFAULT_ACCOUNTS_DIR, AccountsDir, Json
from drorch.cli.output import console, print_json
from drorch.cli.sandbox_run import sandbox_hub
from drorch.errors import InputError
from drorch.sandbox.scenario import load_scenario

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
    """Run a DR drill in the sandbox, end to end, through the real engine."""
    manifest = manifest or EXAMPLES.get(scenario)
    if manifest is None or not manifest.exists():
        raise InputError(
            f"no manifest for scenario {scenario!r}"
            + (f" ({manifest} not found)" if manifest else ""),
            hint="pass --manifest FILE, or run from the repository root",
        )
    loaded = load_scenario(scenario)
    unknown = sorted(set(fail_server or []) - {s.hostname for s in loaded.servers})
    if unknown:  # checked before anything starts
        raise InputError(
            f"--fail-server names hosts that are not in scenario {loaded.name}: {', '.join(unknown)}",
            hint="`drorch sandbox show` lists the scenario's servers",
        )
    results: dict[str, Any] = {}
    with sandbox_hub(scenario, accounts_dir) as hub:
        for hostname in fail_server or []:
            hub.sandbox.faults.fail_launch(hostname)
        client = hub.client
        uploaded = client.upload_manifest(manifest)
        app = uploaded.application
        if not json_output:
            console.rule(f"drorch demo: {app} drill in the sandbox ({scenario})")
            console.print(
                f"hub {hub.deployment.account_id} ({hub.deployment.region}); "
                f"{hub.seeded.server_count} DRS source servers in {len(hub.seeded.accounts)} staging accounts; "
                f"manifest s3://{uploaded.bucket}/{uploaded.key} (version {uploaded.version_id})"
            )

        def run(operation: str) -> dict[str, Any]:
            execution_id = client.start_execution(app, operation, poll_seconds=30)
            if not json_output:
                console.rule(f"{operation}: {execution_id}")
                console.print(
                    "the demo approves every gate, as an operator would with `drorch approve`"
                )
            final = follow(client, execution_id, approve=True, reject=False, quiet=json_output)
            report_dir.mkdir(parents=True, exist_ok=True)
            files = []
            for fmt in ("md", "html", "json"):
                try:
                    text = client.report(execution_id, fmt)
                except InputError:
                    continue
                path = report_dir / f"{execution_id}.{fmt}"
                path.write_text(text)
                files.append(str(path))
            if not json_output and files:
                console.print(Markdown(Path(files[0]).read_text()))
                console.print(f"report: {', '.join(files)}")
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
        console.rule("summary")
        for operation in ("drill", "cleanup"):
            if operation in results:
                console.print(
                    f"{operation}: {results[operation]['executionId']} {results[operation]['status']}"
                )
        console.print(
            f"drill instances still running: {results['runningDrillInstances']}; "
            f"Lambda invocations: {sum(results['lambdaInvocations'].values())}; "
            f"AWS API calls: {results['apiCalls']}; wire fidelity violations: {len(results['fidelityViolations'])}"
        )
        console.print("[green bold]demo succeeded[/]" if ok else "[red bold]demo failed[/]")
    if not ok:
        raise typer.Exit(1)
