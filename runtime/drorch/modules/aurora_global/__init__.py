"""The aurora-global module: Aurora MySQL and PostgreSQL global databases (see ``adapter``)."""

from drorch.modules.aurora_global.adapter import (
    DISRUPTIVE_CALLS,
    RESOURCE_TYPE,
    AuroraGlobalModule,
)

MODULE = AuroraGlobalModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "RESOURCE_TYPE", "AuroraGlobalModule"]
