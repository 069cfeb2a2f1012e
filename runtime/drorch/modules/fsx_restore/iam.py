"""What the fsx module may call in a staging account.

FSx's Describe calls (and ``ec2:DescribeSubnets``, which finds the subnets named by
``subnetTags``) are authorised on ``*`` only (limited to the account's Regions).
Restoring reads a backup and creates a new file system; copying a backup creates a new
backup: neither can change production, so a drill-only role has them (``drill_safe``),
with the tagging a create with ``Tags`` needs. ``DeleteFileSystem`` is granted on the
account's file systems because FSx file system ARNs carry only a generated id: the
module deletes only its drill copies (tagged ``drorch:drill-copy-of``, named
``drorch-drill-*``), and the drill client refuses any other deletion before it is sent.
To narrow the grant further, add a ``aws:ResourceTag/drorch:drill-copy-of`` condition to
the deployed statement.
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, arns, in_regions, statement


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    backups = arns("fsx", account_id, regions, "backup/*")
    file_systems = arns("fsx", account_id, regions, "file-system/*")
    return ModuleIam(
        read=[
            statement(
                "FsxRead",
                ["fsx:DescribeBackups", "fsx:DescribeFileSystems", "ec2:DescribeSubnets"],
                "*",
                condition=in_regions(regions),
            ),
        ],
        drill_safe=[
            statement(
                "FsxRestore",
                ["fsx:CreateFileSystemFromBackup", "fsx:CopyBackup"],
                backups + file_systems,
            ),
            statement("FsxTagOnCreate", ["fsx:TagResource"], backups + file_systems),
            statement("FsxDeleteDrillCopies", ["fsx:DeleteFileSystem"], file_systems),
        ],
    )
