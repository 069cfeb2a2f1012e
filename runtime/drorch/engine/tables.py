"""The hub's DynamoDB tables: keys, indexes and TTL, defined once.

The Pulumi hub stack (``stacks/hub.py``) and the sandbox (the same program under ``drorch.sandbox.pulumi_deploy``)
both create the tables from these definitions, so the keys the engine reads and
writes (:mod:`drorch.engine.history`, :mod:`drorch.engine.lock`, Powertools
idempotency) are the keys that exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from drorch import names

STRING = "S"


@dataclass(frozen=True)
class Index:
    """A global secondary index (projection ALL)."""

    name: str
    hash_key: str
    range_key: str | None = None


@dataclass(frozen=True)
class Table:
    name: str
    hash_key: str
    range_key: str | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None
    # every key attribute (table and indexes) is a string
    attribute_types: dict[str, str] = field(default_factory=dict)

    @property
    def attributes(self) -> list[tuple[str, str]]:
        """(name, type) of every key attribute of the table and its indexes, in order."""
        seen: dict[str, str] = {}
        keys = [self.hash_key, self.range_key]
        for index in self.indexes:
            keys += [index.hash_key, index.range_key]
        for key in keys:
            if key and key not in seen:
                seen[key] = self.attribute_types.get(key, STRING)
        return list(seen.items())


HISTORY = Table(
    name=names.HISTORY_TABLE,
    hash_key="pk",
    range_key="sk",
    indexes=(
        Index("by-status", "status", "startedAt"),
        Index("by-application", "application", "startedAt"),
    ),
    ttl_attribute="expiresAt",
)
LOCKS = Table(name=names.LOCK_TABLE, hash_key="application")
IDEMPOTENCY = Table(name=names.IDEMPOTENCY_TABLE, hash_key="id", ttl_attribute="expiration")

TABLES: tuple[Table, ...] = (HISTORY, LOCKS, IDEMPOTENCY)


def create_table_kwargs(table: Table, kms_key_id: str | None = None) -> dict[str, Any]:
    """boto3 ``dynamodb.create_table`` arguments (on-demand, SSE-KMS)."""
    key_schema = [{"AttributeName": table.hash_key, "KeyType": "HASH"}]
    if table.range_key:
        key_schema.append({"AttributeName": table.range_key, "KeyType": "RANGE"})
    sse: dict[str, Any] = {"Enabled": True, "SSEType": "KMS"}
    if kms_key_id:
        sse["KMSMasterKeyId"] = kms_key_id
    kwargs: dict[str, Any] = {
        "TableName": table.name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind} for name, kind in table.attributes
        ],
        "KeySchema": key_schema,
        "SSESpecification": sse,
    }
    if table.indexes:
        kwargs["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [{"AttributeName": index.hash_key, "KeyType": "HASH"}]
                + (
                    [{"AttributeName": index.range_key, "KeyType": "RANGE"}]
                    if index.range_key
                    else []
                ),
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in table.indexes
        ]
    return kwargs


def ttl_kwargs(table: Table) -> dict[str, Any] | None:
    """boto3 ``dynamodb.update_time_to_live`` arguments, or None for a table without TTL."""
    if not table.ttl_attribute:
        return None
    return {
        "TableName": table.name,
        "TimeToLiveSpecification": {"Enabled": True, "AttributeName": table.ttl_attribute},
    }


def create_tables(dynamodb: Any, kms_key_id: str | None = None) -> Iterator[str]:
    """Create every table with a boto3 DynamoDB client; yields the names created."""
    for table in TABLES:
        dynamodb.create_table(**create_table_kwargs(table, kms_key_id))
        ttl = ttl_kwargs(table)
        if ttl:
            dynamodb.update_time_to_live(**ttl)
        yield table.name
