"""The eks-nodegroup module: EKS managed node groups scaled in the recovery region.

A resource is a managed node group of a cluster in the recovery region (the account's
region), named ``<cluster>/<nodegroup>``. Discovery makes direct calls there
(``ListClusters``, ``ListNodegroups``, ``DescribeNodegroup``), by the selector's ids (that
name or the node group's ARN) and tags (the node group's own tags).

The AWS guidance for a pilot-light or warm-standby EKS workload is to keep a small node
group in the recovery region and scale it out when it must take the load; the pods follow
once the nodes are there. This module does the scaling, and waits for the nodes.

Phases (each ``start`` + ``status``; status asks EKS and Auto Scaling, never a timer):

* INSTANTIATE and ACTIVATE — ``UpdateNodegroupConfig`` ``scalingConfig`` to
  ``desiredSize`` (and ``minSize``/``maxSize``; absent: the current ones, widened to
  take ``desiredSize``), with a client request token from the idempotency key so a retried
  start gets the same update. Done when the update (``DescribeUpdate``) is ``Successful``,
  the node group is ``ACTIVE`` with that configuration, and its Auto Scaling group(s)
  (``resources.autoScalingGroups``) have ``desiredSize`` ``InService`` instances. A node
  group already at the target is only waited for, so ACTIVATE after INSTANTIATE finds it
  done. The scaling configuration before the change is recorded in the result
  (``detail.before``) and kept on the node group as the tag ``drorch:capacity-before``
  until CLEANUP: a retried start, or a second run before any cleanup, records the
  original capacity rather than drorch's own change. A failed update (``Failed`` with its
  errors), a node group that is not ``ACTIVE`` afterwards, or no result within
  ``timeoutSeconds`` fails the node group.
* CLEANUP — puts back exactly the scaling configuration the earlier run recorded
  (``AccountContext.recorded``), waits for it the same way, then removes the tag. A node
  group no earlier run recorded is left alone (SKIPPED, and said so).
* REPLICATE — nothing (a node group holds no data); SKIPPED.

Drill: the same scale-up of the recovery-region (standby) node group, and never a
scale-down: a target below the current minimum, desired or maximum size is refused before
anything is sent (the node group FAILS with the reason). The drill's CLEANUP only puts
back the capacity the drill recorded. The node groups are in the recovery region, so
production (in the source region) is never touched; the drill client also refuses every
call in ``DISRUPTIVE_CALLS`` (node group version updates and deletes, any update of
labels, taints or update settings) before it is sent.
"""

from __future__ import annotations

import hashlib
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
from drorch.modules.eks_nodegroup import iam
from drorch.modules.eks_nodegroup.iam import BEFORE_TAG
from drorch.modules.eks_nodegroup.probes import PROBES, readiness
from drorch.modules.resource import ResourceModule

RESOURCE_TYPE = "eks:nodegroup"
STATE_VERSION = 1
POLL_SECONDS = 30
SCALING = ("minSize", "desiredSize", "maxSize")
NOT_FOUND = "ResourceNotFoundException"
# what UpdateNodegroupConfig may carry in a drill: a scaling change and nothing else
SCALING_CALL = frozenset({"clusterName", "nodegroupName", "scalingConfig", "clientRequestToken"})


def _not_only_scaling(params: Mapping[str, Any]) -> bool:
    return bool(set(params) - SCALING_CALL)


# API calls that change production; a drill makes none of them (the drill client refuses them).
DISRUPTIVE_CALLS = {
    "UpdateNodegroupConfig": _not_only_scaling,  # labels, taints, update or repair settings
    "UpdateNodegroupVersion": always,
    "DeleteNodegroup": always,
    "DeleteCluster": always,
    "UpdateClusterConfig": always,
    "UpdateClusterVersion": always,
}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))


def name_of(identifier: str) -> str:
    """``<cluster>/<nodegroup>`` from that name or a node group ARN
    (``arn:aws:eks:<region>:<account>:nodegroup/<cluster>/<nodegroup>/<uuid>``)."""
    if identifier.startswith("arn:") and ":nodegroup/" in identifier:
        parts = identifier.split(":nodegroup/", 1)[1].split("/")
        return "/".join(parts[:2])
    return identifier


