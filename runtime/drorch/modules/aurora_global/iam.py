"""What aurora-global may call in a staging account, limited to the account's Regions.

Drill-safe writes reach only ``drorch-drill-*`` clusters and instances (the copy), except
the restore itself, which names the secondary as its source (a restore reads the source
and creates a new cluster; it cannot change the source). The role changes, the readers
added to production's secondary and the failback's new global database are ``write``.
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, arns, in_regions, statement

READS = (
    "rds:DescribeDBClusters",
    "rds:DescribeDBInstances",
    "rds:DescribeGlobalClusters",
    "rds:DescribeDBClusterSnapshots",
    "rds:ListTagsForResource",
)
METRIC_READS = ("cloudwatch:GetMetricData", "cloudwatch:ListMetrics")
COPY = "drorch-drill-*"


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    def rds(*kinds: str) -> list[str]:
        return arns("rds", account_id, regions, *kinds)

    global_clusters = [f"arn:aws:rds::{account_id}:global-cluster:*"]
    groups = rds("og:*", "pg:*", "cluster-pg:*", "subgrp:*", "secgrp:*")
    return ModuleIam(
        read=[
            statement("AuroraRead", READS, "*", condition=in_regions(regions)),
            statement("AuroraLagRead", METRIC_READS, "*", condition=in_regions(regions)),
        ],
        drill_safe=[
            statement(
                "AuroraDrillCopyRestore",
                ["rds:RestoreDBClusterToPointInTime", "rds:RestoreDBClusterFromSnapshot"],
                rds("cluster:*", "cluster-snapshot:*", "cluster-auto-backup:*") + groups,
            ),
            statement(
                "AuroraDrillCopyInstance",
                ["rds:CreateDBInstance"],
                rds(f"db:{COPY}", f"cluster:{COPY}") + groups,
            ),
            statement(
                "AuroraDrillCopyTags",
                ["rds:AddTagsToResource"],
                rds(f"db:{COPY}", f"cluster:{COPY}"),
            ),
            statement(
                "AuroraDrillCopyDelete",
                ["rds:DeleteDBCluster", "rds:DeleteDBInstance"],
                rds(f"db:{COPY}", f"cluster:{COPY}", f"cluster-snapshot:{COPY}*"),
            ),
        ],
        write=[
            statement(
                "AuroraGlobalRoleChange",
                [
                    "rds:FailoverGlobalCluster",
                    "rds:SwitchoverGlobalCluster",
                    "rds:RemoveFromGlobalCluster",
                ],
                rds("cluster:*") + global_clusters,
            ),
            statement(
                "AuroraPrewarmAndMark",
                ["rds:CreateDBInstance", "rds:AddTagsToResource"],
                rds("db:*", "cluster:*") + groups,
            ),
            statement(
                "AuroraFailbackSecondary",
                ["rds:CreateGlobalCluster", "rds:CreateDBCluster"],
                rds("cluster:*", "db:*") + groups + global_clusters,
            ),
        ],
    )
