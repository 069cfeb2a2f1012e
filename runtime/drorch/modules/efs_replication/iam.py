"""What the efs-replication module may call in a staging account.

Reads of file systems and replication configurations; the failover deletes a replication
configuration, the failback disables the original file system's replication overwrite
protection and creates the reverse replication. A drill only reads: it has no writes.
Every statement names file-system ARNs in the account's Regions (the staging stack passes
the source and the recovery Region).
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, arns, statement


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    file_systems = arns("elasticfilesystem", account_id, regions, "file-system/*")
    return ModuleIam(
        read=[
            statement(
                "EfsReplicationRead",
                [
                    "elasticfilesystem:DescribeFileSystems",
                    "elasticfilesystem:DescribeReplicationConfigurations",
                ],
                file_systems,
            ),
        ],
        write=[
            statement(
                "EfsReplicationFailover",
                ["elasticfilesystem:DeleteReplicationConfiguration"],
                file_systems,
            ),
            statement(
                "EfsReplicationFailback",
                [
                    "elasticfilesystem:CreateReplicationConfiguration",
                    "elasticfilesystem:UpdateFileSystemProtection",
                ],
                file_systems,
            ),
        ],
    )
