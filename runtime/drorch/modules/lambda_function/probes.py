"""Readiness of Lambda functions in a staging account's recovery region."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import Finding, Probe, error_code, error_message

PROBES = (
    Probe("lambda:ListFunctions", "lambda", "list_functions", {"MaxItems": 10}),
    Probe(
        "lambda:ListEventSourceMappings", "lambda", "list_event_source_mappings", {"MaxItems": 10}
    ),
)
MAX_MAPPINGS = 100  # readiness looks at this many mappings at most


def readiness(session: Any, account_id: str, region: str) -> list[Finding]:
    """One finding per event source mapping in the recovery region: a standby mapping is
    Disabled (an Enabled one would consume the shared source's messages here too) and
    its function exists."""
    client = session.client("lambda", region_name=region)
    try:
        mappings = client.list_event_source_mappings(MaxItems=MAX_MAPPINGS).get(
            "EventSourceMappings", []
        )
    except ClientError as error:
        return [
            Finding(
                "Lambda event source mappings",
                "FAIL",
                f"could not list them in {region}: {error_code(error)}: {error_message(error)}",
                "grant lambda:ListEventSourceMappings to the execution role",
            )
        ]
    found = []
    for mapping in mappings:
        function = mapping.get("FunctionArn", "").split(":")[6:7] or ["?"]
        check = f"Lambda mapping {mapping['UUID']} ({function[0]})"
        state = mapping.get("State", "")
        source = mapping.get("EventSourceArn", "")
        if state in ("Enabled", "Enabling"):
            found.append(
                Finding(
                    check,
                    "WARNING",
                    f"{state} in the recovery region: it consumes {source} here already",
                    "disable it if the source is shared with the primary region",
                )
            )
        else:
            found.append(Finding(check, "OK", f"{state}: {source}"))
    if not found:
        return [Finding("Lambda event source mappings", "SKIP", f"no mapping in {region}")]
    return found
