"""What aurora-global may call in a staging account, limited to the account's Regions.

Drill-safe writes reach only ``drorch-drill-*`` clusters and instances (the copy), except
the restore itself, which names the secondary as its source (a restore reads the source
and creates a new cluster; it cannot change the source). The role changes, the readers
added to production's secondary and the failback's new global database are ``write``.
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, arns, in_regions, statement

CLUSTER_READS = (
    "rds:DescribeDBClusters",
    "rds:DescribeDBClusterSnapshots",
    "rds:DescribeDBInstances",
    "rds:ListTagsForResource",
)
COPY = "drorch-drill-*"


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    def rds(*kinds: str) -> list[str]:
        return arns("rds", account_id, regions, *kinds)

    global_clusters = [f"arn:aws:rds::{account_id}:global-cluster:*"]
    # the option, parameter and subnet groups (and security groups) a create names
    cluster_groups = rds("og:*", "cluster-pg:*", "subgrp:*")
    instance_groups = rds("og:*", "pg:*", "subgrp:*", "secgrp:*")
    return ModuleIam(
        read=[
            statement("AuroraRead", CLUSTER_READS, rds("cluster:*", "cluster-snapshot:*", "db:*")),
            # a global cluster's ARN has no Region: the condition keeps it to the account's
            statement(
                "AuroraGlobalRead",
                ["rds:DescribeGlobalClusters"],
                global_clusters,
                condition=in_regions(regions),
            ),
            # the lag metric: GetMetricStatistics is authorised on "*" only
            statement(
                "AuroraLagRead",
                ["cloudwatch:GetMetricStatistics"],
                "*",
                condition=in_regions(regions),
            ),
        ],
        drill_safe=[
            statement(
                "AuroraDrillCopyRestore",
                ["rds:RestoreDBClusterToPointInTime", "rds:RestoreDBClusterFromSnapshot"],
                rds("cluster:*", "cluster-snapshot:*", "cluster-auto-backup:*") + cluster_groups,
            ),
            statement(
                "AuroraDrillCopyInstance",
                ["rds:CreateDBInstance"],
                rds(f"db:{COPY}", f"cluster:{COPY}") + instance_groups,
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
                rds("db:*", "cluster:*") + instance_groups,
            ),
            statement(
                "AuroraFailbackSecondary",
                ["rds:CreateGlobalCluster", "rds:CreateDBCluster"],
                rds("cluster:*", "db:*") + cluster_groups + global_clusters,
            ),
        ],
    )
