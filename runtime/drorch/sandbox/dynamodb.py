"""moto's DynamoDB Query and TransactWriteItems, made to cost what DynamoDB's do.

moto answers a Query on a table's key by sorting every item of the table and
comparing each one's partition key (and sizing each, for the 1 MB page), so in the
sandbox a query's cost grows with the whole table (every execution's history), where
DynamoDB reads the items its key condition selects. :func:`install` makes such a
query start from the items of its partition that match the sort key condition, in
the same order, found by bisection in the partition's sort keys (kept sorted as items
come and go: a query costs what it selects, not the partition's size); what moto then
does with them (the condition again, filter, limit,
pages, consumed capacity) is unchanged. Queries on an index, and scans, are as moto has them.

moto's TransactWriteItems backs up every table a transaction names, whole, with
``copy.deepcopy``, to put it back if the transaction is cancelled: each transaction
costs the size of the table, and every copy stays in memory for good (moto keeps a
reference to each model object it ever creates; see :mod:`drorch.sandbox.moto_memory`).
:func:`install` makes the backup the items the transaction names and nothing else:
on a cancelled transaction those items, and the table's stream, are put back as they
were, which is all a whole-table copy would have restored.
"""

from __future__ import annotations

import bisect
import copy
import threading
from typing import Any

_local = threading.local()  # the (table, partition key) the current thread's query reads
_lock = threading.Lock()
_installed = False
INDEX_NAME_POSITION = 8  # Table.query(self, hash_key, ..., projection_expressions, index_name)


def install() -> None:
    global _installed
    from moto.dynamodb.models.table import Table

    with _lock:
        if _installed:
            return
        every_item = Table.all_items
        query = Table.query

        def all_items(self: Any) -> list[Any]:
            partition = getattr(_local, "partition", None)
            if partition is None or partition[0] is not self:
                return every_item(self)
            found = self.items.get(partition[1])  # (a defaultdict: get adds nothing)
            if not found:
                return []
            keys = _sorted_keys(self, partition[1], found)
            return [found[key] for key in _matching(keys, partition[2], partition[3])]

        def query_one_partition(self: Any, *args: Any, **kwargs: Any) -> Any:
            index_name = kwargs.get("index_name")
            if index_name is None and len(args) >= INDEX_NAME_POSITION:
                index_name = args[INDEX_NAME_POSITION - 1]
            hash_key = args[0] if args else kwargs.get("hash_key")
            if index_name or hash_key is None or not self.range_key_attr:
                return query(self, *args, **kwargs)
            comparison = args[1] if len(args) > 1 else kwargs.get("range_comparison")
            values = args[2] if len(args) > 2 else kwargs.get("range_objs")
            if kwargs.get("range_key_conditions") and len(kwargs["range_key_conditions"]) > 1:
                comparison = None  # several sort key attributes: left to moto
            _local.partition = (self, hash_key, comparison, values)
            try:
                return query(self, *args, **kwargs)
            finally:
                _local.partition = None

        Table.all_items = all_items  # type: ignore[method-assign]
        Table.query = query_one_partition  # type: ignore[method-assign]
        _keep_keys_sorted(Table)
        _install_item_backups()
        _installed = True


# --- a partition's sort keys, kept in order ----------------------------------------------
# DynamoDB reads a key range of a partition from its index; moto compares every item of
# the partition. Each queried partition keeps its sort keys sorted (on the table object,
# by partition key): a put of a new key inserts it, a delete removes it, and a query
# finds its range by bisection. A partition whose dict was replaced, or whose size
# no longer matches, is sorted again.
_SORTED = "_drorch_sorted_keys"


def _sorted_keys(table: Any, partition: Any, rows: dict[Any, Any]) -> list[Any]:
    index = table.__dict__.setdefault(_SORTED, {})
    entry = index.get(partition)
    if entry is None or entry[0] is not rows or len(entry[1]) != len(rows):
        entry = (rows, sorted(rows))
        index[partition] = entry
    return entry[1]


