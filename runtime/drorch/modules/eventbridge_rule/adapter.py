"""The eventbridge-rule module: EventBridge rules that move with a failover.

A resource is a rule in the recovery region (the account's region), on the default
bus or a custom one: ``<name>`` or ``<bus>/<name>`` (the tail of its ARN). Discovery
makes direct calls there, by the selector's ids (a name, ``<bus>/<name>`` or the rule's
ARN) or tags (``ListEventBuses``, ``ListRules``, ``ListTagsForResource``). Rules managed
by another service (``ManagedBy``) are excluded and said so: only that service may
change them.

The pattern it serves: the same rules exist in both regions, ENABLED where the
workload runs and DISABLED (standby) in the other, so that scheduled jobs and event
handlers run in one region only. A failover turns that around.

Phases (each ``start`` + ``status``; ``start`` only reads and records, ``status``
makes the change when the live state differs from the wanted one, so a retried start
or status never does anything twice, and is done when ``DescribeRule`` shows it):

* INSTANTIATE — verifies: the rule exists, has targets, and every target is in the
  recovery region (a target left in the failed region would be invoked there);
  ``requireTargets`` false only reports that.
* ACTIVATE — records the rule's state before (``detail["before"]``), then enables it
  (``EnableRule``) until it is ENABLED. With ``sourceRegion`` it also disables the
  rule of the same name and bus there (``DisableRule``) until it is DISABLED, and
  records that rule's state before. The source region may be the one that is down: its
  disable is best effort, made after the recovery-region enable and never in its way;
  what could not be done is reported in ``detail["source"]``, and fails the rule only
  with ``sourceDisable: required``.
* CLEANUP — puts back exactly what the earlier run recorded (``ctx.recorded``): the
  recovery-region rule's state and, best effort, the source-region rule's. A rule the
  earlier run did not change (or that no earlier run recorded) is left alone, SKIPPED,
  and said so: drorch never guesses a state.
* REPLICATE — nothing: rules are not replicated; SKIPPED.

Drill: enabling a recovery-region rule would fire production side effects (a nightly
batch job run twice, events handled in two regions), so a drill only verifies, as
INSTANTIATE does, and never calls the source region. The exception is a drill-only rule
(named ``drorch-drill-*``, whose targets are the customer's drill targets) listed in
``drillRules``: the drill enables it and CLEANUP puts it back. The drill client refuses
``EnableRule``/``DisableRule`` of any other rule before it is sent, and the drill IAM
grants them on ``drorch-drill-*`` rules only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from drorch.modules.base import (
    FAILED,
    SKIPPED,
    SUCCEEDED,
    AccountContext,
    Discovered,
    Exclusion,
    Finding,
    LayerMapping,
    ModuleIam,
    Resource,
    StatusResult,
    always,
    error_code,
    error_message,
    load_schema,
    selector_field,
    selector_scope_matches,
    tags_match,
)
from drorch.modules.eventbridge_rule import iam
from drorch.modules.eventbridge_rule.iam import DRILL_PREFIX
from drorch.modules.eventbridge_rule.probes import PROBES, readiness, target_region
from drorch.modules.resource import ResourceModule

RESOURCE_TYPE = "events:rule"
STATE_VERSION = 1
NOT_FOUND = "ResourceNotFoundException"
DEFAULT_BUS = "default"


def _not_a_drill_rule(params: Mapping[str, Any]) -> bool:
    return not str(params.get("Name", "")).startswith(DRILL_PREFIX)


# API calls that change production; a drill makes none of them (the drill client refuses them).
DISRUPTIVE_CALLS = {
    "EnableRule": _not_a_drill_rule,  # of any rule but a drill-only one
    "DisableRule": _not_a_drill_rule,
    "PutRule": always,
    "DeleteRule": always,
    "PutTargets": always,
    "RemoveTargets": always,
}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))


def rule_id(bus: str, name: str) -> str:
    """The resource id of a rule: its name on the default bus, else ``<bus>/<name>``."""
    return name if bus in ("", DEFAULT_BUS) else f"{bus}/{name}"


def parse_rule_id(value: str) -> tuple[str, str, str]:
    """(region or "", bus, name) of a selector id: a rule ARN, ``<bus>/<name>`` or a name."""
    region = ""
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        region, value = parts[3], parts[5].removeprefix("rule/")
    bus, _, name = value.rpartition("/")
    return region, bus or DEFAULT_BUS, name


def _layer_tags(value: Any) -> dict[str, str]:
    """Layers-format ``Tags``: a mapping, or a list of ``{"Key", "Value"}``."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    return {str(t["Key"]): str(t.get("Value", "")) for t in value or [] if "Key" in t}


