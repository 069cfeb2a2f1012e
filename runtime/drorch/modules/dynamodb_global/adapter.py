"""The dynamodb-global module: DynamoDB global tables (version 2019.11.21).

A resource is the replica of a global table in the recovery region (the account's
region). Discovery makes direct calls there (``ListTables``, ``DescribeTable``,
``ListTagsOfResource``), by the selector's ids and tags; a table named in ``ids`` that
has no replicas is excluded and said so; drorch's own drill copies are never resources.

Every replica of a global table takes writes, so there is nothing to promote: a
failover of the data is the application writing to the recovery region. What drorch
does is make sure that replica can take them, and say how far behind it is.

Phases (each ``start`` + ``status``; status reads ``DescribeTable``, never a timer):

* INSTANTIATE — nothing (a replica is live already); the result says so.
* ACTIVATE — checks that the recovery-region replica is ``ACTIVE`` (a replica being
  created or updated is waited for) and reports the replication latency between it and
  each other replica: CloudWatch ``ReplicationLatency`` (``Average``, latest minute),
  read in the recovery region. DynamoDB publishes that metric in the *sending* region, so
  what the recovery region holds is the latency of its link to each ``ReceivingRegion``;
  the other direction's figure lives in the source region, which drorch does not call
  (it may be the region that is down, and the execution role reads only the account's
  regions). A link with no datapoints is reported, not failed. With
  ``maxReplicationLatencySeconds`` a latency above it fails the table. ACTIVATE makes no
  call that can change the table: it only reads.
* CLEANUP — deletes this group's drill copies (tables named
  ``drorch-drill-<hash>-<table>``) and waits until they are gone. Nothing else is ever
  deleted: ``DeleteTable`` of any other name is refused by the drill client, and the
  IAM grants it on ``drorch-drill-*`` tables only.
* REPLICATE (failback) — checks that every replica of the table is ``ACTIVE`` again
  (the original region's replica included), so writes can move back. A replica that
  is missing must be re-added (``UpdateTable`` ``ReplicaUpdates``); drorch does not do
  that, and the error says so.

Drill: ACTIVATE makes the same read-only check. With ``drillRestore`` it also restores a
point-in-time copy of the recovery-region replica (``RestoreTableToPointInTime``, the
latest restorable time or ``restoreTime``) into a new table named
``drorch-drill-<hash>-<table>`` (the hash comes from the idempotency key, so a retried
start finds its copy instead of restoring twice), tags it
``drorch:drill-copy-of=<table>`` once it is ``ACTIVE``, and waits for it; CLEANUP deletes
it. The global table is only read (a restore reads its source), and the drill client
refuses every call in ``DISRUPTIVE_CALLS`` before it is sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import (
    BLOCKER,
    FAILED,
    READY,
    SKIPPED,
    SUCCEEDED,
    WARNING,
    AccountContext,
    Discovered,
    Exclusion,
    Finding,
    ModuleIam,
    Resource,
    StatusResult,
    always,
    classify,
    error_code,
    error_message,
    load_schema,
    raise_if_fatal,
    resource_finding,
    rpo_exceeded,
    selector_field,
    selector_scope_matches,
    tags_match,
)
from drorch.modules.dynamodb_global import iam
from drorch.modules.dynamodb_global.iam import DRILL_PREFIX
from drorch.modules.dynamodb_global.probes import PROBES, readiness
from drorch.modules.resource import ResourceModule

RESOURCE_TYPE = "dynamodb:table"
STATE_VERSION = 1
COPY_TAG = "drorch:drill-copy-of"
LATENCY_NAMESPACE, LATENCY_METRIC = "AWS/DynamoDB", "ReplicationLatency"
LATENCY_WINDOW = timedelta(minutes=10)
WAITING = frozenset({"CREATING", "UPDATING"})
NOT_FOUND = "ResourceNotFoundException"


def _delete_disruptive(params: Mapping[str, Any]) -> bool:
    return not str(params.get("TableName", "")).startswith(DRILL_PREFIX)


# API calls that change production; a drill makes none of them (the drill client refuses them).
DISRUPTIVE_CALLS = {
    "DeleteTable": _delete_disruptive,  # of any table but a drill copy
    "UpdateTable": always,
    "UpdateGlobalTable": always,
    "UpdateGlobalTableSettings": always,
    "UpdateTableReplicaAutoScaling": always,
    "UpdateContinuousBackups": always,
    "UpdateTimeToLive": always,
    "DeleteBackup": always,
    "RestoreTableFromBackup": always,
}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))


def copy_name(key: str, table: str) -> str:
    """The drill copy of ``table`` for one phase start (255 characters at most)."""
    digest = hashlib.sha256(f"{key}|{table}".encode()).hexdigest()[:8]
    return f"{DRILL_PREFIX}{digest}-{table}"[:255]


def is_copy_of(name: str, table: str) -> bool:
    """Whether ``name`` is a drill copy of ``table`` (``drorch-drill-<8 hex>-<table>``)."""
    head = len(DRILL_PREFIX) + 9
    return name.startswith(DRILL_PREFIX) and len(name) > head and name[head:] == table[: 255 - head]


def replication_latency(
    ctx: AccountContext, table: str, other_region: str
) -> tuple[float | None, str]:
    """The latest ReplicationLatency (seconds) of the link between ``ctx.region``'s replica
    and ``other_region``'s, as published in ``ctx.region``, and a note when it is not known."""
    if ctx.now is None:
        return None, "no engine clock to read the metric with"
    end = datetime.fromtimestamp(ctx.now, UTC)
    cloudwatch = ctx.client("cloudwatch")
    try:
        answer = cloudwatch.get_metric_statistics(
            Namespace=LATENCY_NAMESPACE,
            MetricName=LATENCY_METRIC,
            Dimensions=[
                {"Name": "TableName", "Value": table},
                {"Name": "ReceivingRegion", "Value": other_region},
            ],
            StartTime=end - LATENCY_WINDOW,
            EndTime=end,
            Period=60,
            Statistics=["Average"],
        )
    except ClientError as error:
        if classify(error) in ("retryable", "access-denied"):
            raise
        return None, f"{LATENCY_METRIC} towards {other_region}: {error_code(error)}"
    points = sorted(answer.get("Datapoints") or [], key=lambda p: p["Timestamp"])
    if not points:
        return None, f"no {LATENCY_METRIC} datapoints towards {other_region} in 10 minutes"
    return float(points[-1]["Average"]) / 1000.0, ""


