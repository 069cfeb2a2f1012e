"""``drorch manifest``: validate a manifest; convert a "layers" manifest into one."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from drorch.cli.options import DEFAULT_ACCOUNTS_DIR, AccountsDir, Json, Profile, Region
from drorch.cli.output import console, errors, fail, print_json
from drorch.errors import InputError
from drorch.manifest import (
    OPERATIONS,
    Manifest,
    ManifestError,
    Problem,
    load_manifest,
    wave_levels,
)
from drorch.manifest.convert import convert_layers
from drorch.manifest.model import END_OF_RUN
from drorch.manifest.validate import default_modules, parse_text

app = typer.Typer(help="Recovery manifests: validate, convert, upload, plan.", no_args_is_help=True)

EXIT_FAILED, EXIT_INPUT = 1, 2

ManifestFile = Annotated[Path, typer.Argument(help="Manifest file (YAML or JSON).")]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ManifestError(
            str(path), [Problem("$", f"cannot read the file: {exc.strerror}")]
        ) from exc


def _report_problems(error: ManifestError, json_output: bool) -> None:
    if json_output:
        print_json(
            {
                "valid": False,
                "source": error.source,
                "errors": [{"path": p.path, "message": p.message} for p in error.problems],
            }
        )
        return
    count = len(error.problems)
    fail(f"{escape(error.source)}: invalid manifest ({count} problem{'s' if count != 1 else ''})")
    for problem in error.problems:
        errors.print(
            f"  [bold]{escape(problem.path)}[/]: {escape(problem.message)}",
            highlight=False,
            soft_wrap=True,
        )


def _selector_text(selector: Any) -> str:
    parts = [f"{k}={v}" for k, v in selector.tags.items()]
    for label, values in (
        ("ids", selector.ids),
        ("types", selector.resource_types),
        ("accounts", selector.accounts),
        ("regions", selector.regions),
    ):
        if values:
            parts.append(f"{label}: {', '.join(values)}")
    return "; ".join(parts)


def summary(manifest: Manifest, source: str, modules_checked: bool) -> dict[str, Any]:
    """What a valid manifest will do, as plain JSON."""
    levels = wave_levels(manifest)
    wave_of = {g.id: w.name for w in manifest.waves for g in w.all_groups}
    return {
        "valid": True,
        "source": source,
        "application": manifest.application,
        "customer": manifest.customer,
        "environment": manifest.environment,
        "phases": {op: list(phases) for op, phases in manifest.phases.items()},
        "approval": {
            "required": manifest.approval.required,
            "phases": list(manifest.approval.phases),
            "timeoutMinutes": manifest.approval.timeout_minutes,
            "approvers": list(manifest.approval.approvers),
        },
        "failurePolicy": manifest.failure_policy,
        "pollSeconds": manifest.poll_seconds,
        "levels": [
            [
                {
                    "wave": wave.name,
                    "waveNumber": wave.number,
                    "dependsOn": list(wave.depends_on),
                    "pauseBefore": wave.pause_before,
                    "pauseAfter": wave.pause_after,
                    "groups": [group.id for group in wave.groups],
                }
                for wave in level
            ]
            for level in levels
        ],
        "groups": [
            {
                "id": group.id,
                "wave": wave.name,
                "type": group.type,
                "name": group.name,
                "selector": {
                    "tags": group.selector.tags,
                    "resourceTypes": list(group.selector.resource_types),
                    "accounts": list(group.selector.accounts),
                    "regions": list(group.selector.regions),
                    "ids": list(group.selector.ids),
                },
                "parameters": group.parameters,
            }
            for wave in manifest.waves
            for group in wave.groups
        ],
        "steps": [
            {
                "groupId": group.id,
                "wave": END_OF_RUN if group in manifest.health_checks else wave_of[group.id],
                "role": group.role,
                "name": group.name,
                "type": group.type,
                "accounts": list(group.selector.accounts),
                "failurePolicy": group.failure_policy,
                "runInDrill": group.run_in_drill,
                "phases": list(group.phases),
                "parameters": group.parameters,
            }
            for group in manifest.groups
            if group.is_step
        ],
        "modulesChecked": modules_checked,
    }


def _print_summary(manifest: Manifest, source: str, modules_checked: bool) -> None:
    console.print(f"[green]valid[/] {escape(source)}", highlight=False, soft_wrap=True)
    console.print(
        f"application [bold]{manifest.application}[/] "
        f"(customer {escape(manifest.customer)}, environment {escape(manifest.environment)})",
        highlight=False,
        soft_wrap=True,
    )
    for operation in OPERATIONS:
        phases = manifest.phases.get(operation, ())
        console.print(
            f"  {operation:<9} {' → '.join(phases) or '-'}", highlight=False, soft_wrap=True
        )
    if manifest.approval.required:
        approvers = ", ".join(manifest.approval.approvers) or "any operator"
        console.print(
            f"approval before {', '.join(manifest.approval.phases)} "
            f"({manifest.approval.timeout_minutes} min; {escape(approvers)})",
            highlight=False,
            soft_wrap=True,
        )
    console.print("waves by level:")
    for index, level in enumerate(wave_levels(manifest)):
        waves = []
        for wave in level:
            gates = [
                g
                for g, on in (
                    ("pause before", wave.pause_before),
                    ("pause after", wave.pause_after),
                )
                if on
            ]
            waves.append(
                f"{wave.name} (wave {wave.number}{'; ' + ', '.join(gates) if gates else ''})"
            )
        console.print(f"  level {index}: {', '.join(waves)}", highlight=False, soft_wrap=True)
    table = Table(title="module groups")
    for column in ("group", "wave", "type", "selector", "parameters"):
        table.add_column(column)
    for wave in manifest.waves:
        for group in wave.groups:
            table.add_row(
                group.id,
                wave.name,
                group.type,
                escape(_selector_text(group.selector)),
                escape(", ".join(group.parameters)) or "-",
            )
    console.print(table)
    steps = [g for g in manifest.groups if g.is_step]
    if steps:
        wave_of = {g.id: w.name for w in manifest.waves for g in w.all_groups}
        table = Table(title="wave actions and health checks (in run order)")
        for column in ("wave", "kind", "name", "type", "runs in", "on failure", "in a drill"):
            table.add_column(column)
        labels = {"pre": "pre-wave action", "post": "post-wave action", "check": "health check"}
        for group in steps:
            runs = group.run_in_drill
            if runs is None:  # the module's default
                runs = getattr(default_modules().get(group.type), "runs_in_drill", False)
            drill = "runs" if runs else "skipped"
            table.add_row(
                wave_of.get(group.id, END_OF_RUN),
                labels[group.role],
                escape(group.name),
                group.type,
                escape(", ".join(group.selector.accounts)) or "default",
                group.failure_policy,
                drill,
            )
        console.print(table)
    if not modules_checked:
        console.print(
            "[yellow]note:[/] no module registry available: module types and parameters not checked",
            highlight=False,
            soft_wrap=True,
        )


@app.command("validate")
def validate(file: ManifestFile, json_output: Json = False) -> None:
    """Validate a manifest: every problem with its JSON path (exit 2), or a summary."""
    modules = default_modules()
    try:
        manifest = load_manifest(_read(file), str(file), modules)
    except ManifestError as exc:
        _report_problems(exc, json_output)
        raise typer.Exit(EXIT_INPUT) from exc
    if json_output:
        print_json(summary(manifest, str(file), bool(modules)))
    else:
        _print_summary(manifest, str(file), bool(modules))


def _default_application(path: Path) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "-", path.stem.lower()).strip("-._") or "application"


@app.command("convert")
def convert(
    file: Annotated[Path, typer.Argument(help='A "layers" document (JSON or YAML).')],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write here (.json for JSON, else YAML); default stdout."
        ),
    ] = None,
    application: Annotated[
        str | None, typer.Option(help="Application name; default: the file's name.")
    ] = None,
    customer: Annotated[
        str | None, typer.Option(help="Customer; default: the application name.")
    ] = None,
    environment: Annotated[str, typer.Option(help="Environment.")] = "production",
    action: Annotated[
        str | None,
        typer.Option(
            help="Module (name or layers alias) of resources that name none, as in seed 000's "
            "StatePayload documents (e.g. enhanced_drs)."
        ),
    ] = None,
) -> None:
    """Convert a "layers" document (a list of layers, one layer, or a StatePayload) into a
    drorch manifest; see README "Importing layers manifests".

    The manifest written always validates. Exit 0 when everything was carried over, 1 when
    it was written but some settings were not (each named, with its path in the input),
    2 when the input cannot be converted (nothing written).
    """
    app_name = application or _default_application(file)
    try:
        data = parse_text(_read(file), str(file))
        result = convert_layers(
            data,
            application=app_name,
            customer=customer or app_name,
            environment=environment,
            source=str(file),
            action=action,
        )
    except ManifestError as exc:
        _report_problems(exc, json_output=False)
        raise typer.Exit(EXIT_INPUT) from exc

    if output is not None and output.suffix == ".json":
        text = json.dumps(result.manifest, indent=2) + "\n"
    else:
        header = f"# Converted by `drorch manifest convert` from {file.name}; review before use.\n"
        text = header + yaml.safe_dump(result.manifest, sort_keys=False, allow_unicode=True)
    if output is None:
        print(text, end="")
    else:
        try:
            output.write_text(text)
        except OSError as exc:
            raise InputError(f"{output}: cannot write: {exc.strerror}") from exc
        errors.print(f"wrote {escape(str(output))}", highlight=False, soft_wrap=True)

    for note in result.notes:
        errors.print(f"[yellow]review:[/] {escape(note)}", highlight=False, soft_wrap=True)
    for item in result.unmapped:
        errors.print(f"[red]not carried over:[/] {escape(item)}", highlight=False, soft_wrap=True)
    if result.unmapped:
        raise typer.Exit(EXIT_FAILED)


# --- upload and plan (the engine's side) ---------------------------------------------------
@app.command("upload")
def upload(
    manifest: ManifestFile,
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Validate, then upload a new version to the hub's manifest bucket (never a bad one).
    With `drorch sandbox up` running (and no --profile/--region), the endpoint's hub."""
    from drorch.cli.engine_cmd import aws_client

    uploaded = aws_client(profile, region).upload_manifest(manifest)
    result = {
        "application": uploaded.application,
        "bucket": uploaded.bucket,
        "key": uploaded.key,
        "versionId": uploaded.version_id,
    }
    if json_output:
        print_json(result)
    else:
        console.print(
            f"uploaded {uploaded.application}: s3://{uploaded.bucket}/{uploaded.key} "
            f"(version {uploaded.version_id})"
        )


