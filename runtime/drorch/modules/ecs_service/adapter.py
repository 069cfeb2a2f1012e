"""The ecs-service module: the desired task count of ECS services in the recovery region.

A resource is an ECS service (``REPLICA`` scheduling) in the account's region, named
``<cluster>/<service>``. Discovery makes direct calls there (``ListClusters``,
``ListServices``, ``DescribeServices`` with its tags), by the selector's ids (service
name, ``<cluster>/<service>`` or service ARN) and tags; only ``ACTIVE`` services.

The AWS guidance for a warm-standby or pilot-light ECS workload is to keep the service
defined in the recovery region at a small (or zero) desired count and scale it out when
the region takes traffic. That is what drorch does; it never touches a task definition
or a deployment.

Phases (each ``start`` + ``status``; status reads ``DescribeServices``, never a timer):

* INSTANTIATE and ACTIVATE — set the desired count (``desiredCount``, or the service's
  ``services`` entry) with ``UpdateService`` and wait until the service is steady:
  ``runningCount`` equals the desired count, nothing pending and a single (PRIMARY)
  deployment. A deployment whose rollout FAILED, or ``maxFailedTasks`` tasks failed to
  start since the phase began, fails the service with ECS's latest service event. When
  both phases run, INSTANTIATE scales and ACTIVATE finds the service already there and
  only waits for it.
* CLEANUP — puts back the desired count recorded before the change: the earlier run's
  result (``AccountContext.recorded``, ``detail.before.desiredCount``), never a guess.
  With nothing recorded for a service, it is left alone (SKIPPED, said so).
* REPLICATE — nothing: a desired count has no replication (SKIPPED).

The count before the change: before its first ``UpdateService`` the module tags the
service ``drorch:capacity-before=<count>`` (and ``drorch:capacity-execution``); a later
phase, or a retried start, reads the count from there rather than the one it set
itself, and CLEANUP removes the tags once the service is back. Every result carries
``detail.before`` for the history.

Drill: scales the recovery-region service *up* only — a standby there takes no
production traffic. A drill never lowers a desired count (a service already above the
wanted count is SKIPPED, said so) and never deploys: the drill client refuses
``UpdateService`` to 0 or with anything but a desired count, and ``DeleteService``.
CLEANUP (the ``cleanup`` operation after a drill) is not a drill phase.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules import capacity
from drorch.modules.base import (
    FAILED,
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
    error_code,
    load_schema,
    selector_field,
    selector_scope_matches,
    tags_match,
)
from drorch.modules.capacity import MARK_BEFORE, MARK_BY
from drorch.modules.ecs_service import iam
from drorch.modules.ecs_service.probes import (
    DESCRIBE_BATCH,
    PROBES,
    readiness,
    service_findings,
)
from drorch.modules.resource import ResourceModule

RESOURCE_TYPE = "ecs:service"
STATE_VERSION = 1
WAIT_SECONDS = 30
SCALE_KEYS = frozenset({"cluster", "service", "desiredCount"})


def _update_disruptive(params: Mapping[str, Any]) -> bool:
    """UpdateService is disruptive when it stops every task or changes anything but the count."""
    return params.get("desiredCount") == 0 or bool(set(params) - SCALE_KEYS)


# API calls that could harm production; a drill makes none of them (the drill client refuses them).
DISRUPTIVE_CALLS = {
    "UpdateService": _update_disruptive,
    "DeleteService": always,
    "StopTask": always,
    "UpdateServicePrimaryTaskSet": always,
    "DeleteTaskSet": always,
}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))
_TAG_VALUE = re.compile(r"[^\w .:/=+\-@]")


def parse_id(value: str) -> tuple[str | None, str, str | None]:
    """(cluster or None, service name, region or None) of a selector id: ``name``,
    ``cluster/name`` or a service ARN (long or short format)."""
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        path = parts[5].split("/") if len(parts) == 6 else [value]
        region = parts[3] if len(parts) == 6 else None
        if len(path) >= 3:
            return path[1], path[2], region
        return None, path[-1], region
    if "/" in value:
        cluster, _, name = value.partition("/")
        return cluster, name, None
    return None, value, None


def wanted_count(params: Mapping[str, Any], cluster: str, name: str) -> int | None:
    for entry in params.get("services") or ():
        entry_cluster, entry_name, _ = parse_id(entry["service"])
        if entry_name == name and (entry.get("cluster") or entry_cluster) in (cluster, None):
            return int(entry["desiredCount"])
    value = params.get("desiredCount")
    return None if value is None else int(value)


def tag_value(value: str) -> str:
    return _TAG_VALUE.sub("-", value)[:256] or "-"


class EcsServiceModule(ResourceModule):
    type = "ecs-service"
    service = "ecs"
    state_version = STATE_VERSION
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"INSTANTIATE", "ACTIVATE"})
    disruptive_calls = DISRUPTIVE_CALLS
    phases = ("INSTANTIATE", "ACTIVATE", "CLEANUP")
    summary = (
        "ECS services: set the desired task count in the recovery region and wait until the "
        "tasks run (steady state); CLEANUP puts back the count recorded before"
    )
    drill = (
        "Scales the recovery-region standby service up (it takes no production traffic) and "
        "waits for its tasks. A drill never lowers a desired count and never deploys: the drill "
        "client refuses UpdateService to 0 tasks or with anything but a desired count, and "
        "DeleteService. The cleanup operation puts back the recorded count."
    )
    aliases = ("EcsService", "ECS", "ecs_service")
    resource_types = (RESOURCE_TYPE,)
    identified_by = "service name, <cluster>/<service>, or the service ARN"
    probes = PROBES
    sandbox_extension = "drorch.modules.ecs_service.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return iam.statements(account_id, regions)

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        return readiness(session, account_id, region)

    def resource_readiness(
        self, ctx: AccountContext, resources: Sequence[Resource], params: Mapping[str, Any]
    ) -> list[Finding]:
        """The cluster and the service ACTIVE and steady, and the task definition the
        service runs registered in the recovery region (:func:`probes.service_findings`)."""
        return service_findings(ctx, resources)

    def from_layer(self, resource: Mapping[str, Any], where: str) -> LayerMapping:
        """Seed 004 ``EcsService``: its parameters are a list (or one) of
        ``{EcsClusterName, EcsServiceName, EcsDesiredSize}``: each becomes a ``services``
        entry and a selector id ``<cluster>/<service>``; ``Tags`` select by tags."""
        given = resource.get("parameters") or {}
        entries = given if isinstance(given, list) else [given]
        services, ids, unmapped, tags = [], [], [], {}
        known = set(self.parameters_schema["properties"])
        kept: dict[str, Any] = {}
        for index, entry in enumerate(entries):
            path = f"{where}.parameters" + (f"[{index}]" if isinstance(given, list) else "")
            entry = dict(entry or {})
            cluster, name = entry.pop("EcsClusterName", None), entry.pop("EcsServiceName", None)
            size = entry.pop("EcsDesiredSize", None)
            if name:
                cluster_of, service, _ = parse_id(str(name))
                cluster = cluster or cluster_of
                if cluster:
                    ids.append(f"{cluster}/{service}")
                else:
                    ids.append(service)
                if size is not None and cluster:
                    services.append(
                        {"cluster": cluster, "service": service, "desiredCount": int(size)}
                    )
                elif size is not None:
                    kept["desiredCount"] = int(size)
            elif size is not None:
                kept["desiredCount"] = int(size)
            raw_tags = entry.pop("Tags", None)
            if isinstance(raw_tags, Mapping):
                tags.update({str(k): str(v) for k, v in raw_tags.items()})
            elif isinstance(raw_tags, list):
                tags.update({str(t.get("Key")): str(t.get("Value")) for t in raw_tags})
            for key, value in entry.items():
                if key in known:
                    kept[key] = value
                else:
                    unmapped.append(f"{path}.{key}")
        if services:
            kept["services"] = services
        technology: dict[str, Any] = {"type": self.type, "parameters": kept}
        selector: dict[str, Any] = {}
        if ids:
            selector["ids"] = ids
        if tags:
            selector["tags"] = tags
        if selector:
            technology["selector"] = selector
        return LayerMapping(technology=technology, unmapped=unmapped)

    # --- discovery ------------------------------------------------------------------------
    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        found = Discovered()
        if not selector_scope_matches(selector, ctx, RESOURCE_TYPE):
            return found
        wanted_tags = selector_field(selector, "tags")
        wanted = [parse_id(str(i)) for i in selector_field(selector, "ids")]
        wanted = [(c, n) for c, n, region in wanted if region in (None, ctx.region)]
        if selector_field(selector, "ids") and not wanted:
            return found
        ecs = ctx.client("ecs")
        try:
            clusters = [
                arn.rsplit("/", 1)[-1]
                for page in ecs.get_paginator("list_clusters").paginate()
                for arn in page.get("clusterArns", [])
            ]
            for cluster in sorted(clusters):
                if wanted and not any(c in (None, cluster) for c, _ in wanted):
                    continue
                names = [
                    arn.rsplit("/", 1)[-1]
                    for page in ecs.get_paginator("list_services").paginate(cluster=cluster)
                    for arn in page.get("serviceArns", [])
                ]
                if wanted:
                    names = [n for n in names if (cluster, n) in wanted or (None, n) in wanted]
                for service in self._describe(ecs, cluster, names):
                    if service.get("status") != "ACTIVE":
                        continue
                    tags = {t["key"]: t.get("value", "") for t in service.get("tags") or []}
                    if not tags_match(tags, wanted_tags):
                        continue
                    name = service["serviceName"]
                    found.append(
                        Resource(
                            f"{cluster}/{name}",
                            service["serviceArn"],
                            ctx.account_id,
                            ctx.region,
                            name,
                            tags,
                            RESOURCE_TYPE,
                        )
                    )
        except ClientError as error:
            self.fail(error, ctx, "listing ECS services")
        found.sort(key=lambda r: r.id)
        return found

    # --- start / status -----------------------------------------------------------------
    def new_item(self, resource: Resource) -> dict[str, Any]:
        return {"arn": resource.arn}

    def state_extra(self, ctx: AccountContext, key: str) -> dict[str, Any]:
        return {"waitSeconds": WAIT_SECONDS}

    def act(self, ctx: AccountContext, state: dict, items: list[Resource], key: str) -> dict:
        phase, drill, params = state["phase"], state["drill"], state["params"]
        if phase == "REPLICATE":
            for item in state["items"].values():
                item["result"] = {
                    "status": SKIPPED,
                    "note": "nothing to re-establish: a desired count has no replication",
                }
            return state
        ecs = self.client(ctx, drill)
        live = self._live(ctx, ecs, list(state["items"]))
        for resource in items:
            item = state["items"][resource.id]
            service = live.get(resource.id)
            if service is None:
                item["result"] = {
                    "status": FAILED,
                    "error": f"service {resource.id} is not an ACTIVE service in {ctx.region}",
                }
                continue
            try:
                if phase == "CLEANUP":
                    self._start_restore(ctx, ecs, resource.id, item, service)
                else:
                    self._start_scale(ctx, ecs, resource.id, item, service, params, drill)
            except ClientError as error:
                self.fail(error, ctx, f"scaling ECS service {resource.id}")
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        self.check_state(phase, state)
        ecs = self.client(ctx, bool(state.get("drill")))
        params = state.get("params") or {}
        pending = [sid for sid, item in state["items"].items() if "result" not in item]
        if pending:
            live = self._live(ctx, ecs, pending)
            for sid in pending:
                item = state["items"][sid]
                try:
                    self._check(ctx, ecs, sid, item, live.get(sid), params, phase)
                except ClientError as error:
                    self.fail(error, ctx, f"checking ECS service {sid}")
        return self.result(state)

    # --- shared -------------------------------------------------------------------------------
    @staticmethod
    def _describe(ecs: Any, cluster: str, names: Sequence[str]) -> list[dict[str, Any]]:
        found = []
        for at in range(0, len(names), DESCRIBE_BATCH):
            answer = ecs.describe_services(
                cluster=cluster, services=list(names[at : at + DESCRIBE_BATCH]), include=["TAGS"]
            )
            found += answer.get("services", [])
        return found

    def _live(self, ctx: AccountContext, ecs: Any, ids: Sequence[str]) -> dict[str, dict]:
        """``<cluster>/<service>`` -> the ACTIVE service as DescribeServices answers it."""
        by_cluster: dict[str, list[str]] = {}
        for sid in ids:
            cluster, _, name = sid.partition("/")
            by_cluster.setdefault(cluster, []).append(name)
        live: dict[str, dict] = {}
        try:
            for cluster, names in sorted(by_cluster.items()):
                try:
                    services = self._describe(ecs, cluster, names)
                except ClientError as error:
                    if error_code(error) == "ClusterNotFoundException":
                        continue
                    raise
                for service in services:
                    if service.get("status") == "ACTIVE":
                        live[f"{cluster}/{service['serviceName']}"] = service
        except ClientError as error:
            self.fail(error, ctx, "describing ECS services")
        return live

    @staticmethod
    def _marks(service: Mapping[str, Any]) -> dict[str, str]:
        return capacity.marks(capacity.tag_map(service.get("tags"), "key", "value"))

    @staticmethod
    def _baseline(service: Mapping[str, Any]) -> dict[str, int]:
        return {d["id"]: int(d.get("failedTasks", 0)) for d in service.get("deployments") or []}

    # --- INSTANTIATE / ACTIVATE -------------------------------------------------------------
    def _start_scale(
        self,
        ctx: AccountContext,
        ecs: Any,
        sid: str,
        item: dict,
        service: Mapping[str, Any],
        params: Mapping[str, Any],
        drill: bool,
    ) -> None:
        cluster, _, name = sid.partition("/")
        target = wanted_count(params, cluster, name)
        current = int(service["desiredCount"])
        marks = self._marks(service)
        before = int(marks[MARK_BEFORE]) if marks.get(MARK_BEFORE, "").isdigit() else current
        item.update(before=before, baseline=self._baseline(service))
        capacity.note_marker(item, marks)
        if target is None:
            item["result"] = {
                "status": FAILED,
                "error": f"no desired count for {sid}: give desiredCount or a services entry",
            }
            return
        item["target"] = target
        if drill and target < current:
            item["result"] = {
                "status": SKIPPED,
                "before": {"desiredCount": before},
                "desiredCount": current,
                "note": f"a drill never scales down: {sid} wants {current} tasks, more than "
                f"{target}; left as it is",
            }
            return
        if target == current:
            return  # set already (an earlier phase, or a retried start): wait for it
        if MARK_BEFORE not in marks:
            ecs.tag_resource(
                resourceArn=service["serviceArn"],
                tags=[
                    {"key": MARK_BEFORE, "value": str(current)},
                    {"key": MARK_BY, "value": tag_value(ctx.execution_id or "unknown")},
                ],
            )
            item["recordedBy"] = tag_value(ctx.execution_id or "unknown")
        ecs.update_service(cluster=cluster, service=name, desiredCount=target)
        item["changed"] = True

    # --- CLEANUP ------------------------------------------------------------------------------
    def _start_restore(
        self, ctx: AccountContext, ecs: Any, sid: str, item: dict, service: Mapping[str, Any]
    ) -> None:
        recorded = capacity.recorded_before(ctx, sid) or {}
        if "desiredCount" not in recorded:
            item["result"] = {
                "status": SKIPPED,
                "desiredCount": int(service["desiredCount"]),
                "note": f"no earlier run recorded the desired count of {sid}: left as it is",
            }
            return
        cluster, _, name = sid.partition("/")
        target = int(recorded["desiredCount"])
        item.update(target=target, baseline=self._baseline(service))
        capacity.restoring_from(ctx, item)
        if int(service["desiredCount"]) != target:
            ecs.update_service(cluster=cluster, service=name, desiredCount=target)
            item["changed"] = True

    # --- status -------------------------------------------------------------------------------
    def _check(
        self,
        ctx: AccountContext,
        ecs: Any,
        sid: str,
        item: dict,
        service: Mapping[str, Any] | None,
        params: Mapping[str, Any],
        phase: str,
    ) -> None:
        if service is None:
            item["result"] = {"status": FAILED, "error": f"service {sid} is gone"}
            return
        target = int(item["target"])
        running, pending = int(service["runningCount"]), int(service["pendingCount"])
        deployments = service.get("deployments") or []
        primary = next((d for d in deployments if d.get("status") == "PRIMARY"), {})
        failed = int(primary.get("failedTasks", 0)) - item["baseline"].get(primary.get("id"), 0)
        events = service.get("events") or []
        latest = events[0]["message"] if events else ""
        item["live"] = {"desiredCount": target, "runningCount": running, "pendingCount": pending}
        if primary.get("rolloutState") == "FAILED":
            reason = primary.get("rolloutStateReason") or latest
            item["result"] = {**item["live"], "status": FAILED, "error": f"{sid}: {reason}"}
            return
        if failed >= int(params.get("maxFailedTasks", 3)):
            item["result"] = {
                **item["live"],
                "status": FAILED,
                "error": f"{failed} task(s) of {sid} failed to start"
                + (f": {latest}" if latest else ""),
            }
            return
        if int(service["desiredCount"]) != target:
            item["live"]["note"] = (
                f"its desired count is {service['desiredCount']} now, not {target}: "
                "something else changed it"
            )
            return
        if running != target or pending or len(deployments) > 1:
            return
        if primary.get("rolloutState") == "IN_PROGRESS":
            return  # a deployment still rolling out: not steady yet
        if item.get("restoring"):
            marks = self._marks(service)
            if marks:
                ecs.untag_resource(resourceArn=service["serviceArn"], tagKeys=sorted(marks))
        result: dict[str, Any] = {"status": SUCCEEDED, **item["live"]}
        before = {"desiredCount": item.get("before")}
        item["result"] = capacity.finish(
            {**item, "before": before}, result, {"desiredCount": target}
        )

    def resource_name(self, rid: str, item: Mapping[str, Any]) -> str:
        return rid.partition("/")[2]

    def detail(self, item: Mapping[str, Any], detail: dict[str, Any]) -> dict[str, Any]:
        if "before" in item and "before" not in detail and not item.get("restoring"):
            detail["before"] = {"desiredCount": item["before"]}
        return detail
