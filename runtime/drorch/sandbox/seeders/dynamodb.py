"""DynamoDB global tables (version 2019.11.21): a table and its replicas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drorch.sandbox.seeders.base import (
    SeedContext,
    SeededResource,
    Seeder,
    Undo,
    exists,
    fail,
    identifier,
    tag_list,
)

_REGION = {"type": "string", "pattern": "^[a-z]{2}(-[a-z]+)+-[0-9]$"}
_KEY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "type": {"enum": ["S", "N", "B"], "default": "S"},
    },
}


class DynamoDbGlobalTable(Seeder):
    type = "dynamodb-global-table"
    description = (
        "A DynamoDB global table (version 2019.11.21): the table in the entry's region "
        "(on-demand unless readCapacity/writeCapacity are given) and a replica in each of "
        "replicaRegions, added with UpdateTable ReplicaUpdates through the dynamodb-global "
        "module's sandbox extension; point-in-time recovery is turned on in every replica. "
        "sampleItems puts that many items before the replicas are made. Seeded replicas are "
        "ACTIVE at once, as if created an hour ago."
    )
    name_schema = identifier(
        "a table name: 3-255 letters, digits, underscores, hyphens and dots",
        r"^[a-zA-Z0-9_.-]{3,255}$",
        255,
        3,
    )
    properties = {
        "partitionKey": {**_KEY, "default": {"name": "pk", "type": "S"}},
        "sortKey": _KEY,
        "readCapacity": {"type": "integer", "minimum": 1},
        "writeCapacity": {"type": "integer", "minimum": 1},
        "pointInTimeRecovery": {"type": "boolean", "default": True},
        "replicaRegions": {
            "type": "array",
            "items": _REGION,
            "uniqueItems": True,
            "minItems": 1,
            "maxItems": 10,
            "description": "regions of the other replicas (the entry's region holds the first)",
        },
        "sampleItems": {"type": "integer", "minimum": 0, "maximum": 1000, "default": 0},
    }
    required = ("replicaRegions",)
    constraints = {"dependentRequired": {"readCapacity": ["writeCapacity"]}}

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        regions = [ctx.region, *spec.get("replicaRegions", [])]
        if len(set(regions)) != len(regions):
            raise fail(f"{where}.replicaRegions", f"{ctx.region} already holds the table")
        for region in regions:
            if exists(
                ctx.client("dynamodb", region=region).describe_table,
                "ResourceNotFoundException",
                TableName=spec["name"],
            ):
                raise fail(f"{where}.name", f"table {spec['name']!r} already exists in {region}")

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        dynamodb = ctx.client("dynamodb")
        name = spec["name"]
        keys = [("HASH", spec.get("partitionKey", {"name": "pk"}))]
        if "sortKey" in spec:
            keys.append(("RANGE", spec["sortKey"]))
        kwargs: dict[str, Any] = {
            "TableName": name,
            "KeySchema": [{"AttributeName": k["name"], "KeyType": kind} for kind, k in keys],
            "AttributeDefinitions": [
                {"AttributeName": k["name"], "AttributeType": k.get("type", "S")} for _, k in keys
            ],
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            "Tags": tag_list(spec.get("tags", {})),
        }
        if "readCapacity" in spec:
            kwargs["BillingMode"] = "PROVISIONED"
            kwargs["ProvisionedThroughput"] = {
                "ReadCapacityUnits": spec["readCapacity"],
                "WriteCapacityUnits": spec["writeCapacity"],
            }
        else:
            kwargs["BillingMode"] = "PAY_PER_REQUEST"
        table = dynamodb.create_table(**kwargs)["TableDescription"]
        undo.push(f"table {name}", lambda: dynamodb.delete_table(TableName=name))
        for n in range(spec.get("sampleItems", 0)):
            item = {k["name"]: _value(k.get("type", "S"), n) for _, k in keys}
            dynamodb.put_item(TableName=name, Item={**item, "seeded": {"S": "true"}})
        seeded = [self.resource(ctx, name, table["TableArn"])]
        replicas = list(spec.get("replicaRegions", []))
        if replicas:
            dynamodb.update_table(
                TableName=name,
                ReplicaUpdates=[{"Create": {"RegionName": r}} for r in replicas],
            )
            from drorch.modules.dynamodb_global.sandbox import as_if_long_ago

            as_if_long_ago(ctx.account_id, name)
        for region in [ctx.region, *replicas]:
            client = ctx.client("dynamodb", region=region)
            if spec.get("pointInTimeRecovery", True):
                client.update_continuous_backups(
                    TableName=name,
                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
                )
            if region != ctx.region:
                arn = client.describe_table(TableName=name)["Table"]["TableArn"]
                if spec.get("tags"):
                    client.tag_resource(ResourceArn=arn, Tags=tag_list(spec["tags"]))
                undo.push(
                    f"replica {name} in {region}",
                    lambda client=client: client.delete_table(TableName=name),
                )
                seeded.append(self.resource(ctx, name, arn, "replica", region))
        return seeded


def _value(kind: str, n: int) -> dict[str, str]:
    if kind == "N":
        return {"N": str(n)}
    if kind == "B":
        return {"B": f"item-{n}"}
    return {"S": f"item-{n:04d}"}
