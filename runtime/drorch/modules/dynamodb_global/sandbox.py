"""DynamoDB global tables in the sandbox: moto 5.2 has tables, but no replicas (global
tables version 2019.11.21), no table status other than ACTIVE and instant restores.

This extension adds to moto's own DynamoDB service (JSON 1.0, real wire shapes, checked
against the botocore model by the interceptor):

* ``UpdateTable`` with ``ReplicaUpdates`` ``Create``: the table must be ``ACTIVE``, the
  region must hold no replica yet; the replica (same keys, indexes, billing, stream and
  the items there are now) is ``CREATING`` for
  :attr:`GlobalTableTimings.replica_seconds`, the table ``UPDATING`` meanwhile. Other
  replica updates (``Update``, ``Delete``), or replica updates mixed with other
  changes, are refused with ``ValidationException``.
* ``DescribeTable`` (and every answer that describes a table) of a replica:
  ``GlobalTableVersion`` ``2019.11.21`` and ``Replicas``: the table's replicas in the
  other regions with their ``ReplicaStatus`` (and ``ReplicaStatusPercentProgress``
  while ``CREATING``).
* ``RestoreTableToPointInTime``: refused with ``PointInTimeRecoveryUnavailableException``
  unless point-in-time recovery is on for the source, and with
  ``InvalidRestoreTimeException`` for a ``RestoreDateTime`` after now; the new table
  (a plain table, never a replica) is ``CREATING`` with ``RestoreInProgress`` for
  :attr:`GlobalTableTimings.restore_seconds`.
* ``DeleteTable`` answers ``DELETING``; a deleted replica leaves its global table.

Replication latency: each replica's region publishes CloudWatch ``AWS/DynamoDB``
``ReplicationLatency`` (milliseconds, dimensions ``TableName`` and ``ReceivingRegion``)
once a minute for every other ``ACTIVE`` replica, :attr:`GlobalTableTimings.latency_ms`
unless ``sandbox.faults.lag_global_replication("dynamodb", table, seconds,
region=<receiving region>)``.

Not simulated: writes made after a replica was created do not reach it (items are copied
once, when it is created); multi-Region strong consistency; global tables version
2017.11.29 (``CreateGlobalTable``); replica auto scaling and per-replica throughput.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult

from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox

VERSION = "2019.11.21"
LATENCY_METRIC = ("AWS/DynamoDB", "ReplicationLatency")
METRIC_HISTORY = timedelta(hours=3)
PREFIX = "com.amazonaws.dynamodb.v20120810#"


@dataclass
class GlobalTableTimings:
    """How long global-table work takes, in simulated seconds."""

    replica_seconds: float = 600.0  # a new replica is created and filled
    restore_seconds: float = 900.0  # RestoreTableToPointInTime
    latency_ms: float = 450.0  # ReplicationLatency when healthy


TIMINGS = GlobalTableTimings()


def _error(code: str, message: str) -> JsonRESTError:
    return JsonRESTError(PREFIX + code, message)


@dataclass
class GlobalTable:
    account_id: str
    name: str
    replicas: dict[str, datetime] = field(default_factory=dict)  # region -> ACTIVE from


_LOCK = threading.RLock()
_TABLES: dict[tuple[str, str], GlobalTable] = {}  # (account, table) -> global table
_RESTORES: dict[tuple[str, str, str], datetime] = {}  # (account, region, table) -> ready
_DELETING: set[tuple[str, str, str]] = set()
_PUBLISHED: dict[tuple[str, str, str, str], datetime] = {}  # metric series -> last point


def _now() -> datetime:
    return STATE.clock.now()


def _backend(account_id: str, region: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[account_id][region]


def global_table(account_id: str, region: str, name: str) -> GlobalTable | None:
    found = _TABLES.get((account_id, name))
    return found if found is not None and region in found.replicas else None


# --- what a table looks like ------------------------------------------------------------------
_ORIGINAL: dict[str, Callable[..., Any]] = {}


def describe(self: Any, base_key: str = "TableDescription") -> dict[str, Any]:
    """moto's Table.describe with the status, replicas and restore progress of the sandbox."""
    result = _ORIGINAL["describe"](self, base_key)
    body = result[base_key]
    throughput = body.get("ProvisionedThroughput")
    if throughput and throughput.get("NumberOfDecreasesToday") == 0:
        # AWS answers 0 but its model's minimum is 1: the checked answers leave it out
        body["ProvisionedThroughput"] = {
            k: v for k, v in throughput.items() if k != "NumberOfDecreasesToday"
        }
    key = (self.account_id, self.region_name, self.name)
    now = _now()
    with _LOCK:
        if key in _DELETING:
            body["TableStatus"] = "DELETING"
            return result
        ready = _RESTORES.get(key)
        if ready is not None and now < ready:
            body["TableStatus"] = "CREATING"
            if "RestoreSummary" in body:
                body["RestoreSummary"] = {**body["RestoreSummary"], "RestoreInProgress": True}
        table = global_table(self.account_id, self.region_name, self.name)
        if table is None:
            return result
        mine = table.replicas[self.region_name]
        if now < mine:
            body["TableStatus"] = "CREATING"
        elif any(now < ready for ready in table.replicas.values()):
            body["TableStatus"] = "UPDATING"
        body["GlobalTableVersion"] = VERSION
        body["Replicas"] = [
            _replica(region, ready, now)
            for region, ready in sorted(table.replicas.items())
            if region != self.region_name
        ]
    return result


