"""What the arc-routing-control module may call in a staging account.

Route 53 ARC's resources have no Region in their ARNs
(``arn:aws:route53-recovery-control::<account>:controlpanel/<id>/routingcontrol/<id>``) and
its calls go to the control plane in us-west-2 and to a cluster's endpoints in five
Regions, so no statement carries an ``aws:RequestedRegion`` condition. Reads: clusters,
control panels (and their tags), routing controls, safety rules, and routing control
states through the cluster. The only writes, ``UpdateRoutingControlState(s)``, are a
failover's: a drill has none.
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, statement


def _arn(account_id: str, rest: str) -> str:
    return f"arn:aws:route53-recovery-control::{account_id}:{rest}"


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    clusters = [_arn(account_id, "cluster/*")]
    panels = [_arn(account_id, "controlpanel/*")]
    controls = [_arn(account_id, "controlpanel/*/routingcontrol/*")]
    rules = [_arn(account_id, "controlpanel/*/safetyrule/*")]
    return ModuleIam(
        read=[
            statement(
                "ArcListClustersAndPanels",
                [
                    "route53-recovery-control-config:ListClusters",
                    "route53-recovery-control-config:ListControlPanels",
                ],
                "*",
            ),
            statement(
                "ArcReadClusters", ["route53-recovery-control-config:DescribeCluster"], clusters
            ),
            statement(
                "ArcReadControlPanels",
                [
                    "route53-recovery-control-config:DescribeControlPanel",
                    "route53-recovery-control-config:ListRoutingControls",
                    "route53-recovery-control-config:ListSafetyRules",
                ],
                panels,
            ),
            statement(
                "ArcReadTags",
                ["route53-recovery-control-config:ListTagsForResource"],
                [*clusters, *panels, *rules],
            ),
            statement(
                "ArcReadRoutingControls",
                [
                    "route53-recovery-control-config:DescribeRoutingControl",
                    "route53-recovery-cluster:GetRoutingControlState",
                ],
                controls,
            ),
            statement(
                "ArcListRoutingControlStates", ["route53-recovery-cluster:ListRoutingControls"], "*"
            ),
        ],
        write=[
            statement(
                "ArcSetRoutingControls",
                [
                    "route53-recovery-cluster:UpdateRoutingControlState",
                    "route53-recovery-cluster:UpdateRoutingControlStates",
                ],
                controls,
            )
        ],
    )
