"""In-memory data stores: ElastiCache replication groups and MemoryDB clusters."""

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
    exists,
    fail,
    identifier,
    tag_list,
)

# ElastiCache and MemoryDB names: 1-40 lowercase letters, digits and hyphens, a letter first,
# no "--", no trailing "-".
_CACHE_ID = r"^[a-z](?!.*--)[a-z0-9-]*(?<!-)$"
_CACHE_RULE = (
    "1-40 lowercase letters, digits and hyphens, starting with a letter, without two "
    "consecutive hyphens or a trailing hyphen"
)
ELASTICACHE_VERSIONS = {"redis": "7.1", "valkey": "8.0"}
MEMORYDB_VERSIONS = {"redis": "7.1", "valkey": "7.2"}


def subnet_group_name(name: str) -> str:
    return f"{name}-subnets"


class ElastiCacheReplicationGroup(Seeder):
    type = "elasticache-replication-group"
    description = (
        "An ElastiCache (Redis OSS or Valkey) replication group and its cache subnet group "
        "(<name>-subnets) in the context's subnets. Without shards: cluster mode disabled, one "
        "primary and `replicas` replicas; with shards: cluster mode enabled. With "
        "globalDatastore the group joins an ElastiCache global datastore (the "
        "elasticache-global module's sandbox extension): role primary creates it "
        "(CreateGlobalReplicationGroup with that id suffix), role secondary joins one a primary "
        "entry created earlier in sourceRegion (CreateReplicationGroup with "
        "GlobalReplicationGroupId; engine, version, node type and shards come from the primary). "
        "Seeded datastores are associated and available at once, as if created an hour ago."
    )
    name_schema = identifier(f"a replication group id: {_CACHE_RULE}", _CACHE_ID, 40)
    properties = {
        **engine_properties(ELASTICACHE_VERSIONS),
        "nodeType": {
            "type": "string",
            "pattern": r"^cache\.[a-z0-9]+\.[a-z0-9]+$",
            "description": "a cache node type such as cache.r6g.large",
        },
        "replicas": {"type": "integer", "minimum": 0, "maximum": 5, "default": 1},
        "shards": {"type": "integer", "minimum": 1, "maximum": 500},
        "multiAz": {"type": "boolean", "description": "default: true when there are replicas"},
        "transitEncryption": {"type": "boolean", "default": True},
        "atRestEncryption": {"type": "boolean", "default": True},
        "globalDatastore": {
            "type": "string",
            "pattern": "^[a-zA-Z0-9-]{1,40}$",
            "description": "the id suffix of the global datastore (AWS adds a per-region prefix)",
        },
        "role": {"enum": ["primary", "secondary"], "default": "primary"},
        "sourceRegion": {
            "type": "string",
            "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]$",
            "description": "role secondary: the region of the global datastore's primary",
        },
    }
    required = ("engine", "nodeType")
    constraints = {
        "dependentRequired": {"role": ["globalDatastore"], "sourceRegion": ["globalDatastore"]},
        "allOf": [
            {
                "if": {"properties": {"multiAz": {"const": True}}, "required": ["multiAz"]},
                "then": {
                    "properties": {
                        "replicas": {
                            "minimum": 1,
                            "description": "Multi-AZ needs at least one replica",
                        }
                    },
                },
            },
            {
                "if": {"properties": {"role": {"const": "secondary"}}, "required": ["role"]},
                "then": {"required": ["sourceRegion"]},
            },
        ],
    }

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        # moto cannot delete cache subnet groups, so find a name clash before creating one.
        if exists(
            ctx.client("elasticache").describe_replication_groups,
            "ReplicationGroupNotFoundFault",
            ReplicationGroupId=spec["name"],
        ):
            raise fail(f"{where}.name", f"replication group {spec['name']!r} already exists")
        suffix = spec.get("globalDatastore")
        if not suffix:
            return
        if spec.get("role", "primary") == "primary":
            if _global_datastore(ctx, ctx.region, suffix) is not None:
                raise fail(
                    f"{where}.globalDatastore",
                    f"global datastore {suffix!r} already exists in account {ctx.account_id}; "
                    "a global datastore has one primary",
                    hint="give the other entries role: secondary",
                )
            return
        source = spec["sourceRegion"]
        if source == ctx.region:
            raise fail(f"{where}.region", f"a secondary must be in another region than {source}")
        datastore = _global_datastore(ctx, source, suffix)
        if datastore is None:
            raise fail(
                f"{where}.globalDatastore",
                f"global datastore {suffix!r} does not exist in {source} in account "
                f"{ctx.account_id}",
                hint="list the entry with role: primary for it earlier in resources",
            )
        if datastore["Engine"] != spec["engine"]:
            raise fail(
                f"{where}.engine",
                f"{spec['engine']} does not match global datastore {suffix!r} "
                f"({datastore['Engine']})",
            )

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        cache = ctx.client("elasticache")
        name = spec["name"]
        tags = tag_list(spec.get("tags", {}))
        _, subnets = ctx.network()
        group_name = subnet_group_name(name)
        subnet_group = cache.create_cache_subnet_group(
            CacheSubnetGroupName=group_name,
            CacheSubnetGroupDescription=f"subnets of replication group {name}",
            SubnetIds=subnets,
            Tags=tags,
        )["CacheSubnetGroup"]
        undo.push(
            f"cache subnet group {group_name}",
            lambda: cache.delete_cache_subnet_group(CacheSubnetGroupName=group_name),
        )
        replicas = spec.get("replicas", 1)
        suffix = spec.get("globalDatastore")
        secondary = bool(suffix) and spec.get("role", "primary") == "secondary"
        kwargs: dict[str, Any] = {
            "ReplicationGroupId": name,
            "ReplicationGroupDescription": f"{spec['engine']} replication group {name}",
            "Engine": spec["engine"],
            "EngineVersion": spec.get("engineVersion", ELASTICACHE_VERSIONS[spec["engine"]]),
            "CacheNodeType": spec["nodeType"],
            "CacheSubnetGroupName": group_name,
            "AutomaticFailoverEnabled": replicas > 0,
            "MultiAZEnabled": spec.get("multiAz", replicas > 0),
            "TransitEncryptionEnabled": spec.get("transitEncryption", True),
            "AtRestEncryptionEnabled": spec.get("atRestEncryption", True),
            "Tags": tags,
        }
        if "shards" in spec:
            kwargs.update(
                NumNodeGroups=spec["shards"], ReplicasPerNodeGroup=replicas, ClusterMode="enabled"
            )
        else:
            kwargs["NumCacheClusters"] = 1 + replicas
        if ctx.security_group_id:
            kwargs["SecurityGroupIds"] = ctx.security_groups()
        if secondary:
            datastore = _global_datastore(ctx, spec["sourceRegion"], suffix)
            assert datastore is not None  # check() found it
            kwargs["GlobalReplicationGroupId"] = datastore["GlobalReplicationGroupId"]
        group = cache.create_replication_group(**kwargs)["ReplicationGroup"]
        undo.push(
            f"replication group {name}",
            lambda: cache.delete_replication_group(ReplicationGroupId=name),
        )
        seeded = [
            self.resource(ctx, group_name, subnet_group["ARN"], "subnet-group"),
            self.resource(ctx, name, group["ARN"]),
        ]
        if suffix and not secondary:
            created = cache.create_global_replication_group(
                GlobalReplicationGroupIdSuffix=suffix,
                GlobalReplicationGroupDescription=f"global datastore of {name}",
                PrimaryReplicationGroupId=name,
            )["GlobalReplicationGroup"]
            seeded.append(
                self.resource(
                    ctx,
                    created["GlobalReplicationGroupId"],
                    created["ARN"],
                    "global-datastore",
                    GLOBAL_REGION,
                )
            )
        if suffix:
            from drorch.modules.elasticache_global.sandbox import as_if_long_ago

            as_if_long_ago(ctx.account_id, ctx.region, name)
        return seeded