def render_plan(result: dict[str, Any]) -> None:
    plan, groups = result["plan"], result["groups"]
    console.print(
        f"[bold]{plan['application']}[/] {plan['operation']}: what each phase and wave would touch"
    )
    for phase in plan["phases"]:
        gate = " (approval first)" if phase.get("approval") else ""
        console.print(f"[bold]{phase['phase']}[/]{gate}")
        for level in phase["levels"]:
            pause = " (pause before)" if level.get("pauseBefore") else ""
            console.print(f"  level {level['level']}: {', '.join(level['waves'])}{pause}")
            for group in level["groups"]:
                found = groups[group["groupId"]]
                for account in group["accounts"]:
                    names_ = [_named(r) for r in found["resources"].get(account, [])]
                    console.print(
                        f"    {group['groupId']} ({found['module']}) in {account}: "
                        f"{len(names_)}: {', '.join(names_[:12])}{' ...' if len(names_) > 12 else ''}",
                        highlight=False,
                        soft_wrap=True,
                    )
    for group_id, found in groups.items():
        for excluded in found.get("excluded", []):
            console.print(
                f"[yellow]excluded[/] {group_id}: {excluded.get('name') or excluded.get('arn')}: "
                f"{'; '.join(excluded.get('reasons', []))}"
            )
    for skipped in plan.get("skipped", []):
        console.print(
            f"[dim]skipped[/] {skipped['groupId']} in {skipped['phase']}: {skipped['reason']}"
        )
    for warning in plan.get("warnings", []):
        console.print(f"[yellow]warning[/] {escape(warning)}", highlight=False, soft_wrap=True)
    for error in plan.get("errors", []):
        errors.print(f"[red]error[/] {escape(error)}", highlight=False, soft_wrap=True)


