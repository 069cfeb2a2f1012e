"""Aurora global databases in the sandbox: what moto 5.2 lacks or answers at once.

moto 5.2 has no ``FailoverGlobalCluster`` or ``SwitchoverGlobalCluster``, keeps global
clusters only where they were created, ignores ``GlobalClusterIdentifier`` in
``DescribeGlobalClusters``, cannot detach a secondary from another region or make a
global database from a cluster outside us-east-1, and restores a secondary cluster into
the global database. This extension answers those operations with the real wire shapes
(query/XML protocol, model-checked by the interceptor), on the simulated clock of the RDS
extension (``drorch.modules.rds_instance.sandbox``, installed with it):

* ``SwitchoverGlobalCluster`` and ``FailoverGlobalCluster`` (``AllowDataLoss``: a
  failover; without it a switchover): the target must be an available secondary with
  DB instances; a switchover also needs an available primary and a connected target.
  ``FailoverState`` is ``pending`` for :attr:`AuroraTimings.pending_seconds`, then
  ``failing-over`` (the target cluster, and for a switchover the old primary, are
  ``failing-over``); after :attr:`~AuroraTimings.switchover_seconds` /
  :attr:`~AuroraTimings.failover_seconds` the writer flips and ``FailoverState`` is gone.
  After a failover the old primary is a secondary with ``SynchronizationStatus``
  ``pending-resync`` for :attr:`~AuroraTimings.resync_seconds`, then ``connected``;
  after a switchover it is ``connected`` at once. The global cluster's ``Status`` is
  ``switching-over`` / ``failing-over`` meanwhile. (The model's FailoverState enum has no
  ``switching-over``, although the API reference names it: a switchover shows
  ``failing-over``.) When the writer has flipped, RDS sends the target cluster's event
  to the default bus of its account and region (:func:`~drorch.modules.rds_instance.sandbox.send_event`,
  category ``global-failover``): RDS-EVENT-0185 "Global switchover to DB cluster <name>
  in Region <region> finished." or RDS-EVENT-0238 "Global failover ... completed."; a
  cancelled one ends with RDS-EVENT-0186 "... is cancelled." (switchover) or
  RDS-EVENT-0239 "... failed." (failover).
* ``RemoveFromGlobalCluster`` from any region: the member leaves at once; a secondary is
  ``promoting`` for :attr:`~AuroraTimings.detach_seconds`, then a standalone writer. The
  primary cannot leave while secondaries remain (``InvalidGlobalClusterStateFault``).
* ``CreateGlobalCluster`` from an existing cluster in any region (it becomes the writer);
  ``DescribeGlobalClusters`` by identifier (``GlobalClusterNotFoundFault``) and with the
  ``region`` filter; members show ``SynchronizationStatus``.
* ``CreateDBCluster``: ``creating`` for :attr:`~AuroraTimings.cluster_create_seconds`
  (a new global secondary: :attr:`~AuroraTimings.secondary_create_seconds`);
  ``RestoreDBClusterToPointInTime`` / ``RestoreDBClusterFromSnapshot``: a standalone
  cluster (never a global member), ``creating`` for
  :attr:`~AuroraTimings.restore_cluster_seconds`.
* CloudWatch ``AWS/RDS`` ``AuroraGlobalDBReplicationLag`` and ``AuroraGlobalDBRPOLag``
  (milliseconds; dimensions ``DBClusterIdentifier`` and ``SourceRegion``) of every
  available secondary, in the secondary's region.

Faults (``sandbox.faults``): ``fail_rds_failover(target cluster)`` cancels the next
switchover or failover towards it (``cancelling`` for
:attr:`~AuroraTimings.cancel_seconds`, then the old writer is still the writer);
``lag_rds_replication(secondary, seconds)``; ``slow_rds(factor)``; throttling and access
denied are the generic wire faults.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from moto.cloudwatch.models import MetricDatum
from moto.core.responses import ActionResult

from drorch.modules.rds_instance import sandbox as rds_sim
from drorch.modules.rds_instance.sandbox import (
    RdsError,
    arn_region,
    schedule,
    send_event,
    slowdown,
)
from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox


@dataclass
class AuroraTimings:
    """How long Aurora work takes, in simulated seconds."""

    cluster_create_seconds: float = 600.0
    secondary_create_seconds: float = 1200.0
    restore_cluster_seconds: float = 900.0
    pending_seconds: float = 30.0  # FailoverState pending: the clusters are verified
    switchover_seconds: float = 300.0
    failover_seconds: float = 150.0
    cancel_seconds: float = 60.0  # a failed switchover or failover: cancelling
    detach_seconds: float = 120.0  # RemoveFromGlobalCluster: a secondary is promoting
    resync_seconds: float = 600.0  # the old primary after a failover: pending-resync
    replication_lag_ms: float = 120.0  # AuroraGlobalDBReplicationLag of a healthy secondary


TIMINGS = AuroraTimings()
GLOBAL_HOME = "us-east-1"  # moto keeps every global cluster in this region's backend


# --- model helpers --------------------------------------------------------------------------


def _global_backend(account_id: str) -> Any:
    return rds_sim.rds_backend(account_id, GLOBAL_HOME, create=True)


def _status(cluster: Any, value: str | None) -> None:
    """Show ``value`` as the cluster's status (None: its own again)."""
    cluster.drorch_status = value
    if value is None and getattr(cluster, "_status", None) == "creating":
        cluster._status = "available"