def _replica(region: str, ready: datetime, now: datetime) -> dict[str, Any]:
    if now >= ready:
        return {"RegionName": region, "ReplicaStatus": "ACTIVE"}
    left = (ready - now).total_seconds()
    done = max(0, min(99, int(100 * (1 - left / TIMINGS.replica_seconds))))
    return {
        "RegionName": region,
        "ReplicaStatus": "CREATING",
        "ReplicaStatusPercentProgress": str(done),
    }


# --- the wire: methods wrapped on moto's DynamoDB responses ---------------------------------
def update_table(self: Any) -> Any:
    updates = self.body.get("ReplicaUpdates")
    if not updates:
        return _ORIGINAL["update_table"](self)
    others = sorted(
        k for k in self.body if k not in ("TableName", "ReplicaUpdates", "AttributeDefinitions")
    )
    if others:
        raise _error(
            "ValidationException",
            f"ReplicaUpdates cannot be combined with other updates ({', '.join(others)}).",
        )
    account_id, region, name = self.current_account, self.region, self.body["TableName"]
    with _LOCK:
        source = _backend(account_id, region).get_table(name)
        now = _now()
        table = _TABLES.get((account_id, name)) or GlobalTable(account_id, name, {region: now})
        if now < table.replicas.get(region, now) or any(now < r for r in table.replicas.values()):
            raise _error("ResourceInUseException", f"Table {name} is being updated.")
        for update in updates:
            if set(update) != {"Create"}:
                raise _error(
                    "ValidationException",
                    "The sandbox simulates only ReplicaUpdates Create (not Update or Delete).",
                )
            target = update["Create"]["RegionName"]
            if target in table.replicas:
                raise _error(
                    "ValidationException",
                    f"Failed to create a the new replica of table with name: '{name}' because "
                    f"one or more replicas already existed as tables ({target}).",
                )
            replica = _backend(account_id, target).create_table(
                name,
                schema=copy.deepcopy(source.schema),
                throughput=copy.deepcopy(
                    source.throughput if source.billing_mode == "PROVISIONED" else None
                ),
                attr=copy.deepcopy(source.attr),
                global_indexes=[copy.deepcopy(i.describe()) for i in source.global_indexes],
                indexes=[copy.deepcopy(i.describe()) for i in source.indexes],
                streams={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
                billing_mode=source.billing_mode,
                sse_specification=copy.deepcopy(source.sse_specification),
                tags=[],
                deletion_protection_enabled=False,
                warm_throughput=None,
            )
            replica.items = copy.deepcopy(source.items)
            table.replicas[target] = now + timedelta(seconds=TIMINGS.replica_seconds)
        if not source.stream_specification or not source.stream_specification.get("StreamEnabled"):
            source.set_stream_specification(
                {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
            )
        _TABLES[(account_id, name)] = table
        return _result(source.describe())


def _result(described: dict[str, Any]) -> ActionResult:
    from moto.dynamodb.responses import DynamoResult

    return DynamoResult(described)


def restore_table_to_point_in_time(self: Any) -> Any:
    account_id, region = self.current_account, self.region
    source_name = self.body.get("SourceTableName")
    target = self.body.get("TargetTableName")
    with _LOCK:
        backend = _backend(account_id, region)
        source = backend.tables.get(source_name)
        if source is None:
            raise _error("TableNotFoundException", f"Table not found: {source_name}")
        pitr = source.continuous_backups["PointInTimeRecoveryDescription"]
        if pitr["PointInTimeRecoveryStatus"] != "ENABLED":
            raise _error(
                "PointInTimeRecoveryUnavailableException",
                f"Point in time recovery is not enabled for table '{source_name}'",
            )
        moment = self.body.get("RestoreDateTime")
        if moment is not None and not self.body.get("UseLatestRestorableTime"):
            when = (
                datetime.fromtimestamp(float(moment), UTC)
                if isinstance(moment, int | float | str)
                else moment
            )
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            if when > _now():
                raise _error(
                    "InvalidRestoreTimeException",
                    "RestoreDateTime is later than the latest restorable date time.",
                )
        _ORIGINAL["restore_table_to_point_in_time"](self)
        restored = backend.tables[target]
        # moto copies the keys and throughput only: the copy keeps the billing mode too
        restored.billing_mode = source.billing_mode
        restored.warm_throughput = copy.deepcopy(source.warm_throughput)
        _RESTORES[(account_id, region, target)] = _now() + timedelta(
            seconds=TIMINGS.restore_seconds
        )
        return _result(restored.describe())


def delete_table(self: Any) -> Any:
    account_id, region, name = self.current_account, self.region, self.body["TableName"]
    key = (account_id, region, name)
    with _LOCK:
        _DELETING.add(key)
        try:
            answer = _ORIGINAL["delete_table"](self)
        finally:
            _DELETING.discard(key)
        _RESTORES.pop(key, None)
        table = _TABLES.get((account_id, name))
        if table is not None:
            table.replicas.pop(region, None)
            if len(table.replicas) < 2:
                _TABLES.pop((account_id, name), None)
        return answer


# --- latency metrics --------------------------------------------------------------------------
def latency_ms(account_id: str, receiving_region: str, name: str) -> float:
    injected = STATE.faults.global_replication_lag_for(
        "dynamodb", account_id, receiving_region, (name,)
    )
    return injected * 1000.0 if injected is not None else TIMINGS.latency_ms


def publish_latency(account_id: str, region: str) -> None:
    """Put the ReplicationLatency datapoints due by now (sent from ``region``) into CloudWatch."""
    from moto.cloudwatch.models import cloudwatch_backends

    now = _now().replace(second=0, microsecond=0)
    with _LOCK:
        for table in list(_TABLES.values()):
            if table.account_id != account_id or region not in table.replicas:
                continue
            for receiving, ready in table.replicas.items():
                start = max(ready, table.replicas[region])
                if receiving == region or now < start:
                    continue
                series = (account_id, region, table.name, receiving)
                last = _PUBLISHED.get(series, max(start, now - METRIC_HISTORY))
                moment = (last + timedelta(minutes=1)).replace(second=0, microsecond=0)
                value = latency_ms(account_id, receiving, table.name)
                data = []
                while moment <= now:
                    data.append(
                        {
                            "MetricName": LATENCY_METRIC[1],
                            "Dimensions": [
                                {"Name": "TableName", "Value": table.name},
                                {"Name": "ReceivingRegion", "Value": receiving},
                            ],
                            # moto compares naive UTC datetimes
                            "Timestamp": moment.astimezone(UTC).replace(tzinfo=None),
                            "Value": value,
                            "Unit": "Milliseconds",
                        }
                    )
                    moment += timedelta(minutes=1)
                if data:
                    cloudwatch_backends[account_id][region].put_metric_data(LATENCY_METRIC[0], data)
                    _PUBLISHED[series] = moment - timedelta(minutes=1)


def as_if_long_ago(account_id: str, name: str) -> None:
    """Make a seeded global table's replicas look created an hour ago: ACTIVE, with an hour
    of latency metrics. Scenario seeds describe a steady state."""
    ago = _now() - timedelta(hours=1)
    with _LOCK:
        table = _TABLES.get((account_id, name))
        if table is not None:
            for region in table.replicas:
                table.replicas[region] = min(table.replicas[region], ago)


OPERATIONS = {
    "UpdateTable": update_table,
    "RestoreTableToPointInTime": restore_table_to_point_in_time,
    "DeleteTable": delete_table,
}


def install() -> None:
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.core.utils import camelcase_to_underscores
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    _ORIGINAL["describe"] = Table.describe
    Table.describe = describe  # type: ignore[method-assign]
    for operation, method in OPERATIONS.items():
        name = camelcase_to_underscores(operation)
        _ORIGINAL[name] = getattr(DynamoHandler, name)
        setattr(DynamoHandler, name, method)
    for name in ("get_metric_statistics", "get_metric_data"):
        previous = getattr(CloudWatchResponse, name)

        def publishing(self: Any, previous: Callable[[Any], Any] = previous) -> Any:
            publish_latency(self.current_account, self.region)
            return previous(self)

        setattr(CloudWatchResponse, name, publishing)


def _clear() -> None:
    with _LOCK:
        _TABLES.clear()
        _RESTORES.clear()
        _DELETING.clear()
        _PUBLISHED.clear()


def start(sandbox: Sandbox) -> Callable[[], None]:
    _clear()
    return _clear


EXTENSION = SandboxExtension(
    install=install,
    operations={"dynamodb": (*OPERATIONS, "DescribeTable")},
    start=start,
)
