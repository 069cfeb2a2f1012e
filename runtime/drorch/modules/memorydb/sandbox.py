"""MemoryDB in the sandbox: moto 5.2 has clusters and snapshots, but no ``CopySnapshot``
(nor its export to S3), no restore from S3 (``SnapshotArns`` is ignored), no Multi-Region
clusters, and every cluster is ``available`` at once and gone the moment it is deleted.

This extension adds to moto's own MemoryDB service (JSON 1.1, real wire shapes, checked
against the botocore model by the interceptor):

* ``CopySnapshot``: the source snapshot must exist. Without ``TargetBucket`` a copy is
  made (``copying`` for :attr:`MemoryDbTimings.copy_seconds`); with it the snapshot is
  exported: the bucket must exist in the snapshot's region, and one RDB file per shard,
  ``<TargetSnapshotName>-<shard>.rdb``, is written there (at once; the answer shows the
  source snapshot ``exporting`` for :attr:`MemoryDbTimings.export_seconds`).
* ``CreateCluster``: with ``SnapshotArns`` every ``arn:aws:s3:::bucket/key`` must be an
  object in a bucket of the cluster's region (else ``InvalidParameterValueException``),
  with ``SnapshotName`` the snapshot must exist; such a restore is ``creating`` for
  :attr:`MemoryDbTimings.restore_seconds`, then ``available`` (or ``create-failed``
  with ``sandbox.faults.fail_memorydb_restore``). With ``MultiRegionClusterName`` the
  Multi-Region cluster must exist and the cluster joins it (``creating`` for
  :attr:`MemoryDbTimings.create_seconds`). ``Engine`` is kept (moto drops it).
* ``DeleteCluster``: ``deleting`` for :attr:`MemoryDbTimings.delete_seconds`, then gone.
* ``CreateMultiRegionCluster`` (name ``<prefix>-<suffix>``, a per-region prefix:
  ``virxk`` in us-west-1 as AWS documents, a fixed five letters derived from the name
  elsewhere) and ``DescribeMultiRegionClusters`` (``ShowClusterDetails``: its regional
  clusters, from every region).
* Answers describing clusters use the model's spelling of ``AvailabilityMode``
  (``singleaz``/``multiaz``; moto writes ``SingleAZ``).

Not simulated: the data in an RDB file (a restored cluster has the shards of its files,
nothing else), ``FailoverShard`` (no module calls it: cross-Region DR of MemoryDB is a
restore or a Multi-Region cluster), resharding, Multi-Region cluster updates and deletes.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult

from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox

RDB_BYTES = b"REDIS0011\xfa\tredis-ver\x057.1.0\xff"  # a tiny RDB header, as the file's body


@dataclass
class MemoryDbTimings:
    """How long MemoryDB work takes, in simulated seconds."""

    create_seconds: float = 600.0  # a regional cluster of a Multi-Region cluster
    restore_seconds: float = 900.0  # a cluster seeded from a snapshot or RDB files
    delete_seconds: float = 300.0
    copy_seconds: float = 120.0  # CopySnapshot within the region
    export_seconds: float = 300.0  # CopySnapshot to S3


TIMINGS = MemoryDbTimings()


def _error(code: str, message: str) -> JsonRESTError:
    return JsonRESTError(code, message)


@dataclass
class Timeline:
    """What the simulation says about one cluster's status."""

    ready_at: datetime
    failure: str | None = None  # create-failed at ready_at
    deleting_until: datetime | None = None


@dataclass
class MultiRegionCluster:
    name: str
    account_id: str
    description: str
    node_type: str
    engine: str
    engine_version: str
    shards: int
    tls: bool
    created: datetime
    members: dict[str, str] = field(default_factory=dict)  # region -> regional cluster name

    @property
    def arn(self) -> str:
        return f"arn:aws:memorydb::{self.account_id}:multiregioncluster/{self.name}"


_LOCK = threading.RLock()
_TIMELINES: dict[tuple[str, str, str], Timeline] = {}  # (account, region, cluster)
_SNAPSHOTS: dict[tuple[str, str, str], tuple[str, datetime]] = {}  # -> (status, until)
_MULTI: dict[tuple[str, str], MultiRegionCluster] = {}  # (account, name)
_ORIGINAL: dict[str, Callable[..., Any]] = {}


def _now() -> datetime:
    return STATE.clock.now()


def _backend(account_id: str, region: str) -> Any:
    from moto.memorydb.models import memorydb_backends

    return memorydb_backends[account_id][region]


def prefix(region: str) -> str:
    """The Multi-Region cluster name prefix of a region (AWS documents ``virxk`` for us-west-1)."""
    if region == "us-west-1":
        return "virxk"
    digest = hashlib.sha256(f"memorydb:{region}".encode()).digest()
    return "".join(chr(ord("a") + b % 26) for b in digest[:5])