def _exists(cluster: Any) -> bool:
    backend = rds_sim.rds_backend(cluster.account_id, cluster.region)
    return backend is not None and backend.clusters.get(cluster.db_cluster_identifier) is cluster


def _find_global(account_id: str, identifier: str) -> Any:
    backend = _global_backend(account_id)
    wanted = (identifier or "").lower()
    for found in backend.global_clusters.values():
        if wanted in (found.global_cluster_identifier, found.global_cluster_arn.lower()):
            return found
    raise RdsError("GlobalClusterNotFoundFault", f"Global cluster {identifier} not found.")


def _find_cluster(account_id: str, region: str, identifier: str) -> Any:
    """A DB cluster by ARN (any region) or identifier (in ``region``)."""
    where = arn_region(identifier) or region
    name = identifier.split(":")[-1].lower() if identifier.startswith("arn:") else identifier
    backend = rds_sim.rds_backend(account_id, where)
    cluster = backend.clusters.get(name.lower()) if backend is not None else None
    if cluster is None:
        raise RdsError("DBClusterNotFoundFault", f"DBCluster {identifier} not found.")
    return cluster


def _writer(global_cluster: Any) -> Any | None:
    return next((m for m in global_cluster.members if m.is_writer), None)


def _members(self: Any) -> list[dict[str, Any]]:
    """GlobalCluster.global_cluster_members: live members, with SynchronizationStatus."""
    live = [m for m in self.members if _exists(m)]
    readers = [m.db_cluster_arn for m in live if not m.is_writer]
    found = []
    for member in live:
        item: dict[str, Any] = {
            "DBClusterArn": member.db_cluster_arn,
            "IsWriter": bool(member.is_writer),
            "Readers": readers if member.is_writer else [],
            "SynchronizationStatus": getattr(member, "drorch_sync", None) or "connected",
        }
        if not member.is_writer:
            item["GlobalWriteForwardingStatus"] = "disabled"
        found.append(item)
    return found


# --- operations -------------------------------------------------------------------------------


def _param(response: Any, name: str) -> Any:
    return response.params.get(name)


def describe_global_clusters(self: Any) -> ActionResult:
    backend = _global_backend(self.current_account)
    identifier = _param(self, "GlobalClusterIdentifier")
    found = (
        [_find_global(self.current_account, identifier)]
        if identifier
        else sorted(backend.global_clusters.values(), key=lambda g: g.global_cluster_identifier)
    )
    for spec in _param(self, "Filters") or []:
        if spec.get("Name") != "region":
            raise RdsError(
                "InvalidParameterValue",
                f"Unrecognized filter name: {spec.get('Name')}. Supported filter: region.",
            )
        regions = set(spec.get("Values") or [])
        found = [
            g for g in found if any(arn_region(m.db_cluster_arn) in regions for m in g.members)
        ]
    return ActionResult({"GlobalClusters": found})


