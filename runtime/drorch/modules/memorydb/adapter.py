"""The memorydb module: MemoryDB clusters in the recovery region.

MemoryDB has two ways across regions, and a resource is one of them:

* a **Multi-Region cluster** (``MultiRegionClusterName``): every regional cluster takes
  writes, so there is nothing to fail over. Every phase is a readiness check of the
  recovery-region cluster (``available``); nothing is ever changed.
* a **restore**: MemoryDB cannot copy a snapshot to another region (``CopySnapshot``
  copies within one, or exports to an S3 bucket there). The way across is the cluster's
  exports (``CopySnapshot`` with ``TargetBucket`` in its own region) replicated by S3 to a
  bucket in the recovery region (``snapshotBucket``); the module creates the cluster from
  the newest export there (``CreateCluster`` with ``SnapshotArns``, one RDB file per
  shard). Where it lands is declared in the recovery region by a MemoryDB subnet group
  tagged ``drorch:memorydb-source=<cluster name>`` (the landing zone, which also carries
  the DR tags): the restored cluster gets the source's name and that subnet group.

Discovery makes direct calls in the recovery region (``DescribeClusters``,
``DescribeSubnetGroups``, ``ListTags``), by the selector's ids and tags: Multi-Region
regional clusters, and landing zones (whose cluster may already be restored there).
drorch's own drill copies are never resources. Every call goes to the recovery region
(the source region may be the one that is down); the source cluster is never touched.

Phases (each ``start`` + ``status``; status reads ``DescribeClusters``, never a timer):

* INSTANTIATE — reads: for a restore, the newest export and its age (the RPO a restore
  would have); a missing export fails the resource. Multi-Region: nothing to do.
* ACTIVATE — a restore: ``CreateCluster`` from the newest export, tagged
  ``drorch:restored-from=<export>``; done when the cluster is ``available``
  (``create-failed`` fails it). A cluster of that name already there is followed, not
  created again (a retried start, or a restore already made). Multi-Region: the
  regional cluster is ``available``.
* CLEANUP — deletes this group's drill copies (clusters ``drorch-drill-*`` tagged
  ``drorch:drill-copy-of=<cluster>``) and waits until they are gone; nothing else.
* REPLICATE — Multi-Region: every regional cluster is ``available``. A restored cluster
  has nothing to replicate to: MemoryDB does not replicate a single-Region cluster;
  exporting it back towards the original region is left to the operator, and the result
  says so.

Drill: a restore is made into an isolated cluster ``drorch-drill-<hash>`` (no replicas,
tagged ``drorch:drill-copy-of``; the hash comes from the idempotency key, so a retried
start finds its copy) in the landing zone, followed until ``available``; CLEANUP deletes
it. A Multi-Region cluster gets its readiness check only. The drill client refuses
``CreateCluster`` and ``DeleteCluster`` of any cluster not named ``drorch-drill-*``, and
every other call in ``DISRUPTIVE_CALLS``, before it is sent.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import (
    FAILED,
    SKIPPED,
    SUCCEEDED,
    AccountContext,
    Discovered,
    Exclusion,
    Finding,
    ModuleIam,
    Resource,
    StatusResult,
    always,
    error_code,
    error_message,
    load_schema,
    raise_if_fatal,
    selector_field,
    selector_scope_matches,
    tags_match,
)
from drorch.modules.memorydb import iam
from drorch.modules.memorydb.iam import DRILL_PREFIX
from drorch.modules.memorydb.probes import PROBES, readiness
from drorch.modules.resource import ResourceModule

RESOURCE_TYPE = "memorydb:cluster"
STATE_VERSION = 1
SOURCE_TAG = "drorch:memorydb-source"
COPY_TAG = "drorch:drill-copy-of"
RESTORED_TAG = "drorch:restored-from"
WAITING = frozenset({"creating", "updating", "snapshotting"})
NOT_FOUND = "ClusterNotFoundFault"
_FILE = re.compile(r"^(?P<export>.+)-(?P<shard>[0-9]{4})\.rdb$")


def _drill_name_only(params: Mapping[str, Any]) -> bool:
    return not str(params.get("ClusterName", "")).startswith(DRILL_PREFIX)


# API calls that change production; a drill makes none of them (the drill client refuses them).
DISRUPTIVE_CALLS = {
    "CreateCluster": _drill_name_only,  # a drill creates drorch-drill-* copies only
    "DeleteCluster": _drill_name_only,
    "UpdateCluster": always,
    "BatchUpdateCluster": always,
    "FailoverShard": always,
    "DeleteSnapshot": always,
    "UpdateMultiRegionCluster": always,
    "DeleteMultiRegionCluster": always,
}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))


def copy_name(key: str, cluster: str) -> str:
    """The drill copy of ``cluster`` for one phase start (40 characters at most)."""
    return DRILL_PREFIX + hashlib.sha256(f"{key}|{cluster}".encode()).hexdigest()[:8]


def newest_export(files: Sequence[Mapping[str, Any]], prefix: str) -> dict[str, Any] | None:
    """The newest export among S3 objects (``Key``, ``LastModified``): its name, files
    (in shard order) and when its last file was written."""
    exports: dict[str, list[Mapping[str, Any]]] = {}
    for item in files:
        match = _FILE.match(item["Key"])
        if match and item["Key"].startswith(prefix):
            exports.setdefault(match.group("export"), []).append(item)
    if not exports:
        return None
    name = max(exports, key=lambda e: (max(i["LastModified"] for i in exports[e]), e))
    chosen = sorted(exports[name], key=lambda i: i["Key"])
    return {
        "export": name,
        "keys": [i["Key"] for i in chosen],
        "exportedAt": max(i["LastModified"] for i in chosen),
    }


class MemoryDbModule(ResourceModule):
    type = "memorydb"
    service = "memorydb"
    state_version = STATE_VERSION
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"INSTANTIATE", "ACTIVATE", "CLEANUP"})
    disruptive_calls = DISRUPTIVE_CALLS
    summary = (
        "MemoryDB: restore a cluster in the recovery region from its newest S3 export, or "
        "check a Multi-Region cluster's regional cluster there"
    )
    drill = (
        "A restore is made into an isolated drorch-drill-* cluster (no replicas) from the "
        "newest export and deleted by CLEANUP; a Multi-Region cluster only gets its readiness "
        "check. The source cluster is never called; the drill client refuses CreateCluster "
        "and DeleteCluster of any other name before it is sent."
    )
    aliases = ("MemoryDB", "MemoryDBModule", "MemoryDBCluster")
    resource_types = (RESOURCE_TYPE,)
    identified_by = "cluster name (the Multi-Region regional cluster, or the cluster to restore)"
    probes = PROBES
    sandbox_extension = "drorch.modules.memorydb.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return iam.statements(account_id, regions)

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        return readiness(session, account_id, region)

    # --- discovery ------------------------------------------------------------------------
    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        found = Discovered()
        if not selector_scope_matches(selector, ctx, RESOURCE_TYPE):
            return found
        wanted_tags = selector_field(selector, "tags")
        ids = {i.rsplit("/", 1)[-1] for i in selector_field(selector, "ids")}
        client = ctx.client("memorydb")
        try:
            clusters = {c["Name"]: c for c in self._clusters(client)}
            zones = self._landing_zones(client)
            seen = set()
            for name, cluster in sorted(clusters.items()):
                if name.startswith(DRILL_PREFIX) or (ids and name not in ids):
                    continue
                if not cluster.get("MultiRegionClusterName"):
                    continue  # a restored cluster is found through its landing zone
                tags = self._tags(client, cluster["ARN"])
                seen.add(name)
                if tags_match(tags, wanted_tags):
                    found.append(self._resource(ctx, name, cluster["ARN"], tags))
            for name, zone in sorted(zones.items()):
                if (ids and name not in ids) or name in seen:
                    continue
                seen.add(name)
                tags = {k: v for k, v in zone["tags"].items() if k != SOURCE_TAG}
                if tags_match(tags, wanted_tags):
                    arn = f"arn:aws:memorydb:{ctx.region}:{ctx.account_id}:cluster/{name}"
                    found.append(self._resource(ctx, name, arn, tags))
            for name in sorted(ids - seen):
                reason = (
                    "neither a Multi-Region regional cluster nor a cluster with a landing zone "
                    f"(a subnet group tagged {SOURCE_TAG}={name}) in {ctx.region}"
                )
                arn = clusters.get(name, {}).get("ARN", "")
                found.excluded.append(
                    Exclusion(name, arn, ctx.account_id, ctx.region, name, (reason,))
                )
        except ClientError as error:
            self.fail(error, ctx, "listing MemoryDB clusters")
        found.sort(key=lambda r: r.id)
        return found

    @staticmethod
    def _resource(ctx: AccountContext, name: str, arn: str, tags: dict[str, str]) -> Resource:
        return Resource(name, arn, ctx.account_id, ctx.region, name, tags, RESOURCE_TYPE)

    @staticmethod
    def _clusters(client: Any) -> list[dict[str, Any]]:
        found, token = [], None
        while True:
            page = client.describe_clusters(**({"NextToken": token} if token else {}))
            found += page.get("Clusters", [])
            token = page.get("NextToken")
            if not token:
                return found

    @staticmethod
    def _tags(client: Any, arn: str) -> dict[str, str]:
        return {t["Key"]: t.get("Value", "") for t in client.list_tags(ResourceArn=arn)["TagList"]}

    def _landing_zones(self, client: Any) -> dict[str, dict[str, Any]]:
        """Source cluster name -> its landing zone (subnet group name and tags)."""
        zones, token = {}, None
        while True:
            page = client.describe_subnet_groups(**({"NextToken": token} if token else {}))
            for group in page.get("SubnetGroups", []):
                tags = self._tags(client, group["ARN"])
                if tags.get(SOURCE_TAG):
                    zones[tags[SOURCE_TAG]] = {"subnetGroup": group["Name"], "tags": tags}
            token = page.get("NextToken")
            if not token:
                return zones

    # --- start / status -----------------------------------------------------------------
    def act(self, ctx: AccountContext, state: dict, items: list[Resource], key: str) -> dict:
        phase, drill, params = state["phase"], state["drill"], state["params"]
        client = self.client(ctx, drill)
        try:
            clusters = {c["Name"]: c for c in self._clusters(client)}
            zones = self._landing_zones(client) if phase in ("INSTANTIATE", "ACTIVATE") else {}
            for resource in items:
                item = state["items"][resource.id]
                cluster = clusters.get(resource.id)
                if cluster is not None and cluster.get("MultiRegionClusterName"):
                    item["mode"] = "multi-region"
                    item["multiRegionCluster"] = cluster["MultiRegionClusterName"]
                else:
                    item["mode"] = "restore"
                if phase == "INSTANTIATE":
                    self._instantiate(ctx, resource.id, item, zones, params)
                elif phase == "ACTIVATE" and item["mode"] == "restore":
                    target = copy_name(key, resource.id) if drill else resource.id
                    self._start_restore(
                        ctx, client, resource.id, target, item, clusters, zones, params
                    )
                elif phase == "CLEANUP":
                    self._start_cleanup(client, resource.id, item, clusters)
                elif phase == "REPLICATE" and item["mode"] == "restore":
                    item["result"] = {
                        "status": SKIPPED,
                        "note": "MemoryDB does not replicate a single-Region cluster: to fail "
                        "back, export the restored cluster (CopySnapshot with TargetBucket) and "
                        "replicate the files towards the original region; drorch does not",
                    }
        except ClientError as error:
            self.fail(error, ctx, f"starting {phase}")
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        self.check_state(phase, state)
        client = self.client(ctx, bool(state.get("drill")))
        try:
            for name, item in state["items"].items():
                if "result" in item:
                    continue
                if phase == "CLEANUP":
                    self._check_cleanup(client, item)
                elif item["mode"] == "multi-region":
                    self._check_multi_region(
                        ctx, client, name, item, everywhere=phase == "REPLICATE"
                    )
                elif phase == "ACTIVATE":
                    self._check_restore(ctx, client, item)
        except ClientError as error:
            self.fail(error, ctx, f"checking {phase}")
        return self.result(state)

    # --- shared -------------------------------------------------------------------------------
    def detail(self, item: Mapping[str, Any], detail: dict[str, Any]) -> dict[str, Any]:
        detail.setdefault("mode", item.get("mode", ""))
        return detail

    @staticmethod
    def _describe(client: Any, name: str) -> dict[str, Any] | None:
        try:
            return client.describe_clusters(ClusterName=name)["Clusters"][0]
        except ClientError as error:
            if error_code(error) == NOT_FOUND:
                return None
            raise

    def _export(
        self, ctx: AccountContext, name: str, params: Mapping[str, Any]
    ) -> tuple[dict[str, Any] | None, str]:
        """The newest export of ``name`` in snapshotBucket, or None and why."""
        bucket = params.get("snapshotBucket")
        if not bucket:
            return None, "no snapshotBucket parameter: nowhere to restore from"
        prefix = params.get("snapshotPrefix") or f"{name}-"
        s3 = ctx.client("s3")
        try:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            files = [item for page in pages for item in page.get("Contents", [])]
        except ClientError as error:
            raise_if_fatal(error, ctx, f"listing the exports in s3://{bucket}")
            return None, f"cannot list s3://{bucket}/{prefix}: {error_code(error)}"
        export = newest_export(files, prefix)
        if export is None:
            return None, f"no export (<name>-<shard>.rdb) under s3://{bucket}/{prefix}"
        export["bucket"] = bucket
        return export, ""

    @staticmethod
    def _restore_point(ctx: AccountContext, export: Mapping[str, Any]) -> dict[str, Any]:
        point: dict[str, Any] = {
            "restorePoint": f"s3://{export['bucket']}/{export['export']}",
            "files": len(export["keys"]),
            "exportedAt": export["exportedAt"].astimezone(UTC).isoformat(),
        }
        if ctx.now is not None:
            age = datetime.fromtimestamp(ctx.now, UTC) - export["exportedAt"]
            point["rpoSeconds"] = max(0, int(age.total_seconds()))
        return point

    # --- INSTANTIATE --------------------------------------------------------------------------
    def _instantiate(
        self, ctx: AccountContext, name: str, item: dict, zones: Mapping, params: Mapping
    ) -> None:
        if item["mode"] == "multi-region":
            item["result"] = {
                "status": SKIPPED,
                "note": "a Multi-Region cluster: nothing to pre-warm",
            }
            return
        if name not in zones:
            item["result"] = {
                "status": FAILED,
                "error": f"no landing zone for {name}: tag a MemoryDB subnet group in "
                f"{ctx.region} {SOURCE_TAG}={name}",
            }
            return
        export, why = self._export(ctx, name, params)
        if export is None:
            item["result"] = {"status": FAILED, "error": why}
            return
        item["result"] = {"status": SUCCEEDED, **self._restore_point(ctx, export)}

    # --- ACTIVATE -----------------------------------------------------------------------------
    def _start_restore(
        self,
        ctx: AccountContext,
        client: Any,
        name: str,
        target: str,
        item: dict,
        clusters: Mapping[str, Any],
        zones: Mapping[str, Any],
        params: Mapping[str, Any],
    ) -> None:
        """Create ``target`` (the cluster, or a drill's copy of it) from the newest export."""
        drill = target != name
        item["cluster"] = target
        if target in clusters:  # a retried start, or restored before: follow it
            return
        zone = zones.get(name)
        if zone is None:
            item["result"] = {
                "status": FAILED,
                "error": f"no landing zone for {name}: tag a MemoryDB subnet group in "
                f"{ctx.region} {SOURCE_TAG}={name}",
            }
            return
        export, why = self._export(ctx, name, params)
        if export is None:
            item["result"] = {"status": FAILED, "error": why}
            return
        item["restore"] = self._restore_point(ctx, export)
        tags = [{"Key": RESTORED_TAG, "Value": item["restore"]["restorePoint"]}]
        if drill:
            tags.append({"Key": COPY_TAG, "Value": name})
        else:
            tags += [
                {"Key": k, "Value": v}
                for k, v in sorted(zone["tags"].items())
                if not k.startswith("drorch:") and not k.startswith("aws:")
            ]
        kwargs: dict[str, Any] = {
            "ClusterName": target,
            "NodeType": params["nodeType"],
            "SubnetGroupName": zone["subnetGroup"],
            "SnapshotArns": [f"arn:aws:s3:::{export['bucket']}/{k}" for k in export["keys"]],
            "NumShards": len(export["keys"]),
            "NumReplicasPerShard": 0 if drill else params["replicasPerShard"],
            "ACLName": params["aclName"],
            "TLSEnabled": params["tls"],
            "Engine": params["engine"],
            "Description": f"restored by drorch from {item['restore']['restorePoint']}",
            "Tags": tags,
        }
        if params.get("engineVersion"):
            kwargs["EngineVersion"] = params["engineVersion"]
        if params.get("securityGroupIds"):
            kwargs["SecurityGroupIds"] = list(params["securityGroupIds"])
        try:
            client.create_cluster(**kwargs)
        except ClientError as error:
            raise_if_fatal(error, ctx, f"restoring {name}")
            item["result"] = {
                "status": FAILED,
                "error": f"CreateCluster refused: {error_code(error)}: {error_message(error)}",
            }

    def _check_restore(self, ctx: AccountContext, client: Any, item: dict) -> None:
        target = item["cluster"]
        cluster = self._describe(client, target)
        detail = {"cluster": target, **item.get("restore", {})}
        if target.startswith(DRILL_PREFIX):
            detail["drillCopy"] = target
        if cluster is None:
            item["result"] = {"status": FAILED, "error": f"cluster {target} is gone", **detail}
        elif cluster["Status"] == "available":
            if "restore" not in item:
                detail["note"] = "already restored"
            item["result"] = {
                "status": SUCCEEDED,
                "shards": cluster.get("NumberOfShards"),
                **detail,
            }
        elif cluster["Status"] in WAITING:
            item["live"] = {**detail, "clusterStatus": cluster["Status"]}
        else:
            item["result"] = {
                "status": FAILED,
                "error": f"cluster {target} is {cluster['Status']}",
                **detail,
            }

    def _check_multi_region(
        self, ctx: AccountContext, client: Any, name: str, item: dict, everywhere: bool
    ) -> None:
        cluster = self._describe(client, name)
        if cluster is None:
            item["result"] = {"status": FAILED, "error": f"no cluster {name} in {ctx.region}"}
            return
        detail = {
            "multiRegionCluster": item["multiRegionCluster"],
            "clusterStatus": cluster["Status"],
        }
        if cluster["Status"] in WAITING:
            item["live"] = detail
            return
        if cluster["Status"] != "available":
            item["result"] = {"status": FAILED, "error": f"{name} is {cluster['Status']}", **detail}
            return
        if everywhere:
            multi = client.describe_multi_region_clusters(
                MultiRegionClusterName=item["multiRegionCluster"], ShowClusterDetails=True
            )["MultiRegionClusters"][0]
            regions = {c["Region"]: c["Status"] for c in multi.get("Clusters") or []}
            detail["regions"] = regions
            if any(s in WAITING for s in regions.values()):
                item["live"] = detail
                return
            bad = {r: s for r, s in regions.items() if s != "available"}
            if bad or len(regions) < 2:
                item["result"] = {
                    "status": FAILED,
                    "error": "not every regional cluster is available: "
                    + (", ".join(f"{r} {s}" for r, s in bad.items()) or "no other region"),
                    **detail,
                }
                return
        item["result"] = {
            "status": SUCCEEDED,
            **detail,
            "note": "a Multi-Region cluster: every region takes writes, nothing is failed over",
        }

    # --- CLEANUP ------------------------------------------------------------------------------
    def _start_cleanup(
        self, client: Any, name: str, item: dict, clusters: Mapping[str, Any]
    ) -> None:
        copies = []
        for other, cluster in sorted(clusters.items()):
            if not other.startswith(DRILL_PREFIX):
                continue
            if self._tags(client, cluster["ARN"]).get(COPY_TAG) != name:
                continue
            copies.append(other)
            if cluster["Status"] in ("available", "create-failed"):
                client.delete_cluster(ClusterName=other)
        item["copies"] = copies
        if not copies:
            item["result"] = {"status": SUCCEEDED, "deleted": [], "note": "no drill copies"}

    def _check_cleanup(self, client: Any, item: dict) -> None:
        left = []
        for copy in item["copies"]:
            cluster = self._describe(client, copy)
            if cluster is None:
                continue
            left.append(copy)
            if cluster["Status"] in ("available", "create-failed"):  # was still restoring
                client.delete_cluster(ClusterName=copy)
        if left:
            item["live"] = {"deleting": left}
        else:
            item["result"] = {"status": SUCCEEDED, "deleted": item["copies"]}
