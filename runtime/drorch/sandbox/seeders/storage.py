"""Storage: EFS file systems with a mount target per Availability Zone (and, optionally, a
replica in another region), and FSx file systems with backups."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drorch.sandbox.seeders.base import (
    SeedContext,
    SeededResource,
    Seeder,
    Undo,
    fail,
    identifier,
    tag_list,
    with_name,
)


class EfsFileSystem(Seeder):
    type = "efs-file-system"
    description = (
        "An EFS file system (the name is its Name tag and creation token) with one mount "
        "target per Availability Zone of the context's subnets. Replication is not seeded: "
        "moto 5.2.1 does not implement CreateReplicationConfiguration."
    )
    name_schema = identifier(
        "an EFS name: 1-64 letters, digits, dots, hyphens and underscores, starting with a "
        "letter or digit",
        r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        64,
    )
    properties = {
        "performanceMode": {"enum": ["generalPurpose", "maxIO"], "default": "generalPurpose"},
        "throughputMode": {"enum": ["bursting", "provisioned", "elastic"], "default": "elastic"},
        "provisionedThroughputMibps": {"type": "number", "minimum": 1, "maximum": 3414},
        "encrypted": {"type": "boolean", "default": True},
        "mountTargets": {"type": "boolean", "default": True},
        "replicationRegion": {
            "type": "string",
            "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]$",
            "description": "the region of the replica (the destination); another region",
        },
    }
    constraints = {
        "allOf": [
            {
                "if": {
                    "properties": {"throughputMode": {"const": "provisioned"}},
                    "required": ["throughputMode"],
                },
                "then": {"required": ["provisionedThroughputMibps"]},
                "else": {
                    "not": {"required": ["provisionedThroughputMibps"]},
                    "description": "provisionedThroughputMibps goes with throughputMode provisioned",
                },
            },
            {
                "if": {
                    "properties": {"performanceMode": {"const": "maxIO"}},
                    "required": ["performanceMode"],
                },
                "then": {
                    "required": ["throughputMode"],
                    "properties": {
                        "throughputMode": {
                            "not": {"const": "elastic"},
                            "description": "elastic throughput needs performanceMode generalPurpose",
                        }
                    },
                },
            },
        ]
    }

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        found = ctx.client("efs").describe_file_systems(CreationToken=spec["name"])["FileSystems"]
        if found:
            raise fail(f"{where}.name", f"EFS file system {spec['name']!r} already exists")
        if spec.get("replicationRegion") == ctx.region:
            raise fail(
                f"{where}.replicationRegion", f"{ctx.region} holds the source: name another region"
            )

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        efs, ec2 = ctx.client("efs"), ctx.client("ec2")
        name = spec["name"]
        kwargs: dict[str, Any] = {
            "CreationToken": name,
            "PerformanceMode": spec.get("performanceMode", "generalPurpose"),
            "ThroughputMode": spec.get("throughputMode", "elastic"),
            "Encrypted": spec.get("encrypted", True),
            "Tags": tag_list(with_name(spec.get("tags", {}), name)),
        }
        if "provisionedThroughputMibps" in spec:
            kwargs["ProvisionedThroughputInMibps"] = spec["provisionedThroughputMibps"]
        file_system = efs.create_file_system(**kwargs)
        file_system_id = file_system["FileSystemId"]
        mount_targets: list[str] = []

        def remove_file_system() -> None:
            for mount_target in mount_targets:
                efs.delete_mount_target(MountTargetId=mount_target)
            efs.delete_file_system(FileSystemId=file_system_id)

        undo.push(f"EFS file system {name}", remove_file_system)
        if spec.get("mountTargets", True):
            _, subnet_ids = ctx.network()
            zones: set[str] = set()
            for subnet in ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]:
                if subnet["AvailabilityZone"] in zones:
                    continue  # EFS allows one mount target per Availability Zone
                zones.add(subnet["AvailabilityZone"])
                target: dict[str, Any] = {
                    "FileSystemId": file_system_id,
                    "SubnetId": subnet["SubnetId"],
                }
                if ctx.security_group_id:
                    target["SecurityGroups"] = ctx.security_groups()
                mount_targets.append(efs.create_mount_target(**target)["MountTargetId"])
        seeded = [self.resource(ctx, name, file_system["FileSystemArn"])]
        if spec.get("replicationRegion"):
            seeded.append(self._replicate(ctx, spec, file_system_id, undo))
        return seeded

    def _replicate(
        self, ctx: SeedContext, spec: Mapping[str, Any], source_id: str, undo: Undo
    ) -> SeededResource:
        from drorch.modules.efs_replication.sandbox import as_if_long_ago

        efs, region = ctx.client("efs"), spec["replicationRegion"]
        replica_client = ctx.client("efs", region=region)
        created = efs.create_replication_configuration(
            SourceFileSystemId=source_id, Destinations=[{"Region": region}]
        )
        replica_id = created["Destinations"][0]["FileSystemId"]

        def remove_replica() -> None:
            efs.delete_replication_configuration(
                SourceFileSystemId=source_id, DeletionMode="LOCAL_CONFIGURATION_ONLY"
            )

        undo.push(f"EFS replica {replica_id} in {region}", remove_replica)
        as_if_long_ago(ctx.account_id, source_id)
        replica = replica_client.describe_file_systems(FileSystemId=replica_id)["FileSystems"][0]
        replica_client.tag_resource(
            ResourceId=replica_id, Tags=tag_list(with_name(spec.get("tags", {}), spec["name"]))
        )
        return self.resource(ctx, spec["name"], replica["FileSystemArn"], "replica", region)


_FSX_DEFAULT_CAPACITY = {"WINDOWS": 32, "LUSTRE": 1200, "OPENZFS": 64}


class FsxFileSystem(Seeder):
    type = "fsx-file-system"
    description = (
        "An FSx file system (Windows, Lustre or OpenZFS; the name is its Name tag) in the "
        "first subnet of the context's network, with `backups` user-initiated backups, each "
        "copied to copyBackupsTo when given (CreateBackup and CopyBackup through the fsx "
        "module's sandbox extension). Seeded file systems and backups are AVAILABLE at once, "
        "as if made an hour ago."
    )
    name_schema = identifier(
        "a Name tag: 1-256 letters, digits, spaces and _.:/=+-@",
        r"^[\w _.:/=+\-@]{1,256}$",
        256,
    )
    properties = {
        "fileSystemType": {"enum": ["WINDOWS", "LUSTRE", "OPENZFS"], "default": "WINDOWS"},
        "storageCapacity": {
            "type": "integer",
            "minimum": 32,
            "maximum": 65536,
            "description": "GiB; default 32 (Windows), 1200 (Lustre), 64 (OpenZFS)",
        },
        "storageType": {"enum": ["SSD", "HDD"], "default": "SSD"},
        "throughputCapacity": {"type": "integer", "minimum": 8, "default": 32},
        "backups": {"type": "integer", "minimum": 0, "maximum": 10, "default": 1},
        "copyBackupsTo": {
            "type": "string",
            "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]$",
            "description": "a region to copy every backup to (another region: the recovery one)",
        },
    }

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        if spec.get("copyBackupsTo") == ctx.region:
            raise fail(f"{where}.copyBackupsTo", f"{ctx.region} holds the file system already")
        for page in ctx.client("fsx").get_paginator("describe_file_systems").paginate():
            for found in page["FileSystems"]:
                if {"Key": "Name", "Value": spec["name"]} in found.get("Tags", []):
                    raise fail(f"{where}.name", f"FSx file system {spec['name']!r} already exists")

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        from drorch.modules.fsx_restore.sandbox import as_if_long_ago

        fsx, name = ctx.client("fsx"), spec["name"]
        kind = spec.get("fileSystemType", "WINDOWS")
        _, subnet_ids = ctx.network()
        kwargs: dict[str, Any] = {
            "FileSystemType": kind,
            "StorageCapacity": spec.get("storageCapacity", _FSX_DEFAULT_CAPACITY[kind]),
            "StorageType": spec.get("storageType", "SSD"),
            "SubnetIds": subnet_ids[:1],
            "Tags": tag_list(with_name(spec.get("tags", {}), name)),
        }
        throughput = spec.get("throughputCapacity", 32)
        if kind == "WINDOWS":
            kwargs["WindowsConfiguration"] = {
                "ThroughputCapacity": throughput,
                "DeploymentType": "SINGLE_AZ_2",
            }
        elif kind == "OPENZFS":
            kwargs["OpenZFSConfiguration"] = {
                "ThroughputCapacity": throughput,
                "DeploymentType": "SINGLE_AZ_2",
            }
        elif kind == "LUSTRE":
            kwargs["LustreConfiguration"] = {"DeploymentType": "PERSISTENT_2"}
        if ctx.security_group_id:
            kwargs["SecurityGroupIds"] = ctx.security_groups()
        file_system = fsx.create_file_system(**kwargs)["FileSystem"]
        fs_id = file_system["FileSystemId"]
        options = {
            "WINDOWS": "WindowsConfiguration",
            "LUSTRE": "LustreConfiguration",
            "OPENZFS": "OpenZFSConfiguration",
        }[kind]
        undo.push(
            f"FSx file system {name}",
            lambda: fsx.delete_file_system(
                FileSystemId=fs_id, **{options: {"SkipFinalBackup": True}}
            ),
        )
        as_if_long_ago(ctx.account_id, ctx.region, fs_id)
        seeded = [self.resource(ctx, name, file_system["ResourceARN"])]
        target = spec.get("copyBackupsTo")
        copies = ctx.client("fsx", region=target) if target else None
        for n in range(spec.get("backups", 1)):
            backup = fsx.create_backup(
                FileSystemId=fs_id, Tags=tag_list({**spec.get("tags", {}), "Name": f"{name}-{n}"})
            )["Backup"]
            backup_id = backup["BackupId"]
            undo.push(f"FSx backup {backup_id}", lambda b=backup_id: fsx.delete_backup(BackupId=b))
            as_if_long_ago(ctx.account_id, ctx.region, backup_id)
            seeded.append(self.resource(ctx, f"{name}-{n}", backup["ResourceARN"], "backup"))
            if copies is not None:
                copy = copies.copy_backup(
                    SourceBackupId=backup_id, SourceRegion=ctx.region, CopyTags=True
                )["Backup"]
                undo.push(
                    f"FSx backup copy {copy['BackupId']}",
                    lambda b=copy["BackupId"]: copies.delete_backup(BackupId=b),
                )
                as_if_long_ago(ctx.account_id, target, copy["BackupId"])
                seeded.append(
                    self.resource(ctx, f"{name}-{n}", copy["ResourceARN"], "backup-copy", target)
                )
        return seeded
