"""The efs-replication module: EFS file systems replicated across regions (see ``adapter``)."""

from drorch.modules.efs_replication.adapter import (
    DISRUPTIVE_CALLS,
    RESOURCE_TYPE,
    EfsReplicationModule,
)

MODULE = EfsReplicationModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "RESOURCE_TYPE", "EfsReplicationModule"]
