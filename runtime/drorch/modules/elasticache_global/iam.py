"""What the elasticache-global module may call in a staging account.

Every call goes to the recovery region (the primary region may be the one that is
down): reads of the replication groups and of the global datastore, the lag metric,
and two writes a failover or INSTANTIATE makes. A global datastore's ARN has no
region, so its statements carry the ``aws:RequestedRegion`` condition instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, arns, in_regions, statement


def _datastores(account_id: str) -> list[str]:
    return [f"arn:aws:elasticache::{account_id}:globalreplicationgroup:*"]


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    groups = arns("elasticache", account_id, regions, "replicationgroup:*")
    return ModuleIam(
        read=[
            statement(
                "ElastiCacheGlobalReadGroups",
                ["elasticache:DescribeReplicationGroups", "elasticache:ListTagsForResource"],
                groups,
            ),
            statement(
                "ElastiCacheGlobalReadDatastores",
                ["elasticache:DescribeGlobalReplicationGroups"],
                _datastores(account_id),
                condition=in_regions(regions),
            ),
            statement(
                "ElastiCacheGlobalReadLag",
                ["cloudwatch:GetMetricStatistics"],
                "*",
                condition=in_regions(regions),
            ),
        ],
        write=[
            statement(
                "ElastiCacheGlobalFailover",
                ["elasticache:FailoverGlobalReplicationGroup"],
                _datastores(account_id),
                condition=in_regions(regions),
            ),
            statement("ElastiCacheGlobalAddReplicas", ["elasticache:IncreaseReplicaCount"], groups),
        ],
    )