def create_global_cluster(self: Any) -> ActionResult:
    source = _param(self, "SourceDBClusterIdentifier")
    if not source:
        return rds_sim._ORIGINAL["create_global_cluster"](self)
    from moto.rds.models import GlobalCluster

    account = self.current_account
    identifier = _param(self, "GlobalClusterIdentifier")
    backend = _global_backend(account)
    if identifier.lower() in backend.global_clusters:
        raise RdsError(
            "GlobalClusterAlreadyExistsFault", f"Global cluster {identifier} already exists."
        )
    if _param(self, "Engine"):
        raise RdsError(
            "InvalidParameterCombination",
            "When creating a global cluster from an existing DB cluster, do not specify the "
            "engine: it is the source cluster's.",
        )
    cluster = _find_cluster(account, self.region, source)
    for other in backend.global_clusters.values():
        if cluster in other.members:
            raise RdsError(
                "InvalidDBClusterStateFault",
                f"DB cluster {cluster.db_cluster_identifier} is already a member of global "
                f"cluster {other.global_cluster_identifier}.",
            )
    created = GlobalCluster(
        backend=backend,
        global_cluster_identifier=identifier,
        engine=cluster.engine,
        engine_version=cluster.engine_version,
        storage_encrypted=cluster.storage_encrypted,
        deletion_protection=_param(self, "DeletionProtection"),
    )
    backend.global_clusters[created.global_cluster_identifier] = created
    created.members.append(cluster)
    cluster.global_cluster_identifier = created.global_cluster_identifier
    cluster.is_writer = True
    cluster.drorch_sync = None
    return ActionResult({"GlobalCluster": created})


