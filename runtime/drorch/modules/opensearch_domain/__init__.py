"""The opensearch-domain module: OpenSearch Service domains in the recovery region
(see ``adapter``)."""

from drorch.modules.opensearch_domain.adapter import (
    DISRUPTIVE_CALLS,
    RESOURCE_TYPE,
    OpenSearchDomainModule,
)

MODULE = OpenSearchDomainModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "RESOURCE_TYPE", "OpenSearchDomainModule"]
