"""The elasticache-global module: ElastiCache (Valkey / Redis OSS) global datastores.

A resource is the replication group in the recovery region (the account's region)
that is a member of a global datastore. Discovery makes direct describe calls there
(``DescribeReplicationGroups``, ``ListTagsForResource``), by the selector's ids and
tags; a group named in ``ids`` that is in no global datastore is excluded and said
so. Every call goes to the recovery region: the primary region may be the one that
is down, and ElastiCache answers for the whole datastore from any member region.

Phases (each ``start`` + ``status``; status reads ``DescribeGlobalReplicationGroups``
and ``DescribeReplicationGroups``, never a timer):

* INSTANTIATE — with ``replicas``, ``IncreaseReplicaCount`` on the recovery-region
  group until it has that many replicas per shard (done when it is ``available``
  with them). Without it nothing changes, and the result says so. The node type is
  not a parameter: every member of a global datastore has the same node type, and
  changing it (``ModifyGlobalReplicationGroup``) resizes the primary too.
* ACTIVATE — ``FailoverGlobalReplicationGroup`` to the recovery region. The lag
  seen just before (CloudWatch ``GlobalDatastoreReplicationLag`` of the group's
  primary node) is recorded, and with ``maxReplicationLagSeconds`` a lag above it
  refuses the failover. Done when the recovery-region group is the datastore's
  ``PRIMARY``, the datastore ``available`` and the group ``available``. A group
  that already is the primary is done at once; a datastore that is busy
  (``modifying``) is waited for and the failover asked for then, so a retried start
  never asks twice; a failover that ends with the group still ``SECONDARY`` fails
  the resource.
* CLEANUP — nothing: a drill creates nothing, and after a failover the old primary
  stays in the datastore as a secondary (drorch never deletes it).
* REPLICATE (failback) — checks that the old primary region is a ``SECONDARY`` again,
  associated and replicating from the recovery region, ready for a failover back.
  ElastiCache makes the old primary a secondary itself; if it was removed, a new
  secondary must be created there (``CreateReplicationGroup`` with
  ``GlobalReplicationGroupId``), which drorch does not do; the error says so.

Drill: ACTIVATE only reads. It checks that the datastore is ``available``, that the
recovery-region group is an associated ``SECONDARY`` and ``available``, and reports
the replication state and lag (a lag above ``maxReplicationLagSeconds`` fails the
check). It makes no write at all: the drill client refuses every call in
``DISRUPTIVE_CALLS`` (failover, disassociate, modify, resize, delete) before it is
sent, and INSTANTIATE and REPLICATE are not drill-safe, so the engine leaves them
out of a drill. No isolated copy is made: a snapshot of the secondary restored
beside it would prove little about a cache and cost a cluster for the drill.
"""

from __future__ import annotations

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
from drorch.modules.elasticache_global import iam
from drorch.modules.elasticache_global.probes import PROBES, readiness
from drorch.modules.resource import ResourceModule

RESOURCE_TYPE = "elasticache:replicationgroup"
STATE_VERSION = 1
PRIMARY, SECONDARY = "PRIMARY", "SECONDARY"
LAG_NAMESPACE, LAG_METRIC = "AWS/ElastiCache", "GlobalDatastoreReplicationLag"
LAG_WINDOW = timedelta(minutes=10)
NOT_FOUND = "ReplicationGroupNotFoundFault"
DATASTORE_NOT_FOUND = "GlobalReplicationGroupNotFoundFault"

# API calls that change production; a drill makes none of them (the drill client refuses them).
DISRUPTIVE_CALLS = {
    name: always
    for name in (
        "FailoverGlobalReplicationGroup",
        "DisassociateGlobalReplicationGroup",
        "DeleteGlobalReplicationGroup",
        "ModifyGlobalReplicationGroup",
        "IncreaseNodeGroupsInGlobalReplicationGroup",
        "DecreaseNodeGroupsInGlobalReplicationGroup",
        "RebalanceSlotsInGlobalReplicationGroup",
        "IncreaseReplicaCount",
        "DecreaseReplicaCount",
        "ModifyReplicationGroup",
        "DeleteReplicationGroup",
        "TestFailover",
    )
}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))


def datastore_of(group: Mapping[str, Any]) -> tuple[str, str]:
    """(global datastore id, member role) of a replication group, or ("", "")."""
    info = group.get("GlobalReplicationGroupInfo") or {}
    return info.get("GlobalReplicationGroupId") or "", info.get(
        "GlobalReplicationGroupMemberRole"
    ) or ""