def _start_role_change(self: Any, data_loss: bool) -> ActionResult:
    account, region = self.current_account, self.region
    identifier = _param(self, "GlobalClusterIdentifier")
    global_cluster = _find_global(account, identifier)
    if global_cluster.failover_state:
        raise RdsError(
            "InvalidGlobalClusterStateFault",
            f"Global cluster {identifier} already has a switchover or failover in progress.",
        )
    target = _find_cluster(account, region, _param(self, "TargetDbClusterIdentifier"))
    if target not in global_cluster.members:
        raise RdsError(
            "InvalidDBClusterStateFault",
            f"DB cluster {target.db_cluster_arn} is not a member of global cluster {identifier}.",
        )
    if target.is_writer:
        raise RdsError(
            "InvalidDBClusterStateFault",
            f"DB cluster {target.db_cluster_arn} is already the primary cluster of {identifier}.",
        )
    if target.status != "available" or not target.members:
        raise RdsError(
            "InvalidDBClusterStateFault",
            f"DB cluster {target.db_cluster_arn} must be available and have a DB instance "
            f"(it is {target.status}, with {len(target.members)} DB instances).",
        )
    writer = _writer(global_cluster)
    if not data_loss:
        if writer is None or not _exists(writer) or writer.status != "available":
            raise RdsError(
                "InvalidDBClusterStateFault",
                f"The primary DB cluster of {identifier} must be available for a switchover; "
                "use a failover that allows data loss when the primary Region is impaired.",
            )
        if (getattr(target, "drorch_sync", None) or "connected") != "connected":
            raise RdsError(
                "InvalidDBClusterStateFault",
                f"DB cluster {target.db_cluster_arn} is not synchronized with the primary.",
            )
    target_region = target.region
    failure = STATE.faults.rds_failover_failure_for(
        account,
        target_region,
        (
            target.db_cluster_identifier,
            target.db_cluster_arn,
            global_cluster.global_cluster_identifier,
        ),
    )
    factor = slowdown(account, target_region)
    global_cluster.failover_state = {
        "Status": "pending",
        "FromDbClusterArn": writer.db_cluster_arn if writer is not None else None,
        "ToDbClusterArn": target.db_cluster_arn,
        "IsDataLossAllowed": data_loss,
    }
    global_cluster.status = "failing-over" if data_loss else "switching-over"
    demoted = writer if (writer is not None and not data_loss) else None

    def failing_over() -> None:
        if global_cluster.failover_state:
            global_cluster.failover_state["Status"] = "failing-over"
            _status(target, "failing-over")
            if demoted is not None:
                _status(demoted, "failing-over")

    def done() -> None:
        global_cluster.failover_state = None
        global_cluster.status = "available"
        _status(target, None)
        if demoted is not None:
            _status(demoted, None)

    def cancelling() -> None:
        if global_cluster.failover_state:
            global_cluster.failover_state["Status"] = "cancelling"

    def announce(ended: bool) -> None:
        """RDS's event for the target cluster: the role change ended, or did not."""
        kind = "failover" if data_loss else "switchover"
        event_id, outcome = {
            (False, True): ("RDS-EVENT-0185", "finished"),
            (False, False): ("RDS-EVENT-0186", "is cancelled"),
            (True, True): ("RDS-EVENT-0238", "completed"),
            (True, False): ("RDS-EVENT-0239", "failed"),
        }[(data_loss, ended)]
        send_event(
            target.db_cluster_arn,
            "CLUSTER",
            event_id,
            ["global-failover"],
            f"Global {kind} to DB cluster {target.db_cluster_identifier} in Region "
            f"{target_region} {outcome}.",
        )

    def cancelled() -> None:
        done()
        announce(False)

    def finish() -> None:
        done()
        old = _writer(global_cluster)
        if old is not None:
            old.is_writer = False
            old.drorch_sync = "pending-resync" if data_loss else None
            if data_loss:

                def resynced() -> None:
                    old.drorch_sync = None

                schedule(TIMINGS.resync_seconds * factor, resynced)
        target.is_writer = True
        target.drorch_sync = None
        announce(True)

    pending = TIMINGS.pending_seconds * factor
    schedule(pending, failing_over)
    took = (TIMINGS.failover_seconds if data_loss else TIMINGS.switchover_seconds) * factor
    if failure is not None:
        schedule(pending + took / 2, cancelling)
        schedule(pending + took / 2 + TIMINGS.cancel_seconds * factor, cancelled)
    else:
        schedule(took, finish)
    return ActionResult({"GlobalCluster": global_cluster})


def failover_global_cluster(self: Any) -> ActionResult:
    data_loss = bool(_param(self, "AllowDataLoss"))
    if data_loss and _param(self, "Switchover"):
        raise RdsError(
            "InvalidParameterCombination", "Specify either AllowDataLoss or Switchover, not both."
        )
    return _start_role_change(self, data_loss)


def switchover_global_cluster(self: Any) -> ActionResult:
    return _start_role_change(self, False)


def remove_from_global_cluster(self: Any) -> ActionResult:
    account = self.current_account
    identifier = _param(self, "GlobalClusterIdentifier")
    global_cluster = _find_global(account, identifier)
    cluster = _find_cluster(account, self.region, _param(self, "DbClusterIdentifier"))
    if cluster not in global_cluster.members:
        raise RdsError(
            "InvalidDBClusterStateFault",
            f"DB cluster {cluster.db_cluster_arn} is not a member of global cluster {identifier}.",
        )
    if global_cluster.failover_state:
        raise RdsError(
            "InvalidGlobalClusterStateFault",
            f"Global cluster {identifier} has a switchover or failover in progress.",
        )
    if cluster.is_writer and len([m for m in global_cluster.members if _exists(m)]) > 1:
        raise RdsError(
            "InvalidGlobalClusterStateFault",
            f"The primary cluster of {identifier} cannot leave while it has secondary clusters.",
        )
    global_cluster.members.remove(cluster)
    cluster.global_cluster_identifier = None
    cluster.drorch_sync = None
    if not cluster.is_writer:
        _status(cluster, "promoting")

        def promoted() -> None:
            _status(cluster, None)
            cluster.is_writer = True

        schedule(TIMINGS.detach_seconds * slowdown(account, cluster.region), promoted)
    return ActionResult({"GlobalCluster": global_cluster})


