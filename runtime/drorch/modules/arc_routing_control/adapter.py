"""The arc-routing-control module: Route 53 Application Recovery Controller routing controls.

A resource is a routing control (its ARN), found by ARN or name in the selector's ``ids``,
or by the tags of its control panel (routing controls take no tags of their own):
``ListControlPanels``, ``ListTagsForResource``, ``ListRoutingControls`` on the control plane,
which answers in us-west-2 only. ``states`` in the parameters says what each one is set to
(by name or ARN); a selected control it does not name is left alone, and said so.

Routing control states live in the cluster's data plane: five Regional endpoints
(``DescribeCluster`` ``ClusterEndpoints``), any of which answers for the whole cluster. As
AWS advises, every data-plane call tries the endpoints in turn, starting with the one that
last answered, until one answers; an endpoint that cannot be reached or answers
``EndpointTemporarilyUnavailableException``, a 5xx or throttling is skipped for the next.
Data-plane clients make one attempt per endpoint (the next endpoint is the retry). When no
endpoint answers, the phase stays RUNNING and tries again at the next poll, and fails after
:data:`MAX_ROUNDS` polls; throttling at every endpoint is raised for the state machine.

Phases (``start`` reads, the first ``status`` writes; nothing waits on a timer):

* INSTANTIATE, CLEANUP — nothing to do for a routing control (says so).
* ACTIVATE — ``start`` reads each control's state (``GetRoutingControlState``) and keeps it
  as the resource's ``detail.previous``. The first ``status`` reads them again and sets the
  ones that differ in one atomic ``UpdateRoutingControlStates`` batch per cluster (so the
  recovery cell goes On as the primary goes Off, which safety rules such as "at least one
  cell On" require), with ``safetyRulesToOverride`` if given; then reads every state back
  and succeeds when each one is what was asked. A safety rule that refuses the batch
  (``ConflictException``) fails every control of it, naming the rule: nothing changed.
* REPLICATE (failback) — sets each control back to the state the failover's ACTIVATE
  recorded (``AccountContext.recorded``), the same way; nothing recorded fails it and says
  so (drorch does not guess a traffic state). The ACTIVATE of a failback
  (``AccountContext.operation``) changes nothing: the states are back already.

Drill: never changes a routing control — that would move production traffic. ACTIVATE in
a drill reads each control's state through the cluster endpoints (so a drill proves the
data plane answers), checks that the cluster and the control are DEPLOYED and lists the
control panel's safety rules, and reports the state a failover would set
(``wouldSet``). The drill client refuses ``UpdateRoutingControlState(s)`` before it is sent,
and a drill-only role has no ARC write at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from drorch.modules.arc_routing_control import iam
from drorch.modules.arc_routing_control.probes import CONTROL_PLANE_REGION, PROBES, readiness
from drorch.modules.base import (
    FAILED,
    SKIPPED,
    SUCCEEDED,
    AccountContext,
    Discovered,
    Exclusion,
    Finding,
    ModuleError,
    ModuleIam,
    Resource,
    StatusResult,
    always,
    classify,
    error_code,
    error_message,
    load_schema,
    raise_if_fatal,
    selector_field,
    selector_scope_matches,
    tags_match,
)
from drorch.modules.resource import ResourceModule

RESOURCE_TYPE = "route53-recovery-control-config:routingcontrol"
STATE_VERSION = 1
MAX_ROUNDS = 3  # status polls in a row with no endpoint answering before a cluster fails
CONFIG_SERVICE, DATA_SERVICE = "route53-recovery-control-config", "route53-recovery-cluster"
# one attempt per endpoint: the next endpoint is the retry
DATA_PLANE_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 1}, connect_timeout=5, read_timeout=10
)
UNREACHABLE = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)
NEXT_ENDPOINT_CODES = frozenset({"EndpointTemporarilyUnavailableException"})

# API calls that change production; a drill makes none of them (the drill client refuses them).
DISRUPTIVE_CALLS = {
    "UpdateRoutingControlState": always,
    "UpdateRoutingControlStates": always,
    "UpdateRoutingControl": always,
    "DeleteRoutingControl": always,
    "UpdateSafetyRule": always,
    "DeleteSafetyRule": always,
}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))

T = TypeVar("T")


class NoEndpointAnswered(ModuleError):
    """None of a cluster's endpoints answered; ``tried`` says why for each."""

    def __init__(self, tried: list[str]) -> None:
        super().__init__("no cluster endpoint answered: " + "; ".join(tried))
        self.tried = tried