def settle(account_id: str, region: str) -> None:
    """Apply what is due by now: restores finished or failed, deletions done."""
    now = _now()
    with _LOCK:
        backend = _backend(account_id, region)
        for (account, where, name), timeline in list(_TIMELINES.items()):
            if (account, where) != (account_id, region):
                continue
            cluster = backend.clusters.get(name)
            if cluster is None:
                del _TIMELINES[(account, where, name)]
                continue
            if timeline.deleting_until is not None:
                if now >= timeline.deleting_until:
                    backend.clusters.pop(name, None)
                    del _TIMELINES[(account, where, name)]
                    for multi in _MULTI.values():
                        if multi.account_id == account and multi.members.get(where) == name:
                            del multi.members[where]
                else:
                    cluster.status = "deleting"
                continue
            if now < timeline.ready_at:
                cluster.status = "creating"
            elif timeline.failure is not None:
                cluster.status = "create-failed"
            else:
                cluster.status = "available"
        for (account, where, name), (status, until) in list(_SNAPSHOTS.items()):
            if (account, where) != (account_id, region):
                continue
            snapshot = backend.snapshots.get(name)
            if snapshot is None or now >= until:
                _SNAPSHOTS.pop((account, where, name))
                if snapshot is not None:
                    snapshot.status = "available"
            else:
                snapshot.status = status


def to_dict(self: Any) -> dict[str, Any]:
    """moto's cluster answer with the model's AvailabilityMode, the Engine and the
    Multi-Region cluster it belongs to."""
    answer = _ORIGINAL["to_dict"](self)
    answer["AvailabilityMode"] = "singleaz" if self.num_replicas_per_shard == 0 else "multiaz"
    answer["Engine"] = getattr(self, "engine", "redis")
    if getattr(self, "multi_region_cluster_name", None):
        answer["MultiRegionClusterName"] = self.multi_region_cluster_name
    return answer


# --- the wire: MemoryDB responses ---------------------------------------------------------------
def _params(response: Any) -> dict[str, Any]:
    import json

    return json.loads(response.body or "{}")


def _s3_object(account_id: str, region: str, arn: str) -> str | None:
    """Why ``arn`` is not an RDB file the cluster can read (None: it is)."""
    from moto.s3.models import s3_backends

    if not arn.startswith("arn:aws:s3:::") or "/" not in arn:
        return f"{arn} is not an S3 object ARN (arn:aws:s3:::bucket/key)"
    bucket_name, key = arn[len("arn:aws:s3:::") :].split("/", 1)
    bucket = s3_backends[account_id]["aws"].buckets.get(bucket_name)
    if bucket is None:
        return f"S3 bucket {bucket_name} does not exist"
    if bucket.region_name != region:
        return f"S3 bucket {bucket_name} is in {bucket.region_name}, not in {region}"
    if key not in bucket.keys:
        return f"S3 object {key} does not exist in bucket {bucket_name}"
    return None


def create_cluster(self: Any) -> Any:
    account_id, region = self.current_account, self.region
    params = _params(self)
    name = params.get("ClusterName")
    with _LOCK:
        settle(account_id, region)
        arns = params.get("SnapshotArns") or []
        for arn in arns:
            problem = _s3_object(account_id, region, arn)
            if problem:
                raise _error(
                    "InvalidParameterValueException",
                    f"Unable to read the RDB file for the new cluster: {problem}.",
                )
        snapshot = params.get("SnapshotName")
        if snapshot and snapshot not in _backend(account_id, region).snapshots:
            raise _error("SnapshotNotFoundFault", f"Snapshot {snapshot} not found.")
        multi_name = params.get("MultiRegionClusterName")
        multi = _MULTI.get((account_id, multi_name)) if multi_name else None
        if multi_name and multi is None:
            raise _error(
                "MultiRegionClusterNotFoundFault", f"Multi-Region cluster {multi_name} not found."
            )
        if multi is not None and region in multi.members:
            raise _error(
                "InvalidParameterValueException",
                f"Multi-Region cluster {multi_name} already has a cluster in {region}.",
            )
        _ORIGINAL["create_cluster"](self)
        cluster = _backend(account_id, region).clusters[name]
        if params.get("NumReplicasPerShard") == 0:  # moto turns 0 into 1
            cluster.num_replicas_per_shard = 0
            cluster.shards = cluster.get_shard_details()
        cluster.engine = (multi.engine if multi else params.get("Engine")) or "redis"
        now = _now()
        if multi is not None:
            cluster.multi_region_cluster_name = multi_name
            cluster.node_type = multi.node_type
            multi.members[region] = name
            _TIMELINES[(account_id, region, name)] = Timeline(
                now + timedelta(seconds=TIMINGS.create_seconds)
            )
        elif arns or snapshot:
            if arns:
                cluster.num_shards = len(arns)
                cluster.shards = cluster.get_shard_details()
            fault = STATE.faults.memorydb_restore_failure_for(account_id, region, name)
            _TIMELINES[(account_id, region, name)] = Timeline(
                now + timedelta(seconds=TIMINGS.restore_seconds),
                failure=fault.reason if fault is not None else None,
            )
        settle(account_id, region)
        return ActionResult({"Cluster": cluster.to_dict()})