def create_db_cluster(self: Any) -> ActionResult:
    result = rds_sim._ORIGINAL["create_db_cluster"](self)
    backend = rds_sim.rds_backend(self.current_account, self.region, create=True)
    cluster = backend.clusters[_param(self, "DBClusterIdentifier").lower()]
    secondary = bool(cluster.global_cluster_identifier) and not cluster.is_writer
    seconds = TIMINGS.secondary_create_seconds if secondary else TIMINGS.cluster_create_seconds
    _status(cluster, "creating")
    schedule(seconds * slowdown(self.current_account, self.region), lambda: _status(cluster, None))
    return result


def _master_username(account_id: str, source: Any) -> str:
    """A secondary has no master user of its own: its global database's primary has."""
    if source.master_username:
        return str(source.master_username)
    backend = _global_backend(account_id)
    for global_cluster in backend.global_clusters.values():
        if source in global_cluster.members:
            writer = _writer(global_cluster)
            if writer is not None and writer.master_username:
                return str(writer.master_username)
    return "postgres" if source.engine == "aurora-postgresql" else "admin"


def _restored(self: Any, source: Any) -> Any:
    from moto.rds.models import DBCluster

    account, region = self.current_account, self.region
    backend = rds_sim.rds_backend(account, region, create=True)
    identifier = str(_param(self, "DBClusterIdentifier"))
    if identifier.lower() in backend.clusters:
        raise RdsError("DBClusterAlreadyExistsFault", f"DB cluster {identifier} already exists.")
    tags = _param(self, "Tags") or []
    cluster = DBCluster(
        backend,
        db_cluster_identifier=identifier,
        engine=source.engine,
        engine_version=source.engine_version,
        engine_mode=source.engine_mode,
        master_username=_master_username(account, source),
        master_user_password="restored-from-source",  # a restore keeps the source's
        database_name=source.database_name,
        storage_encrypted=source.storage_encrypted,
        kms_key_id=_param(self, "KmsKeyId") or source.kms_key_id,
        db_subnet_group_name=_param(self, "DBSubnetGroupName") or source.db_subnet_group_name,
        vpc_security_group_ids=list(_param(self, "VpcSecurityGroupIds") or []),
        port=_param(self, "Port") or source.port,
        deletion_protection=bool(_param(self, "DeletionProtection")),
        copy_tags_to_snapshot=bool(_param(self, "CopyTagsToSnapshot")),
        backup_retention_period=source.backup_retention_period,
        tags=[{"Key": t["Key"], "Value": t["Value"]} for t in tags],
    )
    backend.clusters[cluster.db_cluster_identifier] = cluster
    cluster.save_automated_backup()
    _status(cluster, "creating")
    schedule(
        TIMINGS.restore_cluster_seconds * slowdown(account, region),
        lambda: _status(cluster, None),
    )
    return cluster


def restore_db_cluster_to_point_in_time(self: Any) -> ActionResult:
    if _param(self, "RestoreToTime") and _param(self, "UseLatestRestorableTime"):
        raise RdsError(
            "InvalidParameterCombination",
            "Cannot specify both RestoreToTime and UseLatestRestorableTime.",
        )
    when = _param(self, "RestoreToTime")
    if isinstance(when, datetime) and when.replace(tzinfo=None) > rds_sim.now().replace(
        tzinfo=None
    ):
        raise RdsError("InvalidRestoreFault", "The restore time is later than the latest one.")
    source = _find_cluster(
        self.current_account, self.region, str(_param(self, "SourceDBClusterIdentifier") or "")
    )
    if source.region != self.region:
        raise RdsError(
            "InvalidParameterValue",
            "A point-in-time restore is made in the source cluster's Region.",
        )
    return ActionResult({"DBCluster": _restored(self, source)})


