"""Console output shared by the commands: rich for humans, JSON for scripts."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape

console = Console()
errors = Console(stderr=True)


def print_json(data: Any) -> None:
    # plain print: rich would wrap long lines and break the JSON for scripts
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def fail(message: str, hint: str | None = None) -> None:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    if hint:
        errors.print(f"[dim]hint:[/] {escape(hint)}", highlight=False, soft_wrap=True)
