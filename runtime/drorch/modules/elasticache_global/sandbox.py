"""ElastiCache global datastores in the sandbox: moto 5.2 has replication groups, but no
global replication groups, no ``IncreaseReplicaCount`` and no failover between regions.

This extension adds to moto's own ElastiCache service (query protocol, real wire shapes,
checked against the botocore model by the interceptor):

* ``CreateGlobalReplicationGroup``: the primary replication group must exist in the
  calling region and belong to no global datastore; the id is ``<prefix>-<suffix>``
  with a per-region prefix (``dsdfu`` in us-west-1, as AWS documents; a fixed
  five-letter prefix derived from the name elsewhere). ``creating`` for
  :attr:`GlobalTimings.create_seconds`, its primary ``associating`` meanwhile.
* ``CreateReplicationGroup`` with ``GlobalReplicationGroupId`` (moto's own, checked
  first): the datastore must exist and be ``available``, the region must hold no
  member yet, at most two secondaries; the new group inherits engine, version, node
  type, shards and encryption from the primary, and is ``creating`` (member
  ``associating``) for :attr:`GlobalTimings.add_secondary_seconds`.
* ``DescribeGlobalReplicationGroups`` (``ShowMemberInfo`` adds ``Members`` and
  ``GlobalNodeGroups``; a datastore is visible in its members' regions), ``Marker``
  pagination.
* ``FailoverGlobalReplicationGroup``: the named group must be an associated
  ``SECONDARY`` in ``PrimaryRegion`` and the datastore ``available`` (else
  ``InvalidGlobalReplicationGroupState``/``InvalidParameterValue``); the datastore is
  ``modifying`` for :attr:`GlobalTimings.failover_seconds`, then the named group is
  ``PRIMARY`` and every other member ``SECONDARY``.
* ``IncreaseReplicaCount`` (cluster mode disabled or enabled, ``NewReplicaCount``): the
  group is ``modifying`` for :attr:`GlobalTimings.add_replica_seconds`, then has the
  new replicas.

Replication lag: the secondary regions publish CloudWatch ``AWS/ElastiCache``
``GlobalDatastoreReplicationLag`` (seconds, dimension ``CacheClusterId`` of the
secondary's primary node) once a minute, :attr:`GlobalTimings.lag_seconds` unless
``sandbox.faults.lag_global_replication("elasticache", <datastore or group>, s)``.

Faults: ``sandbox.faults.fail_datastore_failover(datastore)`` lets the next failover be
accepted (``modifying``) and end with the roles unchanged, as a failed failover does.

Not simulated: cluster-mode resharding of a datastore, ``ModifyGlobalReplicationGroup``,
``DisassociateGlobalReplicationGroup``, ``DeleteGlobalReplicationGroup``, events.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult

from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox

LAG_METRIC = ("AWS/ElastiCache", "GlobalDatastoreReplicationLag")
MAX_SECONDARIES = 2
METRIC_HISTORY = timedelta(hours=3)  # how far back the first publication goes


@dataclass
class GlobalTimings:
    """How long global datastore work takes, in simulated seconds."""

    create_seconds: float = 300.0  # CreateGlobalReplicationGroup
    add_secondary_seconds: float = 900.0  # a secondary cluster joins and syncs
    failover_seconds: float = 90.0  # promote a secondary region
    add_replica_seconds: float = 480.0  # IncreaseReplicaCount
    lag_seconds: float = 0.8  # GlobalDatastoreReplicationLag when healthy


TIMINGS = GlobalTimings()


# --- errors (query protocol; codes as the ElastiCache model has them) ----------------------
class GlobalReplicationGroupNotFoundFault(ServiceException):
    code = "GlobalReplicationGroupNotFoundFault"


class InvalidGlobalReplicationGroupStateFault(ServiceException):
    code = "InvalidGlobalReplicationGroupState"


class GlobalReplicationGroupAlreadyExistsFault(ServiceException):
    code = "GlobalReplicationGroupAlreadyExistsFault"


class InvalidParameterValue(ServiceException):
    code = "InvalidParameterValue"


class ReplicationGroupNotFoundFault(ServiceException):
    code = "ReplicationGroupNotFoundFault"


class InvalidReplicationGroupStateFault(ServiceException):
    code = "InvalidReplicationGroupState"


class NoOperationFault(ServiceException):
    code = "NoOperationFault"


# --- the model ------------------------------------------------------------------------------
@dataclass
class Member:
    replication_group_id: str
    region: str
    role: str  # PRIMARY | SECONDARY
    ready_at: datetime  # "associating" before


@dataclass
class Failover:
    target_group: str
    target_region: str
    ends_at: datetime
    failure: str | None  # the fault's reason: the roles do not change


@dataclass
class GlobalDatastore:
    datastore_id: str
    account_id: str
    description: str
    ready_at: datetime
    members: list[Member] = field(default_factory=list)
    failover: Failover | None = None
    failures: list[str] = field(default_factory=list)  # reasons of failed failovers

    @property
    def arn(self) -> str:
        return f"arn:aws:elasticache::{self.account_id}:globalreplicationgroup:{self.datastore_id}"

    def status(self, now: datetime) -> str:
        if now < self.ready_at:
            return "creating"
        if self.failover is not None and now < self.failover.ends_at:
            return "modifying"
        return "available"

    def member(self, group: str, region: str) -> Member | None:
        return next(
            (m for m in self.members if m.replication_group_id == group and m.region == region),
            None,
        )

    def primary(self) -> Member | None:
        return next((m for m in self.members if m.role == "PRIMARY"), None)


_LOCK = threading.RLock()
_DATASTORES: dict[str, dict[str, GlobalDatastore]] = {}  # account -> id -> datastore
_RESIZES: dict[tuple[str, str, str], tuple[datetime, int]] = {}  # group -> (ends, replicas)
_PUBLISHED: dict[tuple[str, str, str], datetime] = {}  # metric series -> last datapoint


def _now() -> datetime:
    return STATE.clock.now()


def prefix(region: str) -> str:
    """The Global datastore id prefix of a region (AWS documents ``dsdfu`` for us-west-1)."""
    if region == "us-west-1":
        return "dsdfu"
    digest = hashlib.sha256(region.encode()).digest()
    return "".join(chr(ord("a") + b % 26) for b in digest[:5])


def _groups(account_id: str, region: str) -> dict[str, Any]:
    from moto.elasticache.models import elasticache_backends

    return elasticache_backends[account_id][region].replication_groups


def _group(account_id: str, region: str, group_id: str) -> Any:
    group = _groups(account_id, region).get(group_id)
    if group is None:
        raise ReplicationGroupNotFoundFault(f"ReplicationGroup {group_id} not found.")
    return group


def _datastores(account_id: str) -> dict[str, GlobalDatastore]:
    return _DATASTORES.setdefault(account_id, {})


def settle(account_id: str) -> None:
    """Apply what is due by now: members joined, failovers finished, replicas added."""
    now = _now()
    with _LOCK:
        for datastore in _datastores(account_id).values():
            for member in datastore.members:
                group = _groups(account_id, member.region).get(member.replication_group_id)
                if group is None:
                    continue
                group.global_replication_group_id = datastore.datastore_id
                group.global_replication_group_member_role = member.role
                if group.status == "creating" and now >= member.ready_at:
                    group.status = "available"
            failover = datastore.failover
            if failover is not None and now >= failover.ends_at:
                datastore.failover = None
                if failover.failure is not None:
                    datastore.failures.append(failover.failure)
                    continue
                for member in datastore.members:
                    promoted = (member.replication_group_id, member.region) == (
                        failover.target_group,
                        failover.target_region,
                    )
                    member.role = "PRIMARY" if promoted else "SECONDARY"
                    group = _groups(account_id, member.region).get(member.replication_group_id)
                    if group is not None:
                        group.global_replication_group_member_role = member.role
        for (account, region, group_id), (ends, replicas) in list(_RESIZES.items()):
            if account != account_id or now < ends:
                continue
            del _RESIZES[(account, region, group_id)]
            group = _groups(account, region).get(group_id)
            if group is not None:
                _set_replicas(group, replicas)
                group.status = "available"


def _replicas(group: Any) -> int:
    """Replicas per shard (of the first node group)."""
    return max(0, len(group.node_groups[0]["node_group_members"]) - 1) if group.node_groups else 0


def _set_replicas(group: Any, replicas: int) -> None:
    for node_group in group.node_groups:
        members = node_group["node_group_members"]
        template = members[-1]
        while len(members) - 1 < replicas:
            index = len(members) + 1
            if group.cluster_mode == "enabled":
                cluster_id = (
                    f"{group.replication_group_id}-{node_group['node_group_id']}-{index:03}"
                )
            else:
                cluster_id = f"{group.replication_group_id}-{index:03}"
            member = {
                key: value
                for key, value in template.items()
                if key in ("cache_node_id", "preferred_availability_zone")
            }
            member["cache_cluster_id"] = cluster_id
            if "read_endpoint" in template:
                domain = template["read_endpoint"]["address"].split(".", 1)[1]
                member["read_endpoint"] = {"address": f"{cluster_id}.{domain}", "port": group.port}
                member["current_role"] = "replica"
            members.append(member)
            group.member_clusters.append(cluster_id)


def _primary_node(group: Any) -> str:
    """The cache cluster id of the group's primary node (first shard)."""
    members = group.node_groups[0]["node_group_members"] if group.node_groups else []
    for member in members:
        if member.get("current_role") == "primary":
            return member["cache_cluster_id"]
    return members[0]["cache_cluster_id"] if members else group.replication_group_id