def restore_db_cluster_from_snapshot(self: Any) -> ActionResult:
    backend = rds_sim.rds_backend(self.current_account, self.region, create=True)
    wanted = str(_param(self, "SnapshotIdentifier"))
    snapshot = next(
        (
            s
            for key, s in backend.cluster_snapshots.items()
            if wanted in (key, s.db_cluster_snapshot_arn)
        ),
        None,
    )
    if snapshot is None:
        raise RdsError("DBClusterSnapshotNotFoundFault", f"DBClusterSnapshot {wanted} not found.")
    if _param(self, "Engine") != snapshot.cluster.engine:
        raise RdsError(
            "InvalidParameterValue",
            f"The engine {_param(self, 'Engine')} is not the snapshot's ({snapshot.cluster.engine}).",
        )
    return ActionResult({"DBCluster": _restored(self, snapshot.cluster)})


OPERATIONS: dict[str, Callable[[Any], ActionResult]] = {
    "DescribeGlobalClusters": describe_global_clusters,
    "CreateGlobalCluster": create_global_cluster,
    "FailoverGlobalCluster": failover_global_cluster,
    "SwitchoverGlobalCluster": switchover_global_cluster,
    "RemoveFromGlobalCluster": remove_from_global_cluster,
    "CreateDBCluster": create_db_cluster,
    "RestoreDBClusterToPointInTime": restore_db_cluster_to_point_in_time,
    "RestoreDBClusterFromSnapshot": restore_db_cluster_from_snapshot,
}


def global_lag(account_id: str, region: str, moment: datetime) -> list[MetricDatum]:
    backend = rds_sim.rds_backend(account_id, GLOBAL_HOME)
    if backend is None:
        return []
    found: list[MetricDatum] = []
    for global_cluster in list(backend.global_clusters.values()):
        writer = _writer(global_cluster)
        if writer is None or global_cluster.failover_state:
            continue
        for member in global_cluster.members:
            if member.is_writer or member.region != region or not _exists(member):
                continue
            if member.status != "available":
                continue
            seconds = rds_sim.lag_for(
                account_id, region, (member.db_cluster_identifier, member.db_cluster_arn)
            )
            value = TIMINGS.replication_lag_ms if seconds is None else seconds * 1000.0
            dimensions = [
                {"Name": "DBClusterIdentifier", "Value": member.db_cluster_identifier},
                {"Name": "SourceRegion", "Value": writer.region},
            ]
            for name in ("AuroraGlobalDBReplicationLag", "AuroraGlobalDBRPOLag"):
                found += rds_sim.minutely(
                    "AWS/RDS", name, value, dimensions, "Milliseconds", moment
                )
    return found


_INSTALLED = False
_LOCK = threading.Lock()


def install() -> None:
    global _INSTALLED
    rds_sim.install()  # the clock core and DB instances (idempotent)
    with _LOCK:
        if _INSTALLED:
            return
        from moto.rds.models import DBCluster, GlobalCluster

        own = DBCluster.status

        def status(cluster: Any) -> str:
            shown = getattr(cluster, "drorch_status", None)
            return shown if shown else own.fget(cluster)

        DBCluster.status = property(status, own.fset)  # type: ignore[method-assign,assignment]
        DBCluster.drorch_status = None  # type: ignore[attr-defined]
        DBCluster.drorch_sync = None  # type: ignore[attr-defined]
        GlobalCluster.failover_state = None  # type: ignore[attr-defined]
        GlobalCluster.global_cluster_members = property(_members)  # type: ignore[method-assign,assignment]
        rds_sim.install_operations(OPERATIONS)
        rds_sim.add_metric_producer("AuroraGlobalDBReplicationLag", global_lag)
        _INSTALLED = True


def start(sandbox: Sandbox) -> Callable[[], None] | None:
    return rds_sim.start(sandbox)


EXTENSION = SandboxExtension(install=install, operations={"rds": tuple(OPERATIONS)}, start=start)
