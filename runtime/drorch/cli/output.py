"""Console output shared by the commands: rich for humans, JSON for scripts.

Contract: ``--output json`` (alias ``--json``) prints exactly one JSON document
on stdout (described by ``drorch/schemas/cli-output.schema.json``); progress,
logs and errors go to stderr. No storage keys (``pk``, ``sk``, ``expiresAt``)
and no task tokens reach any output.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

console = Console()
errors = Console(stderr=True)

OUTPUT_FORMATS = ("json", "table", "text")
# how the history stores items, not what they mean: never shown
STORAGE_KEYS = frozenset({"pk", "sk", "expiresAt", "token", "taskToken"})


def clean(data: Any) -> Any:
    """``data`` without storage keys and task tokens, at any depth."""
    if isinstance(data, dict):
        return {k: clean(v) for k, v in data.items() if k not in STORAGE_KEYS}
    if isinstance(data, list | tuple):
        return [clean(v) for v in data]
    return data


def print_json(data: Any) -> None:
    # plain print: rich would wrap long lines and break the JSON for scripts
    print(json.dumps(clean(data), indent=2, sort_keys=True, default=str))
    sys.stdout.flush()


def interactive() -> bool:
    """Whether a person can answer a prompt: stdin and stdout are terminals."""
    try:
        return sys.stdin.isatty() and console.is_terminal
    except (AttributeError, ValueError):
        return False


def note(message: str) -> None:
    """A progress or log line: on stderr, so stdout stays the command's result."""
    errors.print(message, highlight=False, soft_wrap=True)


def fail(message: str, hint: str | None = None) -> None:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    if hint:
        errors.print(f"[dim]hint:[/] {escape(hint)}", highlight=False, soft_wrap=True)
