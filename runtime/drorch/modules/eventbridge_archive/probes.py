"""Readiness of EventBridge archives in a staging account's recovery region."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import Finding, Probe, error_code, error_message

PROBES = (Probe("events:ListArchives", "events", "list_archives", {"Limit": 10}),)
MAX_ARCHIVES = 100


def readiness(session: Any, account_id: str, region: str) -> list[Finding]:
    """One finding per archive in the recovery region: ENABLED, and holding events."""
    client = session.client("events", region_name=region)
    try:
        archives = client.list_archives(Limit=MAX_ARCHIVES).get("Archives", [])
    except ClientError as error:
        return [
            Finding(
                "EventBridge archives",
                "FAIL",
                f"could not list archives in {region}: {error_code(error)}: {error_message(error)}",
                "grant events:ListArchives to the execution role",
            )
        ]
    found = []
    for archive in archives:
        check = f"EventBridge archive {archive['ArchiveName']}"
        state, count = archive.get("State", ""), archive.get("EventCount", 0)
        retention = archive.get("RetentionDays", 0) or "indefinite"
        detail = f"{state}, {count} events, retention {retention} days"
        if state != "ENABLED":
            found.append(Finding(check, "FAIL", detail, "enable the archive"))
        elif not count:
            found.append(Finding(check, "WARNING", detail, "check that events reach the bus"))
        else:
            found.append(Finding(check, "OK", detail))
    if not found:
        return [Finding("EventBridge archives", "SKIP", f"no archive in {region}")]
    return found