def _view(datastore: GlobalDatastore, now: datetime, members: bool = True) -> dict[str, Any]:
    primary = datastore.primary()
    source = (
        _groups(datastore.account_id, primary.region).get(primary.replication_group_id)
        if primary
        else None
    )
    view: dict[str, Any] = {
        "GlobalReplicationGroupId": datastore.datastore_id,
        "GlobalReplicationGroupDescription": datastore.description,
        "Status": datastore.status(now),
        "ClusterEnabled": bool(source is not None and source.cluster_mode == "enabled"),
        "ARN": datastore.arn,
    }
    if source is not None:
        view.update(
            CacheNodeType=source.cache_node_type,
            Engine=source.engine,
            EngineVersion=source.engine_version or "7.1",
            AuthTokenEnabled=bool(source.auth_token_enabled),
            TransitEncryptionEnabled=bool(source.transit_encryption_enabled),
            AtRestEncryptionEnabled=bool(source.at_rest_encryption_enabled),
        )
    if members:
        view["Members"] = [
            {
                "ReplicationGroupId": m.replication_group_id,
                "ReplicationGroupRegion": m.region,
                "Role": m.role,
                "AutomaticFailover": getattr(
                    _groups(datastore.account_id, m.region).get(m.replication_group_id),
                    "automatic_failover",
                    "disabled",
                ),
                "Status": "associated" if now >= m.ready_at else "associating",
            }
            for m in datastore.members
        ]
        if source is not None and source.cluster_mode == "enabled":
            view["GlobalNodeGroups"] = [
                {
                    "GlobalNodeGroupId": f"{datastore.datastore_id}-{ng['node_group_id']}",
                    "Slots": ng.get("slots", "0-16383"),
                }
                for ng in source.node_groups
            ]
    return view


