"""The RDS lookups every aurora-global phase makes (a base of the module's parts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import AccountContext
from drorch.modules.rds_instance.common import fail, is_not_found, region_of
from drorch.modules.resource import ResourceModule


def page(rds: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    return [
        item
        for found in rds.get_paginator(operation).paginate(**kwargs)
        for item in found.get(key, [])
    ]


class AuroraCalls(ResourceModule):
    """Describe calls by identifier or ARN, with not-found as None."""

    def _rds(self, ctx: AccountContext, state: Mapping[str, Any], region: str | None = None) -> Any:
        return ctx.client("rds", region=region, guard=self.drill_guard(bool(state.get("drill"))))

    @staticmethod
    def _cluster(ctx: AccountContext, rds: Any, identifier: str, doing: str) -> dict | None:
        try:
            found = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
        except ClientError as error:
            if is_not_found(error):
                return None
            fail(error, ctx, doing, "aurora-global")
        return found[0] if found else None

    @staticmethod
    def _instance(ctx: AccountContext, rds: Any, identifier: str, doing: str) -> dict | None:
        try:
            found = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
        except ClientError as error:
            if is_not_found(error):
                return None
            fail(error, ctx, doing, "aurora-global")
        return found[0] if found else None

    @staticmethod
    def _global(ctx: AccountContext, rds: Any, identifier: str) -> dict | None:
        try:
            found = rds.describe_global_clusters(GlobalClusterIdentifier=identifier)
        except ClientError as error:
            if is_not_found(error):
                return None
            fail(error, ctx, f"describing global cluster {identifier}", "aurora-global")
        clusters = found.get("GlobalClusters", [])
        return clusters[0] if clusters else None

    def _instance_class(
        self, ctx: AccountContext, rds: Any, cluster: Mapping[str, Any]
    ) -> str | None:
        """The class of an instance the cluster already has."""
        for member in cluster.get("DBClusterMembers") or []:
            instance = self._instance(
                ctx, rds, member["DBInstanceIdentifier"], "describing an instance"
            )
            if instance:
                return instance["DBInstanceClass"]
        return None

    def _primary_class(
        self, ctx: AccountContext, resource_id: str, rds: Any, cluster: dict
    ) -> str | None:
        global_id = cluster.get("GlobalClusterIdentifier")
        found = self._global(ctx, rds, global_id) if global_id else None
        for member in (found or {}).get("GlobalClusterMembers", []):
            if member.get("IsWriter"):
                region = region_of(member["DBClusterArn"])
                other = self._rds(ctx, {}, region)
                primary = self._cluster(
                    ctx, other, member["DBClusterArn"], "describing the primary"
                )
                return self._instance_class(ctx, other, primary) if primary else None
        return None