def primary_node(group: Mapping[str, Any]) -> str:
    """The cache cluster id of the group's primary node (first shard): the lag's dimension."""
    node_groups = group.get("NodeGroups") or [{}]
    members = node_groups[0].get("NodeGroupMembers") or []
    for member in members:
        if member.get("CurrentRole") == "primary":
            return member["CacheClusterId"]
    if members:
        return members[0]["CacheClusterId"]
    clusters = group.get("MemberClusters") or [group["ReplicationGroupId"]]
    return clusters[0]


def replicas_of(group: Mapping[str, Any]) -> int:
    """Read replicas per shard (of the first shard)."""
    node_groups = group.get("NodeGroups") or [{}]
    return max(0, len(node_groups[0].get("NodeGroupMembers") or []) - 1)


def replication_lag(ctx: AccountContext, group: Mapping[str, Any]) -> float | None:
    """The latest GlobalDatastoreReplicationLag (seconds) of a secondary group, or None."""
    if ctx.now is None:
        return None
    end = datetime.fromtimestamp(ctx.now, UTC)
    answer = ctx.client("cloudwatch").get_metric_statistics(
        Namespace=LAG_NAMESPACE,
        MetricName=LAG_METRIC,
        Dimensions=[{"Name": "CacheClusterId", "Value": primary_node(group)}],
        StartTime=end - LAG_WINDOW,
        EndTime=end,
        Period=60,
        Statistics=["Maximum"],
    )
    points = sorted(answer.get("Datapoints") or [], key=lambda p: p["Timestamp"])
    return float(points[-1]["Maximum"]) if points else None


def member_finding(resource: Resource, item: Mapping[str, Any], call: str) -> Finding:
    """A member's read-only check (``_check_drill``) as a readiness finding, with the lag
    against the group's ``dr:rpo-target``."""
    result = item.get("result")
    if result is None:  # the datastore or the member is changing: a failover waits for it
        live = item.get("live") or {}
        return resource_finding(
            resource, "global datastore", WARNING,
            f"datastore {live.get('datastoreStatus')}, member {live.get('memberStatus')}", call,
            "wait for it: a failover waits for it too",
        )  # fmt: skip
    if result["status"] == FAILED and result.get("role") == PRIMARY:
        return resource_finding(
            resource, "global datastore", READY, "already the datastore's PRIMARY", call
        )
    if result["status"] == FAILED:
        return resource_finding(
            resource, "global datastore", BLOCKER, str(result.get("error")), call,
            "repair the global datastore (or fix the selector)",
        )  # fmt: skip
    lag = result.get("lagSeconds")
    text = f"an available SECONDARY of {result.get('globalDatastore')}; " + (
        "no lag reported" if lag is None else f"{lag:g} s behind"
    )
    rpo = rpo_exceeded(resource, lag)
    if rpo is not None:
        return resource_finding(
            resource, "replication lag", BLOCKER, f"{text}: over the RPO target of {rpo} min",
            call, "find why replication falls behind before failing over",
        )  # fmt: skip
    return resource_finding(resource, "replication lag", READY, text, call)


