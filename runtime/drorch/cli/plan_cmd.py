"""``drorch plan show|edit``: the plan of a running execution, and edits of the waves it
has not started yet (see drorch.engine.plan_edit)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.markup import escape

from drorch.cli import engine_cmd
from drorch.cli.engine_cmd import Comment, ExecutionId
from drorch.cli.manifest_cmd import EXIT_INPUT, _report_problems
from drorch.cli.options import Json, Profile, Region
from drorch.cli.output import console, print_json
from drorch.errors import InputError
from drorch.manifest import ManifestError

app = typer.Typer(
    help="The plan of a running execution: show the manifest it runs, edit waves not yet started.",
    no_args_is_help=True,
)


@app.command("show")
def show(
    execution_id: ExecutionId,
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Print the manifest a running execution runs (its pinned S3 version, or its last
    edit) as YAML: the starting point of `drorch plan edit`."""
    document = engine_cmd.aws_client(profile, region).running_manifest(execution_id)
    if json_output:
        print_json(document)
    else:
        print(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), end="")


@app.command("edit")
def edit(
    execution_id: ExecutionId,
    manifest: Annotated[
        Path, typer.Argument(help="The edited manifest (start from `drorch plan show ID`).")
    ],
    comment: Comment = "",
    profile: Profile = None,
    region: Region = None,
    json_output: Json = False,
) -> None:
    """Change waves of a running execution that have not started yet.

    The file is validated like any manifest; only its waves may differ from the running
    plan's, and only waves not started (no wave added, removed or moved to another level).
    The edit is recorded in the history (who, when, what changed, a diff) and the
    execution runs those waves as edited. Exit 2 when refused: nothing changes then.
    """
    if not manifest.is_file():
        raise InputError(f"manifest not found: {manifest}", hint="check the path")
    client = engine_cmd.aws_client(profile, region)
    try:
        result = client.edit_plan(execution_id, manifest, comment=comment)
    except ManifestError as exc:
        _report_problems(exc, json_output)
        raise typer.Exit(EXIT_INPUT) from exc
    if json_output:
        print_json(result)
        return
    console.print(
        f"plan of {execution_id} edited (revision {result['revision']}): "
        f"{', '.join(result['waves'])}",
        highlight=False,
        soft_wrap=True,
    )
    for wave, paths in result["changes"].items():
        console.print(f"  {escape(wave)}: {escape(', '.join(paths))}", soft_wrap=True)
    console.print(
        f"[dim]recorded in the history; `drorch status {execution_id}` shows the edits[/]",
        soft_wrap=True,
    )
