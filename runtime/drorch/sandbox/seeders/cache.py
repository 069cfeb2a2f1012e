"""In-memory data stores: ElastiCache replication groups and MemoryDB clusters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drorch.sandbox.seeders.base import (
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
        "primary and `replicas` replicas; with shards: cluster mode enabled. Global datastores "
        "are not seeded: moto 5.2.1 does not implement CreateGlobalReplicationGroup."
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
    }
    required = ("engine", "nodeType")
    constraints = {
        "if": {"properties": {"multiAz": {"const": True}}, "required": ["multiAz"]},
        "then": {
            "properties": {
                "replicas": {
                    "minimum": 1,
                    "description": "Multi-AZ needs at least one replica",
                }
            },
        },
    }

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        # moto cannot delete cache subnet groups, so find a name clash before creating one.
        if exists(
            ctx.client("elasticache").describe_replication_groups,
            "ReplicationGroupNotFoundFault",
            ReplicationGroupId=spec["name"],
        ):
            raise fail(f"{where}.name", f"replication group {spec['name']!r} already exists")

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
        group = cache.create_replication_group(**kwargs)["ReplicationGroup"]
        undo.push(
            f"replication group {name}",
            lambda: cache.delete_replication_group(ReplicationGroupId=name),
        )
        return [
            self.resource(ctx, group_name, subnet_group["ARN"], "subnet-group"),
            self.resource(ctx, name, group["ARN"]),
        ]


class MemoryDbCluster(Seeder):
    type = "memorydb-cluster"
    description = (
        "A MemoryDB cluster and its subnet group (<name>-subnets) in the context's subnets. "
        "moto 5.2.1 ignores Engine/EngineVersion (it reports 7.1) and does not implement "
        "multi-Region clusters, so none are seeded."
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
    }
    required = ("nodeType",)

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        if exists(
            ctx.client("memorydb").describe_clusters,
            "ClusterNotFoundFault",
            ClusterName=spec["name"],
        ):
            raise fail(f"{where}.name", f"MemoryDB cluster {spec['name']!r} already exists")

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
        cluster = memorydb.create_cluster(**kwargs)["Cluster"]
        undo.push(f"MemoryDB cluster {name}", lambda: memorydb.delete_cluster(ClusterName=name))
        return [
            self.resource(ctx, group_name, subnet_group["ARN"], "subnet-group"),
            self.resource(ctx, name, cluster["ARN"]),
        ]