def _find(account_id: str, region: str, datastore_id: str) -> GlobalDatastore:
    datastore = _datastores(account_id).get(datastore_id)
    if datastore is None or not any(m.region == region for m in datastore.members):
        raise GlobalReplicationGroupNotFoundFault(
            f"Global replication group {datastore_id} not found."
        )
    return datastore


# --- lag metrics ------------------------------------------------------------------------------
def lag_of(account_id: str, region: str, datastore: GlobalDatastore, group_id: str) -> float:
    injected = STATE.faults.global_replication_lag_for(
        "elasticache", account_id, region, (datastore.datastore_id, group_id)
    )
    return injected if injected is not None else TIMINGS.lag_seconds


def publish_lag(account_id: str, region: str) -> None:
    """Put the GlobalDatastoreReplicationLag datapoints due by now into moto's CloudWatch."""
    from moto.cloudwatch.models import cloudwatch_backends

    now = _now().replace(second=0, microsecond=0)
    with _LOCK:
        settle(account_id)
        for datastore in _datastores(account_id).values():
            for member in datastore.members:
                if member.region != region or member.role != "SECONDARY" or now < member.ready_at:
                    continue
                group = _groups(account_id, region).get(member.replication_group_id)
                if group is None:
                    continue
                node = _primary_node(group)
                series = (account_id, region, node)
                last = _PUBLISHED.get(series, max(member.ready_at, now - METRIC_HISTORY))
                moment = (last + timedelta(minutes=1)).replace(second=0, microsecond=0)
                value = lag_of(account_id, region, datastore, member.replication_group_id)
                data = []
                while moment <= now:
                    data.append(
                        {
                            "MetricName": LAG_METRIC[1],
                            "Dimensions": [{"Name": "CacheClusterId", "Value": node}],
                            # moto compares naive UTC datetimes
                            "Timestamp": moment.astimezone(UTC).replace(tzinfo=None),
                            "Value": value,
                            "Unit": "Seconds",
                        }
                    )
                    moment += timedelta(minutes=1)
                if data:
                    cloudwatch_backends[account_id][region].put_metric_data(LAG_METRIC[0], data)
                    _PUBLISHED[series] = moment - timedelta(minutes=1)


