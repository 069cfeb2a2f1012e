"""RDS instances in the sandbox: moto answers at once; RDS takes minutes.

moto 5.2 creates, restores and promotes DB instances instantly, reboots nothing, and
publishes no CloudWatch metrics for RDS. This extension puts that work on the sandbox's
simulated clock and answers with moto's own wire shapes (the query/XML protocol, checked
against the botocore model by the interceptor):

* ``CreateDBInstance``: ``creating`` for :attr:`RdsTimings.instance_create_seconds`
  (:attr:`~RdsTimings.cluster_instance_create_seconds` for an Aurora cluster member);
  a Multi-AZ instance gets its ``SecondaryAvailabilityZone``;
* ``CreateDBInstanceReadReplica``: ``creating`` for
  :attr:`~RdsTimings.replica_create_seconds` (cross-region:
  :attr:`~RdsTimings.cross_region_replica_create_seconds`), in its own region's
  Availability Zone, with its own tags (moto shares the source's);
* ``RestoreDBInstanceToPointInTime`` / ``RestoreDBInstanceFromDBSnapshot``: a standalone
  copy (moto copies the source's read-replica link and deletion protection), ``creating``
  for :attr:`~RdsTimings.restore_instance_seconds`;
* ``PromoteReadReplica``: the replica must be ``available``; it is ``modifying``, then
  ``rebooting``, and a standalone instance after
  :attr:`~RdsTimings.promote_seconds` (moto promotes at once);
* ``RebootDBInstance``: ``rebooting`` for :attr:`~RdsTimings.reboot_seconds`; with
  ``ForceFailover`` (Multi-AZ only, else ``InvalidParameterCombination``) for
  :attr:`~RdsTimings.reboot_failover_seconds`, after which the primary and secondary
  Availability Zones have swapped;
* CloudWatch ``AWS/RDS`` ``ReplicaLag`` (seconds, dimension ``DBInstanceIdentifier``) of
  every available read replica, a datapoint a minute over the last
  :attr:`~RdsTimings.metric_window_seconds`.

The same clock core (:func:`schedule`, :func:`settle`) drives the Aurora extension
(``drorch.modules.aurora_global.sandbox``): due transitions are applied before every RDS
request and every CloudWatch read, in the order they fall due, and when the sandbox's
timeline moves simulated time to the moment they fall due (a source of
:mod:`drorch.sandbox.timeline`, as DRS jobs are).

Events (:func:`send_event`): RDS sends its events to the default bus of the resource's
account and region (``source: aws.rds``, ``detail-type`` "RDS DB Instance Event" or
"RDS DB Cluster Event", the ``detail`` of AWS's samples: ``EventCategories``,
``SourceType``, ``SourceArn``, ``SourceIdentifier``, ``Date``, ``Message``, ``EventID``),
at the simulated moment the transition falls due. Here: a promotion ends with
RDS-EVENT-0006 "DB instance restarted" (AWS documents no event of its own for the end of
a promotion; the instance restarts as a standalone one); a reboot with RDS-EVENT-0006,
after a failover to the standby also RDS-EVENT-0049 "Multi-AZ instance failover
completed". ``faults.drop_events("aws.rds")`` loses them, as a best-effort delivery can.

Faults (``sandbox.faults``): ``fail_rds_failover(instance)`` makes a promotion end with
the instance still a read replica, or a reboot with failover come back in the same
Availability Zone; ``lag_rds_replication(replica, seconds)`` sets its ReplicaLag;
``slow_rds(factor)`` stretches every duration; throttling and access denied are the
generic wire faults.

A seeded estate is ready at once: the seeders call :func:`complete_pending` after they
create RDS resources. Not simulated: ``deleting`` (moto deletes at once), storage
autoscaling, maintenance, the events of other operations (creation, backups, restores).
"""

from __future__ import annotations

import copy
import heapq
import itertools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from moto.cloudwatch.models import MetricDatum
from moto.core.common_models import CloudWatchMetricProvider
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult

from drorch.sandbox import eventbridge, timeline
from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox


@dataclass
class RdsTimings:
    """How long RDS work takes, in simulated seconds."""

    instance_create_seconds: float = 600.0
    cluster_instance_create_seconds: float = 480.0
    restore_instance_seconds: float = 900.0
    replica_create_seconds: float = 900.0
    cross_region_replica_create_seconds: float = 1500.0
    promote_modifying_seconds: float = 180.0  # then rebooting
    promote_seconds: float = 300.0  # until a standalone instance
    reboot_seconds: float = 60.0
    reboot_failover_seconds: float = 120.0
    replica_lag_seconds: float = 2.0  # ReplicaLag of a healthy replica
    metric_window_seconds: float = 3600.0  # how far back the lag metrics go


TIMINGS = RdsTimings()


class RdsError(ServiceException):
    """An RDS error by its wire code (botocore reads ``Error.Code``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


# --- the clock core (shared with the Aurora extension) --------------------------------------


@dataclass(order=True)
class _Transition:
    due: datetime
    seq: int
    apply: Callable[[], None] = field(compare=False)


_LOCK = threading.RLock()
_TIMELINE: list[_Transition] = []
_SEQ = itertools.count()
_APPLYING: list[datetime] = []  # the due moment of the transition being applied


def now() -> datetime:
    return STATE.clock.now()


def moment() -> datetime:
    """When what is being applied happened: its due moment (a transition applied late,
    at a later request, still happened then), else now."""
    with _LOCK:
        return _APPLYING[-1] if _APPLYING else now()


def slowdown(account_id: str, region: str) -> float:
    return STATE.faults.rds_slowdown_for(account_id, region)


def schedule(seconds: float, apply: Callable[[], None]) -> datetime:
    """Apply ``apply`` once the simulated clock is ``seconds`` on (seen by the next request)."""
    due = now() + timedelta(seconds=max(0.0, seconds))
    with _LOCK:
        heapq.heappush(_TIMELINE, _Transition(due, next(_SEQ), apply))
    return due


def settle(until: datetime | None = None) -> None:
    """Apply every transition due by ``until`` (default: now), in the order they fall due."""
    limit = until or now()
    with _LOCK:
        while _TIMELINE and _TIMELINE[0].due <= limit:
            _apply(heapq.heappop(_TIMELINE))


def _apply(transition: _Transition) -> None:
    _APPLYING.append(transition.due)
    try:
        transition.apply()
    finally:
        _APPLYING.pop()


def complete_pending() -> None:
    """Apply every scheduled transition now (a seeded estate is ready at once)."""
    with _LOCK:
        while _TIMELINE:
            _apply(heapq.heappop(_TIMELINE))


def pending() -> int:
    with _LOCK:
        return len(_TIMELINE)


def next_due() -> datetime | None:
    """When the next transition falls due (None: nothing is scheduled). Read without the
    lock: the timeline asks while holding its own, and a transition being applied (under
    this lock) may send an event that takes the timeline's."""
    try:
        return _TIMELINE[0].due
    except IndexError:
        return None


# --- events -------------------------------------------------------------------------------
EVENT_SOURCE = "aws.rds"
DETAIL_TYPES = {"CLUSTER": "RDS DB Cluster Event", "DB_INSTANCE": "RDS DB Instance Event"}


def send_event(
    arn: str, source_type: str, event_id: str, categories: Iterable[str], message: str
) -> bool:
    """Send an RDS event about the cluster or instance ``arn`` to its account's default bus
    in its region, at :func:`moment`; False when a fault dropped it."""
    detail_type = DETAIL_TYPES[source_type]
    parts = arn.split(":")
    region, account, identifier = parts[3], parts[4], parts[-1]
    if STATE.faults.event_dropped_for(account, region, EVENT_SOURCE, detail_type):
        return False
    at = moment()
    event = eventbridge.service_event(
        source=EVENT_SOURCE,
        detail_type=detail_type,
        detail={
            "EventCategories": list(categories),
            "SourceType": source_type,
            "SourceArn": arn,
            "Date": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
            "Message": message,
            "SourceIdentifier": identifier,
            "EventID": event_id,
        },
        account=account,
        region=region,
        time=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        resources=[arn],
    )
    eventbridge.put_service_event(event)
    return True


