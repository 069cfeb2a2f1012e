"""What the eks-nodegroup module may call in a staging account.

Reads: the account's clusters and node groups (and their updates), and the Auto Scaling
groups behind them (``DescribeAutoScalingGroups`` is authorised on ``*`` only, so it is
limited to the account's regions). Writes: ``UpdateNodegroupConfig`` and the tag that
keeps the capacity before drorch's change (``drorch:capacity-before``) on node groups.

A drill makes the same calls (it scales the recovery-region node group up, and its cleanup
puts back what it recorded), so they are all drill-safe; IAM cannot say "up only": the
module refuses a drill's scale-down before anything is sent.
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, arns, in_regions, statement
from drorch.modules.capacity import readiness_reads

BEFORE_TAG = "drorch:capacity-before"


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    clusters = arns("eks", account_id, regions, "cluster/*")
    nodegroups = arns("eks", account_id, regions, "nodegroup/*/*/*")
    return ModuleIam(
        read=[
            statement(
                "EksNodegroupRead",
                ["eks:ListNodegroups", "eks:DescribeUpdate", "eks:DescribeNodegroup"],
                [*clusters, *nodegroups],
            ),
            statement(
                "EksNodegroupListClusters", ["eks:ListClusters"], "*", condition=in_regions(regions)
            ),
            readiness_reads("EksNodegroupReadiness", regions),
            statement(
                "EksNodegroupReadAutoScaling",
                ["autoscaling:DescribeAutoScalingGroups"],
                "*",
                condition=in_regions(regions),
            ),
        ],
        drill_safe=[
            statement(
                "EksNodegroupScale",
                ["eks:UpdateNodegroupConfig", "eks:TagResource", "eks:UntagResource"],
                nodegroups,
            ),
        ],
    )
