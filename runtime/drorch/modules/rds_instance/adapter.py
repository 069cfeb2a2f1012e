"""The rds-instance module: RDS DB instances (MySQL, PostgreSQL, MariaDB, Oracle, SQL Server).

A resource is a DB instance in the recovery Region that is not an Aurora cluster member:
usually a cross-region read replica (``mode: promote``), or a Multi-AZ instance
(``mode: reboot-failover``). Discovery asks RDS directly (``DescribeDBInstances``, the
selector's ids and tags); drorch's own drill copies are never discovered.

Phases (each ``start`` + ``status``; the status is read from RDS, never a timer):

* INSTANTIATE — nothing to pre-warm (the replica already runs): SKIPPED.
* ACTIVATE by ``mode``:

  - ``promote`` (default): ``PromoteReadReplica``. The replica's ``ReplicaLag`` just
    before is recorded (the writes at risk); above ``maxReplicaLagSeconds`` the promotion
    is refused. The instance is first tagged with its source (``drorch:former-source``)
    and the execution's key, which is what REPLICATE rebuilds from and what a retried
    start recognises. Done when it is ``available`` and no longer a replica; one that
    comes back ``available`` and still a replica is FAILED.
  - ``reboot-failover``: ``RebootDBInstance`` with ``ForceFailover`` (Multi-AZ only), after
    tagging the Availability Zone it leaves; done when it is ``available`` in another
    Availability Zone.

  While either runs, the executor waits for RDS's event about the instance (RDS-EVENT-0006
  "DB instance restarted", RDS-EVENT-0049 "Multi-AZ instance failover completed";
  :meth:`awaits`) instead of polling, and polls at the long fallback interval if it never
  comes.

* CLEANUP — deletes the drill copies of the resources: instances named
  ``drorch-drill-*`` *and* tagged ``drorch:drill-copy-of=<resource>``; nothing else.
* REPLICATE (not drill-safe) — a new cross-region read replica of the promoted instance
  in its former source's Region (``CreateDBInstanceReadReplica`` there, with the source
  ARN and ``SourceRegion``), ready for failback; done when it is available.

Drill (ACTIVATE): ``promote`` restores an isolated copy of the replica in the recovery
Region (``RestoreDBInstanceToPointInTime`` at the latest restorable time, or
``RestoreDBInstanceFromDBSnapshot`` from its newest snapshot) as ``drorch-drill-...``,
single-AZ, tagged, without deletion protection; done when it is available. A drill skips
``reboot-failover`` (SKIPPED, saying why): rebooting restarts the production instance.
It cannot harm production: the drill client refuses ``PromoteReadReplica``,
``RebootDBInstance``, every ``Modify``/``Stop``/``Delete``/tag call that does not name a
``drorch-drill-*`` copy, before it is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import (
    FAILED,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    AccountContext,
    Discovered,
    Finding,
    LayerMapping,
    ModuleIam,
    Resource,
    StatusResult,
    always,
    load_schema,
    selector_field,
    selector_scope_matches,
    tags_match,
)
from drorch.modules.rds_instance import iam
from drorch.modules.rds_instance.common import (
    BROKEN,
    MANAGED,
    TAG_COPY_OF,
    TAG_MANAGED,
    copy_identifier,
    copy_tags,
    elapsed,
    event_awaits,
    fail,
    is_copy_name,
    is_drill_copy,
    is_not_found,
    latest_metric,
    name_of,
    not_a_copy,
    problem,
    rds_name,
    rds_result,
    region_of,
    tag_list,
    tags_of,
)
from drorch.modules.rds_instance.probes import PROBES, readiness
from drorch.modules.resource import ResourceModule

RESOURCE_TYPE = "rds:db"
STATE_VERSION = 1
TAG_FORMER_SOURCE = "drorch:former-source"
TAG_PROMOTED_BY = "drorch:promoted-by"
TAG_FAILOVER_KEY = "drorch:failover-by"
TAG_FAILOVER_FROM = "drorch:failover-from-az"
QUIET_POLLS = 3

DISRUPTIVE_CALLS = {
    "PromoteReadReplica": always,
    "RebootDBInstance": always,
    "ModifyDBInstance": always,
    "StopDBInstance": always,
    "CreateDBInstanceReadReplica": always,
    "DeleteDBInstance": not_a_copy("DBInstanceIdentifier"),
    "AddTagsToResource": not_a_copy("ResourceName"),
    "RemoveTagsFromResource": not_a_copy("ResourceName"),
}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))
SKIP_REBOOT_IN_DRILL = (
    "a reboot with failover restarts the production instance (a brief outage while the "
    "standby takes over): a drill never does it"
)


class RdsInstanceModule(ResourceModule):
    type = "rds-instance"
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"INSTANTIATE", "ACTIVATE", "CLEANUP"})
    disruptive_calls = DISRUPTIVE_CALLS
    phases = ("ACTIVATE", "CLEANUP", "REPLICATE")
    summary = (
        "RDS DB instances: promote a cross-region read replica or reboot a Multi-AZ instance "
        "with failover; a new replica back towards the original Region for failback"
    )
    drill = (
        "promote: restores an isolated point-in-time (or latest snapshot) copy of the replica "
        "in the recovery Region as drorch-drill-*; CLEANUP deletes it. reboot-failover is "
        "skipped in a drill (it restarts production). The drill client refuses "
        "PromoteReadReplica, RebootDBInstance and every Modify/Stop/Delete/tag call that does "
        "not name a drorch-drill-* copy."
    )
    aliases = ("rds_instance", "RdsInstance")
    resource_types = (RESOURCE_TYPE,)
    # dr:recovery-strategy=rds routes a resource here (a TRS category group keeps only
    # those); an explicit group keeps whatever its selector picks
    strategies = ("rds",)
    identified_by = "DB instance identifier or ARN in the recovery Region"
    probes = PROBES
    sandbox_extension = "drorch.modules.rds_instance.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return iam.statements(account_id, regions)

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        return readiness(session, account_id, region)

    def from_layer(self, resource: Mapping[str, Any], where: str) -> LayerMapping:
        """``DBInstanceIdentifier`` -> selector ids; ``ForceFailover: true`` -> mode
        reboot-failover; the rest as the schema declares it."""
        params = dict(resource.get("parameters") or {})
        technology: dict[str, Any] = {"type": self.type, "parameters": {}}
        instance = params.pop("DBInstanceIdentifier", None)
        if instance:
            technology["selector"] = {"ids": instance if isinstance(instance, list) else [instance]}
        if params.pop("ForceFailover", False):
            technology["parameters"]["mode"] = "reboot-failover"
        known = set(self.parameters_schema["properties"])
        technology["parameters"].update({k: v for k, v in params.items() if k in known})
        unmapped = [f"{where}.parameters.{k}" for k in params if k not in known]
        return LayerMapping(technology=technology, unmapped=unmapped)

    # --- discovery ----------------------------------------------------------------------
    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        found = Discovered()
        if not selector_scope_matches(selector, ctx, RESOURCE_TYPE):
            return found
        wanted_tags = selector_field(selector, "tags")
        ids = {str(i) for i in selector_field(selector, "ids")}
        rds = ctx.client("rds")
        try:
            instances = [
                i
                for page in rds.get_paginator("describe_db_instances").paginate()
                for i in page.get("DBInstances", [])
            ]
        except ClientError as error:
            fail(error, ctx, "listing DB instances", self.type)
        for instance in instances:
            name, arn = instance["DBInstanceIdentifier"], instance["DBInstanceArn"]
            tags = tags_of(instance.get("TagList"))
            if instance.get("DBClusterIdentifier") or TAG_COPY_OF in tags or is_copy_name(name):
                continue  # an Aurora or Multi-AZ cluster member, or drorch's drill copy
            if ids and not {name, arn} & ids:
                continue
            if tags_match(tags, wanted_tags):
                found.append(
                    Resource(name, arn, ctx.account_id, ctx.region, name, tags, RESOURCE_TYPE)
                )
        found.sort(key=lambda r: r.id)
        return found

    # --- start / status -----------------------------------------------------------------
    def start(
        self,
        ctx: AccountContext,
        phase: str,
        resources: list[Resource],
        params: dict[str, Any],
        drill: bool,
        idempotency_key: str,
    ) -> dict[str, Any]:
        params, items, drill = self.prepare(ctx, phase, resources, params, drill, idempotency_key)
        state: dict[str, Any] = {
            "v": STATE_VERSION,
            "phase": phase,
            "drill": drill,
            "key": idempotency_key,
            "names": {r.id: r.name for r in items},
            "items": {},
            "checkedAt": ctx.now,
        }
        rds = self._rds(ctx, state)
        for resource in items:
            item: dict[str, Any] = {"status": RUNNING, "startedAt": ctx.now}
            state["items"][resource.id] = item
            if phase == "INSTANTIATE":
                item.update(status=SKIPPED, note="nothing to pre-warm: the replica already runs")
            elif phase == "ACTIVATE" and drill:
                item["mode"] = params["mode"]
                if params["mode"] == "reboot-failover":
                    item.update(status=SKIPPED, note=SKIP_REBOOT_IN_DRILL)
                else:
                    self._start_copy(ctx, rds, resource, params, state, item)
            elif phase == "ACTIVATE":
                item["mode"] = params["mode"]
                if params["mode"] == "promote":
                    self._start_promote(ctx, rds, resource, params, state, item)
                else:
                    self._start_reboot(ctx, rds, resource, state, item)
            elif phase == "CLEANUP":
                self._start_cleanup(ctx, rds, resource, item)
            else:
                self._start_replicate(ctx, rds, resource, params, item)
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        self.check_state(phase, state)
        rds = self._rds(ctx, state)
        state["checkedAt"] = ctx.now
        for resource_id, item in sorted(state["items"].items()):
            if item["status"] != RUNNING:
                continue
            if phase == "ACTIVATE" and state["drill"]:
                self._poll_copy(ctx, rds, item)
            elif phase == "ACTIVATE" and item["mode"] == "promote":
                self._poll_promote(ctx, rds, resource_id, item)
            elif phase == "ACTIVATE":
                self._poll_reboot(ctx, rds, resource_id, item)
            elif phase == "CLEANUP":
                self._poll_cleanup(ctx, rds, item)
            else:
                self._poll_replicate(ctx, item)
            if item["status"] != RUNNING:
                item["finishedAt"] = ctx.now
                item["durationSeconds"] = elapsed(item.get("startedAt"), ctx)
        return rds_result(state)

    def awaits(self, phase: str, state: Mapping[str, Any]) -> list[dict[str, Any]]:
        """ACTIVATE's promotions and reboots under way: RDS's event about the instance (it
        restarted, or failed over) ends the executor's wait."""
        if phase != "ACTIVATE" or state.get("drill"):
            return []
        arns = [
            item["arn"]
            for item in state["items"].values()
            if item["status"] == RUNNING and item.get("arn")
        ]
        return event_awaits(arns, state.get("checkedAt"))

    # --- shared -------------------------------------------------------------------------
    def _rds(self, ctx: AccountContext, state: Mapping[str, Any], region: str | None = None) -> Any:
        return ctx.client("rds", region=region, guard=self.drill_guard(bool(state.get("drill"))))

    def _instance(self, ctx: AccountContext, rds: Any, identifier: str) -> dict | None:
        try:
            found = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
        except ClientError as error:
            if is_not_found(error):
                return None
            fail(error, ctx, f"describing DB instance {identifier}", self.type)
        return found[0] if found else None

    # --- ACTIVATE: promote ----------------------------------------------------------------
    def _start_promote(
        self,
        ctx: AccountContext,
        rds: Any,
        resource: Resource,
        params: dict,
        state: dict,
        item: dict,
    ) -> None:
        instance = self._instance(ctx, rds, resource.id)
        if instance is None:
            item.update(status=FAILED, error=f"DB instance {resource.id} no longer exists")
            return
        item["arn"] = instance["DBInstanceArn"]
        tags = tags_of(instance.get("TagList"))
        source = instance.get("ReadReplicaSourceDBInstanceIdentifier")
        item["formerSource"] = source or tags.get(TAG_FORMER_SOURCE)
        asked = tags.get(TAG_PROMOTED_BY) == state["key"][:256]
        if asked and not (source and instance["DBInstanceStatus"] == "available"):
            item["seen"] = True
            return  # a retried start: the promotion is under way (or done)
        if not source:
            if TAG_FORMER_SOURCE in tags:
                item.update(
                    status=SUCCEEDED, note=f"already promoted from {tags[TAG_FORMER_SOURCE]}"
                )
            else:
                item.update(status=FAILED, error=f"{resource.id} is not a read replica")
            return
        if instance["DBInstanceStatus"] != "available":
            item.update(
                status=FAILED,
                error=f"{resource.id} is {instance['DBInstanceStatus']}; a replica is promoted when available",
            )
            return
        self._measure_lag(ctx, item, resource.id)
        limit = params.get("maxReplicaLagSeconds")
        if limit is not None and item.get("replicaLagSeconds", 0) > limit:
            item.update(
                status=FAILED,
                error=(
                    f"replica lag {item['replicaLagSeconds']:.1f} s at {item['lagMeasuredAt']} exceeds "
                    f"maxReplicaLagSeconds {limit}: promoting now would lose those writes (nothing "
                    "was called)"
                ),
            )
            return
        kwargs: dict[str, Any] = {"DBInstanceIdentifier": resource.id}
        if params.get("backupRetentionPeriod") is not None:
            kwargs["BackupRetentionPeriod"] = params["backupRetentionPeriod"]
        marks = {TAG_FORMER_SOURCE: source, TAG_PROMOTED_BY: state["key"][:256]}
        try:
            if not asked:  # the marks a retried start (and REPLICATE) read
                rds.add_tags_to_resource(
                    ResourceName=instance["DBInstanceArn"], Tags=tag_list(marks)
                )
            answer = rds.promote_read_replica(**kwargs)["DBInstance"]
        except ClientError as error:
            item.update(status=FAILED, error=problem(error, ctx, "PromoteReadReplica"))
            return
        item.update(
            seen=answer.get("DBInstanceStatus") != "available",
            instanceStatus=answer.get("DBInstanceStatus"),
        )

    def _measure_lag(self, ctx: AccountContext, item: dict, identifier: str) -> None:
        cloudwatch = ctx.client("cloudwatch")
        lag = latest_metric(
            ctx, cloudwatch, "ReplicaLag", [[{"Name": "DBInstanceIdentifier", "Value": identifier}]]
        )
        if lag is None:
            item["lagNote"] = "no ReplicaLag datapoint in the last 10 minutes"
            return
        item.update(replicaLagSeconds=round(lag[0], 3), lagMeasuredAt=lag[1])

    def _poll_promote(self, ctx: AccountContext, rds: Any, resource_id: str, item: dict) -> None:
        instance = self._instance(ctx, rds, resource_id)
        if instance is None:
            item.update(status=FAILED, error=f"DB instance {resource_id} no longer exists")
            return
        status = instance["DBInstanceStatus"]
        item["instanceStatus"] = status
        replica = instance.get("ReadReplicaSourceDBInstanceIdentifier")
        if status in BROKEN:
            item.update(status=FAILED, error=f"{resource_id} is {status}")
        elif status != "available":
            item["seen"] = True
        elif not replica:
            item["status"] = SUCCEEDED
        else:
            item["quiet"] = item.get("quiet", 0) + 1
            if item.get("seen") or item["quiet"] >= QUIET_POLLS:
                item.update(
                    status=FAILED,
                    error=f"the promotion ended and {resource_id} is still a read replica of {replica}",
                )

    # --- ACTIVATE: reboot with failover ---------------------------------------------------------
    def _start_reboot(
        self, ctx: AccountContext, rds: Any, resource: Resource, state: dict, item: dict
    ) -> None:
        instance = self._instance(ctx, rds, resource.id)
        if instance is None:
            item.update(status=FAILED, error=f"DB instance {resource.id} no longer exists")
            return
        item["arn"] = instance["DBInstanceArn"]
        tags = tags_of(instance.get("TagList"))
        if tags.get(TAG_FAILOVER_KEY) == state["key"][:256] and not (
            instance["DBInstanceStatus"] == "available"
            and instance.get("AvailabilityZone") == tags.get(TAG_FAILOVER_FROM)
        ):
            item.update(seen=True, fromZone=tags.get(TAG_FAILOVER_FROM))
            return  # a retried start: the reboot is under way (or done)
        if not instance.get("MultiAZ"):
            item.update(
                status=FAILED,
                error=f"{resource.id} is not Multi-AZ: there is no standby to fail over to",
            )
            return
        if instance["DBInstanceStatus"] != "available":
            item.update(
                status=FAILED,
                error=f"{resource.id} is {instance['DBInstanceStatus']}, not available",
            )
            return
        zone = instance.get("AvailabilityZone", "")
        item["fromZone"] = zone
        marks = {TAG_FAILOVER_KEY: state["key"][:256], TAG_FAILOVER_FROM: zone}
        try:
            if tags.get(TAG_FAILOVER_KEY) != marks[TAG_FAILOVER_KEY]:
                rds.add_tags_to_resource(
                    ResourceName=instance["DBInstanceArn"], Tags=tag_list(marks)
                )
            answer = rds.reboot_db_instance(DBInstanceIdentifier=resource.id, ForceFailover=True)[
                "DBInstance"
            ]
        except ClientError as error:
            item.update(status=FAILED, error=problem(error, ctx, "RebootDBInstance"))
            return
        item["seen"] = answer.get("DBInstanceStatus") != "available"

    def _poll_reboot(self, ctx: AccountContext, rds: Any, resource_id: str, item: dict) -> None:
        instance = self._instance(ctx, rds, resource_id)
        if instance is None:
            item.update(status=FAILED, error=f"DB instance {resource_id} no longer exists")
            return
        status, zone = instance["DBInstanceStatus"], instance.get("AvailabilityZone")
        item.update(instanceStatus=status, zone=zone)
        if status in BROKEN:
            item.update(status=FAILED, error=f"{resource_id} is {status}")
        elif status != "available":
            item["seen"] = True
        elif zone and zone != item.get("fromZone"):
            item["status"] = SUCCEEDED
        else:
            item["quiet"] = item.get("quiet", 0) + 1
            if item.get("seen") or item["quiet"] >= QUIET_POLLS:
                item.update(
                    status=FAILED,
                    error=f"{resource_id} came back in {zone}, the zone it was in: no failover happened",
                )

    # --- ACTIVATE (drill): an isolated copy -------------------------------------------------------
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
        existing = self._instance(ctx, rds, copy)
        if existing is not None:
            if not is_drill_copy(copy, tags_of(existing.get("TagList")), resource.id):
                item.update(
                    status=FAILED,
                    error=f"an instance named {copy} exists and is not drorch's drill copy of {resource.id}",
                )
            return  # a retried start: the restore was asked for
        common: dict[str, Any] = {
            "Tags": copy_tags(resource.id, ctx, state["key"]),
            "DeletionProtection": False,
            "MultiAZ": False,
            "CopyTagsToSnapshot": False,
        }
        for option, name in (
            ("instanceClass", "DBInstanceClass"),
            ("dbSubnetGroupName", "DBSubnetGroupName"),
            ("vpcSecurityGroupIds", "VpcSecurityGroupIds"),
        ):
            if options.get(option):
                common[name] = options[option]
        try:
            if options["source"] == "latest-snapshot":
                snapshot = self._latest_snapshot(ctx, rds, resource.id)
                if snapshot is None:
                    item.update(
                        status=FAILED,
                        error=f"no available snapshot of {resource.id} in {ctx.region}",
                    )
                    return
                item["snapshot"] = snapshot["DBSnapshotIdentifier"]
                rds.restore_db_instance_from_db_snapshot(
                    DBInstanceIdentifier=copy,
                    DBSnapshotIdentifier=snapshot["DBSnapshotIdentifier"],
                    **common,
                )
            else:
                item["restoredTo"] = "latest restorable time"
                rds.restore_db_instance_to_point_in_time(
                    SourceDBInstanceIdentifier=resource.id,
                    TargetDBInstanceIdentifier=copy,
                    UseLatestRestorableTime=True,
                    **common,
                )
        except ClientError as error:
            item.update(status=FAILED, error=problem(error, ctx, f"restoring {copy}"))

    def _latest_snapshot(self, ctx: AccountContext, rds: Any, identifier: str) -> dict | None:
        try:
            snapshots = [
                s
                for page in rds.get_paginator("describe_db_snapshots").paginate(
                    DBInstanceIdentifier=identifier
                )
                for s in page.get("DBSnapshots", [])
            ]
        except ClientError as error:
            fail(error, ctx, f"listing the snapshots of {identifier}", self.type)
        ready = [
            s for s in snapshots if s.get("Status") == "available" and s.get("SnapshotCreateTime")
        ]
        return max(ready, key=lambda s: s["SnapshotCreateTime"]) if ready else None

    def _poll_copy(self, ctx: AccountContext, rds: Any, item: dict) -> None:
        instance = self._instance(ctx, rds, item["copy"])
        if instance is None:
            item.update(status=FAILED, error=f"the drill copy {item['copy']} disappeared")
            return
        status = instance["DBInstanceStatus"]
        item["copyStatus"] = status
        if status in BROKEN:
            item.update(status=FAILED, error=f"the drill copy {item['copy']} is {status}")
        elif status == "available":
            item.update(
                status=SUCCEEDED, copyEndpoint=(instance.get("Endpoint") or {}).get("Address")
            )

    # --- CLEANUP: drill copies ----------------------------------------------------------------
    def _start_cleanup(self, ctx: AccountContext, rds: Any, resource: Resource, item: dict) -> None:
        try:
            instances = [
                i
                for page in rds.get_paginator("describe_db_instances").paginate()
                for i in page.get("DBInstances", [])
            ]
        except ClientError as error:
            fail(error, ctx, "listing drill copies", self.type)
        copies = [
            i
            for i in instances
            if is_drill_copy(i["DBInstanceIdentifier"], tags_of(i.get("TagList")), resource.id)
        ]
        if not copies:
            item.update(status=SKIPPED, note="no drill copy to delete")
            return
        item["copies"] = sorted(i["DBInstanceIdentifier"] for i in copies)
        for copy in copies:
            if copy["DBInstanceStatus"] == "deleting":
                continue  # a retried start: already asked for
            try:
                rds.delete_db_instance(
                    DBInstanceIdentifier=copy["DBInstanceIdentifier"],
                    SkipFinalSnapshot=True,
                    DeleteAutomatedBackups=True,
                )
            except ClientError as error:
                if not is_not_found(error):
                    item.update(
                        status=FAILED,
                        error=problem(
                            error, ctx, f"DeleteDBInstance {copy['DBInstanceIdentifier']}"
                        ),
                    )
                    return

    def _poll_cleanup(self, ctx: AccountContext, rds: Any, item: dict) -> None:
        left = [name for name in item["copies"] if self._instance(ctx, rds, name) is not None]
        item["remaining"] = left
        if not left:
            item.pop("remaining")
            item.update(status=SUCCEEDED, deleted=item["copies"])

    # --- REPLICATE: a replica back in the original Region ---------------------------------------
    def _start_replicate(
        self, ctx: AccountContext, rds: Any, resource: Resource, params: dict, item: dict
    ) -> None:
        instance = self._instance(ctx, rds, resource.id)
        if instance is None:
            item.update(status=FAILED, error=f"DB instance {resource.id} no longer exists")
            return
        if instance.get("ReadReplicaSourceDBInstanceIdentifier"):
            item.update(
                status=SKIPPED,
                note=f"{resource.id} is still a read replica: nothing to fail back from",
            )
            return
        tags = tags_of(instance.get("TagList"))
        failback = params.get("failback") or {}
        former = tags.get(TAG_FORMER_SOURCE, "")
        region = failback.get("region") or region_of(former)
        if not region:
            item.update(
                status=FAILED,
                error=f"{resource.id} has no former source on record: give failback.region",
            )
            return
        replica = failback.get("replicaIdentifier") or rds_name(
            name_of(former) or resource.id, "failback"
        )
        item.update(replicaRegion=region, replica=replica, formerSource=former or None)
        remote = self._rds(ctx, {}, region)
        existing = self._instance(ctx, remote, replica)
        if existing is not None:
            if existing.get("ReadReplicaSourceDBInstanceIdentifier") != instance["DBInstanceArn"]:
                item.update(
                    status=FAILED,
                    error=f"{replica} exists in {region} and is not a replica of {instance['DBInstanceArn']}",
                )
            return  # a retried start: already asked for
        kwargs: dict[str, Any] = {
            "DBInstanceIdentifier": replica,
            "SourceDBInstanceIdentifier": instance["DBInstanceArn"],
            "DBInstanceClass": failback.get("instanceClass") or instance["DBInstanceClass"],
            "MultiAZ": failback.get("multiAz", False),
            "Tags": tag_list({TAG_MANAGED: MANAGED, "drorch:failback-of": resource.id}),
        }
        if region != ctx.region:
            kwargs["SourceRegion"] = ctx.region
            if instance.get("StorageEncrypted"):
                kwargs["KmsKeyId"] = failback.get("kmsKeyId") or "alias/aws/rds"
        if failback.get("dbSubnetGroupName"):
            kwargs["DBSubnetGroupName"] = failback["dbSubnetGroupName"]
        if failback.get("vpcSecurityGroupIds"):
            kwargs["VpcSecurityGroupIds"] = list(failback["vpcSecurityGroupIds"])
        try:
            remote.create_db_instance_read_replica(**kwargs)
        except ClientError as error:
            item.update(
                status=FAILED, error=problem(error, ctx, f"CreateDBInstanceReadReplica {replica}")
            )

    def _poll_replicate(self, ctx: AccountContext, item: dict) -> None:
        remote = self._rds(ctx, {}, item["replicaRegion"])
        replica = self._instance(ctx, remote, item["replica"])
        if replica is None:
            item.update(status=FAILED, error=f"the failback replica {item['replica']} disappeared")
            return
        status = replica["DBInstanceStatus"]
        item["replicaStatus"] = status
        if status in BROKEN:
            item.update(status=FAILED, error=f"the failback replica {item['replica']} is {status}")
        elif status == "available":
            item["status"] = SUCCEEDED
