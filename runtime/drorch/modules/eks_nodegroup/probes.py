"""Readiness of EKS managed node groups in a staging account's recovery region."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import Finding, Probe, error_code, error_message

PROBES = (
    Probe("eks:ListClusters", "eks", "list_clusters", {"maxResults": 10}),
    Probe(
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling",
        "describe_auto_scaling_groups",
        {"MaxRecords": 1},
    ),
)
MAX_CLUSTERS = 20  # readiness looks at this many clusters at most


def readiness(session: Any, account_id: str, region: str) -> list[Finding]:
    """One finding per node group in the recovery region: ACTIVE, no health issues, and its
    Auto Scaling group there (what a scale-up changes)."""
    eks = session.client("eks", region_name=region)
    autoscaling = session.client("autoscaling", region_name=region)
    try:
        clusters = eks.list_clusters(maxResults=MAX_CLUSTERS).get("clusters", [])
    except ClientError as error:
        return [
            Finding(
                "EKS node groups",
                "FAIL",
                f"could not list clusters in {region}: {error_code(error)}: {error_message(error)}",
                "grant eks:ListClusters to the execution role",
            )
        ]
    found = []
    for cluster in clusters:
        try:
            names = eks.list_nodegroups(clusterName=cluster).get("nodegroups", [])
            for name in names:
                check = f"EKS {cluster}/{name}"
                group = eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)
                group = group["nodegroup"]
                found.append(_finding(autoscaling, check, group))
        except ClientError as error:
            found.append(
                Finding(
                    f"EKS {cluster}",
                    "FAIL",
                    f"{error_code(error)}: {error_message(error)}",
                    "grant eks:ListNodegroups and eks:DescribeNodegroup",
                )
            )
    if not found:
        return [Finding("EKS node groups", "SKIP", f"no managed node group in {region}")]
    return found


def _finding(autoscaling: Any, check: str, group: dict[str, Any]) -> Finding:
    scaling = group.get("scalingConfig") or {}
    state = (
        f"{group.get('status')}; min {scaling.get('minSize')} desired "
        f"{scaling.get('desiredSize')} max {scaling.get('maxSize')}"
    )
    issues = (group.get("health") or {}).get("issues") or []
    if group.get("status") != "ACTIVE":
        return Finding(check, "FAIL", state, "wait for the node group, or repair it")
    if issues:
        codes = ", ".join(sorted({i.get("code", "") for i in issues}))
        return Finding(
            check, "WARNING", f"{state}; health issues: {codes}", "repair the node group"
        )
    names = [g["name"] for g in (group.get("resources") or {}).get("autoScalingGroups", [])]
    try:
        groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=names)
    except ClientError as error:
        return Finding(
            check,
            "FAIL",
            f"{state}; its Auto Scaling group: {error_code(error)}: {error_message(error)}",
            "grant autoscaling:DescribeAutoScalingGroups",
        )
    if not names or len(groups.get("AutoScalingGroups", [])) != len(names):
        return Finding(check, "FAIL", f"{state}; its Auto Scaling group is missing", "recreate it")
    return Finding(check, "OK", state)
