"""Options shared by several commands, and where the project folder is."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from drorch.errors import InputError

PROJECT_MARKER = "accounts"  # a drorch project folder holds accounts/<name>.yaml
_project_dir: Path | None = None


def set_project_dir(path: Path | None) -> None:
    global _project_dir
    _project_dir = path


def project_root() -> Path | None:
    """The project folder: ``--project-dir``, ``DRORCH_PROJECT_DIR``, or the nearest
    folder from the current one upwards that holds ``accounts/``."""
    given = _project_dir or (
        Path(os.environ["DRORCH_PROJECT_DIR"]) if os.environ.get("DRORCH_PROJECT_DIR") else None
    )
    if given is not None:
        return given
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_MARKER).is_dir():
            return folder
    return None


NO_PROJECT_HINT = (
    "run drorch from the project folder (or any folder below it), "
    "or pass --project-dir DIR (or set DRORCH_PROJECT_DIR)"
)


def in_project(relative: Path) -> Path:
    """A project-relative default path (``accounts``, ``manifests/...``) resolved
    against the project folder, wherever drorch runs from."""
    if relative.is_absolute() or relative.exists():
        return relative
    root = project_root()
    return root / relative if root is not None else relative


def _accounts_dir(value: Path | None) -> Path:
    if value is not None and value != DEFAULT_ACCOUNTS_DIR:
        return value  # given: used as is (its loader names it if it is missing)
    found = in_project(DEFAULT_ACCOUNTS_DIR)
    if not found.is_dir():
        raise InputError(f"accounts directory not found: {found}", hint=NO_PROJECT_HINT)
    return found


DEFAULT_ACCOUNTS_DIR = Path("accounts")
AccountsDir = Annotated[
    Path,
    typer.Option(
        "--accounts-dir",
        help="Folder of staging-account descriptions (accounts/<name>.yaml); "
        "default: accounts/ of the project folder.",
        envvar="DRORCH_ACCOUNTS_DIR",
        metavar="DIR",
        callback=_accounts_dir,
    ),
]

Json = Annotated[
    bool, typer.Option("--json", help="JSON on stdout (same as --output json).", metavar="")
]
Scenario = Annotated[
    str,
    typer.Argument(
        help="Built-in scenario name (see `drorch sandbox scenarios`) or a YAML file.",
        metavar="SCENARIO",
    ),
]
Profile = Annotated[
    str | None,
    typer.Option(
        help="AWS profile of the hub account (default: $AWS_PROFILE; neither: the sandbox).",
        envvar="AWS_PROFILE",
        metavar="NAME",
    ),
]
Region = Annotated[
    str | None,
    typer.Option(
        help="The hub's region (default: $AWS_REGION).", envvar="AWS_REGION", metavar="REGION"
    ),
]
NonInteractive = Annotated[
    bool,
    typer.Option(
        "--non-interactive",
        help="Never prompt: a gate without --approve/--reject fails at once "
        "(implied when stdin is not a terminal).",
        metavar="",
    ),
]
