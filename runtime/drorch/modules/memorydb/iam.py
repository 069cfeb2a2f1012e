"""What the memorydb module may call in a staging account (its recovery region).

``CreateCluster`` has no cluster resource in IAM (it is authorised on the subnet group,
ACL and parameter group it uses), so a drill's restore cannot be limited by name there:
the drill client refuses a ``CreateCluster`` of any name but ``drorch-drill-*`` before it
is sent, and deleting is granted on ``drorch-drill-*`` clusters only. The exports are
listed in a bucket named by a parameter: S3 bucket ARNs carry no account or region.
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, arns, in_regions, statement

DRILL_PREFIX = "drorch-drill-"


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    def of(*kinds: str) -> list[str]:
        return arns("memorydb", account_id, regions, *kinds)

    create = statement(
        "MemoryDbRestore",
        ["memorydb:CreateCluster"],
        of("acl/*", "parametergroup/*", "subnetgroup/*", "snapshot/*"),
    )
    return ModuleIam(
        read=[
            statement(
                "MemoryDbRead",
                ["memorydb:DescribeClusters", "memorydb:DescribeSubnetGroups", "memorydb:ListTags"],
                of("cluster/*", "subnetgroup/*"),
            ),
            statement(
                "MemoryDbReadMultiRegion",
                ["memorydb:DescribeMultiRegionClusters"],
                [f"arn:aws:memorydb::{account_id}:multiregioncluster/*"],
                condition=in_regions(regions),
            ),
            statement("MemoryDbListExports", ["s3:ListBucket"], ["arn:aws:s3:::*"]),
        ],
        drill_safe=[
            {**create, "Sid": "MemoryDbDrillRestore"},
            statement(
                "MemoryDbDrillCopies",
                ["memorydb:TagResource", "memorydb:DeleteCluster"],
                of(f"cluster/{DRILL_PREFIX}*"),
            ),
        ],
        write=[
            create,
            statement("MemoryDbRestoreTags", ["memorydb:TagResource"], of("cluster/*")),
        ],
    )
