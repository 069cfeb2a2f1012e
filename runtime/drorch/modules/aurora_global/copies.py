"""aurora-global's drill: an isolated copy of the secondary (ACTIVATE), deleted by CLEANUP.

Only clusters and instances named ``drorch-drill-*`` *and* tagged
``drorch:drill-copy-of=<resource>`` are ever deleted.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.aurora_global.calls import AuroraCalls, page
from drorch.modules.base import FAILED, RUNNING, SKIPPED, SUCCEEDED, AccountContext, Resource
from drorch.modules.rds_instance.common import (
    BROKEN,
    copy_identifier,
    copy_tags,
    fail,
    is_drill_copy,
    is_not_found,
    problem,
    tag_list,
    tags_of,
)


class DrillCopies(AuroraCalls):
    # --- ACTIVATE (drill): an isolated copy -----------------------------------------------
    def _start_copy(
        self,
        ctx: AccountContext,
        rds: Any,
        resource: Resource,
        params: dict,
        state: dict,
        item: dict,
    ) -> None:
        options = {"source": "point-in-time", **(params.get("drillCopy") or {})}
        copy = copy_identifier(resource.id, state["key"])
        item.update(copy=copy, copySource=options["source"])
        source = self._cluster(ctx, rds, resource.id, "describing the secondary cluster")
        if source is None:
            item.update(status=FAILED, error=f"DB cluster {resource.id} no longer exists")
            return
        item["instanceClass"] = (
            options.get("instanceClass")
            or self._instance_class(ctx, rds, source)
            or self._primary_class(ctx, resource.id, rds, source)
            or "db.r6g.large"
        )
        existing = self._cluster(ctx, rds, copy, "looking for the drill copy")
        if existing is not None:
            if not is_drill_copy(copy, tags_of(existing.get("TagList")), resource.id):
                item.update(
                    status=FAILED,
                    error=f"a cluster named {copy} exists and is not drorch's drill copy of {resource.id}",
                )
            return  # a retried start: the restore was asked for
        common: dict[str, Any] = {
            "DBClusterIdentifier": copy,
            "Tags": copy_tags(resource.id, ctx, state["key"]),
            "DeletionProtection": False,
            "CopyTagsToSnapshot": False,
        }
        if options.get("dbSubnetGroupName"):
            common["DBSubnetGroupName"] = options["dbSubnetGroupName"]
        if options.get("vpcSecurityGroupIds"):
            common["VpcSecurityGroupIds"] = list(options["vpcSecurityGroupIds"])
        try:
            if options["source"] == "latest-snapshot":
                snapshot = self._latest_snapshot(ctx, rds, resource.id)
                if snapshot is None:
                    item.update(
                        status=FAILED,
                        error=f"no available cluster snapshot of {resource.id} in {ctx.region}",
                    )
                    return
                item["snapshot"] = snapshot["DBClusterSnapshotIdentifier"]
                rds.restore_db_cluster_from_snapshot(
                    SnapshotIdentifier=snapshot["DBClusterSnapshotArn"],
                    Engine=source["Engine"],
                    **common,
                )
            else:
                item["restoredTo"] = "latest restorable time"
                rds.restore_db_cluster_to_point_in_time(
                    SourceDBClusterIdentifier=resource.id, UseLatestRestorableTime=True, **common
                )
        except ClientError as error:
            item.update(status=FAILED, error=problem(error, ctx, f"restoring {copy}"))

    @staticmethod
    def _latest_snapshot(ctx: AccountContext, rds: Any, cluster: str) -> dict | None:
        try:
            snapshots = page(
                rds,
                "describe_db_cluster_snapshots",
                "DBClusterSnapshots",
                DBClusterIdentifier=cluster,
            )
        except ClientError as error:
            fail(error, ctx, f"listing the snapshots of {cluster}", "aurora-global")
        ready = [
            s for s in snapshots if s.get("Status") == "available" and s.get("SnapshotCreateTime")
        ]
        return max(ready, key=lambda s: s["SnapshotCreateTime"]) if ready else None

    def _poll_copy(self, ctx: AccountContext, rds: Any, resource_id: str, item: dict) -> None:
        copy = item["copy"]
        cluster = self._cluster(ctx, rds, copy, "describing the drill copy")
        if cluster is None:
            item.update(status=FAILED, error=f"the drill copy {copy} disappeared")
            return
        item["copyStatus"] = cluster["Status"]
        if cluster["Status"] in BROKEN:
            item.update(status=FAILED, error=f"the drill copy {copy} is {cluster['Status']}")
            return
        if cluster["Status"] != "available":
            return
        item["copyEndpoint"] = cluster.get("Endpoint")
        instance_id = f"{copy}-1"
        instance = self._instance(ctx, rds, instance_id, "describing the drill copy's instance")
        if instance is None:
            try:
                rds.create_db_instance(
                    DBInstanceIdentifier=instance_id,
                    DBClusterIdentifier=copy,
                    Engine=cluster["Engine"],
                    DBInstanceClass=item["instanceClass"],
                    Tags=tag_list(tags_of(cluster.get("TagList"))),
                )
            except ClientError as error:
                item.update(
                    status=FAILED, error=problem(error, ctx, f"CreateDBInstance {instance_id}")
                )
            return
        item["copyInstance"] = instance_id
        item["copyInstanceStatus"] = instance["DBInstanceStatus"]
        if instance["DBInstanceStatus"] in BROKEN:
            item.update(
                status=FAILED, error=f"the drill copy's instance is {instance['DBInstanceStatus']}"
            )
        elif instance["DBInstanceStatus"] == "available":
            item["status"] = SUCCEEDED

    # --- CLEANUP: drill copies ---------------------------------------------------------------
    def _start_cleanup(self, ctx: AccountContext, rds: Any, resource: Resource, item: dict) -> None:
        try:
            clusters = page(rds, "describe_db_clusters", "DBClusters")
        except ClientError as error:
            fail(error, ctx, "listing drill copies", self.type)
        copies = [
            c
            for c in clusters
            if is_drill_copy(c["DBClusterIdentifier"], tags_of(c.get("TagList")), resource.id)
        ]
        if not copies:
            item.update(status=SKIPPED, note="no drill copy to delete")
            return
        item["copies"] = sorted(c["DBClusterIdentifier"] for c in copies)
        for copy in copies:
            for member in copy.get("DBClusterMembers") or []:
                self._delete_instance(ctx, rds, member["DBInstanceIdentifier"], item)

    def _delete_instance(self, ctx: AccountContext, rds: Any, name: str, item: dict) -> None:
        instance = self._instance(ctx, rds, name, "describing a drill copy's instance")
        if instance is None or instance["DBInstanceStatus"] == "deleting":
            return
        try:
            rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
        except ClientError as error:
            if not is_not_found(error):
                item.update(status=FAILED, error=problem(error, ctx, f"DeleteDBInstance {name}"))

    def _poll_cleanup(self, ctx: AccountContext, rds: Any, item: dict) -> None:
        left = []
        for name in item["copies"]:
            cluster = self._cluster(ctx, rds, name, "describing a drill copy")
            if cluster is None:
                continue
            left.append(name)
            if not is_drill_copy(name, tags_of(cluster.get("TagList"))):
                item.update(
                    status=FAILED, error=f"{name} is no longer tagged as a drill copy: not deleted"
                )
                return
            members = cluster.get("DBClusterMembers") or []
            for member in members:
                self._delete_instance(ctx, rds, member["DBInstanceIdentifier"], item)
            if members or cluster["Status"] == "deleting" or item["status"] == FAILED:
                continue
            try:
                rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)
            except ClientError as error:
                if not is_not_found(error):
                    item.update(status=FAILED, error=problem(error, ctx, f"DeleteDBCluster {name}"))
                    return
        item["remaining"] = left
        if not left and item["status"] == RUNNING:
            item["status"] = SUCCEEDED
            item.pop("remaining")
            item["deleted"] = item["copies"]
