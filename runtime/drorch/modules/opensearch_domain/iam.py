"""What the opensearch-domain module may call in a staging account.

Reads: the account's domains and their tags, and the cross-cluster connections (authorised
on ``*`` only, so limited to the account's regions). A drill may change the capacity of a
recovery-region domain (``UpdateDomainConfig``, scale-up only: the module refuses a
drill's scale-down) and the tag that keeps the capacity before drorch's change; only a
failover deletes an outbound cross-cluster connection (``stop-replication``).

IAM lists the tagging actions against OpenSearch applications and data sources as well as
domains; drorch tags domains only, but grants the three resource types the action names.
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, arns, in_regions, statement

BEFORE_TAG = "drorch:capacity-before"


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    domains = arns("es", account_id, regions, "domain/*")
    taggable = [
        *domains,
        *arns("opensearch", account_id, regions, "application/*", "datasource/*"),
    ]
    return ModuleIam(
        read=[
            statement("OpenSearchDomainRead", ["es:DescribeDomain", "es:DescribeDomains"], domains),
            statement("OpenSearchDomainReadTags", ["es:ListTags"], taggable),
            statement(
                "OpenSearchDomainList",
                ["es:ListDomainNames", "es:DescribeOutboundConnections"],
                "*",
                condition=in_regions(regions),
            ),
        ],
        drill_safe=[
            statement("OpenSearchDomainScale", ["es:UpdateDomainConfig"], domains),
            statement("OpenSearchDomainTagBefore", ["es:AddTags", "es:RemoveTags"], taggable),
        ],
        write=[
            statement(
                "OpenSearchDomainStopReplication",
                ["es:DeleteOutboundConnection"],
                "*",
                condition=in_regions(regions),
            ),
        ],
    )