class ArcRoutingControlModule(ResourceModule):
    type = "arc-routing-control"
    state_version = STATE_VERSION
    regional = False
    name_key = "name"
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"INSTANTIATE", "ACTIVATE", "CLEANUP"})
    disruptive_calls = DISRUPTIVE_CALLS
    summary = (
        "Route 53 ARC routing controls: set their states (recovery cell On, primary Off) in "
        "one batch through the cluster's endpoints, recording the states before for failback"
    )
    drill = (
        "Never changes a routing control (that moves production traffic): reads each "
        "control's state through the cluster endpoints, checks the cluster and control are "
        "DEPLOYED, lists the safety rules and reports the state a failover would set. The "
        "drill client refuses UpdateRoutingControlState(s) before it is sent."
    )
    aliases = ("ArcRoutingControl", "RoutingControl", "arc_routing_control")
    resource_types = (RESOURCE_TYPE,)
    identified_by = "routing control ARN, or its name"
    probes = PROBES
    sandbox_extension = "drorch.modules.arc_routing_control.sandbox"

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
        ids = {str(i) for i in selector_field(selector, "ids")}
        config = self._config(ctx, False)
        try:
            panels = [
                p
                for page in config.get_paginator("list_control_panels").paginate()
                for p in page.get("ControlPanels", [])
            ]
            for panel in panels:
                tags = config.list_tags_for_resource(ResourceArn=panel["ControlPanelArn"]).get(
                    "Tags", {}
                )
                if not tags_match(tags, wanted_tags):
                    continue
                pages = config.get_paginator("list_routing_controls").paginate(
                    ControlPanelArn=panel["ControlPanelArn"]
                )
                for control in (c for page in pages for c in page.get("RoutingControls", [])):
                    arn, name = control["RoutingControlArn"], control["Name"]
                    if ids and arn not in ids and name not in ids:
                        continue
                    found.append(
                        Resource(arn, arn, ctx.account_id, ctx.region, name, tags, RESOURCE_TYPE)
                    )
        except ClientError as error:
            self.fail(error, ctx, "listing routing controls (ListControlPanels)")
        seen = {r.id for r in found} | {r.name for r in found}
        for wanted in sorted(ids - seen):
            found.excluded.append(
                Exclusion(
                    wanted, "", ctx.account_id, ctx.region, wanted, ("no such routing control",)
                )
            )
        found.sort(key=lambda r: (r.name, r.id))
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
            "v": self.state_version,
            "phase": phase,
            "drill": drill,
            "overrides": list(params.get("safetyRulesToOverride") or []),
            "items": {r.id: {"name": r.name} for r in items},
            "clusters": {},
        }
        if phase in ("INSTANTIATE", "CLEANUP"):
            for item in state["items"].values():
                item["result"] = {
                    "status": SKIPPED,
                    "note": "nothing to do for a routing control in this phase",
                }
            return state
        config = self._config(ctx, drill)
        for resource in items:
            item = state["items"][resource.id]
            wanted = self._wanted(ctx, phase, resource, params)
            if "result" in wanted:
                item["result"] = wanted["result"]
                continue
            item.update(wanted)
            try:
                self._locate(config, state["clusters"], resource.id, item)
            except ClientError as error:
                if classify(error) != "not-found":
                    self.fail(error, ctx, f"describing routing control {resource.name}")
                item["result"] = {
                    "status": FAILED,
                    "error": f"{error_code(error)}: {error_message(error)}",
                }
        try:
            self._read_states(ctx, state, drill)
        except NoEndpointAnswered as error:
            raise ModuleError(f"{self.type}: reading routing control states: {error}") from error
        if drill:
            self._drill_report(ctx, config, state)
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        self.check_state(phase, state)
        drill = bool(state.get("drill"))
        for cluster_arn, cluster in sorted(state["clusters"].items()):
            members = [
                (arn, item)
                for arn, item in sorted(state["items"].items())
                if item.get("cluster") == cluster_arn and "result" not in item
            ]
            if members:
                self._settle(ctx, state, cluster_arn, cluster, members, drill)
        return self.result(state)

    # --- what each control is set to --------------------------------------------------------
    def _wanted(
        self, ctx: AccountContext, phase: str, resource: Resource, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        if phase == "ACTIVATE" and ctx.operation == "failback":
            return {
                "result": {
                    "status": SKIPPED,
                    "note": "a failback sets the states back in REPLICATE: ACTIVATE changes none",
                }
            }
        if phase == "ACTIVATE":
            states = params["states"]
            target = states.get(resource.id) or states.get(resource.name)
            if target is None:
                return {
                    "result": {
                        "status": SKIPPED,
                        "note": f"states names no state for {resource.name}: left as it is",
                    }
                }
            return {"target": target}
        recorded = ctx.recorded.get(resource.id) or {}
        if recorded.get("drill"):
            return {
                "result": {
                    "status": SKIPPED,
                    "note": "the run recorded was a drill: it changed no routing control",
                }
            }
        if recorded.get("previous") not in ("On", "Off"):
            return {
                "result": {
                    "status": FAILED,
                    "error": f"nothing recorded of {resource.name}'s state before the failover: "
                    "set it back by hand (drorch does not guess a traffic state)",
                }
            }
        return {"target": recorded["previous"], "recordedFrom": ctx.recorded_from}

    # --- control plane ----------------------------------------------------------------------
    def _config(self, ctx: AccountContext, drill: bool) -> Any:
        return ctx.client(
            CONFIG_SERVICE, region=CONTROL_PLANE_REGION, guard=self.drill_guard(drill)
        )

    @staticmethod
    def _locate(config: Any, clusters: dict[str, Any], arn: str, item: dict) -> None:
        """The control's panel and cluster, and the cluster's endpoints (once per cluster)."""
        control = config.describe_routing_control(RoutingControlArn=arn)["RoutingControl"]
        item["controlStatus"] = control.get("Status", "")
        panel_arn = control["ControlPanelArn"]
        item["panel"] = panel_arn
        known = next((c for c in clusters.values() if panel_arn in c["panels"]), None)
        if known is None:
            panel = config.describe_control_panel(ControlPanelArn=panel_arn)["ControlPanel"]
            cluster_arn = panel["ClusterArn"]
            if cluster_arn not in clusters:
                cluster = config.describe_cluster(ClusterArn=cluster_arn)["Cluster"]
                clusters[cluster_arn] = {
                    "status": cluster.get("Status", ""),
                    "endpoints": [
                        {"endpoint": e["Endpoint"], "region": e["Region"]}
                        for e in cluster.get("ClusterEndpoints") or []
                    ],
                    "preferred": 0,
                    "panels": [],
                    "rounds": 0,
                }
            clusters[cluster_arn]["panels"].append(panel_arn)
            known = clusters[cluster_arn]
        item["cluster"] = next(a for a, c in clusters.items() if c is known)

    def _drill_report(self, ctx: AccountContext, config: Any, state: dict[str, Any]) -> None:
        """A drill's result: the states read, what a failover would set, the safety rules."""
        rules: dict[str, list[str]] = {}
        for _, item in sorted(state["items"].items()):
            if "result" in item:
                continue
            panel = item["panel"]
            if panel not in rules:
                try:
                    pages = config.get_paginator("list_safety_rules").paginate(
                        ControlPanelArn=panel
                    )
                    rules[panel] = sorted(
                        body["Name"]
                        for page in pages
                        for rule in page.get("SafetyRules", [])
                        for body in rule.values()
                    )
                except ClientError as error:
                    self.fail(error, ctx, f"listing the safety rules of {panel}")
            cluster = state["clusters"][item["cluster"]]
            problems = [
                f"{what} is {status}"
                for what, status in (
                    ("the cluster", cluster["status"]),
                    ("the routing control", item["controlStatus"]),
                )
                if status != "DEPLOYED"
            ]
            result: dict[str, Any] = {
                "status": FAILED if problems else SUCCEEDED,
                "state": item["previous"],
                "wouldSet": item["target"],
                "safetyRules": rules[panel],
                "readThrough": item.get("readThrough"),
                "note": "drill: read only, no routing control changed",
            }
            if problems:
                result["error"] = "; ".join(problems)
            item["result"] = result

    # --- data plane ----------------------------------------------------------------------------
    def _cluster_client(self, ctx: AccountContext, endpoint: Mapping[str, str], drill: bool) -> Any:
        """A data-plane client for one cluster endpoint, with the drill guard."""
        client = ctx.session.client(
            DATA_SERVICE,
            region_name=endpoint["region"],
            endpoint_url=endpoint["endpoint"],
            config=DATA_PLANE_CONFIG,
        )
        guard = self.drill_guard(drill)
        if guard is not None:

            def check(params: dict[str, Any], model: Any, **_: Any) -> None:
                guard(model.name, params)

            prefix = client.meta.service_model.service_id.hyphenize()
            client.meta.events.register(f"before-parameter-build.{prefix}", check)
        return client

    def _on_cluster(
        self,
        ctx: AccountContext,
        cluster: dict[str, Any],
        drill: bool,
        call: Callable[[Any], T],
    ) -> tuple[T, str]:
        """``call(client)`` on the first endpoint that answers, from the preferred one on;
        returns its answer and the endpoint's Region. Errors that are not the endpoint's
        (access denied, a conflict, a bad request) are raised at once."""
        endpoints = cluster["endpoints"]
        if not endpoints:
            raise NoEndpointAnswered(["the cluster lists no endpoints"])
        tried: list[str] = []
        throttled: ClientError | None = None
        for step in range(len(endpoints)):
            index = (cluster["preferred"] + step) % len(endpoints)
            endpoint = endpoints[index]
            try:
                answer = call(self._cluster_client(ctx, endpoint, drill))
            except UNREACHABLE as error:
                tried.append(f"{endpoint['region']}: unreachable ({type(error).__name__})")
                continue
            except ClientError as error:
                kind = classify(error)
                if error_code(error) in NEXT_ENDPOINT_CODES or kind == "retryable":
                    if kind == "retryable" and "Throttl" in error_code(error):
                        throttled = error
                    tried.append(f"{endpoint['region']}: {error_code(error)}")
                    continue
                raise
            cluster["preferred"] = index
            return answer, endpoint["region"]
        if throttled is not None and len(tried) == len(endpoints):
            raise throttled
        raise NoEndpointAnswered(tried)

    def _read_states(self, ctx: AccountContext, state: dict[str, Any], drill: bool) -> None:
        """Each pending control's state now, as ``previous`` (the state before any change)."""
        for arn, item in sorted(state["items"].items()):
            if "result" in item:
                continue
            cluster = state["clusters"][item["cluster"]]
            try:
                answer, region = self._on_cluster(
                    ctx,
                    cluster,
                    drill,
                    lambda client, arn=arn: client.get_routing_control_state(RoutingControlArn=arn),
                )
            except ClientError as error:
                self.fail(error, ctx, f"GetRoutingControlState of {item['name']}")
            item["previous"] = answer["RoutingControlState"]
            item["readThrough"] = region

    def _settle(
        self,
        ctx: AccountContext,
        state: dict[str, Any],
        cluster_arn: str,
        cluster: dict[str, Any],
        members: list[tuple[str, dict]],
        drill: bool,
    ) -> None:
        """Set the cluster's controls that differ in one batch, then read them all back."""
        try:
            now = {}
            for arn, _ in members:
                answer, _region = self._on_cluster(
                    ctx,
                    cluster,
                    drill,
                    lambda client, arn=arn: client.get_routing_control_state(RoutingControlArn=arn),
                )
                now[arn] = answer["RoutingControlState"]
            entries = [
                {"RoutingControlArn": arn, "RoutingControlState": item["target"]}
                for arn, item in members
                if now[arn] != item["target"]
            ]
            region = None
            if entries:
                kwargs: dict[str, Any] = {"UpdateRoutingControlStateEntries": entries}
                if state["overrides"]:
                    kwargs["SafetyRulesToOverride"] = state["overrides"]
                _, region = self._on_cluster(
                    ctx,
                    cluster,
                    drill,
                    lambda client: client.update_routing_control_states(**kwargs),
                )
                for arn, _ in members:
                    answer, _region = self._on_cluster(
                        ctx,
                        cluster,
                        drill,
                        lambda client, arn=arn: client.get_routing_control_state(
                            RoutingControlArn=arn
                        ),
                    )
                    now[arn] = answer["RoutingControlState"]
        except NoEndpointAnswered as error:
            cluster["rounds"] += 1
            for _, item in members:
                item["live"] = {"endpoints": error.tried, "rounds": cluster["rounds"]}
                if cluster["rounds"] >= MAX_ROUNDS:
                    item["result"] = self._done(
                        item, FAILED, error=f"{error} ({cluster['rounds']} polls)"
                    )
            return
        except ClientError as error:
            raise_if_fatal(error, ctx, f"UpdateRoutingControlStates on cluster {cluster_arn}")
            why = (
                "refused by a safety rule"
                if classify(error) == "conflict"
                else "UpdateRoutingControlStates refused"
            )
            for _, item in members:
                item["result"] = self._done(
                    item, FAILED, error=f"{why}: {error_code(error)}: {error_message(error)}"
                )
            return
        cluster["rounds"] = 0
        changed = {e["RoutingControlArn"] for e in entries}
        for arn, item in members:
            if now[arn] == item["target"]:
                item["result"] = self._done(
                    item,
                    SUCCEEDED,
                    state=now[arn],
                    changed=arn in changed,
                    **({"setThrough": region} if arn in changed else {}),
                )
            else:
                item["result"] = self._done(
                    item,
                    FAILED,
                    state=now[arn],
                    error=f"{item['name']} reads {now[arn]} after it was set {item['target']}",
                )

    @staticmethod
    def _done(item: Mapping[str, Any], status: str, **extra: Any) -> dict[str, Any]:
        result: dict[str, Any] = {"status": status}
        for key in ("previous", "target", "recordedFrom", "cluster"):
            if key in item:
                result[key] = item[key]
        return {**result, **extra}

    # --- shared -------------------------------------------------------------------------------
    def result(self, state: dict[str, Any]) -> StatusResult:
        found = super().result(state)
        for resource in found.resources:
            resource.detail["drill"] = bool(state.get("drill"))
        return found