class ElastiCacheGlobalModule(ResourceModule):
    type = "elasticache-global"
    service = "elasticache"
    state_version = STATE_VERSION
    name_key = "name"
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"ACTIVATE", "CLEANUP"})
    disruptive_calls = DISRUPTIVE_CALLS
    summary = (
        "ElastiCache global datastores: fail over to the recovery region, pre-warm its "
        "replicas, check the old primary replicates back"
    )
    drill = (
        "Reads only: checks that the global datastore is available and the recovery-region "
        "cluster is an associated, available SECONDARY, and reports the replication lag. "
        "No failover and no other write is made; the drill client refuses them before they "
        "are sent."
    )
    aliases = ("ElastiCache", "ElastiCacheModule", "ElastiCacheGlobalDatastore", "Cache")
    resource_types = (RESOURCE_TYPE,)
    identified_by = "replication group id (in the recovery region) or its ARN"
    probes = PROBES
    sandbox_extension = "drorch.modules.elasticache_global.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return iam.statements(account_id, regions)

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        return readiness(session, account_id, region)

    def resource_readiness(
        self, ctx: AccountContext, resources: Sequence[Resource], params: Mapping[str, Any]
    ) -> list[Finding]:
        """What a drill's ACTIVATE checks, read-only: the datastore available, the group an
        available SECONDARY (or already the PRIMARY), its replication lag
        (``GlobalDatastoreReplicationLag``) within ``maxReplicationLagSeconds`` and the
        group's ``dr:rpo-target``."""
        client = ctx.client("elasticache")
        found = []
        for resource in resources:
            call = (
                f"elasticache:DescribeGlobalReplicationGroups, cloudwatch:GetMetricStatistics "
                f"{LAG_METRIC} {resource.id} in {ctx.account_id} ({ctx.region})"
            )
            item: dict[str, Any] = {}
            self._check_drill(ctx, client, resource.id, item, params)
            found.append(member_finding(resource, item, call))
        return found

    # --- discovery ------------------------------------------------------------------------
    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        found = Discovered()
        if not selector_scope_matches(selector, ctx, RESOURCE_TYPE):
            return found
        wanted_tags = selector_field(selector, "tags")
        ids = set(selector_field(selector, "ids"))
        client = ctx.client("elasticache")
        try:
            groups = self._groups(client, ids)
            for group in groups:
                group_id, arn = group["ReplicationGroupId"], group.get("ARN", "")
                if ids and group_id not in ids and arn not in ids:
                    continue
                datastore, _ = datastore_of(group)
                tags = {
                    t["Key"]: t.get("Value", "")
                    for t in client.list_tags_for_resource(ResourceName=arn).get("TagList", [])
                }
                if not tags_match(tags, wanted_tags):
                    continue
                if not datastore:
                    if ids:  # named on purpose: say why it is left out
                        found.excluded.append(
                            Exclusion(
                                group_id,
                                arn,
                                ctx.account_id,
                                ctx.region,
                                group_id,
                                ("not a member of a global datastore",),
                            )
                        )
                    continue
                found.append(
                    Resource(
                        group_id, arn, ctx.account_id, ctx.region, group_id, tags, RESOURCE_TYPE
                    )
                )
        except ClientError as error:
            self.fail(error, ctx, "listing ElastiCache replication groups")
        found.sort(key=lambda r: r.id)
        return found

    @staticmethod
    def _groups(client: Any, ids: set[str]) -> list[dict[str, Any]]:
        names = {i.rsplit(":", 1)[-1] for i in ids}
        if ids and len(names) <= 20:
            groups = []
            for name in sorted(names):
                try:
                    groups += client.describe_replication_groups(ReplicationGroupId=name)[
                        "ReplicationGroups"
                    ]
                except ClientError as error:
                    if error_code(error) != NOT_FOUND:
                        raise
            return groups
        paginator = client.get_paginator("describe_replication_groups")
        return [g for page in paginator.paginate() for g in page["ReplicationGroups"]]

    # --- start / status -----------------------------------------------------------------
    def new_item(self, resource: Resource) -> dict[str, Any]:
        return {"name": resource.name or resource.id}

    def state_extra(self, ctx: AccountContext, key: str) -> dict[str, Any]:
        return {"key": key}

    def act(self, ctx: AccountContext, state: dict, items: list[Resource], key: str) -> dict:
        phase, drill, params = state["phase"], state["drill"], state["params"]
        client = self.client(ctx, drill)
        for resource in items:
            item = state["items"][resource.id]
            if phase == "INSTANTIATE":
                self._start_instantiate(ctx, client, resource.id, item, params)
            elif phase == "ACTIVATE" and not drill:
                self._advance_failover(ctx, client, resource.id, item, params)
            elif phase == "CLEANUP":
                item["result"] = {
                    "status": SKIPPED,
                    "note": "nothing to clean up: a drill creates nothing, and the old "
                    "primary stays in the global datastore as a secondary",
                }
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        self.check_state(phase, state)
        client = self.client(ctx, bool(state.get("drill")))
        params = state.get("params") or {}
        for group_id, item in state["items"].items():
            if "result" in item:
                continue
            try:
                if phase == "INSTANTIATE":
                    self._check_instantiate(client, group_id, item)
                elif phase == "ACTIVATE" and state.get("drill"):
                    self._check_drill(ctx, client, group_id, item, params)
                elif phase == "ACTIVATE":
                    self._advance_failover(ctx, client, group_id, item, params)
                elif phase == "REPLICATE":
                    self._check_replicate(ctx, client, group_id, item)
            except ClientError as error:
                self.fail(error, ctx, f"checking {group_id}")
        return self.result(state)

    # --- shared -------------------------------------------------------------------------------

    def _read(
        self, ctx: AccountContext, client: Any, group_id: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The replication group and its global datastore (with members), None if gone."""
        try:
            group = client.describe_replication_groups(ReplicationGroupId=group_id)[
                "ReplicationGroups"
            ][0]
        except ClientError as error:
            if error_code(error) == NOT_FOUND:
                return None, None
            self.fail(error, ctx, f"describing replication group {group_id}")
        datastore_id, _ = datastore_of(group)
        if not datastore_id:
            return group, None
        try:
            datastore = client.describe_global_replication_groups(
                GlobalReplicationGroupId=datastore_id, ShowMemberInfo=True
            )["GlobalReplicationGroups"][0]
        except ClientError as error:
            if error_code(error) == DATASTORE_NOT_FOUND:
                return group, None
            self.fail(error, ctx, f"describing global datastore {datastore_id}")
        return group, datastore

    @staticmethod
    def _member(datastore: Mapping[str, Any], group_id: str, region: str) -> dict[str, Any]:
        for member in datastore.get("Members") or []:
            if (
                member["ReplicationGroupId"] == group_id
                and member["ReplicationGroupRegion"] == region
            ):
                return member
        return {}

    @staticmethod
    def _fail(item: dict[str, Any], error: str, **detail: Any) -> None:
        item["result"] = {"status": FAILED, "error": error, **detail}

    def _lag(self, ctx: AccountContext, group: Mapping[str, Any]) -> float | None:
        try:
            return replication_lag(ctx, group)
        except ClientError as error:
            self.fail(error, ctx, f"reading {LAG_METRIC}")

    # --- INSTANTIATE --------------------------------------------------------------------------
    def _start_instantiate(
        self, ctx: AccountContext, client: Any, group_id: str, item: dict, params: Mapping
    ) -> None:
        wanted = params.get("replicas")
        if not wanted:
            item["result"] = {
                "status": SKIPPED,
                "note": "no replicas parameter: nothing to pre-warm (the node type is the same "
                "in every member of a global datastore)",
            }
            return
        group, _ = self._read(ctx, client, group_id)
        if group is None:
            self._fail(item, f"replication group {group_id} not found in {ctx.region}")
            return
        item["wanted"] = wanted
        have = replicas_of(group)
        if have >= wanted:
            item["result"] = {
                "status": SUCCEEDED,
                "replicas": have,
                "note": "already enough replicas",
            }
            return
        if group["Status"] != "available":  # a retried start: the resize is under way
            item["live"] = {"replicas": have, "groupStatus": group["Status"]}
            return
        try:
            client.increase_replica_count(
                ReplicationGroupId=group_id, NewReplicaCount=wanted, ApplyImmediately=True
            )
        except ClientError as error:
            raise_if_fatal(error, ctx, f"adding replicas to {group_id}")
            self._fail(
                item, f"IncreaseReplicaCount refused: {error_code(error)}: {error_message(error)}"
            )
            return
        item["live"] = {"replicas": have, "groupStatus": "modifying"}

    def _check_instantiate(self, client: Any, group_id: str, item: dict) -> None:
        group = client.describe_replication_groups(ReplicationGroupId=group_id)[
            "ReplicationGroups"
        ][0]
        have = replicas_of(group)
        if group["Status"] == "available" and have >= item["wanted"]:
            item["result"] = {"status": SUCCEEDED, "replicas": have}
        elif group["Status"] in ("available", "modifying", "snapshotting"):
            item["live"] = {"replicas": have, "groupStatus": group["Status"]}
        else:
            self._fail(item, f"replication group {group_id} is {group['Status']}", replicas=have)

    # --- ACTIVATE -----------------------------------------------------------------------------
    def _advance_failover(
        self, ctx: AccountContext, client: Any, group_id: str, item: dict, params: Mapping
    ) -> None:
        """One step of the failover: ask for it once the datastore is free, then follow it."""
        group, datastore = self._read(ctx, client, group_id)
        if group is None:
            self._fail(item, f"replication group {group_id} not found in {ctx.region}")
            return
        if datastore is None:
            self._fail(item, f"replication group {group_id} is not in a global datastore")
            return
        datastore_id = datastore["GlobalReplicationGroupId"]
        member = self._member(datastore, group_id, ctx.region)
        others = [m for m in datastore.get("Members") or [] if m is not member]
        primary = next((m for m in others if m.get("Role") == PRIMARY), None)
        if primary and "from" not in item:
            item["from"] = {
                "region": primary["ReplicationGroupRegion"],
                "replicationGroupId": primary["ReplicationGroupId"],
            }
        live = {
            "globalDatastore": datastore_id,
            "datastoreStatus": datastore["Status"],
            "role": member.get("Role", ""),
        }
        if member.get("Role") == PRIMARY:
            if datastore["Status"] == "available" and group["Status"] == "available":
                item["result"] = {
                    "status": SUCCEEDED,
                    **live,
                    **({"previousPrimary": item["from"]} if "from" in item else {}),
                    **({"lagSecondsBefore": item["lag"]} if "lag" in item else {}),
                    **({} if item.get("requested") else {"note": "already the primary"}),
                }
            else:
                item["live"] = live
            return
        if item.get("requested"):
            if datastore["Status"] == "available":
                self._fail(
                    item,
                    f"the failover of {datastore_id} ended and {group_id} is still "
                    f"{member.get('Role') or 'not a member'}",
                    **live,
                )
            else:
                item["live"] = live
            return
        if datastore["Status"] != "available" or member.get("Status") != "associated":
            item["live"] = {**live, "waitingFor": "the global datastore to be available"}
            return
        lag = self._lag(ctx, group)
        if lag is not None:
            item["lag"] = lag
        limit = params.get("maxReplicationLagSeconds")
        if limit is not None and lag is not None and lag > limit:
            self._fail(
                item,
                f"failover refused: {group_id} is {lag:g} s behind the primary "
                f"(maxReplicationLagSeconds {limit:g})",
                lagSeconds=lag,
                **live,
            )
            return
        try:
            answer = client.failover_global_replication_group(
                GlobalReplicationGroupId=datastore_id,
                PrimaryRegion=ctx.region,
                PrimaryReplicationGroupId=group_id,
            )["GlobalReplicationGroup"]
        except ClientError as error:
            raise_if_fatal(error, ctx, f"failing over {datastore_id}")
            self._fail(
                item,
                f"FailoverGlobalReplicationGroup refused: {error_code(error)}: "
                f"{error_message(error)}",
                **live,
            )
            return
        item["requested"] = True
        item["live"] = {**live, "datastoreStatus": answer.get("Status", "modifying")}

    def _check_drill(
        self, ctx: AccountContext, client: Any, group_id: str, item: dict, params: Mapping
    ) -> None:
        group, datastore = self._read(ctx, client, group_id)
        if group is None or datastore is None:
            self._fail(item, f"replication group {group_id} is not in a global datastore")
            return
        member = self._member(datastore, group_id, ctx.region)
        live = {
            "globalDatastore": datastore["GlobalReplicationGroupId"],
            "datastoreStatus": datastore["Status"],
            "role": member.get("Role", ""),
            "memberStatus": member.get("Status", ""),
            "groupStatus": group["Status"],
        }
        if (
            datastore["Status"] in ("creating", "modifying")
            or member.get("Status") == "associating"
        ):
            item["live"] = live
            return
        if datastore["Status"] != "available":
            self._fail(item, f"the global datastore is {datastore['Status']}", **live)
            return
        if member.get("Role") != SECONDARY or group["Status"] != "available":
            self._fail(
                item,
                f"{group_id} is {member.get('Role') or 'not a member'} and {group['Status']}, "
                "not an available SECONDARY",
                **live,
            )
            return
        lag = self._lag(ctx, group)
        limit = params.get("maxReplicationLagSeconds")
        if limit is not None and lag is not None and lag > limit:
            self._fail(
                item,
                f"{group_id} is {lag:g} s behind the primary (maxReplicationLagSeconds {limit:g})",
                lagSeconds=lag,
                **live,
            )
            return
        item["result"] = {
            "status": SUCCEEDED,
            **live,
            "lagSeconds": lag,
            "note": "drill: checked, nothing failed over",
        }

    # --- REPLICATE ----------------------------------------------------------------------------
    def _check_replicate(self, ctx: AccountContext, client: Any, group_id: str, item: dict) -> None:
        group, datastore = self._read(ctx, client, group_id)
        if group is None or datastore is None:
            self._fail(item, f"replication group {group_id} is not in a global datastore")
            return
        datastore_id = datastore["GlobalReplicationGroupId"]
        member = self._member(datastore, group_id, ctx.region)
        if member.get("Role") != PRIMARY:
            self._fail(
                item,
                f"{group_id} is {member.get('Role')}, not the primary of {datastore_id}: "
                "fail over to this region first",
            )
            return
        secondaries = [m for m in datastore.get("Members") or [] if m.get("Role") == SECONDARY]
        live = {
            "globalDatastore": datastore_id,
            "secondaries": [
                {
                    "region": m["ReplicationGroupRegion"],
                    "replicationGroupId": m["ReplicationGroupId"],
                    "status": m.get("Status", ""),
                }
                for m in secondaries
            ],
        }
        if not secondaries:
            self._fail(
                item,
                f"global datastore {datastore_id} has no secondary to fail back to: create one "
                f"in the original region (CreateReplicationGroup with GlobalReplicationGroupId "
                f"{datastore_id}); drorch does not create it",
                **live,
            )
            return
        if datastore["Status"] == "available" and all(
            m.get("Status") == "associated" for m in secondaries
        ):
            item["result"] = {"status": SUCCEEDED, **live}
        else:
            item["live"] = live
