"""Readiness of Route 53 ARC in a staging account: clusters and their control panels."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import Finding, Probe, error_code, error_message

CONTROL_PLANE_REGION = "us-west-2"  # ARC's control plane API answers in US West (Oregon) only
PROBES = (
    Probe(
        "route53-recovery-control-config:ListClusters",
        "route53-recovery-control-config",
        "list_clusters",
        {"MaxResults": 1},
    ),
)


def readiness(session: Any, account_id: str, region: str) -> list[Finding]:
    """One finding per ARC cluster: DEPLOYED, with its five endpoints, and its control panels."""
    client = session.client("route53-recovery-control-config", region_name=CONTROL_PLANE_REGION)
    try:
        clusters = client.list_clusters().get("Clusters", [])
        panels = client.list_control_panels().get("ControlPanels", [])
    except ClientError as error:
        return [
            Finding(
                "Route 53 ARC",
                "FAIL",
                f"could not list clusters: {error_code(error)}: {error_message(error)}",
                "grant route53-recovery-control-config:ListClusters and ListControlPanels",
            )
        ]
    found = []
    for cluster in clusters:
        check = f"ARC cluster {cluster.get('Name')}"
        mine = [p["Name"] for p in panels if p.get("ClusterArn") == cluster["ClusterArn"]]
        endpoints = cluster.get("ClusterEndpoints") or []
        state = f"{cluster.get('Status')}; {len(endpoints)} endpoints; panels: " + (
            ", ".join(mine) or "none"
        )
        if cluster.get("Status") != "DEPLOYED" or not endpoints:
            found.append(Finding(check, "FAIL", state, "wait for the cluster to be DEPLOYED"))
        else:
            found.append(Finding(check, "OK", state))
    if not found:
        return [Finding("Route 53 ARC", "SKIP", "no ARC cluster in the account")]
    return found