def replica_finding(
    resource: Resource, checked: Mapping[str, Any] | None, item: Mapping[str, Any], call: str
) -> Finding:
    """A replica's check (:meth:`DynamoDbGlobalModule._replica_state`) as a readiness finding,
    with the latency against the table's ``dr:rpo-target``."""
    if checked is None:  # CREATING or UPDATING: ACTIVATE would wait for it
        live = item.get("live") or {}
        return resource_finding(
            resource, "replica", WARNING, f"the replica is {live.get('tableStatus')}", call,
            "wait for it: a failover waits for it too",
        )  # fmt: skip
    if checked["status"] == FAILED:
        return resource_finding(
            resource, "replica", BLOCKER, str(checked.get("error")), call,
            "repair the global table's replicas (UpdateTable ReplicaUpdates)",
        )  # fmt: skip
    latency = checked.get("latencySeconds") or {}
    text = "replicas " + ", ".join(f"{r} {s}" for r, s in sorted(checked["replicas"].items()))
    text += "".join(f"; {r} {s:g} s behind" for r, s in sorted(latency.items()))
    text += "".join(f"; {note}" for note in checked.get("notes") or ())
    rpo = rpo_exceeded(resource, max(latency.values(), default=None))
    if rpo is not None:
        return resource_finding(
            resource, "replication latency", BLOCKER,
            f"{text}: over the RPO target of {rpo} min", call,
            "find why replication falls behind (write throttling, a region's health) before "
            "failing over",
        )  # fmt: skip
    return resource_finding(resource, "replication latency", READY, text, call)


