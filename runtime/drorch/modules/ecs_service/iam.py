"""What the ecs-service module may call in a staging account.

Reads: list clusters and services and, for readiness, describe task definitions (``*``
limited to the account's regions: those actions take no resource), describe the clusters
(cluster ARNs) and the services. Drill-safe writes: ``UpdateService`` (the drill
client lets only a scale-up through) and tagging the service with the count before the
change. Write: removing those tags once CLEANUP has put the count back. Everything is
scoped to ECS service ARNs of the account's regions.
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, arns, in_regions, statement


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    services = arns("ecs", account_id, regions, "service/*")
    return ModuleIam(
        read=[
            statement(
                "EcsServiceList",
                # readiness: the task definition the service runs
                ["ecs:ListClusters", "ecs:ListServices", "ecs:DescribeTaskDefinition"],
                "*",
                condition=in_regions(regions),
            ),
            # readiness: the cluster the service runs in
            statement(
                "EcsClusterDescribe",
                ["ecs:DescribeClusters"],
                arns("ecs", account_id, regions, "cluster/*"),
            ),
            statement("EcsServiceDescribe", ["ecs:DescribeServices"], services),
        ],
        drill_safe=[
            statement("EcsServiceScale", ["ecs:UpdateService", "ecs:TagResource"], services),
        ],
        write=[
            statement("EcsServiceUnmark", ["ecs:UntagResource"], services),
        ],
    )
