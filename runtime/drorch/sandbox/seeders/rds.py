"""Aurora clusters (optionally in a global database) and RDS instances (optionally replicas)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from drorch.sandbox.seeders.base import (
    GLOBAL_REGION,
    SeedContext,
    SeededResource,
    Seeder,
    Undo,
    engine_properties,
    fail,
    identifier,
    service_error_code,
    tag_list,
)

# RDS identifiers: a letter first, then letters, digits and hyphens; no "--", no trailing "-".
_RDS_ID = r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]*(?<!-)$"
_RDS_ID_RULE = (
    "letters, digits and hyphens, starting with a letter, without two consecutive hyphens "
    "or a trailing hyphen"
)
_REGION = {"type": "string", "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]$"}
_DB_CLASS = {
    "type": "string",
    "pattern": r"^db\.[a-z0-9]+\.[a-z0-9]+$",
    "description": "a DB instance class such as db.r6g.large",
}

AURORA_ENGINE_VERSIONS = {"aurora-postgresql": "16.4", "aurora-mysql": "8.0.mysql_aurora.3.07.1"}
AURORA_MAX_INSTANCES = 16  # one writer and up to 15 Aurora Replicas

RDS_ENGINE_VERSIONS = {
    "postgres": "16.4",
    "mysql": "8.0.39",
    "mariadb": "10.11.9",
    "sqlserver-ee": "15.00.4385.2.v1",
    "sqlserver-se": "15.00.4385.2.v1",
    "sqlserver-ex": "15.00.4385.2.v1",
    "sqlserver-web": "15.00.4385.2.v1",
    "oracle-ee": "19.0.0.0.ru-2024-07.rur-2024-07.r1",
    "oracle-se2": "19.0.0.0.ru-2024-07.rur-2024-07.r1",
}
_MASTER_USER = {"postgres": "postgres", "aurora-postgresql": "postgres"}


def _ready() -> None:
    """Seeded clusters and instances are available at once: the sandbox's RDS simulation
    (``drorch.modules.rds_instance.sandbox``) puts their creation on the simulated clock,
    so the seeder completes what it scheduled."""
    from drorch.modules.rds_instance.sandbox import complete_pending

    complete_pending()


def _master_user(engine: str) -> str:
    return _MASTER_USER.get(engine, "admin")


def _engine_version(spec: Mapping[str, Any], defaults: Mapping[str, str]) -> str:
    return spec.get("engineVersion") or defaults[spec["engine"]]


class AuroraCluster(Seeder):
    type = "aurora-cluster"
    description = (
        "An Aurora DB cluster and its instances (<name>-1 is the writer). With globalClusterId "
        "the cluster joins an Aurora global database: role primary creates the global cluster, "
        "role secondary attaches to one a primary entry created earlier (sourceRegion: the "
        "primary's region). The master password is managed in Secrets Manager. moto 5.2.1 "
        "does not keep tags on global clusters."
    )
    name_schema = identifier(f"an Aurora cluster identifier: 1-60 {_RDS_ID_RULE}", _RDS_ID, 60)
    properties = {
        **engine_properties(AURORA_ENGINE_VERSIONS),
        "instances": {
            "type": "object",
            "additionalProperties": False,
            "required": ["class"],
            "properties": {
                "count": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": AURORA_MAX_INSTANCES,
                    "default": 1,
                    "description": "0 makes a headless cluster (a pilot-light secondary)",
                },
                "class": {
                    "anyOf": [_DB_CLASS, {"const": "db.serverless"}],
                    "description": "a DB instance class such as db.r6g.large, or db.serverless",
                },
            },
        },
        "globalClusterId": identifier(
            f"an Aurora global cluster identifier: 1-63 {_RDS_ID_RULE}", _RDS_ID, 63
        ),
        "role": {"enum": ["primary", "secondary"], "default": "primary"},
        "sourceRegion": {
            **_REGION,
            "description": "role secondary: the region of the global cluster's primary",
        },
        "storageEncrypted": {"type": "boolean", "default": True},
    }
    required = ("engine", "instances")
    constraints = {
        "dependentRequired": {"role": ["globalClusterId"], "sourceRegion": ["globalClusterId"]},
        "if": {"required": ["sourceRegion"]},
        "then": {"required": ["role"], "properties": {"role": {"const": "secondary"}}},
    }

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        global_id = spec.get("globalClusterId")
        if not global_id:
            return
        existing = _global_cluster(ctx, global_id)
        if spec.get("role", "primary") == "primary":
            if existing is not None:
                raise fail(
                    f"{where}.globalClusterId",
                    f"global cluster {global_id!r} already exists in account {ctx.account_id}; "
                    "a global database has one primary",
                    hint="give the other entries role: secondary",
                )
            return
        if existing is None:
            raise fail(
                f"{where}.globalClusterId",
                f"global cluster {global_id!r} does not exist in account {ctx.account_id}",
                hint="list the entry with role: primary for it earlier in resources",
            )
        if existing["Engine"] != spec["engine"]:
            raise fail(
                f"{where}.engine",
                f"{spec['engine']} does not match global cluster {global_id!r} ({existing['Engine']})",
            )
        writer_regions = [
            m["DBClusterArn"].split(":")[3]
            for m in existing["GlobalClusterMembers"]
            if m["IsWriter"]
        ]
        if ctx.region in writer_regions:
            raise fail(
                f"{where}.region",
                f"the primary of {global_id!r} is already in {ctx.region}; a secondary must be "
                "in another region",
            )
        source = spec.get("sourceRegion")
        if source and writer_regions and source not in writer_regions:
            raise fail(
                f"{where}.sourceRegion",
                f"{source} is not where the primary of {global_id!r} is ({writer_regions[0]})",
            )

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        rds = ctx.client("rds")
        name = spec["name"]
        tags = tag_list(spec.get("tags", {}))
        version = _engine_version(spec, AURORA_ENGINE_VERSIONS)
        global_id = spec.get("globalClusterId")
        role = spec.get("role", "primary")
        seeded: list[SeededResource] = []

        if global_id and role == "primary":
            created = rds.create_global_cluster(
                GlobalClusterIdentifier=global_id,
                Engine=spec["engine"],
                EngineVersion=version,
                StorageEncrypted=spec.get("storageEncrypted", True),
                Tags=tags,
            )["GlobalCluster"]
            undo.push(
                f"global cluster {global_id}",
                lambda: rds.delete_global_cluster(GlobalClusterIdentifier=global_id),
            )
            seeded.append(
                self.resource(
                    ctx, global_id, created["GlobalClusterArn"], "global-cluster", GLOBAL_REGION
                )
            )

        kwargs: dict[str, Any] = {
            "DBClusterIdentifier": name,
            "Engine": spec["engine"],
            "EngineVersion": version,
            "StorageEncrypted": spec.get("storageEncrypted", True),
            "Tags": tags,
            "CopyTagsToSnapshot": True,
        }
        if global_id:
            kwargs["GlobalClusterIdentifier"] = global_id
        if role == "secondary":  # credentials come from the primary
            if spec.get("sourceRegion"):
                kwargs["SourceRegion"] = spec["sourceRegion"]
        else:
            kwargs["MasterUsername"] = _master_user(spec["engine"])
            kwargs["ManageMasterUserPassword"] = True
        if ctx.security_group_id:
            kwargs["VpcSecurityGroupIds"] = ctx.security_groups()
        cluster = rds.create_db_cluster(**kwargs)["DBCluster"]

        def remove_cluster() -> None:
            if global_id:
                rds.remove_from_global_cluster(
                    GlobalClusterIdentifier=global_id, DbClusterIdentifier=cluster["DBClusterArn"]
                )
            rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)

        undo.push(f"DB cluster {name}", remove_cluster)
        seeded.append(self.resource(ctx, name, cluster["DBClusterArn"]))

        instances = spec["instances"]
        for n in range(1, instances.get("count", 1) + 1):
            instance_id = f"{name}-{n}"
            instance = rds.create_db_instance(
                DBInstanceIdentifier=instance_id,
                DBClusterIdentifier=name,
                Engine=spec["engine"],
                DBInstanceClass=instances["class"],
                PromotionTier=0 if n == 1 else 1,
                Tags=tags,
            )["DBInstance"]
            undo.push(
                f"DB instance {instance_id}",
                lambda i=instance_id: rds.delete_db_instance(
                    DBInstanceIdentifier=i, SkipFinalSnapshot=True
                ),
            )
            seeded.append(self.resource(ctx, instance_id, instance["DBInstanceArn"], "instance"))
        _ready()
        return seeded


def _global_cluster(ctx: SeedContext, global_id: str) -> dict[str, Any] | None:
    try:
        found = ctx.client("rds").describe_global_clusters(GlobalClusterIdentifier=global_id)
    except ClientError as exc:
        if service_error_code(exc) == "GlobalClusterNotFoundFault":
            return None
        raise
    # filter here too: moto 5.2.1 ignores GlobalClusterIdentifier and returns them all
    clusters = [
        c for c in found.get("GlobalClusters", []) if c["GlobalClusterIdentifier"] == global_id
    ]
    return clusters[0] if clusters else None


class RdsInstance(Seeder):
    type = "rds-instance"
    description = (
        "An RDS DB instance (not Aurora). readReplicaOf makes it a read replica of an instance "
        "seeded earlier: its identifier (in sourceRegion, default this region) or ARN. The "
        "master password is managed in Secrets Manager."
    )
    name_schema = identifier(f"a DB instance identifier: 1-63 {_RDS_ID_RULE}", _RDS_ID, 63)
    properties = {
        **engine_properties(RDS_ENGINE_VERSIONS),
        "class": _DB_CLASS,
        "multiAz": {"type": "boolean", "default": False},
        "allocatedStorage": {"type": "integer", "minimum": 20, "maximum": 65536, "default": 100},
        "storageType": {"enum": ["gp2", "gp3", "io1", "io2"], "default": "gp3"},
        "storageEncrypted": {"type": "boolean", "default": True},
        "readReplicaOf": {
            "type": "string",
            "anyOf": [
                {"pattern": _RDS_ID, "maxLength": 63},
                {"pattern": r"^arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:db:[a-zA-Z][a-zA-Z0-9-]*$"},
            ],
            "description": "identifier or ARN of the source DB instance",
        },
        "sourceRegion": {**_REGION, "description": "region of readReplicaOf, when an identifier"},
    }
    required = ("engine", "class")
    constraints = {
        "dependentRequired": {"sourceRegion": ["readReplicaOf"]},
        "if": {"properties": {"engine": {"const": "sqlserver-ex"}}, "required": ["engine"]},
        "then": {
            "properties": {
                "multiAz": {"const": False, "description": "SQL Server Express has no Multi-AZ"}
            }
        },
    }

    def _source(self, ctx: SeedContext, spec: Mapping[str, Any]) -> tuple[str, str]:
        """(identifier or ARN to pass, region of the source)."""
        source = spec["readReplicaOf"]
        if source.startswith("arn:"):
            return source, source.split(":")[3]
        region = spec.get("sourceRegion", ctx.region)
        if region == ctx.region:
            return source, region
        return f"arn:aws:rds:{region}:{ctx.account_id}:db:{source}", region

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        if "readReplicaOf" not in spec:
            return
        source, region = self._source(ctx, spec)
        if source.startswith("arn:") and source.split(":")[4] != ctx.account_id:
            raise fail(
                f"{where}.readReplicaOf",
                f"{source} is in another account; RDS read replicas stay in their source's account",
            )
        try:
            found = ctx.client("rds", region).describe_db_instances(
                DBInstanceIdentifier=source.split(":")[-1]
            )["DBInstances"][0]
        except ClientError as exc:
            if service_error_code(exc) != "DBInstanceNotFound":
                raise
            raise fail(
                f"{where}.readReplicaOf",
                f"no DB instance {source.split(':')[-1]!r} in account {ctx.account_id} {region}",
                hint="list the source instance earlier in resources",
            ) from None
        if found["Engine"] != spec["engine"]:
            raise fail(
                f"{where}.engine",
                f"{spec['engine']} does not match the source instance's engine ({found['Engine']})",
            )

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        rds = ctx.client("rds")
        name = spec["name"]
        common: dict[str, Any] = {
            "DBInstanceIdentifier": name,
            "DBInstanceClass": spec["class"],
            "MultiAZ": spec.get("multiAz", False),
            "StorageType": spec.get("storageType", "gp3"),
            "Tags": tag_list(spec.get("tags", {})),
            "CopyTagsToSnapshot": True,
        }
        if ctx.security_group_id:
            common["VpcSecurityGroupIds"] = ctx.security_groups()
        if "readReplicaOf" in spec:
            source, region = self._source(ctx, spec)
            extra = {"SourceRegion": region} if region != ctx.region else {}
            instance = rds.create_db_instance_read_replica(
                SourceDBInstanceIdentifier=source, **common, **extra
            )["DBInstance"]
        else:
            instance = rds.create_db_instance(
                Engine=spec["engine"],
                EngineVersion=_engine_version(spec, RDS_ENGINE_VERSIONS),
                AllocatedStorage=spec.get("allocatedStorage", 100),
                StorageEncrypted=spec.get("storageEncrypted", True),
                MasterUsername=_master_user(spec["engine"]),
                ManageMasterUserPassword=True,
                **common,
            )["DBInstance"]
        undo.push(
            f"DB instance {name}",
            lambda: rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True),
        )
        _ready()
        return [self.resource(ctx, name, instance["DBInstanceArn"])]
