"""Readiness of EC2 Auto Scaling groups in a staging account's recovery region."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import Finding, Probe, error_code, error_message

PROBES = (
    Probe(
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling",
        "describe_auto_scaling_groups",
        {"MaxRecords": 10},
    ),
)
MAX_GROUPS = 100  # readiness looks at this many groups at most


def readiness(session: Any, account_id: str, region: str) -> list[Finding]:
    """One finding per group: its sizes, and whether it has the instances it wants now
    (a standby that cannot launch now will not launch in a failover either)."""
    client = session.client("autoscaling", region_name=region)
    try:
        groups = client.describe_auto_scaling_groups(MaxRecords=MAX_GROUPS)["AutoScalingGroups"]
    except ClientError as error:
        return [
            Finding(
                "Auto Scaling groups",
                "FAIL",
                f"could not describe groups in {region}: {error_code(error)}: "
                f"{error_message(error)}",
                "grant autoscaling:DescribeAutoScalingGroups to the execution role",
            )
        ]
    found = []
    for group in groups:
        name = group["AutoScalingGroupName"]
        sizes = (
            f"min {group['MinSize']}, desired {group['DesiredCapacity']}, max {group['MaxSize']}"
        )
        ready = sum(1 for i in group.get("Instances", []) if i["LifecycleState"] == "InService")
        if ready < group["DesiredCapacity"]:
            found.append(
                Finding(
                    f"Auto Scaling {name}",
                    "WARNING",
                    f"{sizes}; {ready} InService",
                    "look at its scaling activities: launches failing now will fail in a "
                    "failover too",
                )
            )
        else:
            found.append(Finding(f"Auto Scaling {name}", "OK", sizes))
    return found or [Finding("Auto Scaling groups", "SKIP", f"no Auto Scaling group in {region}")]
