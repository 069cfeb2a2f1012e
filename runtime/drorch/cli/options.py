"""Options shared by several commands."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

AccountsDir = Annotated[
    Path,
    typer.Option(
        "--accounts-dir",
        help="Folder of staging-account descriptions (accounts/<name>.yaml).",
        envvar="DRORCH_ACCOUNTS_DIR",
    ),
]
DEFAULT_ACCOUNTS_DIR = Path(os.environ.get("DRORCH_ACCOUNTS_DIR", "accounts"))

Json = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
Scenario = Annotated[
    str,
    typer.Argument(help="Built-in scenario name (see `drorch sandbox scenarios`) or a YAML file."),
]
