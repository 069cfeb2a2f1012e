"""What the route53-record module may call in a staging account.

Route 53 is global: its ARNs have neither region nor account
(``arn:aws:route53:::hostedzone/Z...``) and its calls are signed for us-east-1, so no
statement carries an ``aws:RequestedRegion`` condition. Reads: the zones and their tags
and record sets, and the propagation of a change. Writes: ``ChangeResourceRecordSets``
on hosted zones. A drill writes only its declared drill records: the drill client
refuses any other change before it is sent (IAM cannot tell record names apart).
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, statement

ZONES = ["arn:aws:route53:::hostedzone/*"]


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    return ModuleIam(
        read=[
            statement("Route53RecordListZones", ["route53:ListHostedZones"], "*"),
            statement(
                "Route53RecordReadZones",
                [
                    "route53:GetHostedZone",
                    "route53:ListResourceRecordSets",
                    "route53:ListTagsForResource",
                ],
                ZONES,
            ),
            statement(
                "Route53RecordReadChanges", ["route53:GetChange"], ["arn:aws:route53:::change/*"]
            ),
        ],
        # a drill's own records (names under a drill label); the drill client checks the names
        drill_safe=[
            statement("Route53RecordDrillRecords", ["route53:ChangeResourceRecordSets"], ZONES),
        ],
    )
