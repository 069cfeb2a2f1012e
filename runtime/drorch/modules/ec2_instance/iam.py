"""What the ec2-instance module may call in a staging account.

Reads: describe instances and their status (these take no resource: ``*`` limited to the
account's regions). Drill-safe writes: starting instances and tagging them with their
state before the change. Writes: stopping them (a failover's ``action: stop``, CLEANUP)
and removing drorch's tags. Writes are scoped to instance ARNs of the account's regions.
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, arns, in_regions, statement
from drorch.modules.capacity import readiness_reads


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    instances = arns("ec2", account_id, regions, "instance/*")
    return ModuleIam(
        read=[
            statement(
                "Ec2InstanceDescribe",
                ["ec2:DescribeInstances", "ec2:DescribeInstanceStatus"],
                "*",
                condition=in_regions(regions),
            ),
            readiness_reads("Ec2InstanceReadiness", regions),
        ],
        drill_safe=[
            statement("Ec2InstanceStart", ["ec2:StartInstances", "ec2:CreateTags"], instances),
        ],
        write=[
            statement("Ec2InstanceStop", ["ec2:StopInstances", "ec2:DeleteTags"], instances),
        ],
    )