# --- the wire: methods added to moto's ElastiCache responses ----------------------------------
def _account_region(response: Any) -> tuple[str, str]:
    return response.current_account, response.region


def create_global_replication_group(self: Any) -> ActionResult:
    account_id, region = _account_region(self)
    suffix = self._get_param("GlobalReplicationGroupIdSuffix")
    primary_id = self._get_param("PrimaryReplicationGroupId")
    with _LOCK:
        settle(account_id)
        group = _group(account_id, region, primary_id)
        if getattr(group, "global_replication_group_id", ""):
            raise InvalidParameterValue(
                f"Replication group {primary_id} is already a member of global datastore "
                f"{group.global_replication_group_id}."
            )
        if group.status != "available":
            raise InvalidReplicationGroupStateFault(
                f"Replication group {primary_id} is not in available state."
            )
        datastore_id = f"{prefix(region)}-{suffix}"
        if datastore_id in _datastores(account_id):
            raise GlobalReplicationGroupAlreadyExistsFault(
                f"Global replication group {datastore_id} already exists."
            )
        now = _now()
        ready = now + timedelta(seconds=TIMINGS.create_seconds)
        datastore = GlobalDatastore(
            datastore_id=datastore_id,
            account_id=account_id,
            description=self._get_param("GlobalReplicationGroupDescription") or "",
            ready_at=ready,
            members=[Member(primary_id, region, "PRIMARY", ready)],
        )
        _datastores(account_id)[datastore_id] = datastore
        settle(account_id)
        return ActionResult({"GlobalReplicationGroup": _view(datastore, now)})


