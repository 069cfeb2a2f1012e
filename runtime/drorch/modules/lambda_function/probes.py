"""Readiness of Lambda functions in a staging account's recovery region."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import (
    BLOCKER,
    READY,
    WARNING,
    AccountContext,
    Finding,
    Probe,
    Resource,
    error_code,
    error_message,
    resource_finding,
)

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


# --- per resource (drorch readiness: the plan's functions) -----------------------------------
NOT_FOUND = "ResourceNotFoundException"


def function_findings(
    ctx: AccountContext, resources: Sequence[Resource], params: Mapping[str, Any]
) -> list[Finding]:
    """Each of the plan's functions in the recovery region: its state Active and its last
    update not failed (``GetFunction``), and its reserved concurrency against what the plan
    sets (``GetFunctionConcurrency``): a throttled standby (0) that the plan does not raise
    would take no event after a failover (a BLOCKER)."""
    client = ctx.client("lambda")
    where = f"in {ctx.account_id} ({ctx.region})"
    found: list[Finding] = []
    for resource in resources:
        call = f"lambda:GetFunction {resource.id} {where}"
        try:
            config = client.get_function(FunctionName=resource.id)["Configuration"]
        except ClientError as error:
            if error_code(error) != NOT_FOUND:
                raise
            found.append(
                resource_finding(
                    resource, "function", BLOCKER, "no such function in the recovery region",
                    call, "deploy the standby function in the recovery region",
                )
            )  # fmt: skip
            continue
        found.append(_state_finding(resource, config, call))
        reserved = client.get_function_concurrency(FunctionName=resource.id).get(
            "ReservedConcurrentExecutions"
        )
        call = f"lambda:GetFunctionConcurrency {resource.id} {where}"
        found.append(_concurrency_finding(resource, reserved, params, call))
    return found


def _state_finding(resource: Resource, config: Mapping[str, Any], call: str) -> Finding:
    state = config.get("State", "Active")
    update = config.get("LastUpdateStatus", "Successful")
    if state == "Failed" or update == "Failed":
        why = config.get("StateReason") or config.get("LastUpdateStatusReason") or ""
        return resource_finding(
            resource, "function", BLOCKER,
            f"state {state}, last update {update}" + (f": {why}" if why else ""), call,
            "fix the function's deployment in the recovery region (its code, role or "
            "network) and deploy it again",
        )  # fmt: skip
    if state != "Active":  # Pending, or Inactive (idle: the next invocation wakes it)
        return resource_finding(
            resource, "function", WARNING, f"state {state}, last update {update}", call,
            "invoke it once (or wait): an Inactive function takes longer on its first event",
        )  # fmt: skip
    return resource_finding(resource, "function", READY, f"Active, last update {update}", call)


def _concurrency_finding(
    resource: Resource, reserved: int | None, params: Mapping[str, Any], call: str
) -> Finding:
    planned = params.get("reservedConcurrency")
    now = "unreserved" if reserved is None else f"reserved {reserved}"
    if reserved == 0 and planned in (None, 0):
        return resource_finding(
            resource, "concurrency", BLOCKER,
            "reserved 0 (throttled) and the plan does not raise it: the function would run "
            "nothing after a failover", call,
            "set the group's reservedConcurrency (a number, or unreserved)",
        )  # fmt: skip
    target = "" if planned is None else f" -> {planned}"
    return resource_finding(resource, "concurrency", READY, f"{now}{target}", call)
