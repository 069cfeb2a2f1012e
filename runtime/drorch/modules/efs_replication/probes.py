"""Readiness of EFS replication in a staging account's recovery region."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import Finding, Probe, error_code, error_message

PROBES = (
    Probe(
        "elasticfilesystem:DescribeReplicationConfigurations",
        "efs",
        "describe_replication_configurations",
        {"MaxResults": 1},
    ),
)
STALE_SECONDS = 3600.0  # readiness warns when the last replication is older than this


def readiness(
    session: Any, account_id: str, region: str, now: datetime | None = None
) -> list[Finding]:
    """One finding per replication whose destination is in ``region``: ENABLED, and
    replicated within the hour (``now``: the caller's clock; absent, the age is not judged)."""
    client = session.client("efs", region_name=region)
    try:
        replications = [
            r
            for page in client.get_paginator("describe_replication_configurations").paginate()
            for r in page.get("Replications", [])
        ]
    except ClientError as error:
        return [
            Finding(
                "EFS replication",
                "FAIL",
                f"could not list replication configurations in {region}: "
                f"{error_code(error)}: {error_message(error)}",
                "grant elasticfilesystem:DescribeReplicationConfigurations to the execution role",
            )
        ]
    found = []
    for replication in replications:
        for destination in replication.get("Destinations", []):
            if destination.get("Region") != region:
                continue
            check = f"EFS {destination['FileSystemId']}"
            state = (
                f"replica of {replication['SourceFileSystemId']} "
                f"({replication['SourceFileSystemRegion']}): {destination['Status']}"
            )
            last = destination.get("LastReplicatedTimestamp")
            if destination["Status"] != "ENABLED":
                message = destination.get("StatusMessage", "")
                found.append(
                    Finding(
                        check,
                        "FAIL",
                        f"{state} {message}".strip(),
                        "repair the replication in the EFS console",
                    )
                )
            elif last is None:
                found.append(Finding(check, "WARNING", f"{state}; never replicated yet"))
            elif now is not None and (now - last.astimezone(UTC)).total_seconds() > STALE_SECONDS:
                found.append(
                    Finding(
                        check,
                        "WARNING",
                        f"{state}; last replicated {last.isoformat()}",
                        "check the source file system's replication",
                    )
                )
            else:
                found.append(Finding(check, "OK", state))
    if not found:
        return [Finding("EFS replication", "SKIP", f"no EFS replica in {region}")]
    return found
