"""What the auto-scaling module may call in a staging account.

Reads: describe groups and scaling activities (these take no resource: ``*`` limited to
the account's regions). Drill-safe writes: ``UpdateAutoScalingGroup`` (the drill client
lets only growth through) and tagging the group with its sizes before the change. Write:
removing those tags once CLEANUP has put the sizes back. Writes are scoped to Auto Scaling
group ARNs of the account's regions.
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, arns, in_regions, statement
from drorch.modules.capacity import readiness_reads


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    groups = arns("autoscaling", account_id, regions, "autoScalingGroup:*:autoScalingGroupName/*")
    return ModuleIam(
        read=[
            statement(
                "AutoScalingDescribe",
                ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScalingActivities"],
                "*",
                condition=in_regions(regions),
            ),
            readiness_reads(
                "AutoScalingReadiness",
                regions,
                "autoscaling:DescribeLaunchConfigurations",
                "ec2:DescribeLaunchTemplateVersions",
            ),
        ],
        drill_safe=[
            statement(
                "AutoScalingResize",
                ["autoscaling:UpdateAutoScalingGroup", "autoscaling:CreateOrUpdateTags"],
                groups,
            ),
        ],
        write=[
            statement("AutoScalingUnmark", ["autoscaling:DeleteTags"], groups),
        ],
    )