def delete_cluster(self: Any) -> Any:
    account_id, region = self.current_account, self.region
    params = _params(self)
    name = params.get("ClusterName")
    with _LOCK:
        settle(account_id, region)
        backend = _backend(account_id, region)
        cluster = backend.clusters.get(name)
        if cluster is None:
            raise _error("ClusterNotFoundFault", f"Cluster {name} not found.")
        timeline = _TIMELINES.get((account_id, region, name))
        if cluster.status not in ("available", "create-failed") or (
            timeline is not None and timeline.deleting_until is not None
        ):
            raise _error("InvalidClusterStateFault", f"Cluster {name} is {cluster.status}.")
        if params.get("FinalSnapshotName"):
            backend.create_snapshot(
                cluster_name=name, snapshot_name=params["FinalSnapshotName"], source="manual"
            )
        timeline = timeline or Timeline(_now())
        timeline.deleting_until = _now() + timedelta(seconds=TIMINGS.delete_seconds)
        _TIMELINES[(account_id, region, name)] = timeline
        settle(account_id, region)
        return ActionResult({"Cluster": cluster.to_dict()})


def copy_snapshot(self: Any) -> Any:
    from moto.s3.models import s3_backends

    account_id, region = self.current_account, self.region
    params = _params(self)
    source_name, target = params.get("SourceSnapshotName"), params.get("TargetSnapshotName")
    with _LOCK:
        settle(account_id, region)
        backend = _backend(account_id, region)
        source = backend.snapshots.get(source_name)
        if source is None:
            raise _error("SnapshotNotFoundFault", f"Snapshot {source_name} not found.")
        if source.status != "available":
            raise _error("InvalidSnapshotStateFault", f"Snapshot {source_name} is {source.status}.")
        bucket_name = params.get("TargetBucket")
        now = _now()
        if bucket_name:
            bucket = s3_backends[account_id]["aws"].buckets.get(bucket_name)
            if bucket is None or bucket.region_name != region:
                raise _error(
                    "InvalidParameterValueException",
                    f"The S3 bucket {bucket_name} does not exist in {region}, or MemoryDB "
                    "cannot write to it.",
                )
            for shard in source.shards:
                key = f"{target}-{shard['Name']}.rdb"
                if key in bucket.keys:
                    raise _error(
                        "SnapshotAlreadyExistsFault", f"{key} already exists in {bucket_name}."
                    )
                s3_backends[account_id]["aws"].put_object(bucket_name, key, RDB_BYTES)
            _SNAPSHOTS[(account_id, region, source_name)] = (
                "exporting",
                now + timedelta(seconds=TIMINGS.export_seconds),
            )
            settle(account_id, region)
            return ActionResult({"Snapshot": source.to_dict()})
        if target in backend.snapshots:
            raise _error("SnapshotAlreadyExistsFault", f"Snapshot {target} already exists.")
        copied = _copy(source, target, account_id, region)
        backend.snapshots[target] = copied
        if params.get("Tags"):
            backend.tag_resource(copied.arn, params["Tags"])
        _SNAPSHOTS[(account_id, region, target)] = (
            "copying",
            now + timedelta(seconds=TIMINGS.copy_seconds),
        )
        settle(account_id, region)
        return ActionResult({"Snapshot": copied.to_dict()})


def _copy(source: Any, target: str, account_id: str, region: str) -> Any:
    import copy

    copied = copy.copy(source)
    copied.snapshot_name = target
    copied.source = "manual"
    copied.arn = f"arn:aws:memorydb:{region}:{account_id}:snapshot/{target}"
    copied.shards = copy.deepcopy(source.shards)
    return copied


