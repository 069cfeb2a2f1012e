"""Seeders: one scenario ``resources[]`` entry -> real resources in the sandbox, via boto3.

Each scenario type (``aurora-cluster``, ``ecs-service``, ...) has a :class:`Seeder`
with the JSON Schema of its properties and a ``seed(ctx, spec)`` that creates the
resources in one account and region and returns them as :class:`SeededResource`.
:func:`seed_resource` validates an entry and dispatches it; :func:`resource_schema`
is the JSON Schema of an entry, for validating a whole scenario up front.

An entry is either created completely or not at all: it is validated (schema, then
rules that need the account's current state) before the first call, and if a call
fails, what the entry had created is removed again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drorch.sandbox.seeders.base import (
    COMMON_PROPERTIES,
    COMMON_REQUIRED,
    GLOBAL_REGION,
    SeedContext,
    SeededResource,
    Seeder,
    validate,
)
from drorch.sandbox.seeders.cache import ElastiCacheReplicationGroup, MemoryDbCluster
from drorch.sandbox.seeders.compute import AutoscalingGroup, Ec2Instance, EcsService
from drorch.sandbox.seeders.dns import ArcRoutingControls, Route53Zone
from drorch.sandbox.seeders.dynamodb import DynamoDbGlobalTable
from drorch.sandbox.seeders.kubernetes import EksCluster
from drorch.sandbox.seeders.monitoring import CloudWatchAlarm
from drorch.sandbox.seeders.rds import AuroraCluster, RdsInstance
from drorch.sandbox.seeders.search import OpenSearchDomain
from drorch.sandbox.seeders.serverless import (
    EventBridgeArchive,
    EventBridgeRule,
    LambdaFunction,
)
from drorch.sandbox.seeders.sqlserver import SqlServerAvailabilityGroup
from drorch.sandbox.seeders.ssm import SsmDocument
from drorch.sandbox.seeders.storage import EfsFileSystem, FsxFileSystem

SEEDERS: dict[str, Seeder] = {
    seeder.type: seeder
    for seeder in (
        AuroraCluster(),
        RdsInstance(),
        EcsService(),
        AutoscalingGroup(),
        Route53Zone(),
        ArcRoutingControls(),
        ElastiCacheReplicationGroup(),
        MemoryDbCluster(),
        LambdaFunction(),
        EventBridgeRule(),
        EventBridgeArchive(),
        EfsFileSystem(),
        FsxFileSystem(),
        Ec2Instance(),
        SsmDocument(),
        CloudWatchAlarm(),
        DynamoDbGlobalTable(),
        OpenSearchDomain(),
        EksCluster(),
        SqlServerAvailabilityGroup(),
    )
}


def resource_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one scenario ``resources[]`` entry."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://drorch.dev/schemas/sandbox-resource.schema.json",
        "title": "drorch sandbox scenario resource",
        "description": "One resource (with what it needs) seeded into a staging account",
        "type": "object",
        "required": list(COMMON_REQUIRED),
        "properties": {**COMMON_PROPERTIES, "type": {"enum": sorted(SEEDERS)}},
        "allOf": [
            {
                "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                "then": seeder.entry_schema(),
            }
            for name, seeder in sorted(SEEDERS.items())
        ],
    }


def seed_resource(
    ctx: SeedContext, spec: Mapping[str, Any], where: str = "$"
) -> list[SeededResource]:
    """Validate one entry and create its resources in ``ctx``'s account and region.

    Raises :class:`drorch.errors.InputError` naming the JSON path (``where`` is the
    entry's own path, e.g. ``$.resources[3]``) when the entry is invalid; then nothing
    is created.
    """
    kind = spec.get("type") if isinstance(spec, Mapping) else None
    seeder = SEEDERS.get(kind) if isinstance(kind, str) else None
    if seeder is None:
        validate(resource_schema(), spec, where)  # says what is wrong with the type
        raise AssertionError("an entry without a known type passed the resource schema")
    return seeder.seed(ctx, spec, where)


__all__ = [
    "GLOBAL_REGION",
    "SEEDERS",
    "SeedContext",
    "SeededResource",
    "Seeder",
    "resource_schema",
    "seed_resource",
]
