"""moto's DynamoDB Query, made to cost what DynamoDB's does.

moto answers a Query on a table's key by sorting every item of the table and
comparing each one's partition key (and sizing each, for the 1 MB page), so in the
sandbox a query's cost grows with the whole table (every execution's history), where
DynamoDB reads the items its key condition selects. :func:`install` makes such a
query start from the items of its partition that match the sort key condition, in
the same order; what moto then does with them (the condition again, filter, limit,
pages, consumed capacity) is unchanged. Queries on an index, and scans, are as moto has them.
"""

from __future__ import annotations

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
            items = found.values()
            comparison, values = partition[2], partition[3]
            if comparison:  # the key condition on the sort key, as moto applies it after
                items = [i for i in items if i.range_key.compare(comparison, values)]
            return sorted(items, key=lambda item: item.range_key)

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
        _installed = True