class EventBridgeRuleModule(ResourceModule):
    type = "eventbridge-rule"
    service = "events"
    state_version = STATE_VERSION
    name_key = "name"
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"INSTANTIATE", "ACTIVATE", "CLEANUP"})
    disruptive_calls = DISRUPTIVE_CALLS
    summary = (
        "EventBridge rules: enable the standby rules in the recovery region and disable "
        "them (best effort) in the failed region; cleanup puts back what was recorded"
    )
    drill = (
        "Verifies only: each rule exists, has targets, and they are in the recovery region; "
        "enabling a standby rule would fire production side effects, and the source region is "
        "never called. Drill-only rules (drorch-drill-*) named in drillRules are enabled, and "
        "CLEANUP puts them back. The drill client refuses EnableRule/DisableRule of any other "
        "rule before it is sent."
    )
    aliases = ("EventBridge", "EventBridgeRule", "eventbridge_rule", "Events")
    resource_types = (RESOURCE_TYPE,)
    identified_by = "rule name (default bus), <bus>/<name>, or the rule's ARN"
    probes = PROBES
    sandbox_extension = None

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return iam.statements(account_id, regions)

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        return readiness(session, account_id, region)

    def from_layer(self, resource: Mapping[str, Any], where: str) -> LayerMapping:
        """``Name``/``RuleName``/``RuleNames`` (on ``EventBusName``) -> selector ids,
        ``Tags`` -> selector tags, ``SourceRegion`` -> sourceRegion."""
        params = dict(resource.get("parameters") or {})
        technology: dict[str, Any] = {"type": self.type, "parameters": {}}
        selector: dict[str, Any] = {}
        bus = params.pop("EventBusName", DEFAULT_BUS)
        names: list[str] = []
        for key in ("Name", "RuleName", "RuleNames"):
            value = params.pop(key, None)
            names += value if isinstance(value, list) else [value] if value else []
        if names:
            selector["ids"] = [n if n.startswith("arn:") else rule_id(bus, n) for n in names]
        if params.get("Tags"):
            selector["tags"] = _layer_tags(params.pop("Tags"))
        if selector:
            technology["selector"] = selector
        if params.get("SourceRegion"):
            technology["parameters"]["sourceRegion"] = params.pop("SourceRegion")
        known = set(self.parameters_schema["properties"])
        technology["parameters"].update({k: v for k, v in params.items() if k in known})
        unmapped = [f"{where}.parameters.{k}" for k in params if k not in known]
        return LayerMapping(technology=technology, unmapped=unmapped)

    # --- discovery ------------------------------------------------------------------------
    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        found = Discovered()
        if not selector_scope_matches(selector, ctx, RESOURCE_TYPE):
            return found
        wanted_tags = selector_field(selector, "tags")
        ids = list(selector_field(selector, "ids"))
        client = ctx.client("events")
        try:
            if ids:
                rules = []
                for value in ids:
                    region, bus, name = parse_rule_id(value)
                    if region and region != ctx.region:
                        continue
                    rule = self._describe(client, bus, name)
                    if rule is not None:
                        rules.append(rule)
            else:
                rules = [
                    rule
                    for bus in self._buses(client)
                    for page in client.get_paginator("list_rules").paginate(EventBusName=bus)
                    for rule in page.get("Rules", [])
                ]
            for rule in rules:
                bus = rule.get("EventBusName") or DEFAULT_BUS
                rid = rule_id(bus, rule["Name"])
                tags = {
                    t["Key"]: t["Value"]
                    for t in client.list_tags_for_resource(ResourceARN=rule["Arn"]).get("Tags", [])
                }
                if not tags_match(tags, wanted_tags):
                    continue
                if rule.get("ManagedBy"):
                    found.excluded.append(
                        Exclusion(
                            rid,
                            rule["Arn"],
                            ctx.account_id,
                            ctx.region,
                            rule["Name"],
                            (f"managed by {rule['ManagedBy']}: only that service may change it",),
                        )
                    )
                    continue
                found.append(
                    Resource(
                        rid,
                        rule["Arn"],
                        ctx.account_id,
                        ctx.region,
                        rule["Name"],
                        tags,
                        RESOURCE_TYPE,
                    )
                )
        except ClientError as error:
            self.fail(error, ctx, "listing EventBridge rules")
        found.sort(key=lambda r: r.id)
        return found

    @staticmethod
    def _buses(client: Any) -> list[str]:
        buses, token = [], None
        while True:
            page = client.list_event_buses(**({"NextToken": token} if token else {}))
            buses += [b["Name"] for b in page.get("EventBuses", [])]
            token = page.get("NextToken")
            if not token:
                return sorted(buses)

    # --- start / status -----------------------------------------------------------------
    def new_item(self, resource: Resource) -> dict[str, Any]:
        _, bus, name = parse_rule_id(resource.id)
        return {"bus": bus, "name": name}

    def act(self, ctx: AccountContext, state: dict, items: list[Resource], key: str) -> dict:
        phase, drill, params = state["phase"], state["drill"], state["params"]
        client = self.client(ctx, drill)
        drill_rules = set(params.get("drillRules") or ())
        for resource in items:
            item = state["items"][resource.id]
            name = item["name"]
            try:
                if phase == "REPLICATE":
                    item["result"] = {
                        "status": SKIPPED,
                        "note": "nothing to re-establish: EventBridge rules are not replicated",
                    }
                elif phase == "INSTANTIATE" or (phase == "ACTIVATE" and drill):
                    if phase == "ACTIVATE" and name in drill_rules:
                        self._plan_enable(ctx, client, item, params, source=False)
                    else:
                        self._verify(ctx, client, item, params, drill)
                elif phase == "ACTIVATE":
                    self._plan_enable(ctx, client, item, params, source=True)
                elif phase == "CLEANUP":
                    self._plan_restore(ctx, resource.id, item)
            except ClientError as error:
                self.fail(error, ctx, f"reading rule {resource.id}")
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        self.check_state(phase, state)
        drill = bool(state.get("drill"))
        client = self.client(ctx, drill)
        params = state.get("params") or {}
        for rid, item in state["items"].items():
            if "result" in item:
                continue
            try:
                self._converge(ctx, client, item, drill)
            except ClientError as error:
                self.fail(error, ctx, f"switching rule {rid}")
            if "result" not in item and item.get("recoveryDone"):
                self._converge_source(ctx, item, drill)
                self._finish(item, params)
        return self.result(state)

    # --- shared -------------------------------------------------------------------------------
    @staticmethod
    def _describe(client: Any, bus: str, name: str) -> dict[str, Any] | None:
        try:
            return client.describe_rule(Name=name, EventBusName=bus)
        except ClientError as error:
            if error_code(error) == NOT_FOUND:
                return None
            raise

    # --- verification (INSTANTIATE, drills) ---------------------------------------------------
    def _verify(
        self, ctx: AccountContext, client: Any, item: dict, params: Mapping, drill: bool
    ) -> None:
        rule = self._describe(client, item["bus"], item["name"])
        if rule is None:
            item["result"] = {"status": FAILED, "error": f"no rule {item['name']} here"}
            return
        targets = [
            t["Arn"]
            for page in client.get_paginator("list_targets_by_rule").paginate(
                Rule=item["name"], EventBusName=item["bus"]
            )
            for t in page.get("Targets", [])
        ]
        elsewhere = [t for t in targets if target_region(t) not in ("", ctx.region)]
        result: dict[str, Any] = {"status": SUCCEEDED, "state": rule["State"], "targets": targets}
        if drill:
            result["note"] = (
                "verified only: enabling it in a drill would fire its production targets"
            )
        problem = (
            "the rule has no targets"
            if not targets
            else f"targets outside {ctx.region}: {', '.join(elsewhere)}"
            if elsewhere
            else ""
        )
        if problem and params.get("requireTargets", True):
            result.update(status=FAILED, error=problem)
        elif problem:
            result["warning"] = problem
        item["result"] = result

    # --- ACTIVATE: record, then enable (and disable in the source region) -------------------------
    def _plan_enable(
        self, ctx: AccountContext, client: Any, item: dict, params: Mapping, source: bool
    ) -> None:
        rule = self._describe(client, item["bus"], item["name"])
        if rule is None:
            item["result"] = {"status": FAILED, "error": f"no rule {item['name']} here"}
            return
        item["before"] = {"state": rule["State"]}
        item["want"] = "ENABLED"
        region = params.get("sourceRegion")
        if not source or not region:
            return
        if region == ctx.region:
            item["source"] = {"region": region, "problem": "sourceRegion is the recovery region"}
            return
        item["source"] = {"region": region}
        described, problem = self._source_describe(ctx, region, item, drill=False)
        if described is None:
            item["source"]["problem"] = problem
            return
        item["before"].update(sourceRegion=region, sourceState=described["State"])
        item["sourceWant"] = "DISABLED"

    # --- CLEANUP: put back what was recorded ------------------------------------------------------
    def _plan_restore(self, ctx: AccountContext, rid: str, item: dict) -> None:
        recorded = ctx.recorded.get(rid)
        before = (recorded or {}).get("before")
        if not before:
            item["result"] = {
                "status": SKIPPED,
                "note": (
                    "no earlier run recorded it: left as it is"
                    if recorded is None
                    else "the earlier run did not change it: left as it is"
                ),
            }
            return
        item["want"] = before["state"]
        item["restoring"] = dict(before)
        if before.get("sourceRegion") and before.get("sourceState"):
            item["source"] = {"region": before["sourceRegion"]}
            item["sourceWant"] = before["sourceState"]

    # --- converging ---------------------------------------------------------------------------
    def _converge(self, ctx: AccountContext, client: Any, item: dict, drill: bool) -> None:
        bus, name, want = item["bus"], item["name"], item["want"]
        rule = self._describe(client, bus, name)
        if rule is None:
            item["result"] = {"status": FAILED, "error": f"rule {name} is gone"}
            return
        if rule["State"] != want:
            call = client.enable_rule if want == "ENABLED" else client.disable_rule
            call(Name=name, EventBusName=bus)
            rule = self._describe(client, bus, name) or rule
        item["live"] = {"state": rule["State"]}
        item["recoveryDone"] = rule["State"] == want

    def _source_describe(
        self, ctx: AccountContext, region: str, item: dict, drill: bool
    ) -> tuple[dict | None, str]:
        try:
            client = self.client(ctx, drill, region)
            described = self._describe(client, item["bus"], item["name"])
        except ClientError as error:
            return None, f"{region} answered {error_code(error)}: {error_message(error)}"
        except BotoCoreError as error:
            return None, f"{region} unreachable: {error}"
        if described is None:
            return None, f"no rule {item['name']} on bus {item['bus']} in {region}"
        return described, ""

    def _converge_source(self, ctx: AccountContext, item: dict, drill: bool) -> None:
        """Best effort: one attempt per status call; what failed is reported, never raised."""
        want, source = item.get("sourceWant"), item.get("source")
        if not want or not source or source.get("done") or source.get("problem"):
            return
        region = source["region"]
        doing = "EnableRule" if want == "ENABLED" else "DisableRule"
        try:
            client = self.client(ctx, drill, region)
            rule = self._describe(client, item["bus"], item["name"])
            if rule is None:
                source["problem"] = f"no rule {item['name']} on bus {item['bus']} in {region}"
                return
            if rule["State"] != want:
                call = client.enable_rule if want == "ENABLED" else client.disable_rule
                call(Name=item["name"], EventBusName=item["bus"])
                rule = self._describe(client, item["bus"], item["name"]) or rule
        except ClientError as error:
            source["problem"] = (
                f"{doing} in {region} failed in account {ctx.account_id}: "
                f"{error_code(error)}: {error_message(error)}"
            )
            return
        except BotoCoreError as error:
            source["problem"] = f"{doing} in {region}: the region is unreachable: {error}"
            return
        source["state"] = rule["State"]
        source["done"] = rule["State"] == want

    def _finish(self, item: dict, params: Mapping) -> None:
        source = item.get("source")
        result: dict[str, Any] = {"status": SUCCEEDED, "state": item["live"]["state"]}
        if "before" in item:
            result["before"] = item["before"]
        if "restoring" in item:
            result["restored"] = item["restoring"]
        if source is not None:
            if not source.get("done") and not source.get("problem"):
                return  # the source region's change is still to be seen
            result["source"] = {k: v for k, v in source.items() if k != "done"}
            if source.get("problem") and params.get("sourceDisable") == "required":
                result.update(
                    status=FAILED,
                    error=f"the source-region rule was not switched: {source['problem']}",
                )
        item["result"] = result