def render_prediction(prediction: dict[str, Any]) -> None:
    """The predicted wave durations, RTO range and critical path (or why there are none)."""
    from drorch.engine import rto

    if not prediction.get("available"):
        console.print(f"[yellow]prediction:[/] {escape(prediction['note'])}", soft_wrap=True)
        return
    table = Table(title=f"predicted durations ({prediction['samples']} earlier runs)")
    for column in ("phase", "level", "wave", "predicted", "slowest group"):
        table.add_column(column)
    critical = set(prediction.get("criticalPath", []))
    for wave in prediction["waves"]:
        marked = wave["phase"] == prediction["recoveryPhase"] and wave["wave"] in critical
        table.add_row(
            wave["phase"],
            str(wave["level"]),
            escape(wave["wave"]) + (" *" if marked else ""),
            rto.range_text(wave) if wave.get("samples") else "no history",
            escape(wave.get("slowestGroup") or "-"),
        )
    console.print(table)
    console.print(escape(rto.prediction_text(prediction)), highlight=False, soft_wrap=True)
    console.print(f"[dim]{escape(prediction['note'])}; * = on the critical path[/]", soft_wrap=True)
    if prediction["rto"].get("risk"):
        console.print(
            f"RTO target {prediction['rto']['targetSeconds'] // 60} min: "
            f"{prediction['rto']['risk']}",
            highlight=False,
        )


