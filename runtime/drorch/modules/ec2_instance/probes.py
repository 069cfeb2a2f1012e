"""Readiness of plain EC2 instances (standbys) in a staging account's recovery region."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import Finding, Probe, error_code, error_message

PROBES = (
    Probe("ec2:DescribeInstanceStatus", "ec2", "describe_instance_status", {"MaxResults": 5}),
)
MAX_INSTANCES = 1000  # readiness looks at this many instances at most


def readiness(session: Any, account_id: str, region: str) -> list[Finding]:
    """One finding for the region: how many instances are stopped (standbys drorch can
    start) and which running ones have an impaired status check now."""
    client = session.client("ec2", region_name=region)
    try:
        answer = client.describe_instance_status(IncludeAllInstances=True, MaxResults=1000)
    except ClientError as error:
        return [
            Finding(
                "EC2 instances",
                "FAIL",
                f"could not read instance status in {region}: {error_code(error)}: "
                f"{error_message(error)}",
                "grant ec2:DescribeInstanceStatus to the execution role",
            )
        ]
    statuses = answer.get("InstanceStatuses", [])[:MAX_INSTANCES]
    if not statuses:
        return [Finding("EC2 instances", "SKIP", f"no EC2 instance in {region}")]
    stopped = sum(1 for s in statuses if s["InstanceState"]["Name"] == "stopped")
    impaired = sorted(
        s["InstanceId"]
        for s in statuses
        if "impaired"
        in (s.get("InstanceStatus", {}).get("Status"), s.get("SystemStatus", {}).get("Status"))
    )
    text = f"{len(statuses)} instance(s), {stopped} stopped"
    if impaired:
        return [
            Finding(
                "EC2 instances",
                "WARNING",
                f"{text}; status check impaired: {', '.join(impaired)}",
                "repair or replace them before a failover relies on them",
            )
        ]
    return [Finding("EC2 instances", "OK", text)]