def restarted(instance: Any) -> None:
    send_event(
        instance.db_instance_arn,
        "DB_INSTANCE",
        "RDS-EVENT-0006",
        ["availability"],
        "DB instance restarted",
    )


def _reset() -> None:
    with _LOCK:
        _TIMELINE.clear()


# metric producers: (account, region, now as naive UTC) -> datapoints
MetricProducer = Callable[[str, str, datetime], list[MetricDatum]]
_PRODUCERS: dict[str, MetricProducer] = {}


def add_metric_producer(name: str, producer: MetricProducer) -> None:
    _PRODUCERS[name] = producer


class RdsMetrics(CloudWatchMetricProvider):
    """What RDS publishes to CloudWatch, computed when CloudWatch is read (moto asks every
    ``CloudWatchMetricProvider`` subclass)."""

    @staticmethod
    def get_cloudwatch_metrics(account_id: str, region: str) -> list[MetricDatum]:
        if not _PRODUCERS:
            return []
        settle()
        moment = now().replace(tzinfo=None)
        found: list[MetricDatum] = []
        for producer in list(_PRODUCERS.values()):
            found.extend(producer(account_id, region, moment))
        return found


def minutely(
    namespace: str,
    name: str,
    value: float,
    dimensions: list[dict[str, str]],
    unit: str,
    moment: datetime,
) -> list[MetricDatum]:
    """A datapoint a minute over the metric window, ending at ``moment`` (naive UTC)."""
    count = max(1, int(TIMINGS.metric_window_seconds // 60))
    last = moment.replace(second=0, microsecond=0)
    return [
        MetricDatum(namespace, name, value, dimensions, last - timedelta(minutes=i), unit)
        for i in range(count)
    ]


def rds_backend(account_id: str, region: str, create: bool = False) -> Any:
    """moto's RDS backend of an account and region (None if it does not exist yet)."""
    from moto.rds.models import rds_backends

    if create:
        return rds_backends[account_id][region]
    account = dict.get(rds_backends, account_id)
    return dict.get(account, region) if account is not None else None


def arn_region(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if arn.startswith("arn:") and len(parts) > 5 else None


def lag_for(account_id: str, region: str, names: Iterable[str]) -> float | None:
    return STATE.faults.rds_replication_lag_for(account_id, region, tuple(n for n in names if n))


# --- DB instances -----------------------------------------------------------------------------
_ORIGINAL: dict[str, Callable[..., Any]] = {}


def _param(response: Any, name: str) -> Any:
    return response.params.get(name)


def _instance(response: Any, identifier: str) -> Any:
    backend = rds_backend(response.current_account, response.region, create=True)
    instance = backend.databases.get(identifier)
    if instance is None:
        raise RdsError("DBInstanceNotFound", f"DBInstance {identifier} not found.")
    return instance


def _available(instance: Any) -> Callable[[], None]:
    def apply() -> None:
        instance.status = "available"

    return apply


def _zones(instance: Any) -> None:
    """An instance's zones in its own region; a Multi-AZ one gets a secondary zone."""
    region = instance.region
    if not str(instance.availability_zone or "").startswith(region):
        instance.availability_zone = f"{region}a"
    if instance.multi_az:
        secondary = getattr(instance, "secondary_availability_zone", None)
        if not str(secondary or "").startswith(region) or secondary == instance.availability_zone:
            other = "b" if instance.availability_zone.endswith("a") else "a"
            instance.secondary_availability_zone = f"{region}{other}"
    else:
        instance.secondary_availability_zone = None


def _creating(response: Any, instance: Any, seconds: float) -> None:
    instance.status = "creating"
    _zones(instance)
    schedule(seconds * slowdown(response.current_account, response.region), _available(instance))


def create_db_instance(self: Any) -> ActionResult:
    result = _ORIGINAL["create_db_instance"](self)
    instance = _instance(self, _param(self, "DBInstanceIdentifier"))
    seconds = (
        TIMINGS.cluster_instance_create_seconds
        if instance.db_cluster_identifier
        else TIMINGS.instance_create_seconds
    )
    _creating(self, instance, seconds)
    return result


def create_db_instance_read_replica(self: Any) -> ActionResult:
    result = _ORIGINAL["create_db_instance_read_replica"](self)
    replica = _instance(self, _param(self, "DBInstanceIdentifier"))
    # moto makes the replica as a shallow copy of its source: give it lists of its own
    for name in ("tags", "vpc_security_group_ids", "db_security_groups"):
        if hasattr(replica, name):
            setattr(replica, name, copy.deepcopy(getattr(replica, name)))
    if not _param(self, "Tags"):
        replica.tags = []
    replica.multi_az = bool(_param(self, "MultiAZ"))
    source_region = arn_region(str(_param(self, "SourceDBInstanceIdentifier") or ""))
    cross = source_region not in (None, self.region)
    seconds = (
        TIMINGS.cross_region_replica_create_seconds if cross else TIMINGS.replica_create_seconds
    )
    _creating(self, replica, seconds)
    return result


def _standalone_copy(self: Any, identifier: str) -> None:
    """What moto copies from a restore's source that a restored instance does not keep."""
    restored = _instance(self, identifier)
    restored.is_replica = False
    restored.replicas = []
    restored.source_db_instance_identifier = None
    restored.deletion_protection = bool(_param(self, "DeletionProtection"))
    restored.multi_az = bool(_param(self, "MultiAZ"))
    restored.tags = copy.deepcopy(_param(self, "Tags") or [])
    restored.availability_zone = _param(self, "AvailabilityZone") or f"{self.region}a"
    _creating(self, restored, TIMINGS.restore_instance_seconds)


def restore_db_instance_to_point_in_time(self: Any) -> ActionResult:
    result = _ORIGINAL["restore_db_instance_to_point_in_time"](self)
    _standalone_copy(self, _param(self, "TargetDBInstanceIdentifier"))
    return result


def restore_db_instance_from_db_snapshot(self: Any) -> ActionResult:
    result = _ORIGINAL["restore_db_instance_from_db_snapshot"](self)
    _standalone_copy(self, _param(self, "DBInstanceIdentifier"))
    return result


def promote_read_replica(self: Any) -> ActionResult:
    identifier = _param(self, "DBInstanceIdentifier")
    instance = _instance(self, identifier)
    if not instance.is_replica:
        raise RdsError("InvalidDBInstanceState", f"DB Instance {identifier} is not a read replica.")
    if instance.status != "available":
        raise RdsError(
            "InvalidDBInstanceState",
            f"DB instance {identifier} is {instance.status}; it can be promoted when available.",
        )
    account, region = self.current_account, self.region
    failure = STATE.faults.rds_failover_failure_for(
        account, region, (identifier, instance.db_instance_arn)
    )
    retention = _param(self, "BackupRetentionPeriod")
    window = _param(self, "PreferredBackupWindow")
    factor = slowdown(account, region)
    backend = rds_backend(account, region, create=True)
    instance.status = "modifying"

    def rebooting() -> None:
        if instance.status == "modifying":
            instance.status = "rebooting"

    def finish() -> None:
        instance.status = "available"
        if failure is not None:
            restarted(instance)
            return  # the promotion did not happen: still a read replica
        source_id = instance.source_db_instance_identifier
        kwargs: dict[str, Any] = {"db_instance_identifier": identifier}
        if retention is not None:
            kwargs["backup_retention_period"] = int(retention)
        if window:
            kwargs["preferred_backup_window"] = window
        backend.promote_read_replica(kwargs)
        instance.source_db_instance_identifier = None
        try:
            source = backend.find_db_from_id(source_id) if source_id else None
        except ServiceException:
            source = None
        if source is not None:
            for name in (instance.db_instance_arn, identifier):
                if name in source.replicas:
                    source.replicas.remove(name)
        restarted(instance)

    schedule(TIMINGS.promote_modifying_seconds * factor, rebooting)
    schedule(TIMINGS.promote_seconds * factor, finish)
    return ActionResult({"DBInstance": instance})


def reboot_db_instance(self: Any) -> ActionResult:
    identifier = _param(self, "DBInstanceIdentifier")
    instance = _instance(self, identifier)
    failover = bool(_param(self, "ForceFailover"))
    if instance.status != "available":
        raise RdsError(
            "InvalidDBInstanceState",
            f"DB instance {identifier} is {instance.status}; it can be rebooted when available.",
        )
    if failover and not instance.multi_az:
        raise RdsError(
            "InvalidParameterCombination",
            f"Cannot reboot DB instance {identifier} with failover: it is not a Multi-AZ "
            "DB instance.",
        )
    account, region = self.current_account, self.region
    failure = (
        STATE.faults.rds_failover_failure_for(
            account, region, (identifier, instance.db_instance_arn)
        )
        if failover
        else None
    )
    _zones(instance)
    instance.status = "rebooting"

    def finish() -> None:
        instance.status = "available"
        if failover and failure is None:
            primary, secondary = instance.availability_zone, instance.secondary_availability_zone
            instance.availability_zone, instance.secondary_availability_zone = secondary, primary
            send_event(
                instance.db_instance_arn,
                "DB_INSTANCE",
                "RDS-EVENT-0049",
                ["failover"],
                "Multi-AZ instance failover completed.",
            )
        restarted(instance)

    seconds = TIMINGS.reboot_failover_seconds if failover else TIMINGS.reboot_seconds
    schedule(seconds * slowdown(account, region), finish)
    return ActionResult({"DBInstance": instance})


OPERATIONS: dict[str, Callable[[Any], ActionResult]] = {
    "CreateDBInstance": create_db_instance,
    "CreateDBInstanceReadReplica": create_db_instance_read_replica,
    "RestoreDBInstanceToPointInTime": restore_db_instance_to_point_in_time,
    "RestoreDBInstanceFromDBSnapshot": restore_db_instance_from_db_snapshot,
    "PromoteReadReplica": promote_read_replica,
    "RebootDBInstance": reboot_db_instance,
}


def replica_lag(account_id: str, region: str, moment: datetime) -> list[MetricDatum]:
    backend = rds_backend(account_id, region)
    if backend is None:
        return []
    found: list[MetricDatum] = []
    for identifier, instance in list(backend.databases.items()):
        if not getattr(instance, "is_replica", False) or instance.status != "available":
            continue
        seconds = lag_for(account_id, region, (identifier, instance.db_instance_arn))
        value = TIMINGS.replica_lag_seconds if seconds is None else seconds
        dimensions = [{"Name": "DBInstanceIdentifier", "Value": identifier}]
        found += minutely("AWS/RDS", "ReplicaLag", value, dimensions, "Seconds", moment)
    return found


_INSTALLED = False
_INSTALL_LOCK = threading.Lock()


def install_core() -> None:
    """Settle due transitions before every RDS request (once per process)."""
    global _INSTALLED
    with _INSTALL_LOCK:
        if _INSTALLED:
            return
        from moto.core.responses import BaseResponse
        from moto.rds.responses import RDSResponse

        original = RDSResponse.__dict__.get("call_action", BaseResponse.call_action)

        def call_action(self: Any) -> Any:
            settle()
            return original(self)

        RDSResponse.call_action = call_action  # type: ignore[method-assign]
        _INSTALLED = True


def install_operations(operations: dict[str, Callable[[Any], ActionResult]]) -> None:
    """Put ``operations`` on moto's RDS responses, keeping moto's own as ``_ORIGINAL``."""
    from moto.core.utils import camelcase_to_underscores
    from moto.rds.responses import RDSResponse

    for operation, method in operations.items():
        name = camelcase_to_underscores(operation)
        if name not in _ORIGINAL and hasattr(RDSResponse, name):
            _ORIGINAL[name] = getattr(RDSResponse, name)
        setattr(RDSResponse, name, method)


def install() -> None:
    install_core()
    install_operations(OPERATIONS)
    add_metric_producer("ReplicaLag", replica_lag)


def start(sandbox: Sandbox) -> Callable[[], None]:
    _reset()
    timeline.add_source(next_due, settle)  # transitions fall due at simulated moments
    return _reset


EXTENSION = SandboxExtension(install=install, operations={"rds": tuple(OPERATIONS)}, start=start)