def describe_global_replication_groups(self: Any) -> ActionResult:
    account_id, region = _account_region(self)
    wanted = self._get_param("GlobalReplicationGroupId")
    show = self._get_bool_param("ShowMemberInfo") or False
    marker = self._get_param("Marker")
    size = int(self._get_param("MaxRecords") or 100)
    with _LOCK:
        settle(account_id)
        now = _now()
        if wanted:
            found = [_find(account_id, region, wanted)]
        else:
            found = sorted(
                (
                    d
                    for d in _datastores(account_id).values()
                    if any(m.region == region for m in d.members)
                ),
                key=lambda d: d.datastore_id,
            )
        start = int(marker) if marker and str(marker).isdigit() else 0
        chunk = found[start : start + size]
        result: dict[str, Any] = {
            "GlobalReplicationGroups": [_view(d, now, members=show) for d in chunk]
        }
        if start + size < len(found):
            result["Marker"] = str(start + size)
        return ActionResult(result)


def failover_global_replication_group(self: Any) -> ActionResult:
    account_id, region = _account_region(self)
    datastore_id = self._get_param("GlobalReplicationGroupId")
    target_region = self._get_param("PrimaryRegion")
    target_group = self._get_param("PrimaryReplicationGroupId")
    with _LOCK:
        settle(account_id)
        now = _now()
        datastore = _find(account_id, region, datastore_id)
        if datastore.status(now) != "available":
            raise InvalidGlobalReplicationGroupStateFault(
                f"Global replication group {datastore_id} is not in available state."
            )
        member = datastore.member(target_group, target_region)
        if member is None:
            raise InvalidParameterValue(
                f"Replication group {target_group} in {target_region} is not a member of "
                f"global replication group {datastore_id}."
            )
        if member.role == "PRIMARY":
            raise InvalidParameterValue(
                f"Replication group {target_group} is already the primary of {datastore_id}."
            )
        if now < member.ready_at:
            raise InvalidGlobalReplicationGroupStateFault(
                f"Replication group {target_group} is still associating with {datastore_id}."
            )
        fault = STATE.faults.datastore_failover_failure_for(account_id, region, datastore_id)
        datastore.failover = Failover(
            target_group=target_group,
            target_region=target_region,
            ends_at=now + timedelta(seconds=TIMINGS.failover_seconds),
            failure=fault.reason if fault is not None else None,
        )
        return ActionResult({"GlobalReplicationGroup": _view(datastore, now)})


def increase_replica_count(self: Any) -> ActionResult:
    account_id, region = _account_region(self)
    group_id = self._get_param("ReplicationGroupId")
    wanted = self._get_int_param("NewReplicaCount")
    with _LOCK:
        settle(account_id)
        group = _group(account_id, region, group_id)
        if wanted is None:
            raise InvalidParameterValue(
                "NewReplicaCount is required (ReplicaConfiguration is not simulated)."
            )
        if group.status != "available":
            raise InvalidReplicationGroupStateFault(
                f"Replication group {group_id} is not in available state ({group.status})."
            )
        if not 1 <= wanted <= 5:
            raise InvalidParameterValue("NewReplicaCount must be between 1 and 5.")
        if wanted <= _replicas(group):
            raise NoOperationFault(
                f"Replication group {group_id} already has {_replicas(group)} replicas."
            )
        group.status = "modifying"
        ends = _now() + timedelta(seconds=TIMINGS.add_replica_seconds)
        _RESIZES[(account_id, region, group_id)] = (ends, wanted)
        return ActionResult({"ReplicationGroup": group})


_ORIGINAL: dict[str, Callable[..., Any]] = {}