class DynamoDbGlobalModule(ResourceModule):
    type = "dynamodb-global"
    service = "dynamodb"
    state_version = STATE_VERSION
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"INSTANTIATE", "ACTIVATE", "CLEANUP"})
    disruptive_calls = DISRUPTIVE_CALLS
    summary = (
        "DynamoDB global tables: check the recovery-region replica is ACTIVE and how far "
        "behind it is; drills can restore a point-in-time copy"
    )
    drill = (
        "Reads only: checks the recovery-region replica is ACTIVE and reports its replication "
        "latency. With drillRestore, also restores a point-in-time copy of it into a new "
        "drorch-drill-* table, which CLEANUP deletes. The global table is never changed; the "
        "drill client refuses UpdateTable and DeleteTable of any other table before it is sent."
    )
    aliases = ("DynamoDB", "DynamoDBGlobalTable", "dynamodb_global")
    resource_types = (RESOURCE_TYPE,)
    identified_by = "table name (its replica in the recovery region) or the replica's ARN"
    probes = PROBES
    sandbox_extension = "drorch.modules.dynamodb_global.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return iam.statements(account_id, regions)

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        return readiness(session, account_id, region)

    def resource_readiness(
        self, ctx: AccountContext, resources: Sequence[Resource], params: Mapping[str, Any]
    ) -> list[Finding]:
        """What ACTIVATE would check, read-only: the recovery-region replica and the other
        replicas ACTIVE, and the replication latency (CloudWatch ``ReplicationLatency``)
        within ``maxReplicationLatencySeconds`` and the table's ``dr:rpo-target``."""
        client = ctx.client("dynamodb")
        found = []
        for resource in resources:
            call = (
                f"dynamodb:DescribeTable, cloudwatch:GetMetricStatistics {LATENCY_METRIC} "
                f"{resource.id} in {ctx.account_id} ({ctx.region})"
            )
            item: dict[str, Any] = {}
            checked = self._replica_state(ctx, client, resource.id, item, params)
            found.append(replica_finding(resource, checked, item, call))
        return found

    # --- discovery ------------------------------------------------------------------------
    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        found = Discovered()
        if not selector_scope_matches(selector, ctx, RESOURCE_TYPE):
            return found
        wanted_tags = selector_field(selector, "tags")
        ids = set(selector_field(selector, "ids"))
        client = ctx.client("dynamodb")
        try:
            if ids:
                names = sorted({i.split(":table/")[-1].split("/")[0] for i in ids})
            else:
                names = [
                    n
                    for page in client.get_paginator("list_tables").paginate()
                    for n in page.get("TableNames", [])
                ]
            for name in names:
                if name.startswith(DRILL_PREFIX):
                    continue
                try:
                    table = client.describe_table(TableName=name)["Table"]
                except ClientError as error:
                    if error_code(error) == NOT_FOUND:
                        continue
                    raise
                arn = table["TableArn"]
                tags = {
                    t["Key"]: t.get("Value", "")
                    for page in client.get_paginator("list_tags_of_resource").paginate(
                        ResourceArn=arn
                    )
                    for t in page.get("Tags", [])
                }
                if not tags_match(tags, wanted_tags):
                    continue
                if not table.get("Replicas"):
                    if ids:
                        found.excluded.append(
                            Exclusion(
                                name,
                                arn,
                                ctx.account_id,
                                ctx.region,
                                name,
                                ("not a global table: it has no replicas in other regions",),
                            )
                        )
                    continue
                found.append(
                    Resource(name, arn, ctx.account_id, ctx.region, name, tags, RESOURCE_TYPE)
                )
        except ClientError as error:
            self.fail(error, ctx, "listing DynamoDB tables")
        found.sort(key=lambda r: r.id)
        return found

    # --- start / status -----------------------------------------------------------------
    def act(self, ctx: AccountContext, state: dict, items: list[Resource], key: str) -> dict:
        phase, drill, params = state["phase"], state["drill"], state["params"]
        client = self.client(ctx, drill)
        for resource in items:
            item = state["items"][resource.id]
            if phase == "INSTANTIATE":
                item["result"] = {
                    "status": SKIPPED,
                    "note": "nothing to pre-warm: every replica of a global table takes writes",
                }
            elif phase == "ACTIVATE" and drill and params.get("drillRestore"):
                self._start_restore(ctx, client, resource.id, item, params, key)
            elif phase == "CLEANUP":
                self._start_cleanup(ctx, client, resource.id, item)
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        self.check_state(phase, state)
        client = self.client(ctx, bool(state.get("drill")))
        params = state.get("params") or {}
        for table, item in state["items"].items():
            if "result" in item:
                continue
            try:
                if phase == "ACTIVATE":
                    self._check_activate(ctx, client, table, item, params)
                elif phase == "CLEANUP":
                    self._check_cleanup(ctx, client, table, item)
                elif phase == "REPLICATE":
                    self._check_replicate(client, table, item)
            except ClientError as error:
                self.fail(error, ctx, f"checking table {table}")
        return self.result(state)

    # --- shared -------------------------------------------------------------------------------

    @staticmethod
    def _describe(client: Any, table: str) -> dict[str, Any] | None:
        try:
            return client.describe_table(TableName=table)["Table"]
        except ClientError as error:
            if error_code(error) == NOT_FOUND:
                return None
            raise

    # --- ACTIVATE -----------------------------------------------------------------------------
    def _replica_state(
        self, ctx: AccountContext, client: Any, table: str, item: dict, params: Mapping
    ) -> dict[str, Any] | None:
        """The replica's check as a result (None: still waiting, ``item['live']`` says why)."""
        described = self._describe(client, table)
        if described is None:
            return {"status": FAILED, "error": f"no table {table} in {ctx.region}"}
        replicas = described.get("Replicas") or []
        live = {
            "tableStatus": described["TableStatus"],
            "replicas": {r["RegionName"]: r.get("ReplicaStatus", "") for r in replicas},
        }
        if described["TableStatus"] in WAITING:
            item["live"] = live
            return None
        if described["TableStatus"] != "ACTIVE":
            return {"status": FAILED, "error": f"the replica is {described['TableStatus']}", **live}
        if not replicas:
            return {"status": FAILED, "error": f"{table} is no longer a global table", **live}
        latency: dict[str, float] = {}
        notes = []
        for replica in replicas:
            if replica.get("ReplicaStatus") != "ACTIVE":
                notes.append(f"{replica['RegionName']} is {replica.get('ReplicaStatus')}")
                continue
            seconds, note = replication_latency(ctx, table, replica["RegionName"])
            if seconds is None:
                notes.append(note)
            else:
                latency[replica["RegionName"]] = seconds
        result: dict[str, Any] = {"status": SUCCEEDED, **live, "latencySeconds": latency}
        if notes:
            result["notes"] = notes
        limit = params.get("maxReplicationLatencySeconds")
        behind = {r: s for r, s in latency.items() if limit is not None and s > limit}
        if behind:
            worst = max(behind, key=behind.__getitem__)
            result.update(
                status=FAILED,
                error=f"replication between {ctx.region} and {worst} is {behind[worst]:g} s "
                f"behind (maxReplicationLatencySeconds {limit:g})",
            )
        return result

    def _check_activate(
        self, ctx: AccountContext, client: Any, table: str, item: dict, params: Mapping
    ) -> None:
        checked = item.get("checked") or self._replica_state(ctx, client, table, item, params)
        if checked is None:
            return
        if "copy" not in item or checked["status"] == FAILED:
            item["result"] = checked
            return
        item["checked"] = checked
        copy = item["copy"]
        described = self._describe(client, copy)
        if described is None:
            item["result"] = {
                **checked,
                "status": FAILED,
                "error": f"the drill copy {copy} is gone",
            }
            return
        if described["TableStatus"] in WAITING:
            item["live"] = {"drillCopy": copy, "copyStatus": described["TableStatus"]}
            return
        if described["TableStatus"] != "ACTIVE":
            item["result"] = {
                **checked,
                "status": FAILED,
                "error": f"the drill copy {copy} is {described['TableStatus']}",
            }
            return
        try:
            client.tag_resource(
                ResourceArn=described["TableArn"],
                Tags=[{"Key": COPY_TAG, "Value": table}],
            )
        except ClientError as error:
            raise_if_fatal(error, ctx, f"tagging the drill copy {copy}")
        restored = (described.get("RestoreSummary") or {}).get("RestoreDateTime")
        item["result"] = {
            **checked,
            "drillCopy": copy,
            "copyItems": described.get("ItemCount", 0),
            **({"restoredTo": str(restored)} if restored else {}),
        }

    def _start_restore(
        self,
        ctx: AccountContext,
        client: Any,
        table: str,
        item: dict,
        params: Mapping,
        key: str,
    ) -> None:
        copy = copy_name(key, table)
        item["copy"] = copy
        if self._describe(client, copy) is not None:  # a retried start: the restore is made
            return
        kwargs: dict[str, Any] = {"SourceTableName": table, "TargetTableName": copy}
        if params.get("restoreTime"):
            kwargs["RestoreDateTime"] = datetime.fromisoformat(
                params["restoreTime"].replace("Z", "+00:00")
            )
        else:
            kwargs["UseLatestRestorableTime"] = True
        try:
            client.restore_table_to_point_in_time(**kwargs)
        except ClientError as error:
            raise_if_fatal(error, ctx, f"restoring a copy of {table}")
            item.pop("copy")
            hint = (
                " (turn on point-in-time recovery for the replica in this region)"
                if error_code(error) == "PointInTimeRecoveryUnavailableException"
                else ""
            )
            item["result"] = {
                "status": FAILED,
                "error": f"RestoreTableToPointInTime refused: {error_code(error)}: "
                f"{error_message(error)}{hint}",
            }

    # --- CLEANUP ------------------------------------------------------------------------------
    def _copies(self, client: Any, table: str) -> list[str]:
        pages = client.get_paginator("list_tables").paginate()
        return sorted(
            n for page in pages for n in page.get("TableNames", []) if is_copy_of(n, table)
        )

    def _start_cleanup(self, ctx: AccountContext, client: Any, table: str, item: dict) -> None:
        try:
            copies = self._copies(client, table)
            for copy in copies:
                described = self._describe(client, copy)
                if described is None or described["TableStatus"] == "DELETING":
                    continue
                if described["TableStatus"] == "ACTIVE":
                    client.delete_table(TableName=copy)
        except ClientError as error:
            self.fail(error, ctx, f"deleting the drill copies of {table}")
        item["copies"] = copies
        if not copies:
            item["result"] = {"status": SUCCEEDED, "deleted": [], "note": "no drill copies"}

    def _check_cleanup(self, ctx: AccountContext, client: Any, table: str, item: dict) -> None:
        left = []
        for copy in item["copies"]:
            described = self._describe(client, copy)
            if described is None:
                continue
            left.append(copy)
            if described["TableStatus"] == "ACTIVE":  # was still being restored: delete it now
                client.delete_table(TableName=copy)
        if left:
            item["live"] = {"deleting": left}
        else:
            item["result"] = {"status": SUCCEEDED, "deleted": item["copies"]}

    # --- REPLICATE ----------------------------------------------------------------------------
    def _check_replicate(self, client: Any, table: str, item: dict) -> None:
        described = self._describe(client, table)
        if described is None:
            item["result"] = {"status": FAILED, "error": f"no table {table} here"}
            return
        replicas = {
            r["RegionName"]: r.get("ReplicaStatus", "") for r in described.get("Replicas") or []
        }
        live = {"tableStatus": described["TableStatus"], "replicas": replicas}
        if not replicas:
            item["result"] = {
                "status": FAILED,
                "error": f"{table} has no other replica to fail back to: re-add one with "
                "UpdateTable ReplicaUpdates Create (drorch does not)",
                **live,
            }
        elif described["TableStatus"] in WAITING or any(s in WAITING for s in replicas.values()):
            item["live"] = live
        elif described["TableStatus"] == "ACTIVE" and all(s == "ACTIVE" for s in replicas.values()):
            item["result"] = {"status": SUCCEEDED, **live}
        else:
            bad = ", ".join(f"{r} is {s}" for r, s in replicas.items() if s != "ACTIVE")
            item["result"] = {
                "status": FAILED,
                "error": f"not every replica is ACTIVE: {bad}",
                **live,
            }
