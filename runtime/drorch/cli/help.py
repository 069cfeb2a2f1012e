"""What every ``--help`` ends with: examples and the exit codes; honest placeholders.

Applied to the click commands typer builds (:func:`polish`), so the command
modules stay plain typer functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

EXIT_CODES = (
    "Exit codes: 0 success; 1 the operation ran and failed (e.g. a drill with failed "
    "launches, a rejected gate); 2 bad input or a wrong state, nothing was changed "
    "(a typo, an unknown execution id, missing credentials, a gate that needs a "
    "decision when no one can answer); 3 an internal error (a bug: please report it); "
    "130 interrupted (Ctrl-C)."
)
OUTPUT = "Output: --output json|table|text (--json is --output json): JSON is one document on stdout; progress and errors go to stderr."

EXAMPLES: dict[str, list[str]] = {
    "": ["drorch demo", "drorch execute --application claims --manifest FILE --approve"],
    "demo": [
        "drorch demo",
        "drorch demo --scenario full-stack",
        "drorch demo --fail-server acme-web-01 --json",
    ],
    "execute": [
        "drorch execute --application claims --manifest manifests/examples/three-tier-claims.yaml --approve",
        "drorch execute --application claims --operation failover --profile hub --region us-east-2 --no-wait",
    ],
    "readiness": [
        "drorch readiness claims --manifest manifests/examples/full-stack.yaml --scenario full-stack",
        "drorch readiness claims --profile hub --region us-east-2 --output json",
    ],
    "status": [
        "drorch status drill-20260101T120000-a1b2c3 --profile hub",
        "drorch status ID --wait",
    ],
    "list": [
        "drorch list --status RUNNING --profile hub",
        "drorch list --application claims --json",
    ],
    "approve": ["drorch approve ID --profile hub", "drorch approve ID --gate 2 --comment 'go'"],
    "reject": ["drorch reject ID --comment 'not today' --profile hub"],
    "retry": [
        "drorch retry ID --step app-servers/222222222222 --reason 'quota raised' --profile hub"
    ],
    "skip": ["drorch skip ID --step app-servers --reason 'not needed for the drill' --profile hub"],
    "pause": ["drorch pause ID --profile hub"],
    "resume": ["drorch resume ID --profile hub"],
    "cancel": ["drorch cancel ID --comment 'wrong manifest' --profile hub"],
    "report": [
        "drorch report ID --profile hub",
        "drorch report ID --format html --out-file r.html",
    ],
    "reconcile": ["drorch reconcile --profile hub"],
    "sandbox": ["drorch sandbox scenarios", "drorch sandbox show three-tier"],
    "sandbox scenarios": ["drorch sandbox scenarios --json"],
    "sandbox show": ["drorch sandbox show three-tier", "drorch sandbox show my-estate.yaml --json"],
    "accounts": ["drorch accounts list", "drorch accounts verify"],
    "accounts list": ["drorch accounts list --json"],
    "accounts onboard": ["drorch accounts onboard staging-web --account-id 111111111111"],
    "accounts verify": ["drorch accounts verify", "drorch accounts verify --profile hub"],
    "manifest": ["drorch manifest validate FILE", "drorch manifest plan FILE"],
    "manifest validate": ["drorch manifest validate manifests/examples/three-tier-claims.yaml"],
    "manifest convert": ["drorch manifest convert old.json --output manifest.yaml"],
    "manifest upload": ["drorch manifest upload FILE --profile hub"],
    "manifest plan": [
        "drorch manifest plan manifests/examples/three-tier-claims.yaml",
        "drorch manifest plan FILE --predict --profile hub",
    ],
    "plan": ["drorch plan show ID --profile hub", "drorch plan edit ID edited.yaml"],
    "plan show": ["drorch plan show ID --profile hub > tonight.yaml"],
    "plan edit": ["drorch plan edit ID tonight.yaml --comment 'web-02 only' --profile hub"],
    "modules": ["drorch modules list", "drorch modules show drs"],
    "modules list": ["drorch modules list --json"],
    "modules show": ["drorch modules show drs"],
}

METAVARS = {
    "application": "APP",
    "operation": "drill|failover|failback|cleanup",
    "manifest": "FILE",
    "file": "FILE",
    "scenario": "NAME|FILE",
    "poll_seconds": "SECONDS",
    "report_dir": "DIR",
    "accounts_dir": "DIR",
    "profile": "NAME",
    "region": "REGION",
    "execution_id": "ID",
    "gate": "N",
    "comment": "TEXT",
    "status_filter": "STATUS",
    "limit": "N",
    "fmt": "md|html|json",
    "out_file": "FILE",
    "fail_server": "HOSTNAME",
    "name": "NAME",
    "output": "FILE",
    "project_dir": "DIR",
}


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _walk(sub, (*path, name))


def _examples(path: tuple[str, ...]) -> str:
    key = " ".join(path)
    lines = EXAMPLES.get(key) or [f"drorch {key} --help"]
    return "Examples:\n\n" + "\n\n".join(f"  $ {line}" for line in lines)


def polish(root: Any) -> Any:
    """Examples, exit codes and placeholders for every command of ``root`` (a click group)."""
    for path, command in _walk(root):
        has_json = any("--json" in getattr(p, "opts", ()) for p in command.params)
        parts = [_examples(path), EXIT_CODES] + ([OUTPUT] if has_json else [])
        command.epilog = "\n\n".join(parts)
        for param in command.params:
            if getattr(param, "is_flag", False):
                param.metavar = ""
            elif param.param_type_name == "argument":
                param.display_type_rich = _no_type  # the argument's name is its placeholder
                param.metavar = METAVARS.get(param.name or "", (param.name or "value").upper())
            elif param.metavar is None:
                param.metavar = METAVARS.get(param.name or "", (param.name or "value").upper())
        command.get_help_option = _flag_help(command.get_help_option)
    return root


def _no_type(ctx: Any) -> None:
    return None


def _flag_help(get: Any) -> Any:
    def get_help_option(ctx: Any) -> Any:
        option = get(ctx)
        if option is not None:
            option.metavar = ""
        return option

    return get_help_option