def create_multi_region_cluster(self: Any) -> Any:
    account_id, region = self.current_account, self.region
    params = _params(self)
    name = f"{prefix(region)}-{params['MultiRegionClusterNameSuffix']}"
    with _LOCK:
        if (account_id, name) in _MULTI:
            raise _error(
                "MultiRegionClusterAlreadyExistsFault", f"Multi-Region cluster {name} exists."
            )
        engine = params.get("Engine") or "valkey"
        multi = MultiRegionCluster(
            name=name,
            account_id=account_id,
            description=params.get("Description") or "",
            node_type=params["NodeType"],
            engine=engine,
            engine_version=params.get("EngineVersion") or "7.3",
            shards=int(params.get("NumShards") or 1),
            tls=params.get("TLSEnabled", True),
            created=_now(),
        )
        _MULTI[(account_id, name)] = multi
        if params.get("Tags"):
            _backend(account_id, region).tagger.tag_resource(multi.arn, params["Tags"])
        return ActionResult({"MultiRegionCluster": _multi_view(multi, details=False)})


def _multi_view(multi: MultiRegionCluster, details: bool) -> dict[str, Any]:
    now = _now()
    view: dict[str, Any] = {
        "MultiRegionClusterName": multi.name,
        "Description": multi.description,
        "Status": "creating" if now < multi.created + timedelta(seconds=60) else "available",
        "NodeType": multi.node_type,
        "Engine": multi.engine,
        "EngineVersion": multi.engine_version,
        "NumberOfShards": multi.shards,
        "TLSEnabled": multi.tls,
        "ARN": multi.arn,
    }
    if details:
        clusters = []
        for region, name in sorted(multi.members.items()):
            settle(multi.account_id, region)
            cluster = _backend(multi.account_id, region).clusters.get(name)
            if cluster is not None:
                clusters.append(
                    {
                        "ClusterName": name,
                        "Region": region,
                        "Status": cluster.status,
                        "ARN": cluster.arn,
                    }
                )
        view["Clusters"] = clusters
    return view


def describe_multi_region_clusters(self: Any) -> Any:
    account_id = self.current_account
    params = _params(self)
    wanted = params.get("MultiRegionClusterName")
    with _LOCK:
        found = sorted(
            (m for (account, _), m in _MULTI.items() if account == account_id),
            key=lambda m: m.name,
        )
        if wanted:
            found = [m for m in found if m.name == wanted]
            if not found:
                raise _error(
                    "MultiRegionClusterNotFoundFault", f"Multi-Region cluster {wanted} not found."
                )
        details = bool(params.get("ShowClusterDetails"))
        return ActionResult({"MultiRegionClusters": [_multi_view(m, details) for m in found]})


def as_if_long_ago(account_id: str, region: str, name: str) -> None:
    """Make a seeded cluster (and its Multi-Region cluster) look created an hour ago."""
    ago = _now() - timedelta(hours=1)
    with _LOCK:
        timeline = _TIMELINES.get((account_id, region, name))
        if timeline is not None:
            timeline.ready_at = min(timeline.ready_at, ago)
        for multi in _MULTI.values():
            if multi.account_id == account_id and multi.members.get(region) == name:
                multi.created = min(multi.created, ago)
        settle(account_id, region)


def _settling(name: str) -> Callable[[Any], Any]:
    def method(self: Any) -> Any:
        settle(self.current_account, self.region)
        return _ORIGINAL[name](self)

    method.__name__ = name
    return method


OPERATIONS = {
    "CreateCluster": create_cluster,
    "DeleteCluster": delete_cluster,
    "CopySnapshot": copy_snapshot,
    "CreateMultiRegionCluster": create_multi_region_cluster,
    "DescribeMultiRegionClusters": describe_multi_region_clusters,
}
SETTLED = ("describe_clusters", "describe_snapshots", "update_cluster", "create_snapshot")


def install() -> None:
    from moto.core.utils import camelcase_to_underscores
    from moto.memorydb.models import MemoryDBCluster
    from moto.memorydb.responses import MemoryDBResponse

    _ORIGINAL["to_dict"] = MemoryDBCluster.to_dict
    MemoryDBCluster.to_dict = to_dict  # type: ignore[method-assign]
    for operation, method in OPERATIONS.items():
        name = camelcase_to_underscores(operation)
        if hasattr(MemoryDBResponse, name):
            _ORIGINAL[name] = getattr(MemoryDBResponse, name)
        setattr(MemoryDBResponse, name, method)
    for name in SETTLED:
        _ORIGINAL[name] = getattr(MemoryDBResponse, name)
        setattr(MemoryDBResponse, name, _settling(name))


def _clear() -> None:
    with _LOCK:
        _TIMELINES.clear()
        _SNAPSHOTS.clear()
        _MULTI.clear()


def start(sandbox: Sandbox) -> Callable[[], None]:
    _clear()
    return _clear


EXTENSION = SandboxExtension(
    install=install,
    operations={"memorydb": (*OPERATIONS, "DescribeClusters")},
    start=start,
)
