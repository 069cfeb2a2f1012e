"""Readiness of an account's Aurora global secondaries: `accounts verify` and `readiness`."""

from __future__ import annotations

import time
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
    raise_if_fatal,
    resource_finding,
)
from drorch.modules.rds_instance.common import latest_metric
from drorch.names import TAG_RPO

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
        result, detail, fix, _ = secondary_state(ctx, rds, cloudwatch, name, global_cluster, member)
        found.append(Finding(check, result, detail, fix))
    return found


def secondary_state(
    ctx: AccountContext,
    rds: Any,
    cloudwatch: Any,
    name: str,
    global_cluster: Mapping[str, Any],
    member: Mapping[str, Any],
) -> tuple[str, str, str, float | None]:
    """(result OK/WARNING/FAIL, detail, fix, lag in seconds or None) of one secondary."""
    try:
        [cluster] = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"]
    except ClientError as exc:
        return "FAIL", f"{error_code(exc)}: {error_message(exc)}", "", None
    if cluster["Status"] != "available":
        return "FAIL", f"status {cluster['Status']}", "wait until it is available", None
    if not cluster.get("DBClusterMembers"):
        return (
            "WARNING",
            "headless: no DB instance to promote",
            "run INSTANTIATE (readers.count) before a failover, or add an instance",
            None,
        )
    sync = member.get("SynchronizationStatus", "connected")
    writer = next(
        (m for m in global_cluster.get("GlobalClusterMembers", []) if m.get("IsWriter")), None
    )
    source = writer["DBClusterArn"].split(":")[3] if writer else None
    lag = latest_metric(ctx, cloudwatch, LAG_METRIC, lag_dimensions(name, source))
    if lag is None:
        return "OK", f"available, {sync}; no lag datapoint", "", None
    seconds = lag[0] / 1000.0
    if seconds > LAG_WARNING_SECONDS:
        return (
            "WARNING",
            f"replication lag {seconds:.1f} s at {lag[1]}",
            "a failover now would lose that much; find out why replication is behind",
            seconds,
        )
    return "OK", f"available, {sync}, lag {lag[0]:.0f} ms", "", seconds


def resource_findings(
    ctx: AccountContext, resources: Sequence[Resource], params: Mapping[str, Any]
) -> list[Finding]:
    """Each secondary of the plan: available (a BLOCKER if not), an instance to promote (a
    WARNING: INSTANTIATE adds readers), and its lag against the group's
    ``maxReplicationLagSeconds`` and the cluster's ``dr:rpo-target`` (minutes): over either is
    a BLOCKER (the failover would refuse, or lose more than the RPO allows)."""
    rds, cloudwatch = ctx.client("rds"), ctx.client("cloudwatch")
    where = f"in {ctx.account_id} ({ctx.region})"
    try:
        globals_ = rds.describe_global_clusters().get("GlobalClusters", [])
    except ClientError as exc:
        raise_if_fatal(exc, ctx, "listing Aurora global databases for readiness")
        raise
    members = {
        m["DBClusterArn"]: (g, m) for g in globals_ for m in g.get("GlobalClusterMembers", [])
    }
    found: list[Finding] = []
    for resource in resources:
        call = f"rds:DescribeDBClusters {resource.id} {where}"
        pair = members.get(resource.arn)
        if pair is None:
            found.append(
                resource_finding(
                    resource,
                    "global database",
                    WARNING,
                    "not a member of a global database (rds:DescribeGlobalClusters): a "
                    "standalone cluster drorch detached earlier",
                    f"rds:DescribeGlobalClusters {where}",
                )
            )
            continue
        global_cluster, member = pair
        if member.get("IsWriter"):
            found.append(
                resource_finding(
                    resource,
                    "secondary",
                    READY,
                    f"already the writer of {global_cluster['GlobalClusterIdentifier']}",
                    call,
                )
            )
            continue
        result, detail, fix, lag = secondary_state(
            ctx, rds, cloudwatch, resource.id, global_cluster, member
        )
        found.append(
            resource_finding(
                resource, "secondary", {"FAIL": BLOCKER}.get(result, result), detail, call, fix
            )
        )
        limits = []
        if params.get("maxReplicationLagSeconds") is not None:
            limits.append((float(params["maxReplicationLagSeconds"]), "maxReplicationLagSeconds"))
        rpo = str(resource.tags.get(TAG_RPO, ""))
        if rpo.isdigit():
            limits.append((int(rpo) * 60.0, f"the RPO target ({rpo} min)"))
        over = [(limit, what) for limit, what in limits if lag is not None and lag > limit]
        if over:
            found.append(
                resource_finding(
                    resource,
                    "replication lag",
                    BLOCKER,
                    f"lag {lag:.1f} s exceeds "
                    + " and ".join(f"{what} ({limit:.0f} s)" for limit, what in over),
                    f"cloudwatch:GetMetricStatistics {LAG_METRIC} {where}",
                    "find out why replication is behind before failing over",
                )
            )
    return found