def _named(resource: dict[str, Any]) -> str:
    """A resource as the plan lists it: its name, and the selector id that matched it."""
    name = resource.get("name") or resource["id"]
    matched = resource.get("matchedBy")
    if matched and matched != name:
        return f"{name} (matched {matched})"
    return name


@app.command("plan")
def plan(
    manifest: ManifestFile,
    operation: Annotated[str, typer.Option(help="drill, failover, failback or cleanup.")] = "drill",
    scenario: Annotated[
        str,
        typer.Option(
            help="Sandbox scenario to plan against in this command's own sandbox (with "
            "`drorch sandbox up` running, the plan is the endpoint's, on its scenario)."
        ),
    ] = "three-tier",
    accounts_dir: AccountsDir = DEFAULT_ACCOUNTS_DIR,
    profile: Profile = None,
    region: Region = None,
    predict: Annotated[
        bool,
        typer.Option(
            "--predict",
            help="Also predict each wave's duration, the RTO (a range) and the critical path "
            "from the earlier runs in the hub's history (a running `drorch sandbox up`).",
        ),
    ] = False,
    json_output: Json = False,
) -> None:
    """Dry run: discover and plan, start nothing. Shows the resources each phase/wave/module
    touches; with --predict, the predicted RTO from earlier runs."""
    from drorch.cli.engine_cmd import aws_client, check_operation, checked_manifest

    check_operation(operation)  # the arguments and the manifest before any set-up
    checked_manifest(manifest, None)
    if profile is None and region is None:  # (with `drorch sandbox up`: the endpoint's hub)
        from drorch.cli.sandbox_run import load_scenario_first, sandbox_hub

        load_scenario_first(scenario)
        with sandbox_hub(scenario, accounts_dir, progress=not json_output) as hub:
            result = hub.client.plan(manifest, operation, predict=predict)
    else:
        result = aws_client(profile, region).plan(manifest, operation, predict=predict)
    if json_output:
        print_json(result)
    else:
        render_plan(result)
        if predict:
            render_prediction(result["prediction"])
    if result["plan"].get("errors"):  # a selector that matched nothing: fix the manifest
        raise typer.Exit(EXIT_INPUT)
