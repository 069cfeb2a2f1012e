"""What moto does at a cost that grows with the sandbox's life: transactions that copy
whole tables, and a record of every model object ever made."""

from __future__ import annotations

import gc

import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table

from tests.tables import pk_sk


def _table(env, name="ledger", stream=False):
    client = env.sandbox.admin_session(env.account, "us-east-2").client("dynamodb")
    extra = (
        {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
        if stream
        else {}
    )
    client.create_table(TableName=name, **pk_sk(), **extra)
    return client


def _put(name, sk, value, condition=None):
    put = {"TableName": name, "Item": {"pk": {"S": "p"}, "sk": {"S": sk}, "v": {"N": str(value)}}}
    if condition:
        put["ConditionExpression"] = condition
    return {"Put": put}


def test_a_cancelled_transaction_changes_nothing(env):
    client = _table(env, stream=True)
    client.put_item(TableName="ledger", Item={"pk": {"S": "p"}, "sk": {"S": "a"}, "v": {"N": "1"}})
    client.put_item(TableName="ledger", Item={"pk": {"S": "p"}, "sk": {"S": "c"}, "v": {"N": "3"}})
    table = next(
        t for t in gc.get_objects() if type(t) is Table and t.name == "ledger"
    )  # the live table: a rollback must not replace it
    stream_before = len(table.stream_shard.items)
    with pytest.raises(ClientError) as refused:
        client.transact_write_items(
            TransactItems=[
                _put("ledger", "a", 10),  # an overwrite
                _put("ledger", "b", 20),  # a new item
                {
                    "Update": {
                        "TableName": "ledger",
                        "Key": {"pk": {"S": "p"}, "sk": {"S": "c"}},
                        "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"N": "30"}},
                    }
                },
                _put("ledger", "d", 40, condition="attribute_exists(pk)"),  # fails
            ]
        )
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in refused.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    items = client.query(
        TableName="ledger",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
    )["Items"]
    assert [(i["sk"]["S"], i["v"]["N"]) for i in items] == [("a", "1"), ("c", "3")]
    assert len(table.stream_shard.items) == stream_before  # no record of what did not happen
    assert env.sandbox.state is not None
    from moto.dynamodb.models import dynamodb_backends

    assert dynamodb_backends[env.account]["us-east-2"].tables["ledger"] is table


def test_a_transaction_that_succeeds_writes_everything(env):
    client = _table(env)
    client.transact_write_items(TransactItems=[_put("ledger", "a", 1), _put("ledger", "b", 2)])
    items = client.scan(TableName="ledger")["Items"]
    assert sorted((i["sk"]["S"], i["v"]["N"]) for i in items) == [("a", "1"), ("b", "2")]


def test_the_same_item_twice_is_refused_and_nothing_written(env):
    client = _table(env)
    with pytest.raises(ClientError) as refused:
        client.transact_write_items(TransactItems=[_put("ledger", "a", 1), _put("ledger", "a", 2)])
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert client.scan(TableName="ledger")["Items"] == []


def test_transactions_and_updates_leave_no_copies_behind(env):
    client = _table(env)
    for n in range(50):
        client.put_item(
            TableName="ledger", Item={"pk": {"S": "p"}, "sk": {"S": f"{n:03d}"}, "v": {"N": "0"}}
        )
    gc.collect()
    tables = sum(type(t) is Table for t in gc.get_objects())
    items = len(Item.instances_tracked)
    for n in range(40):
        client.transact_write_items(TransactItems=[_put("ledger", f"{n:03d}", n)])
        client.update_item(
            TableName="ledger",
            Key={"pk": {"S": "p"}, "sk": {"S": f"{n:03d}"}},
            UpdateExpression="SET v = :v",
            ExpressionAttributeValues={":v": {"N": str(n + 1)}},
        )
    gc.collect()
    # before: each transaction copied the table (40 more tables, 2,000 more items) and
    # every update copied its item, all kept for good by moto's record of its objects
    assert sum(type(t) is Table for t in gc.get_objects()) == tables
    assert len(Item.instances_tracked) <= items + 5


def _keys(client, condition, values):
    pages = client.get_paginator("query").paginate(
        TableName="ledger",
        KeyConditionExpression=condition,
        ExpressionAttributeValues=values,
        PaginationConfig={"PageSize": 7},
    )
    return [item["sk"]["S"] for page in pages for item in page["Items"]]


def test_key_ranges_follow_puts_deletes_and_cancelled_transactions(env):
    client = _table(env)
    keys = [f"{kind}#{n:03d}" for kind in ("CHG", "MOD", "RES") for n in range(0, 40, 3)]
    for sk in reversed(keys):
        client.put_item(TableName="ledger", Item={"pk": {"S": "p"}, "sk": {"S": sk}})
    p = {":p": {"S": "p"}}
    assert _keys(client, "pk = :p", p) == sorted(keys)
    assert _keys(client, "pk = :p AND begins_with(sk, :s)", {**p, ":s": {"S": "MOD#"}}) == [
        k for k in sorted(keys) if k.startswith("MOD#")
    ]
    # the partition's keys change after it was read: new ones, deleted ones
    client.put_item(TableName="ledger", Item={"pk": {"S": "p"}, "sk": {"S": "MOD#001"}})
    client.delete_item(TableName="ledger", Key={"pk": {"S": "p"}, "sk": {"S": "MOD#003"}})
    client.delete_item(TableName="ledger", Key={"pk": {"S": "p"}, "sk": {"S": "MOD#404"}})
    keys = sorted((set(keys) | {"MOD#001"}) - {"MOD#003"})
    assert _keys(client, "pk = :p AND begins_with(sk, :s)", {**p, ":s": {"S": "MOD#"}}) == [
        k for k in keys if k.startswith("MOD#")
    ]
    between = {**p, ":a": {"S": "CHG#010"}, ":b": {"S": "MOD#006"}}
    assert _keys(client, "pk = :p AND sk BETWEEN :a AND :b", between) == [
        k for k in keys if "CHG#010" <= k <= "MOD#006"
    ]
    assert _keys(client, "pk = :p AND sk > :a", {**p, ":a": {"S": "RES#030"}}) == [
        "RES#033",
        "RES#036",
        "RES#039",
    ]
    # a cancelled transaction that added one key and deleted another in the partition
    with pytest.raises(ClientError):
        client.transact_write_items(
            TransactItems=[
                _put("ledger", "MOD#002", 1),
                {
                    "Delete": {
                        "TableName": "ledger",
                        "Key": {"pk": {"S": "p"}, "sk": {"S": "MOD#006"}},
                    }
                },
                _put("ledger", "MOD#999", 1, condition="attribute_exists(pk)"),
            ]
        )
    assert _keys(client, "pk = :p AND begins_with(sk, :s)", {**p, ":s": {"S": "MOD#"}}) == [
        k for k in keys if k.startswith("MOD#")
    ]