def _global_datastore(ctx: SeedContext, region: str, suffix: str) -> dict[str, Any] | None:
    """The global datastore with this id suffix, as seen from ``region``, or None."""
    found = ctx.client("elasticache", region=region).describe_global_replication_groups()
    for datastore in found["GlobalReplicationGroups"]:
        if datastore["GlobalReplicationGroupId"].split("-", 1)[-1] == suffix:
            return datastore
    return None


class MemoryDbCluster(Seeder):
    type = "memorydb-cluster"
    description = (
        "A MemoryDB cluster and its subnet group (<name>-subnets) in the context's subnets. "
        "With multiRegionCluster the cluster is the regional cluster of a MemoryDB "
        "Multi-Region cluster with that name suffix (the first entry creates it; node type "
        "and engine come from it). With exports its snapshot is exported as a DR pipeline "
        "would: CreateSnapshot, CopySnapshot to the S3 bucket <bucket>-<region> in the "
        "cluster's region, then each RDB file copied to the bucket in exports.region (what S3 "
        "replication does), and a MemoryDB subnet group <name>-dr tagged "
        "drorch:memorydb-source=<name> (and the entry's tags) is made there: the landing zone "
        "the memorydb module restores into. moto 5.2.1 reports engine version 7.1 whatever "
        "is asked; Multi-Region clusters, CopySnapshot and restores come from the memorydb "
        "module's sandbox extension."
    )
    name_schema = identifier(f"a MemoryDB cluster name: {_CACHE_RULE}", _CACHE_ID, 40)
    properties = {
        **engine_properties(MEMORYDB_VERSIONS, default="valkey"),
        "nodeType": {
            "type": "string",
            "pattern": r"^db\.[a-z0-9]+\.[a-z0-9]+$",
            "description": "a MemoryDB node type such as db.r7g.large",
        },
        "shards": {"type": "integer", "minimum": 1, "maximum": 500, "default": 1},
        "replicasPerShard": {"type": "integer", "minimum": 0, "maximum": 5, "default": 1},
        "tls": {"type": "boolean", "default": True},
        "aclName": {
            "type": "string",
            "pattern": "^[a-zA-Z][a-zA-Z0-9-]*$",
            "default": "open-access",
        },
        "multiRegionCluster": {
            "type": "string",
            "pattern": "^[a-zA-Z0-9-]{1,40}$",
            "description": "the name suffix of a Multi-Region cluster (AWS adds a prefix)",
        },
        "exports": {
            "type": "object",
            "additionalProperties": False,
            "required": ["bucket", "region"],
            "properties": {
                "bucket": {
                    "type": "string",
                    "pattern": "^[a-z0-9][a-z0-9.-]{2,40}[a-z0-9]$",
                    "description": "the S3 bucket in the recovery region the RDB files reach",
                },
                "region": {
                    "type": "string",
                    "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]$",
                    "description": "the recovery region",
                },
                "snapshot": {
                    "type": "string",
                    "pattern": "^[a-zA-Z0-9-]{1,60}$",
                    "description": "the export's name (default <name>-export); the files "
                    "are <snapshot>-<shard>.rdb",
                },
            },
        },
    }
    required = ("nodeType",)

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        if exists(
            ctx.client("memorydb").describe_clusters,
            "ClusterNotFoundFault",
            ClusterName=spec["name"],
        ):
            raise fail(f"{where}.name", f"MemoryDB cluster {spec['name']!r} already exists")
        exports = spec.get("exports")
        if exports and exports["region"] == ctx.region:
            raise fail(f"{where}.exports.region", "the exports go to another region")

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        memorydb = ctx.client("memorydb")
        name = spec["name"]
        tags = tag_list(spec.get("tags", {}))
        engine = spec.get("engine", "valkey")
        _, subnets = ctx.network()
        group_name = subnet_group_name(name)
        subnet_group = memorydb.create_subnet_group(
            SubnetGroupName=group_name,
            Description=f"subnets of MemoryDB cluster {name}",
            SubnetIds=subnets,
            Tags=tags,
        )["SubnetGroup"]
        undo.push(
            f"MemoryDB subnet group {group_name}",
            lambda: memorydb.delete_subnet_group(SubnetGroupName=group_name),
        )
        kwargs: dict[str, Any] = {
            "ClusterName": name,
            "NodeType": spec["nodeType"],
            "Engine": engine,
            "EngineVersion": spec.get("engineVersion", MEMORYDB_VERSIONS[engine]),
            "NumShards": spec.get("shards", 1),
            "NumReplicasPerShard": spec.get("replicasPerShard", 1),
            "TLSEnabled": spec.get("tls", True),
            "ACLName": spec.get("aclName", "open-access"),
            "SubnetGroupName": group_name,
            "Tags": tags,
        }
        if ctx.security_group_id:
            kwargs["SecurityGroupIds"] = ctx.security_groups()
        seeded = [self.resource(ctx, group_name, subnet_group["ARN"], "subnet-group")]
        suffix = spec.get("multiRegionCluster")
        if suffix:
            multi = _multi_region_cluster(ctx, suffix)
            if multi is None:
                multi = memorydb.create_multi_region_cluster(
                    MultiRegionClusterNameSuffix=suffix,
                    NodeType=spec["nodeType"],
                    Engine=engine,
                    NumShards=spec.get("shards", 1),
                    TLSEnabled=spec.get("tls", True),
                    Tags=tags,
                )["MultiRegionCluster"]
                seeded.append(
                    self.resource(
                        ctx,
                        multi["MultiRegionClusterName"],
                        multi["ARN"],
                        "multi-region-cluster",
                        GLOBAL_REGION,
                    )
                )
            kwargs["MultiRegionClusterName"] = multi["MultiRegionClusterName"]
        cluster = memorydb.create_cluster(**kwargs)["Cluster"]
        undo.push(f"MemoryDB cluster {name}", lambda: memorydb.delete_cluster(ClusterName=name))
        seeded.append(self.resource(ctx, name, cluster["ARN"]))
        from drorch.modules.memorydb.sandbox import as_if_long_ago

        as_if_long_ago(ctx.account_id, ctx.region, name)
        if spec.get("exports"):
            seeded += self._export(ctx, spec, tags, undo)
        return seeded

    def _export(
        self, ctx: SeedContext, spec: Mapping[str, Any], tags: list[dict[str, str]], undo: Undo
    ) -> list[SeededResource]:
        """Snapshot, export to S3 in this region, copy the files to the recovery region's
        bucket (as S3 replication would) and make the landing zone there."""
        memorydb, name = ctx.client("memorydb"), spec["name"]
        exports = spec["exports"]
        recovery = exports["region"]
        export = exports.get("snapshot") or f"{name}-export"
        snapshot = memorydb.create_snapshot(ClusterName=name, SnapshotName=f"{export}-source")
        local_bucket = f"{exports['bucket']}-{ctx.region}"
        for bucket, region in ((local_bucket, ctx.region), (exports["bucket"], recovery)):
            _bucket(ctx.client("s3", region=region), bucket, region)
        memorydb.copy_snapshot(
            SourceSnapshotName=snapshot["Snapshot"]["Name"],
            TargetSnapshotName=export,
            TargetBucket=local_bucket,
        )
        s3 = ctx.client("s3", region=recovery)
        listed = ctx.client("s3").list_objects_v2(Bucket=local_bucket, Prefix=f"{export}-")
        for item in listed.get("Contents", []):
            s3.copy_object(
                Bucket=exports["bucket"],
                Key=item["Key"],
                CopySource={"Bucket": local_bucket, "Key": item["Key"]},
            )
        landing = SeedContext(ctx.session, ctx.account_id, recovery)
        _, subnets = landing.network()
        zone = landing.client("memorydb").create_subnet_group(
            SubnetGroupName=f"{name}-dr",
            Description=f"where the memorydb module restores {name}",
            SubnetIds=subnets,
            Tags=[*tags, {"Key": "drorch:memorydb-source", "Value": name}],
        )["SubnetGroup"]
        undo.push(
            f"MemoryDB subnet group {name}-dr in {recovery}",
            lambda: landing.client("memorydb").delete_subnet_group(SubnetGroupName=f"{name}-dr"),
        )
        return [self.resource(ctx, f"{name}-dr", zone["ARN"], "landing-zone", recovery)]


def _multi_region_cluster(ctx: SeedContext, suffix: str) -> dict[str, Any] | None:
    found = ctx.client("memorydb").describe_multi_region_clusters()["MultiRegionClusters"]
    return next((m for m in found if m["MultiRegionClusterName"].split("-", 1)[-1] == suffix), None)


def _bucket(s3: Any, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**kwargs)
