"""Readiness of an account's Aurora global secondaries: `accounts verify` and `readiness`."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import AccountContext, Finding, Probe, error_code, error_message
from drorch.modules.rds_instance.common import latest_metric

PROBES: tuple[Probe, ...] = (
    Probe("rds:DescribeDBClusters", "rds", "describe_db_clusters", {"MaxRecords": 20}),
    Probe("rds:DescribeGlobalClusters", "rds", "describe_global_clusters", {"MaxRecords": 20}),
    Probe("rds:DescribeDBInstances", "rds", "describe_db_instances", {"MaxRecords": 20}),
)
LAG_WARNING_SECONDS = 60.0
LAG_METRIC = "AuroraGlobalDBReplicationLag"


def lag_dimensions(cluster: str, source_region: str | None) -> list[list[dict[str, str]]]:
    """The dimension sets RDS publishes a secondary's lag under: with the primary's Region,
    and the cluster alone."""
    alone = [{"Name": "DBClusterIdentifier", "Value": cluster}]
    if not source_region:
        return [alone]
    return [[*alone, {"Name": "SourceRegion", "Value": source_region}], alone]


def readiness(
    session: Any, account_id: str, region: str, now: float | None = None
) -> list[Finding]:
    """Each Aurora global secondary in ``region``: available, has an instance to promote,
    and how far behind it is."""
    rds = session.client("rds", region_name=region)
    try:
        globals_ = rds.describe_global_clusters().get("GlobalClusters", [])
    except ClientError as exc:
        return [
            Finding(
                "Aurora global databases",
                "FAIL",
                f"could not list them in {region}: {error_code(exc)}: {error_message(exc)}",
                "grant rds:DescribeGlobalClusters to the execution role",
            )
        ]
    here = [
        (g, m)
        for g in globals_
        for m in g.get("GlobalClusterMembers", [])
        if m["DBClusterArn"].split(":")[3] == region and not m.get("IsWriter")
    ]
    if not here:
        return [Finding("Aurora global databases", "SKIP", f"no secondary cluster in {region}")]
    # a readiness check is not a phase: it reads the lag as of now
    ctx = AccountContext(
        session=session, account_id=account_id, region=region, now=now or time.time()
    )
    cloudwatch = session.client("cloudwatch", region_name=region)
    found: list[Finding] = []
    for global_cluster, member in here:
        name = member["DBClusterArn"].rsplit(":", 1)[-1]
        check = f"Aurora secondary {name} ({global_cluster['GlobalClusterIdentifier']})"
        try:
            [cluster] = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"]
        except ClientError as exc:
            found.append(Finding(check, "FAIL", f"{error_code(exc)}: {error_message(exc)}"))
            continue
        if cluster["Status"] != "available":
            found.append(Finding(check, "FAIL", f"status {cluster['Status']}"))
            continue
        if not cluster.get("DBClusterMembers"):
            found.append(
                Finding(
                    check,
                    "WARNING",
                    "headless: no DB instance to promote",
                    "run INSTANTIATE (readers.count) before a failover, or add an instance",
                )
            )
            continue
        sync = member.get("SynchronizationStatus", "connected")
        writer = next(
            (m for m in global_cluster.get("GlobalClusterMembers", []) if m.get("IsWriter")), None
        )
        source = writer["DBClusterArn"].split(":")[3] if writer else None
        lag = latest_metric(ctx, cloudwatch, LAG_METRIC, lag_dimensions(name, source))
        if lag is None:
            found.append(Finding(check, "OK", f"available, {sync}; no lag datapoint"))
        elif lag[0] / 1000.0 > LAG_WARNING_SECONDS:
            found.append(
                Finding(
                    check,
                    "WARNING",
                    f"replication lag {lag[0] / 1000.0:.1f} s at {lag[1]}",
                    "a failover now would lose that much; find out why replication is behind",
                )
            )
        else:
            found.append(Finding(check, "OK", f"available, {sync}, lag {lag[0]:.0f} ms"))
    return found
