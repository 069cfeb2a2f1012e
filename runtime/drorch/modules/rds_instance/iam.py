"""What rds-instance may call in a staging account, limited to the account's Regions.

Drill-safe writes reach only ``drorch-drill-*`` instances (the copy), except the restore
itself, which names the replica as its source (a restore reads the source and creates a
new instance). Promotion, reboot with failover, the marks drorch tags them with and the
failback replica are ``write``.
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, arns, in_regions, statement

READS = ("rds:DescribeDBInstances", "rds:DescribeDBSnapshots", "rds:ListTagsForResource")
COPY = "drorch-drill-*"


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    def rds(*kinds: str) -> list[str]:
        return arns("rds", account_id, regions, *kinds)

    groups = rds("og:*", "pg:*", "subgrp:*")  # the groups a restore or replica names
    return ModuleIam(
        read=[
            statement("RdsInstanceRead", READS, rds("db:*", "snapshot:*")),
            # the lag metric: GetMetricStatistics is authorised on "*" only
            statement(
                "RdsReplicaLagRead",
                ["cloudwatch:GetMetricStatistics"],
                "*",
                condition=in_regions(regions),
            ),
        ],
        drill_safe=[
            statement(
                "RdsDrillCopyRestore",
                ["rds:RestoreDBInstanceToPointInTime", "rds:RestoreDBInstanceFromDBSnapshot"],
                rds("db:*", "snapshot:*", "auto-backup:*") + groups,
            ),
            statement(
                "RdsDrillCopyTagsAndDelete",
                ["rds:AddTagsToResource", "rds:DeleteDBInstance"],
                rds(f"db:{COPY}"),
            ),
        ],
        write=[
            statement(
                "RdsPromoteAndFailover",
                ["rds:PromoteReadReplica", "rds:RebootDBInstance", "rds:AddTagsToResource"],
                rds("db:*"),
            ),
            statement(
                "RdsFailbackReplica",
                ["rds:CreateDBInstanceReadReplica"],
                rds("db:*", "cluster:*") + groups,
            ),
        ],
    )
