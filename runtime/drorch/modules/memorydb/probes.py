"""Readiness of MemoryDB in a staging account's recovery region."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import Finding, Probe, error_code, error_message

PROBES = (
    Probe("memorydb:DescribeClusters", "memorydb", "describe_clusters", {"MaxResults": 10}),
    Probe(
        "memorydb:DescribeSubnetGroups", "memorydb", "describe_subnet_groups", {"MaxResults": 10}
    ),
)


def readiness(session: Any, account_id: str, region: str) -> list[Finding]:
    """Each Multi-Region regional cluster here is available; each landing zone (a subnet
    group tagged drorch:memorydb-source) names a cluster to restore."""
    from drorch.modules.memorydb.adapter import SOURCE_TAG

    client = session.client("memorydb", region_name=region)
    try:
        clusters = client.describe_clusters()["Clusters"]
        groups = client.describe_subnet_groups()["SubnetGroups"]
        zones = {}
        for group in groups:
            tags = {
                t["Key"]: t["Value"] for t in client.list_tags(ResourceArn=group["ARN"])["TagList"]
            }
            if tags.get(SOURCE_TAG):
                zones[tags[SOURCE_TAG]] = group["Name"]
    except ClientError as error:
        return [
            Finding(
                "MemoryDB",
                "FAIL",
                f"could not read MemoryDB in {region}: {error_code(error)}: {error_message(error)}",
                "grant memorydb:DescribeClusters, DescribeSubnetGroups and ListTags",
            )
        ]
    found = []
    for cluster in clusters:
        if not cluster.get("MultiRegionClusterName"):
            continue
        check = f"MemoryDB {cluster['Name']} ({cluster['MultiRegionClusterName']})"
        if cluster["Status"] == "available":
            found.append(Finding(check, "OK", "Multi-Region cluster member, available"))
        else:
            found.append(Finding(check, "FAIL", f"{cluster['Status']}", "wait, or repair it"))
    names = {c["Name"] for c in clusters}
    for source, group in sorted(zones.items()):
        check = f"MemoryDB {source} (restore)"
        state = "restored" if source in names else "to be restored"
        found.append(Finding(check, "OK", f"landing zone {group}; {state}"))
    return found or [Finding("MemoryDB", "SKIP", f"nothing to recover in {region}")]