def encode(config: Mapping[str, int]) -> str:
    return ",".join(f"{key}={int(config[key])}" for key in SCALING)


def decode(text: str) -> dict[str, int] | None:
    """The scaling configuration a ``drorch:capacity-before`` tag holds (None: not one)."""
    try:
        found = dict(part.split("=", 1) for part in text.split(","))
        return {key: int(found[key]) for key in SCALING}
    except (KeyError, ValueError):
        return None


def scaling_of(nodegroup: Mapping[str, Any]) -> dict[str, int]:
    config = nodegroup.get("scalingConfig") or {}
    return {key: int(config.get(key, 0)) for key in SCALING}


def target_of(params: Mapping[str, Any], current: Mapping[str, int]) -> dict[str, int]:
    """The scaling configuration the parameters ask for, from the current one."""
    desired = int(params["desiredSize"])
    low = params.get("minSize")
    high = params.get("maxSize")
    return {
        "minSize": int(low) if low is not None else min(current["minSize"], desired),
        "desiredSize": desired,
        "maxSize": int(high) if high is not None else max(current["maxSize"], desired, 1),
    }


def token_for(key: str, phase: str, resource: str) -> str:
    return hashlib.sha256(f"{key}|{phase}|{resource}".encode()).hexdigest()[:32]