def _matching(keys: list[Any], comparison: str | None, values: Any) -> list[Any]:
    """The sort keys, in order, that the key condition on the sort key selects."""
    if not comparison:
        return list(keys)
    kind = comparison.upper()
    if kind == "BEGINS_WITH" and values and isinstance(values[0].cast_value, str):
        prefix = values[0].cast_value
        start = bisect.bisect_left(keys, values[0])
        end = start
        while end < len(keys) and keys[end].cast_value.startswith(prefix):
            end += 1
        return keys[start:end]
    if kind == "BETWEEN" and len(values) == 2:
        return keys[bisect.bisect_left(keys, values[0]) : bisect.bisect_right(keys, values[1])]
    return [key for key in keys if key.compare(comparison, values)]


def _keep_keys_sorted(table_class: Any) -> None:
    put, delete = table_class.put_item, table_class.delete_item

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = put(self, *args, **kwargs)
        entry = self.__dict__.get(_SORTED, {}).get(item.hash_key)
        if entry is not None and item.range_key is not None:
            keys = entry[1]
            at = bisect.bisect_left(keys, item.range_key)
            if at == len(keys) or keys[at] != item.range_key:
                keys.insert(at, item.range_key)
        return item

    def delete_item(self: Any, hash_key: Any, range_key: Any = None) -> Any:
        item = delete(self, hash_key, range_key)
        entry = self.__dict__.get(_SORTED, {}).get(hash_key)
        if entry is not None and item is not None and range_key is not None:
            keys = entry[1]
            at = bisect.bisect_left(keys, range_key)
            if at < len(keys) and keys[at] == range_key:
                del keys[at]
        return item

    table_class.put_item = put_item
    table_class.delete_item = delete_item


class _TableCopies:
    """Stands in for the ``copy`` module inside ``moto.dynamodb.models``: during a
    transaction a deep copy of a table is the table itself (the items the transaction
    touches are backed up by :func:`_install_item_backups`); any other copy is a copy."""

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        if isinstance(value, Table) and getattr(_local, "transaction", False):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _install_item_backups() -> None:
    import moto.dynamodb.models as backend_module
    from moto.dynamodb.models import DynamoDBBackend

    backend_module.copy = _TableCopies()  # type: ignore[assignment]
    transact = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups = _back_up(self, transact_items)
        _local.transaction = True
        try:
            transact(self, transact_items)
        except BaseException:
            _restore(backups)
            raise
        finally:
            _local.transaction = False

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _back_up(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """(table, partition key, sort key, a copy of the item or None, stream length) for
    each item the transaction names; what cannot be read is left to moto to refuse."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    backups = []
    for entry in transact_items[:101]:  # moto refuses more than 100
        try:
            operation = next(iter(entry.values()))
            table = backend.tables.get(operation.get("TableName"))
            if table is None:
                continue
            key = operation.get("Key") or operation.get("Item") or {}
            partition = DynamoType(key[table.hash_key_attr])
            sort = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            item = table.get_item(partition, sort)
        except Exception:  # noqa: BLE001, S112 - malformed: moto answers with the error
            continue
        shard = table.stream_shard
        backups.append(
            (
                table,
                partition,
                sort,
                copy.deepcopy(item),
                len(shard.items) if shard is not None else None,
            )
        )
    return backups


def _restore(backups: list[tuple[Any, ...]]) -> None:
    for table, partition, sort, item, stream_length in reversed(backups):
        table.__dict__.get(_SORTED, {}).pop(partition, None)  # sorted again when next read
        if sort is None:
            if item is None:
                table.items.pop(partition, None)
            else:
                table.items[partition] = item
        else:
            rows = table.items[partition]
            if item is None:
                rows.pop(sort, None)
                if not rows:
                    table.items.pop(partition, None)
            else:
                rows[sort] = item
        if stream_length is not None and table.stream_shard is not None:
            del table.stream_shard.items[stream_length:]
