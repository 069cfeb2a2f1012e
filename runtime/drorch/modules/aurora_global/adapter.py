"""The aurora-global module: Aurora MySQL and PostgreSQL global databases.

A resource is the global database's member cluster in the recovery Region (the
secondary that becomes the writer). Discovery asks RDS directly in the recovery Region
(``DescribeDBClusters`` for the selector's ids and tags, ``DescribeGlobalClusters`` for
membership): an Aurora cluster that is neither a global member nor a cluster drorch
detached is excluded and reported; drorch's own drill copies are never discovered.

Phases (each ``start`` + ``status``; the status is read from RDS, never a timer):

* INSTANTIATE (not drill-safe) — adds ``readers.count`` reader instances
  (``<cluster>-drorch-<n>``, class ``readers.instanceClass``) to the secondary; done
  when they are ``available``. A retried start finds them by name.
* ACTIVATE by ``mode``:

  - ``switchover`` (default): ``SwitchoverGlobalCluster``, planned and without data loss.
    Refused (FAILED, nothing called) unless the primary cluster is ``available`` with an
    available writer instance and the target is ``connected``.
  - ``failover``: ``FailoverGlobalCluster`` with ``AllowDataLoss``. The target's
    ``AuroraGlobalDBReplicationLag`` just before is recorded (the writes at risk);
    above ``maxReplicationLagSeconds`` the failover is refused.
  - ``detach-and-promote``: ``RemoveFromGlobalCluster``, for when the primary Region is
    gone; the cluster is first tagged with the global database and primary it leaves
    (``drorch:detached-from``, ``drorch:former-primary``) so that REPLICATE can rebuild.

  Done when the target is the writer (a switchover/failover: ``IsWriter`` and no
  ``FailoverState``; a detach: standalone) and ``available``. While a switchover or
  failover runs, the executor waits for RDS's event about the target cluster
  (RDS-EVENT-0185/0186/0187 for a switchover, 0238/0239 for a failover; :meth:`awaits`)
  instead of polling, and polls at the long fallback interval if it never comes; a ``FailoverState`` that
  disappears with the old writer still writing is a FAILED (cancelled) role change. The
  lag and the duration are in each resource's detail. ``targetRegion`` names another
  member's Region (a failback towards the original primary).
* CLEANUP — deletes the drill copies of the resources: clusters named
  ``drorch-drill-*`` *and* tagged ``drorch:drill-copy-of=<resource>`` (their instances
  first); nothing else is deleted.
* REPLICATE (not drill-safe) — makes the old primary Region a secondary again, ready for
  failback. After a switchover or failover Aurora keeps the old primary in the global
  database: REPLICATE verifies it is a secondary and waits until it is ``connected``
  (``pending-resync`` after a failover). After detach-and-promote it creates a new
  global database from the promoted cluster (``CreateGlobalCluster``), then a secondary
  cluster and ``failback.instanceCount`` instances in the old primary Region; done when
  they are available. The old global database and primary are left as they are: they
  may hold writes the promoted cluster never received.

Drill (ACTIVATE): restores an isolated copy of the secondary in the recovery Region
(``RestoreDBClusterToPointInTime`` at the latest restorable time, or
``RestoreDBClusterFromSnapshot`` from its newest snapshot), named ``drorch-drill-...``,
tagged, without deletion protection, then adds one instance; done when it is available.
The copy is a new cluster outside the global database. It cannot harm production: the
drill client refuses every role change (``FailoverGlobalCluster``,
``SwitchoverGlobalCluster``, ``RemoveFromGlobalCluster``), every change to a global
database or to a cluster (``Modify*``, ``CreateGlobalCluster``, ``DeleteGlobalCluster``,
``FailoverDBCluster``, ``RebootDBCluster``), and every create, delete or tag call that
does not name a ``drorch-drill-*`` copy — before it is sent.

The module is in parts: this file (discovery, INSTANTIATE, the role change),
:mod:`~drorch.modules.aurora_global.copies` (the drill copy and CLEANUP),
:mod:`~drorch.modules.aurora_global.failback` (REPLICATE) and
:mod:`~drorch.modules.aurora_global.calls` (the describe calls they share).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from drorch.modules.aurora_global import iam
from drorch.modules.aurora_global.calls import page
from drorch.modules.aurora_global.copies import DrillCopies
from drorch.modules.aurora_global.failback import TAG_DETACHED_FROM, TAG_FORMER_PRIMARY, Failback
from drorch.modules.aurora_global.probes import (
    LAG_METRIC,
    PROBES,
    lag_dimensions,
    readiness,
    resource_findings,
)
from drorch.modules.base import (
    FAILED,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    AccessDenied,
    AccountContext,
    Discovered,
    Exclusion,
    Finding,
    LayerMapping,
    ModuleError,
    ModuleIam,
    Resource,
    StatusResult,
    always,
    load_schema,
    selector_field,
    selector_scope_matches,
    tags_match,
)
from drorch.modules.rds_instance.common import (
    BROKEN,
    MANAGED,
    TAG_COPY_OF,
    TAG_MANAGED,
    elapsed,
    event_awaits,
    fail,
    is_copy_name,
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

RESOURCE_TYPE = "rds:cluster"
ENGINES = ("aurora-mysql", "aurora-postgresql")
STATE_VERSION = 1
QUIET_POLLS = 3  # polls without FailoverState and without a new writer before FAILED

DISRUPTIVE_CALLS = {
    "FailoverGlobalCluster": always,
    "SwitchoverGlobalCluster": always,
    "RemoveFromGlobalCluster": always,
    "CreateGlobalCluster": always,
    "ModifyGlobalCluster": always,
    "DeleteGlobalCluster": always,
    "ModifyDBCluster": always,
    "FailoverDBCluster": always,
    "RebootDBCluster": always,
    "StopDBCluster": always,
    "CreateDBCluster": always,
    "ModifyDBInstance": always,
    "RebootDBInstance": always,
    "DeleteDBCluster": not_a_copy("DBClusterIdentifier"),
    "DeleteDBInstance": not_a_copy("DBInstanceIdentifier"),
    "CreateDBInstance": not_a_copy("DBClusterIdentifier"),
    "AddTagsToResource": not_a_copy("ResourceName"),
    "RemoveTagsFromResource": not_a_copy("ResourceName"),
}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))
MODES = ("switchover", "failover", "detach-and-promote")


class AuroraGlobalModule(DrillCopies, Failback):
    type = "aurora-global"
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"ACTIVATE", "CLEANUP"})
    disruptive_calls = DISRUPTIVE_CALLS
    summary = (
        "Aurora MySQL/PostgreSQL global databases: pre-warm readers, switchover, failover "
        "or detach-and-promote, rebuild the old primary Region as a secondary"
    )
    drill = (
        "Restores an isolated copy of the secondary (point in time or latest snapshot) in "
        "the recovery Region as drorch-drill-*, waits until it is available; CLEANUP deletes "
        "it. The global database is never touched: the drill client refuses every role "
        "change, every Modify/Create/Delete of a global database or cluster, and every "
        "create, delete or tag call that does not name a drorch-drill-* copy."
    )
    aliases = ("AuroraMySQL", "AuroraPostgreSQL", "aurora_cluster", "aurora_global")
    resource_types = (RESOURCE_TYPE,)
    # dr:recovery-strategy=aurora routes a resource here (a TRS category group keeps only
    # those); an explicit group keeps whatever its selector picks
    strategies = ("aurora",)
    identified_by = (
        "DB cluster identifier or ARN in the recovery Region, or the global cluster identifier"
    )
    probes = PROBES
    sandbox_extension = "drorch.modules.aurora_global.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return iam.statements(account_id, regions)

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        return readiness(session, account_id, region)

    def resource_readiness(
        self, ctx: AccountContext, resources: Sequence[Resource], params: Mapping[str, Any]
    ) -> list[Finding]:
        """The secondary available, with an instance to promote, its lag within limits."""
        return resource_findings(ctx, resources, params)

    def from_layer(self, resource: Mapping[str, Any], where: str) -> LayerMapping:
        """Seed 004's AuroraMySQL: ``DBClusterIdentifier`` (the secondary) -> selector ids,
        ``DBInstanceIdentifier`` (readers to create) -> readers.count, ``DBInstanceClass``
        -> readers.instanceClass; ``GlobalClusterIdentifier`` is read from RDS."""
        params = dict(resource.get("parameters") or {})
        technology: dict[str, Any] = {"type": self.type, "parameters": {"mode": "failover"}}
        notes = [
            "mode is failover (the layers module calls FailoverGlobalCluster); "
            "switchover avoids data loss when the primary is healthy"
        ]
        unmapped: list[str] = []
        reasons: dict[str, str] = {}
        cluster = params.pop("DBClusterIdentifier", None)
        if cluster:
            technology["selector"] = {"ids": [cluster]}
        readers = params.pop("DBInstanceIdentifier", None)
        instance_class = params.pop("DBInstanceClass", None)
        if readers or instance_class:
            names = readers if isinstance(readers, list) else [readers] if readers else []
            technology["parameters"]["readers"] = {
                **({"count": len(names)} if names else {}),
                **({"instanceClass": instance_class} if instance_class else {}),
            }
            if names:
                path = f"{where}.parameters.DBInstanceIdentifier"
                unmapped.append(path)
                reasons[path] = "drorch names the readers it adds <cluster>-drorch-<n>"
        if params.pop("GlobalClusterIdentifier", None):
            notes.append("GlobalClusterIdentifier is read from RDS (the cluster's membership)")
        for key in params:
            unmapped.append(f"{where}.parameters.{key}")
        return LayerMapping(technology=technology, unmapped=unmapped, notes=notes, reasons=reasons)

    # --- discovery ----------------------------------------------------------------------
    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        found = Discovered()
        if not selector_scope_matches(selector, ctx, RESOURCE_TYPE):
            return found
        wanted_tags = selector_field(selector, "tags")
        ids = {str(i) for i in selector_field(selector, "ids")}
        rds = ctx.client("rds")
        try:
            clusters = page(
                rds,
                "describe_db_clusters",
                "DBClusters",
                Filters=[{"Name": "engine", "Values": list(ENGINES)}],
            )
            globals_ = page(rds, "describe_global_clusters", "GlobalClusters")
        except ClientError as error:
            fail(error, ctx, "listing Aurora clusters", self.type)
        membership = {
            member["DBClusterArn"]: (g["GlobalClusterIdentifier"], member)
            for g in globals_
            for member in g.get("GlobalClusterMembers", [])
        }
        for cluster in clusters:
            name, arn = cluster["DBClusterIdentifier"], cluster["DBClusterArn"]
            tags = tags_of(cluster.get("TagList"))
            if cluster["Engine"] not in ENGINES or TAG_COPY_OF in tags or is_copy_name(name):
                continue
            member = membership.get(arn)
            global_id = member[0] if member else cluster.get("GlobalClusterIdentifier")
            names = {name, arn} | ({global_id} if global_id else set())
            if ids and not names & ids:
                continue
            if not tags_match(tags, wanted_tags):
                continue
            if member is None and TAG_DETACHED_FROM not in tags:
                found.excluded.append(
                    Exclusion(
                        name,
                        arn,
                        ctx.account_id,
                        ctx.region,
                        name,
                        (
                            "not a member of an Aurora global database (and not one drorch "
                            "detached)",
                        ),
                    )
                )
                continue
            found.append(Resource(name, arn, ctx.account_id, ctx.region, name, tags, RESOURCE_TYPE))
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
            "mode": params["mode"],
            "names": {r.id: r.name for r in items},
            "arns": {r.id: r.arn for r in items},
            "items": {},
            "checkedAt": ctx.now,
        }
        rds = self._rds(ctx, state)
        for resource in items:
            item: dict[str, Any] = {"status": RUNNING, "startedAt": ctx.now}
            state["items"][resource.id] = item
            if phase == "INSTANTIATE":
                self._start_readers(ctx, rds, resource, params, item)
            elif phase == "ACTIVATE" and drill:
                self._start_copy(ctx, rds, resource, params, state, item)
            elif phase == "ACTIVATE":
                self._start_role_change(ctx, rds, resource, params, state, item)
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
            if phase == "INSTANTIATE":
                self._poll_readers(ctx, rds, item)
            elif phase == "ACTIVATE" and state["drill"]:
                self._poll_copy(ctx, rds, resource_id, item)
            elif phase == "ACTIVATE":
                self._poll_role_change(ctx, item)
            elif phase == "CLEANUP":
                self._poll_cleanup(ctx, rds, item)
            else:
                self._poll_replicate(ctx, item)
            if item["status"] != RUNNING:
                item["finishedAt"] = ctx.now
                item["durationSeconds"] = elapsed(item.get("startedAt"), ctx)
        return rds_result(state)

    def awaits(self, phase: str, state: Mapping[str, Any]) -> list[dict[str, Any]]:
        """ACTIVATE's switchovers and failovers under way: RDS's event about the target
        cluster (it finished, or was cancelled) ends the executor's wait."""
        if phase != "ACTIVATE" or state.get("drill"):
            return []
        targets = [
            item["target"]
            for item in state["items"].values()
            if item["status"] == RUNNING
            and item.get("mode") in ("switchover", "failover")
            and item.get("target")
        ]
        return event_awaits(targets, state.get("checkedAt"))

    # --- INSTANTIATE: readers in the secondary ------------------------------------------
    def _start_readers(
        self, ctx: AccountContext, rds: Any, resource: Resource, params: dict, item: dict
    ) -> None:
        readers = {"count": 1, **(params.get("readers") or {})}
        if readers["count"] == 0:
            item.update(status=SKIPPED, note="readers.count is 0: nothing to pre-warm")
            return
        cluster = self._cluster(ctx, rds, resource.id, "describing the secondary cluster")
        if cluster is None:
            item.update(status=FAILED, error=f"DB cluster {resource.id} no longer exists")
            return
        instance_class = readers.get("instanceClass") or self._instance_class(ctx, rds, cluster)
        if instance_class is None:
            instance_class = self._primary_class(ctx, resource.id, rds, cluster)
        if instance_class is None:
            item.update(
                status=FAILED,
                error="the secondary has no instance to copy the class from: give readers.instanceClass",
            )
            return
        names = [
            f"{rds_name(resource.id, limit=63 - len('-drorch-') - 2)}-drorch-{n}"
            for n in range(1, readers["count"] + 1)
        ]
        item.update(instanceClass=instance_class, readers=names)
        for name in names:
            if self._instance(ctx, rds, name, "describing a reader") is not None:
                continue  # a retried start: already asked for
            try:
                rds.create_db_instance(
                    DBInstanceIdentifier=name,
                    DBClusterIdentifier=cluster["DBClusterIdentifier"],
                    Engine=cluster["Engine"],
                    DBInstanceClass=instance_class,
                    PromotionTier=1,
                    Tags=tag_list({TAG_MANAGED: MANAGED, "drorch:pre-warm": "true"}),
                )
            except ClientError as error:
                item.update(status=FAILED, error=problem(error, ctx, f"CreateDBInstance {name}"))
                return

    def _poll_readers(self, ctx: AccountContext, rds: Any, item: dict) -> None:
        states = {}
        for name in item["readers"]:
            instance = self._instance(ctx, rds, name, "describing a reader")
            states[name] = instance["DBInstanceStatus"] if instance else "missing"
        item["readerStatus"] = states
        broken = {n: s for n, s in states.items() if s in BROKEN or s == "missing"}
        if broken:
            item.update(
                status=FAILED,
                error="readers not available: "
                + ", ".join(f"{n} is {s}" for n, s in broken.items()),
            )
        elif all(s == "available" for s in states.values()):
            item["status"] = SUCCEEDED

    # --- ACTIVATE: the role change ---------------------------------------------------------
    def _start_role_change(
        self,
        ctx: AccountContext,
        rds: Any,
        resource: Resource,
        params: dict,
        state: dict,
        item: dict,
    ) -> None:
        mode = params["mode"]
        item["mode"] = mode
        cluster = self._cluster(ctx, rds, resource.id, "describing the secondary cluster")
        if cluster is None:
            item.update(status=FAILED, error=f"DB cluster {resource.id} no longer exists")
            return
        tags = tags_of(cluster.get("TagList"))
        global_id = cluster.get("GlobalClusterIdentifier") or tags.get(TAG_DETACHED_FROM)
        item["globalCluster"] = global_id
        found = self._global(ctx, rds, global_id) if global_id else None
        members = (found or {}).get("GlobalClusterMembers", [])
        target_region = params.get("targetRegion") or ctx.region
        item["targetRegion"] = target_region
        if target_region == ctx.region:
            target_arn = cluster["DBClusterArn"]
        else:
            target_arn = next(
                (
                    m["DBClusterArn"]
                    for m in members
                    if region_of(m["DBClusterArn"]) == target_region
                ),
                None,
            )
            if target_arn is None:
                item.update(
                    status=FAILED,
                    error=f"global cluster {global_id} has no member in {target_region}",
                )
                return
        item["target"] = target_arn
        member = next((m for m in members if m["DBClusterArn"] == target_arn), None)
        writer = next((m for m in members if m.get("IsWriter")), None)
        if writer is not None and writer["DBClusterArn"] != target_arn:
            item["formerWriter"] = writer["DBClusterArn"]
        if mode == "detach-and-promote":
            self._start_detach(ctx, rds, item, cluster, found, member, writer)
            return
        if member is None:
            if not cluster.get("GlobalClusterIdentifier") and TAG_DETACHED_FROM in tags:
                item.update(
                    status=SUCCEEDED, note=f"already detached from {global_id}: a standalone writer"
                )
            else:
                item.update(
                    status=FAILED, error=f"{target_arn} is not a member of a global database"
                )
            return
        state_now = (found or {}).get("FailoverState") or {}
        if state_now:
            if state_now.get("ToDbClusterArn") == target_arn:
                item.update(seen=True, failoverStatus=state_now.get("Status"))
                return  # a retried start: already under way
            item.update(
                status=FAILED,
                error=f"another switchover or failover of {global_id} is in progress (to {state_now.get('ToDbClusterArn')})",
            )
            return
        if member.get("IsWriter"):
            item.update(status=SUCCEEDED, note=f"{target_arn} is already the writer of {global_id}")
            return
        self._measure_lag(ctx, item, target_arn)
        if mode == "switchover":
            refusal = self._switchover_refusal(ctx, writer, member)
            if refusal:
                item.update(status=FAILED, error=refusal)
                return
        elif (
            params.get("maxReplicationLagSeconds") is not None
            and item.get("replicationLagSeconds") is not None
        ):
            if item["replicationLagSeconds"] > params["maxReplicationLagSeconds"]:
                item.update(
                    status=FAILED,
                    error=(
                        f"replication lag {item['replicationLagSeconds']:.1f} s at {item['lagMeasuredAt']} "
                        f"exceeds maxReplicationLagSeconds {params['maxReplicationLagSeconds']}: a failover "
                        "now would lose those writes (nothing was called)"
                    ),
                )
                return
        item["lossAllowed"] = mode == "failover"
        try:
            if mode == "switchover":
                answer = rds.switchover_global_cluster(
                    GlobalClusterIdentifier=global_id, TargetDbClusterIdentifier=target_arn
                )
            else:
                answer = rds.failover_global_cluster(
                    GlobalClusterIdentifier=global_id,
                    TargetDbClusterIdentifier=target_arn,
                    AllowDataLoss=True,
                )
        except ClientError as error:
            name = "SwitchoverGlobalCluster" if mode == "switchover" else "FailoverGlobalCluster"
            item.update(status=FAILED, error=problem(error, ctx, name))
            return
        failover = answer.get("GlobalCluster", {}).get("FailoverState") or {}
        item.update(seen=bool(failover), failoverStatus=failover.get("Status"))

    def _switchover_refusal(
        self, ctx: AccountContext, writer: dict | None, member: dict
    ) -> str | None:
        """Why a switchover must not be tried (None: the primary is healthy)."""
        if writer is None:
            return "the global database has no writer: use mode failover or detach-and-promote"
        region = region_of(writer["DBClusterArn"])
        other = self._rds(ctx, {}, region)
        try:
            primary = self._cluster(
                ctx, other, writer["DBClusterArn"], "describing the primary cluster"
            )
        except AccessDenied:
            raise
        except (ModuleError, BotoCoreError) as error:  # its Region may be the one that is down
            return (
                f"the primary {writer['DBClusterArn']} cannot be described ({error}): a "
                "switchover needs a healthy primary; use mode failover or detach-and-promote"
            )
        if primary is None or primary["Status"] != "available":
            state = primary["Status"] if primary else "gone"
            return (
                f"the primary {writer['DBClusterArn']} is {state}: a switchover needs a healthy "
                "primary; use mode failover (allows data loss) or detach-and-promote"
            )
        writers = [m for m in primary.get("DBClusterMembers") or [] if m.get("IsClusterWriter")]
        instance = (
            self._instance(
                ctx, other, writers[0]["DBInstanceIdentifier"], "describing the primary's writer"
            )
            if writers
            else None
        )
        if instance is None or instance["DBInstanceStatus"] != "available":
            return (
                f"the primary {writer['DBClusterArn']} has no available writer instance: use mode "
                "failover (allows data loss) or detach-and-promote"
            )
        sync = member.get("SynchronizationStatus", "connected")
        if sync != "connected":
            return f"the target is {sync}, not connected to the primary: wait, or use mode failover"
        return None

    def _measure_lag(self, ctx: AccountContext, item: dict, target_arn: str) -> None:
        region = region_of(target_arn) or ctx.region
        cloudwatch = ctx.client("cloudwatch", region=region)
        name = name_of(target_arn)
        source = region_of(item.get("formerWriter") or "")
        lag = latest_metric(ctx, cloudwatch, LAG_METRIC, lag_dimensions(name, source))
        if lag is None:
            item["lagNote"] = f"no {LAG_METRIC} datapoint in the last 10 minutes"
            return
        item.update(replicationLagSeconds=round(lag[0] / 1000.0, 3), lagMeasuredAt=lag[1])

    def _start_detach(
        self,
        ctx: AccountContext,
        rds: Any,
        item: dict,
        cluster: dict,
        found: dict | None,
        member: dict | None,
        writer: dict | None,
    ) -> None:
        target_arn = item["target"]
        if member is None:
            if target_arn != cluster["DBClusterArn"] or TAG_DETACHED_FROM not in tags_of(
                cluster.get("TagList")
            ):
                item.update(
                    status=FAILED, error=f"{target_arn} is not a member of a global database"
                )
            # else: a retried start, the detach was asked for
            return
        if member.get("IsWriter"):
            item.update(
                status=SUCCEEDED,
                note=f"{target_arn} is already the writer of {item['globalCluster']}",
            )
            return
        self._measure_lag(ctx, item, target_arn)
        other = (
            rds
            if region_of(target_arn) == ctx.region
            else self._rds(ctx, {}, region_of(target_arn))
        )
        marks = {TAG_DETACHED_FROM: item["globalCluster"]}
        if writer is not None:
            marks[TAG_FORMER_PRIMARY] = writer["DBClusterArn"]
        try:
            other.add_tags_to_resource(ResourceName=target_arn, Tags=tag_list(marks))
            other.remove_from_global_cluster(
                GlobalClusterIdentifier=item["globalCluster"], DbClusterIdentifier=target_arn
            )
        except ClientError as error:
            item.update(status=FAILED, error=problem(error, ctx, "RemoveFromGlobalCluster"))
            return
        item["lossAllowed"] = True

    def _poll_role_change(self, ctx: AccountContext, item: dict) -> None:
        target_arn = item["target"]
        region = region_of(target_arn) or ctx.region
        rds = self._rds(ctx, {}, region)
        cluster = self._cluster(ctx, rds, target_arn, "describing the target cluster")
        if cluster is None:
            item.update(status=FAILED, error=f"the target cluster {target_arn} no longer exists")
            return
        item["clusterStatus"] = cluster["Status"]
        if item["mode"] == "detach-and-promote":
            if cluster.get("GlobalClusterIdentifier"):
                item["quiet"] = item.get("quiet", 0) + 1
                if item["quiet"] >= QUIET_POLLS:
                    item.update(
                        status=FAILED,
                        error=f"{target_arn} is still a member of {cluster['GlobalClusterIdentifier']}",
                    )
                return
            writers = [m for m in cluster.get("DBClusterMembers") or [] if m.get("IsClusterWriter")]
            if cluster["Status"] == "available" and writers:
                item["status"] = SUCCEEDED
            elif cluster["Status"] in BROKEN:
                item.update(status=FAILED, error=f"{target_arn} is {cluster['Status']}")
            return
        found = self._global(ctx, rds, item["globalCluster"])
        failover = (found or {}).get("FailoverState") or {}
        if failover:
            item.update(seen=True, failoverStatus=failover.get("Status"))
            return
        member = next(
            (
                m
                for m in (found or {}).get("GlobalClusterMembers", [])
                if m["DBClusterArn"] == target_arn
            ),
            None,
        )
        if member and member.get("IsWriter") and cluster["Status"] == "available":
            item.pop("failoverStatus", None)
            item["status"] = SUCCEEDED
            return
        if member and member.get("IsWriter"):
            return  # the writer, not yet available
        item["quiet"] = item.get("quiet", 0) + 1
        if item.get("seen") or item["quiet"] >= QUIET_POLLS:
            writer = next(
                (
                    m["DBClusterArn"]
                    for m in (found or {}).get("GlobalClusterMembers", [])
                    if m.get("IsWriter")
                ),
                "none",
            )
            item.update(
                status=FAILED,
                error=(
                    f"the {item['mode']} of {item['globalCluster']} ended without promoting {target_arn}: "
                    f"it was cancelled or failed, and the writer is still {writer}"
                ),
            )