class EksNodegroupModule(ResourceModule):
    type = "eks-nodegroup"
    service = "eks"
    state_version = STATE_VERSION
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"INSTANTIATE", "ACTIVATE", "CLEANUP"})
    disruptive_calls = DISRUPTIVE_CALLS
    summary = (
        "EKS managed node groups: scale the recovery-region node group (min/desired/max) and "
        "wait for its nodes; CLEANUP puts back the recorded capacity"
    )
    drill = (
        "Scales the recovery-region (standby) node group up, never down: a target below its "
        "current size is refused before anything is sent; CLEANUP puts back the capacity the "
        "drill recorded. Production, in the source region, is never called; the drill client "
        "refuses node group deletes, version updates and any non-scaling update."
    )
    aliases = ("EKS", "EksNodegroup", "EKSNodegroup", "eks_nodegroup")
    resource_types = (RESOURCE_TYPE,)
    identified_by = "<cluster>/<nodegroup> in the recovery region, or the node group's ARN"
    phases = ("INSTANTIATE", "ACTIVATE", "CLEANUP")
    probes = PROBES
    sandbox_extension = "drorch.modules.eks_nodegroup.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return iam.statements(account_id, regions)

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        return readiness(session, account_id, region)

    def resource_readiness(
        self, ctx: AccountContext, resources: Sequence[Resource], params: Mapping[str, Any]
    ) -> list[Finding]:
        """Headroom (the scaling configuration the plan sets must hold min <= desired <= max)
        and the EC2 On-Demand vCPU quota against the running vCPUs plus the nodes it adds."""
        eks = ctx.client("eks")
        where = f"in {ctx.account_id} ({ctx.region})"
        found: list[Finding] = []
        for resource in resources:
            cluster, group = name_of(resource.id).split("/", 1)
            call = f"eks:DescribeNodegroup {cluster}/{group} {where}"
            described = self._describe(eks, cluster, group)
            if described is None:
                found.append(
                    capacity.headroom_finding(resource, "", "", call, "the node group is gone")
                )
                continue
            current = scaling_of(described)
            target = target_of(params, current)
            if not target["minSize"] <= target["desiredSize"] <= target["maxSize"]:
                problem = f"the plan's {encode(target)} does not hold min <= desired <= max"
                found.append(capacity.headroom_finding(resource, "", "", call, problem))
                continue
            found.append(capacity.headroom_finding(resource, encode(current), encode(target), call))
            added = target["desiredSize"] - current["desiredSize"]
            kinds = described.get("instanceTypes") or []
            if added > 0 and kinds:
                extra, running = capacity.standard_vcpus(ctx, {kinds[0]: added})
                found.append(
                    capacity.quota_finding(
                        ctx,
                        resource,
                        capacity.EC2_STANDARD_VCPUS,
                        running + extra,
                        f"{added} more {kinds[0]} node(s) ({extra} vCPUs) beside {running} "
                        "running vCPUs",
                    )
                )
        return found

    def from_layer(self, resource: Mapping[str, Any], where: str) -> LayerMapping:
        """``ClusterName`` + ``NodegroupName`` (or ``NodegroupArn``) -> selector ids;
        ``DesiredSize``/``DesiredCapacity``, ``MinSize``, ``MaxSize`` -> the sizes."""
        params = dict(resource.get("parameters") or {})
        technology: dict[str, Any] = {"type": self.type, "parameters": {}}
        notes: list[str] = []
        cluster, group = params.pop("ClusterName", None), params.pop("NodegroupName", None)
        arn = params.pop("NodegroupArn", None)
        if cluster and group:
            technology["selector"] = {"ids": [f"{cluster}/{group}"]}
        elif arn:
            technology["selector"] = {"ids": [arn]}
        elif cluster or group:
            notes.append(f"{where}: give both ClusterName and NodegroupName to select by id")
        sizes = {
            "DesiredSize": "desiredSize",
            "DesiredCapacity": "desiredSize",
            "MinSize": "minSize",
            "MaxSize": "maxSize",
        }
        for key, name in sizes.items():
            if key in params:
                technology["parameters"][name] = params.pop(key)
        if "desiredSize" not in technology["parameters"]:
            notes.append(f"{where}: set parameters.desiredSize (the recovery node group's size)")
        known = set(self.parameters_schema["properties"])
        technology["parameters"].update({k: v for k, v in params.items() if k in known})
        unmapped = [f"{where}.parameters.{k}" for k in params if k not in known]
        return LayerMapping(technology=technology, unmapped=unmapped, notes=notes)

    # --- discovery ------------------------------------------------------------------------
    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        found = Discovered()
        if not selector_scope_matches(selector, ctx, RESOURCE_TYPE):
            return found
        wanted_tags = selector_field(selector, "tags")
        ids = sorted({name_of(str(i)) for i in selector_field(selector, "ids")})
        eks = ctx.client("eks")
        try:
            if ids:
                names = [tuple(i.split("/", 1)) for i in ids if "/" in i]
            else:
                names = [
                    (cluster, group)
                    for cluster in self._clusters(eks)
                    for page in eks.get_paginator("list_nodegroups").paginate(clusterName=cluster)
                    for group in page.get("nodegroups", [])
                ]
            for cluster, group in names:
                described = self._describe(eks, cluster, group)
                if described is None:
                    continue
                tags = dict(described.get("tags") or {})
                if not tags_match(tags, wanted_tags):
                    continue
                name = f"{cluster}/{group}"
                found.append(
                    Resource(
                        name,
                        described["nodegroupArn"],
                        ctx.account_id,
                        ctx.region,
                        name,
                        tags,
                        RESOURCE_TYPE,
                    )
                )
        except ClientError as error:
            self.fail(error, ctx, "listing EKS node groups")
        found.sort(key=lambda r: r.id)
        return found

    @staticmethod
    def _clusters(eks: Any) -> list[str]:
        return [
            c for page in eks.get_paginator("list_clusters").paginate() for c in page["clusters"]
        ]

    # --- start / status -----------------------------------------------------------------
    def state_extra(self, ctx: AccountContext, key: str) -> dict[str, Any]:
        return {"started": ctx.now, "waitSeconds": POLL_SECONDS}

    def act(self, ctx: AccountContext, state: dict, items: list[Resource], key: str) -> dict:
        phase, drill, params = state["phase"], state["drill"], state["params"]
        eks = self.client(ctx, drill)
        for resource in items:
            item = state["items"][resource.id]
            try:
                if phase in ("INSTANTIATE", "ACTIVATE"):
                    self._start_scale(ctx, eks, resource.id, item, params, drill)
                elif phase == "CLEANUP":
                    self._start_restore(ctx, eks, resource.id, item)
                else:
                    item["result"] = {
                        "status": SKIPPED,
                        "note": "a node group holds no data: nothing to replicate",
                    }
                if "result" not in item:
                    item["token"] = token_for(key, phase, resource.id)
                    self._request(eks, resource.id, item)
            except ClientError as error:
                self.fail(error, ctx, f"scaling node group {resource.id}")
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        self.check_state(phase, state)
        eks = self.client(ctx, bool(state.get("drill")))
        autoscaling = ctx.client("autoscaling")
        params = state.get("params") or {}
        for name, item in state["items"].items():
            if "result" in item:
                continue
            try:
                self._check(ctx, eks, autoscaling, name, item)
                if "result" not in item:
                    self._check_timeout(ctx, state, params, item)
                elif phase == "CLEANUP" and item["result"]["status"] == SUCCEEDED:
                    self._untag(eks, name, item)
            except ClientError as error:
                self.fail(error, ctx, f"checking node group {name}")
        return self.result(state)

    # --- shared -------------------------------------------------------------------------------
    def detail(self, item: Mapping[str, Any], detail: dict[str, Any]) -> dict[str, Any]:
        return capacity.carry(item, detail, "before", "target")

    @staticmethod
    def _describe(eks: Any, cluster: str, group: str) -> dict[str, Any] | None:
        try:
            return eks.describe_nodegroup(clusterName=cluster, nodegroupName=group)["nodegroup"]
        except ClientError as error:
            if error_code(error) == NOT_FOUND:
                return None
            raise

    # --- INSTANTIATE / ACTIVATE ---------------------------------------------------------------
    def _start_scale(
        self, ctx: AccountContext, eks: Any, name: str, item: dict, params: Mapping, drill: bool
    ) -> None:
        cluster, group = name.split("/", 1)
        described = self._describe(eks, cluster, group)
        if described is None:
            item["result"] = {"status": FAILED, "error": f"no node group {name} here"}
            return
        current = scaling_of(described)
        tags = described.get("tags") or {}
        kept = decode(tags[BEFORE_TAG]) if BEFORE_TAG in tags else None
        before = kept or current
        target = target_of(params, current)
        item.update(before=before, target=target)
        if not target["minSize"] <= target["desiredSize"] <= target["maxSize"]:
            item["result"] = {
                "status": FAILED,
                "error": f"minSize {target['minSize']} <= desiredSize {target['desiredSize']} "
                f"<= maxSize {target['maxSize']} does not hold: fix the parameters",
            }
            return
        lower = [key for key in SCALING if target[key] < current[key]]
        if drill and lower:
            item["result"] = {
                "status": FAILED,
                "error": "a drill scales up only: "
                + ", ".join(
                    f"{key} {target[key]} is below the current {current[key]}" for key in lower
                )
                + " (nothing was changed)",
            }
            return
        if kept is None:
            eks.tag_resource(
                resourceArn=described["nodegroupArn"], tags={BEFORE_TAG: encode(before)}
            )

    # --- CLEANUP ------------------------------------------------------------------------------
    def _start_restore(self, ctx: AccountContext, eks: Any, name: str, item: dict) -> None:
        recorded = capacity.recorded_before(ctx, name)
        before = decode(encode(recorded)) if isinstance(recorded, Mapping) else None
        if before is None:
            item["result"] = {
                "status": SKIPPED,
                "note": "no earlier run recorded this node group's capacity: left as it is",
            }
            return
        cluster, group = name.split("/", 1)
        described = self._describe(eks, cluster, group)
        if described is None:
            item["result"] = {"status": FAILED, "error": f"no node group {name} here"}
            return
        item.update(target=before, restoredFrom=ctx.recorded_from or "the earlier run")

    # --- the update and its progress ------------------------------------------------------
    def _request(self, eks: Any, name: str, item: dict) -> None:
        """Ask for the target configuration once the node group is ACTIVE (at most once)."""
        if item.get("requested"):
            return
        cluster, group = name.split("/", 1)
        described = self._describe(eks, cluster, group)
        if described is None:
            item["result"] = {"status": FAILED, "error": f"node group {name} is gone"}
            return
        if scaling_of(described) == item["target"]:
            item["requested"] = True  # nothing to change: wait for the nodes
            return
        if described["status"] != "ACTIVE":
            item["live"] = {"nodegroupStatus": described["status"], "note": "waiting to update"}
            return
        update = eks.update_nodegroup_config(
            clusterName=cluster,
            nodegroupName=group,
            scalingConfig=dict(item["target"]),
            clientRequestToken=item["token"],
        )["update"]
        item.update(requested=True, update=update["id"])

    def _check(
        self, ctx: AccountContext, eks: Any, autoscaling: Any, name: str, item: dict
    ) -> None:
        cluster, group = name.split("/", 1)
        if not item.get("requested"):
            self._request(eks, name, item)
            if not item.get("requested"):
                return
        if item.get("update"):
            update = eks.describe_update(
                name=cluster, nodegroupName=group, updateId=item["update"]
            )["update"]
            if update["status"] == "InProgress":
                item["live"] = {"update": item["update"], "updateStatus": "InProgress"}
                return
            if update["status"] != "Successful":
                errors = "; ".join(
                    f"{e.get('errorCode')}: {e.get('errorMessage')}"
                    for e in update.get("errors") or []
                )
                item["result"] = {
                    "status": FAILED,
                    "update": item["update"],
                    "error": f"update {item['update']} is {update['status']}"
                    + (f": {errors}" if errors else ""),
                }
                return
        described = self._describe(eks, cluster, group)
        if described is None:
            item["result"] = {"status": FAILED, "error": f"node group {name} is gone"}
            return
        live: dict[str, Any] = {"nodegroupStatus": described["status"]}
        if described["status"] in ("UPDATING", "CREATING"):
            item["live"] = live
            return
        if described["status"] != "ACTIVE":
            issues = "; ".join(
                f"{i.get('code')}: {i.get('message')}"
                for i in (described.get("health") or {}).get("issues") or []
            )
            item["result"] = {
                "status": FAILED,
                "error": f"the node group is {described['status']}"
                + (f": {issues}" if issues else ""),
                **live,
            }
            return
        if scaling_of(described) != item["target"]:
            item["result"] = {
                "status": FAILED,
                "error": f"the node group is ACTIVE with {encode(scaling_of(described))}, not "
                f"{encode(item['target'])}: the update did not apply",
                **live,
            }
            return
        groups = [
            g["name"] for g in (described.get("resources") or {}).get("autoScalingGroups", [])
        ]
        nodes = self._in_service(autoscaling, groups)
        live.update(autoScalingGroups=groups, inServiceNodes=nodes)
        if nodes != item["target"]["desiredSize"]:
            item["live"] = live
            return
        item["result"] = {"status": SUCCEEDED, **live}
        if item.get("update"):
            item["result"]["update"] = item["update"]

    @staticmethod
    def _in_service(autoscaling: Any, groups: list[str]) -> int:
        if not groups:
            return 0
        pages = autoscaling.get_paginator("describe_auto_scaling_groups").paginate(
            AutoScalingGroupNames=groups
        )
        return sum(
            1
            for page in pages
            for found in page.get("AutoScalingGroups", [])
            for instance in found.get("Instances", [])
            if instance.get("LifecycleState") == "InService"
            and instance.get("HealthStatus") == "Healthy"
        )

    @staticmethod
    def _check_timeout(ctx: AccountContext, state: dict, params: Mapping, item: dict) -> None:
        started, limit = state.get("started"), params.get("timeoutSeconds")
        if ctx.now is None or started is None or not limit or ctx.now - started <= limit:
            return
        item["result"] = {
            "status": FAILED,
            "error": f"not done after {int(ctx.now - started)} s (timeoutSeconds {limit})",
            **item.get("live", {}),
        }

    def _untag(self, eks: Any, name: str, item: dict) -> None:
        cluster, group = name.split("/", 1)
        described = self._describe(eks, cluster, group)
        if described is not None and BEFORE_TAG in (described.get("tags") or {}):
            eks.untag_resource(resourceArn=described["nodegroupArn"], tagKeys=[BEFORE_TAG])
