"""The elasticache-global module: ElastiCache (Valkey / Redis OSS) global datastores (see ``adapter``)."""

from drorch.modules.elasticache_global.adapter import (
    DISRUPTIVE_CALLS,
    RESOURCE_TYPE,
    ElastiCacheGlobalModule,
)

MODULE = ElastiCacheGlobalModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "RESOURCE_TYPE", "ElastiCacheGlobalModule"]
