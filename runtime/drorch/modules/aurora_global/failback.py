"""aurora-global's REPLICATE: the old primary Region as a secondary again, ready for failback."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.aurora_global.calls import AuroraCalls
from drorch.modules.base import FAILED, SKIPPED, SUCCEEDED, AccountContext, Resource
from drorch.modules.rds_instance.common import (
    BROKEN,
    MANAGED,
    TAG_MANAGED,
    name_of,
    problem,
    rds_name,
    region_of,
    tag_list,
    tags_of,
)

TAG_DETACHED_FROM = "drorch:detached-from"
TAG_FORMER_PRIMARY = "drorch:former-primary"


class Failback(AuroraCalls):
    # --- REPLICATE: the old primary Region as a secondary ------------------------------------
    def _start_replicate(
        self, ctx: AccountContext, rds: Any, resource: Resource, params: dict, item: dict
    ) -> None:
        cluster = self._cluster(ctx, rds, resource.id, "describing the cluster")
        if cluster is None:
            item.update(status=FAILED, error=f"DB cluster {resource.id} no longer exists")
            return
        tags = tags_of(cluster.get("TagList"))
        global_id = cluster.get("GlobalClusterIdentifier")
        found = self._global(ctx, rds, global_id) if global_id else None
        members = (found or {}).get("GlobalClusterMembers", [])
        me = next((m for m in members if m["DBClusterArn"] == cluster["DBClusterArn"]), None)
        failback = params.get("failback") or {}
        if me is not None and not me.get("IsWriter"):
            item.update(
                status=SKIPPED,
                note=f"{resource.id} is still a secondary of {global_id}: nothing to fail back from",
            )
            return
        others = [m for m in members if m["DBClusterArn"] != cluster["DBClusterArn"]]
        if others:
            # after a switchover or failover: Aurora keeps the old primary as a secondary
            item.update(
                mode="verify",
                globalCluster=global_id,
                secondaries=[m["DBClusterArn"] for m in others],
            )
            return
        former = tags.get(TAG_FORMER_PRIMARY, "")
        region = failback.get("region") or region_of(former)
        if not region:
            item.update(
                status=FAILED,
                error=f"{resource.id} has no former primary on record: give failback.region",
            )
            return
        old_global = tags.get(TAG_DETACHED_FROM) or global_id or resource.id
        new_global = (
            global_id or failback.get("globalClusterIdentifier") or rds_name(old_global, "failback")
        )
        secondary = failback.get("clusterIdentifier") or rds_name(
            name_of(former) or resource.id, "failback"
        )
        item.update(
            mode="rebuild",
            globalCluster=new_global,
            secondaryRegion=region,
            secondary=secondary,
            formerPrimary=former or None,
        )
        item["instanceClass"] = (
            failback.get("instanceClass")
            or self._instance_class(ctx, rds, cluster)
            or "db.r6g.large"
        )
        item["instanceCount"] = failback.get("instanceCount", 1)
        item["options"] = {
            k: failback[k]
            for k in ("kmsKeyId", "dbSubnetGroupName", "vpcSecurityGroupIds")
            if k in failback
        }
        if found is None:
            try:
                rds.create_global_cluster(
                    GlobalClusterIdentifier=new_global,
                    SourceDBClusterIdentifier=cluster["DBClusterArn"],
                )
            except ClientError as error:
                item.update(
                    status=FAILED, error=problem(error, ctx, f"CreateGlobalCluster {new_global}")
                )
                return
        self._advance_rebuild(ctx, item, cluster["Engine"])

    def _advance_rebuild(self, ctx: AccountContext, item: dict, engine: str | None = None) -> None:
        """Create the secondary and its instances once the global database is there."""
        remote = self._rds(ctx, {}, item["secondaryRegion"])
        secondary = self._cluster(ctx, remote, item["secondary"], "describing the new secondary")
        if secondary is None:
            found = self._global(ctx, remote, item["globalCluster"])
            if found is None or found.get("Status") != "available":
                return
            options = item.get("options") or {}
            kwargs: dict[str, Any] = {
                "DBClusterIdentifier": item["secondary"],
                "Engine": engine or found["Engine"],
                "EngineVersion": found.get("EngineVersion"),
                "GlobalClusterIdentifier": item["globalCluster"],
                "Tags": tag_list(
                    {TAG_MANAGED: MANAGED, "drorch:failback-of": item["globalCluster"]}
                ),
            }
            if found.get("StorageEncrypted"):
                kwargs["StorageEncrypted"] = True
                if options.get("kmsKeyId"):
                    kwargs["KmsKeyId"] = options["kmsKeyId"]
            if options.get("dbSubnetGroupName"):
                kwargs["DBSubnetGroupName"] = options["dbSubnetGroupName"]
            if options.get("vpcSecurityGroupIds"):
                kwargs["VpcSecurityGroupIds"] = list(options["vpcSecurityGroupIds"])
            try:
                remote.create_db_cluster(**{k: v for k, v in kwargs.items() if v is not None})
            except ClientError as error:
                item.update(
                    status=FAILED, error=problem(error, ctx, f"CreateDBCluster {item['secondary']}")
                )
                return
            secondary = self._cluster(
                ctx, remote, item["secondary"], "describing the new secondary"
            )
            if secondary is None:
                return
        names = [
            f"{rds_name(item['secondary'], limit=58)}-{n}"
            for n in range(1, item["instanceCount"] + 1)
        ]
        item["secondaryInstances"] = names
        states: dict[str, str] = {}
        for name in names:
            instance = self._instance(ctx, remote, name, "describing the new secondary's instance")
            if instance is None:
                try:
                    remote.create_db_instance(
                        DBInstanceIdentifier=name,
                        DBClusterIdentifier=item["secondary"],
                        Engine=secondary["Engine"],
                        DBInstanceClass=item["instanceClass"],
                        Tags=tag_list({TAG_MANAGED: MANAGED}),
                    )
                except ClientError as error:
                    item.update(
                        status=FAILED, error=problem(error, ctx, f"CreateDBInstance {name}")
                    )
                    return
                states[name] = "creating"
            else:
                states[name] = instance["DBInstanceStatus"]
        item["secondaryStatus"] = secondary["Status"]
        item["instanceStatus"] = states
        broken = [f"{n} is {s}" for n, s in states.items() if s in BROKEN]
        if secondary["Status"] in BROKEN or broken:
            item.update(
                status=FAILED,
                error="; ".join(broken) or f"{item['secondary']} is {secondary['Status']}",
            )
        elif secondary["Status"] == "available" and all(s == "available" for s in states.values()):
            item["status"] = SUCCEEDED

    def _poll_replicate(self, ctx: AccountContext, item: dict) -> None:
        if item["mode"] == "rebuild":
            self._advance_rebuild(ctx, item)
            return
        rds = self._rds(ctx, {})
        found = self._global(ctx, rds, item["globalCluster"])
        if found is None:
            item.update(
                status=FAILED, error=f"global cluster {item['globalCluster']} no longer exists"
            )
            return
        if found.get("FailoverState"):
            item["failoverStatus"] = found["FailoverState"].get("Status")
            return
        states = {}
        for arn in item["secondaries"]:
            member = next(
                (m for m in found.get("GlobalClusterMembers", []) if m["DBClusterArn"] == arn), None
            )
            if member is None:
                item.update(status=FAILED, error=f"{arn} left the global database")
                return
            if member.get("IsWriter"):
                item.update(
                    status=SKIPPED, note=f"{arn} is the writer again: nothing to fail back from"
                )
                return
            remote = self._rds(ctx, {}, region_of(arn))
            cluster = self._cluster(ctx, remote, arn, "describing the old primary")
            states[arn] = (
                f"{cluster['Status'] if cluster else 'gone'}, {member.get('SynchronizationStatus', 'connected')}"
            )
        item["secondaryStatus"] = states
        if all(s == "available, connected" for s in states.values()):
            item["status"] = SUCCEEDED