def create_replication_group(self: Any) -> Any:
    """moto's CreateReplicationGroup, plus joining a global datastore as a secondary."""
    account_id, region = _account_region(self)
    datastore_id = self._get_param("GlobalReplicationGroupId")
    if not datastore_id:
        return _ORIGINAL["create_replication_group"](self)
    with _LOCK:
        settle(account_id)
        now = _now()
        datastore = _datastores(account_id).get(datastore_id)
        if datastore is None:
            raise GlobalReplicationGroupNotFoundFault(
                f"Global replication group {datastore_id} not found."
            )
        if datastore.status(now) != "available":
            raise InvalidGlobalReplicationGroupStateFault(
                f"Global replication group {datastore_id} is not in available state."
            )
        if any(m.region == region for m in datastore.members):
            raise InvalidParameterValue(
                f"Global replication group {datastore_id} already has a member in {region}."
            )
        if sum(m.role == "SECONDARY" for m in datastore.members) >= MAX_SECONDARIES:
            raise InvalidParameterValue(
                f"Global replication group {datastore_id} already has {MAX_SECONDARIES} "
                "secondary clusters."
            )
        primary = datastore.primary()
        assert primary is not None
        source = _groups(account_id, primary.region)[primary.replication_group_id]
        answer = _ORIGINAL["create_replication_group"](self)
        group = _groups(account_id, region)[self._get_param("ReplicationGroupId")]
        # a secondary inherits what must match across the datastore
        group.engine = source.engine
        group.engine_version = source.engine_version
        group.cache_node_type = source.cache_node_type
        group.transit_encryption_enabled = source.transit_encryption_enabled
        group.at_rest_encryption_enabled = source.at_rest_encryption_enabled
        group.status = "creating"
        ready = now + timedelta(seconds=TIMINGS.add_secondary_seconds)
        datastore.members.append(Member(group.replication_group_id, region, "SECONDARY", ready))
        settle(account_id)
        return answer


def _settling(name: str) -> Callable[[Any], Any]:
    def method(self: Any) -> Any:
        settle(self.current_account)
        return _ORIGINAL[name](self)

    method.__name__ = name
    return method


OPERATIONS = {
    "CreateGlobalReplicationGroup": create_global_replication_group,
    "DescribeGlobalReplicationGroups": describe_global_replication_groups,
    "FailoverGlobalReplicationGroup": failover_global_replication_group,
    "IncreaseReplicaCount": increase_replica_count,
}
# moto's own operations that must see the datastores settled first
SETTLED = ("describe_replication_groups", "modify_replication_group", "delete_replication_group")


def install() -> None:
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.core.utils import camelcase_to_underscores
    from moto.elasticache.responses import ElastiCacheResponse

    for operation, method in OPERATIONS.items():
        setattr(ElastiCacheResponse, camelcase_to_underscores(operation), method)
    _ORIGINAL["create_replication_group"] = ElastiCacheResponse.create_replication_group
    ElastiCacheResponse.create_replication_group = create_replication_group  # type: ignore[method-assign]
    for name in SETTLED:
        _ORIGINAL[name] = getattr(ElastiCacheResponse, name)
        setattr(ElastiCacheResponse, name, _settling(name))
    for name in ("get_metric_statistics", "get_metric_data"):
        previous = getattr(CloudWatchResponse, name)

        def publishing(self: Any, previous: Callable[[Any], Any] = previous) -> Any:
            publish_lag(self.current_account, self.region)
            return previous(self)

        setattr(CloudWatchResponse, name, publishing)


def _clear() -> None:
    with _LOCK:
        _DATASTORES.clear()
        _RESIZES.clear()
        _PUBLISHED.clear()


def start(sandbox: Sandbox) -> Callable[[], None]:
    _clear()
    return _clear


EXTENSION = SandboxExtension(
    install=install,
    operations={
        "elasticache": (*OPERATIONS, "CreateReplicationGroup", "DescribeReplicationGroups"),
    },
    start=start,
)


def as_if_long_ago(account_id: str, region: str, group_id: str) -> None:
    """Make a seeded member (and its datastore) look as if created an hour ago: associated,
    available, with an hour of lag metrics. Scenario seeds describe a steady state."""
    ago = _now() - timedelta(hours=1)
    with _LOCK:
        for datastore in _datastores(account_id).values():
            member = datastore.member(group_id, region)
            if member is None:
                continue
            datastore.ready_at = min(datastore.ready_at, ago)
            member.ready_at = ago
            group = _groups(account_id, region).get(group_id)
            if group is not None:
                group.status = "available"
        settle(account_id)
