"""Readiness of EventBridge rules in a staging account's recovery region."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import Finding, Probe, error_code, error_message

PROBES = (Probe("events:ListRules", "events", "list_rules", {"Limit": 10}),)
MAX_RULES = 100  # readiness looks at this many rules of the default bus at most


def readiness(session: Any, account_id: str, region: str) -> list[Finding]:
    """One finding per standby (DISABLED) rule of the default bus: it has targets, and
    they are in this Region (a target in another Region would fail over into it)."""
    client = session.client("events", region_name=region)
    try:
        rules = client.list_rules(Limit=MAX_RULES).get("Rules", [])
    except ClientError as error:
        return [
            Finding(
                "EventBridge rules",
                "FAIL",
                f"could not list rules in {region}: {error_code(error)}: {error_message(error)}",
                "grant events:ListRules to the execution role",
            )
        ]
    found = []
    for rule in rules:
        if rule.get("State") != "DISABLED" or rule.get("ManagedBy"):
            continue
        check = f"EventBridge rule {rule['Name']}"
        try:
            targets = client.list_targets_by_rule(Rule=rule["Name"]).get("Targets", [])
        except ClientError as error:
            found.append(
                Finding(check, "FAIL", f"{error_code(error)}: {error_message(error)}", "grant it")
            )
            continue
        elsewhere = [t["Arn"] for t in targets if target_region(t["Arn"]) not in ("", region)]
        if not targets:
            found.append(Finding(check, "WARNING", "standby rule without targets", "add them"))
        elif elsewhere:
            found.append(
                Finding(
                    check,
                    "FAIL",
                    f"targets outside {region}: {', '.join(elsewhere)}",
                    "point the standby rule at the recovery Region's targets",
                )
            )
        else:
            found.append(Finding(check, "OK", f"DISABLED standby, {len(targets)} target(s)"))
    if not found:
        return [Finding("EventBridge rules", "SKIP", f"no standby rule in {region}")]
    return found


def target_region(arn: str) -> str:
    """The Region of a target ARN ("" for a global resource)."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""
