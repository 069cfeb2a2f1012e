"""The lambda-function module: the capacity and event sources of a standby Lambda function.

A resource is a function in the recovery region (the account's region), named by its
name or ARN in the selector's ids, or found by tags (``ListFunctions``, ``ListTags``).
A qualified ARN (``...:function:<name>:<alias>``) names the function.

The pattern it serves: a pilot-light function deployed in the recovery region with its
reserved concurrency at 0 (throttled) and its event source mappings Disabled, so that
it neither runs nor consumes the (shared or replicated) queues and streams while the
primary region works. A failover gives it capacity, then its events.

Phases (each ``start`` + ``status``; ``start`` only reads and records, ``status``
changes what differs from the wanted value, so a retried start or status never does
anything twice, and is done when Lambda shows it):

* INSTANTIATE — verifies: the function exists, and reports its reserved and provisioned
  concurrency and its mappings. Capacity is changed in ACTIVATE, together with the
  mappings, so that what CLEANUP must restore is recorded in one place.
* ACTIVATE — records what is there before (``detail["before"]``: reserved concurrency,
  the provisioned concurrency of ``provisionedConcurrency.qualifier``, the state of each
  mapping), then, in this order: sets ``reservedConcurrency`` (``PutFunctionConcurrency``
  or, for ``unreserved``, ``DeleteFunctionConcurrency``); sets provisioned concurrency
  (``PutProvisionedConcurrencyConfig``) and waits until ``GetProvisionedConcurrencyConfig``
  says READY (FAILED fails the function, with its StatusReason); only then switches the
  mappings (``UpdateEventSourceMapping`` ``Enabled``, per ``eventSourceMappings``,
  limited to ``eventSourceArns``) and waits until each is ``Enabled``/``Disabled``.
  Capacity first, traffic second: events never reach a function that cannot take them.
* CLEANUP — puts back exactly what the earlier run recorded (``ctx.recorded``), in the
  reverse order: mappings first (consumption stops), then provisioned concurrency (the
  recorded executions, or the configuration deleted if there was none), then reserved
  concurrency (the recorded value, or the reservation removed). A function no earlier run
  recorded is left alone, SKIPPED, and said so.
* REPLICATE — nothing: a function has no replication; SKIPPED.

Drill: verifies only, as INSTANTIATE does. Raising the standby function's concurrency
would let every trigger in the recovery region run it against production data, and
enabling a mapping would consume production messages from a shared or replicated
queue or stream (they would be processed in two regions, or lost to the drill). The
drill client refuses every call in ``DISRUPTIVE_CALLS`` before it is sent, and the
drill IAM holds no Lambda write at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

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
    classify,
    error_code,
    error_message,
    load_schema,
    selector_field,
    selector_scope_matches,
    tags_match,
)
from drorch.modules.lambda_function import iam
from drorch.modules.lambda_function.probes import NOT_FOUND, PROBES, function_findings, readiness
from drorch.modules.resource import ResourceModule

RESOURCE_TYPE = "lambda:function"
STATE_VERSION = 1
NO_PROVISIONED = "ProvisionedConcurrencyConfigNotFoundException"
SETTLED = {"Enabled": True, "Disabled": False}
ACTIVATE_ORDER = ("reserved", "provisioned", "mappings")
CLEANUP_ORDER = ("mappings", "provisioned", "reserved")

# API calls that change production; a drill makes none of them (the drill client refuses them).
DISRUPTIVE_CALLS = {
    "PutFunctionConcurrency": always,
    "DeleteFunctionConcurrency": always,
    "PutProvisionedConcurrencyConfig": always,
    "DeleteProvisionedConcurrencyConfig": always,
    "UpdateEventSourceMapping": always,
    "CreateEventSourceMapping": always,
    "DeleteEventSourceMapping": always,
    "UpdateFunctionConfiguration": always,
    "UpdateAlias": always,
}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))


def function_name(value: str) -> tuple[str, str]:
    """(region or "", function name) of a selector id: a name, or a (qualified) ARN."""
    if value.startswith("arn:"):
        parts = value.split(":")
        return parts[3], parts[6]
    return "", value


def _layer_tags(value: Any) -> dict[str, str]:
    """Layers-format ``Tags``: a mapping, or a list of ``{"Key", "Value"}``."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    return {str(t["Key"]): str(t.get("Value", "")) for t in value or [] if "Key" in t}


class LambdaFunctionModule(ResourceModule):
    type = "lambda-function"
    service = "lambda"
    state_version = STATE_VERSION
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"INSTANTIATE", "ACTIVATE", "CLEANUP"})
    disruptive_calls = DISRUPTIVE_CALLS
    summary = (
        "Lambda functions: give the recovery-region standby function its reserved and "
        "provisioned concurrency, then enable its event source mappings; cleanup restores "
        "what was recorded"
    )
    drill = (
        "Verifies only: the function exists; its concurrency and mappings are reported. Raising "
        "the standby's concurrency would let recovery-region triggers run it against production "
        "data, and enabling a mapping would consume production messages of a shared or "
        "replicated source; the drill client refuses every concurrency and mapping change."
    )
    aliases = ("LambdaFunction", "LambdaConcurrency", "lambda_function")
    resource_types = (RESOURCE_TYPE,)
    identified_by = "function name or ARN (a qualified ARN names its function)"
    probes = PROBES
    sandbox_extension = "drorch.modules.lambda_function.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return iam.statements(account_id, regions)

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        return readiness(session, account_id, region)

    def resource_readiness(
        self, ctx: AccountContext, resources: Sequence[Resource], params: Mapping[str, Any]
    ) -> list[Finding]:
        """The function Active in the recovery region, and its reserved concurrency against
        what the plan sets (:func:`probes.function_findings`)."""
        return function_findings(ctx, resources, params)

    def from_layer(self, resource: Mapping[str, Any], where: str) -> LayerMapping:
        """``FunctionName`` -> selector ids, ``Tags`` -> selector tags,
        ``ReservedConcurrentExecutions`` -> reservedConcurrency,
        ``ProvisionedConcurrentExecutions`` + ``Qualifier`` -> provisionedConcurrency,
        ``Enabled`` (of the event source mappings) -> eventSourceMappings enable/disable."""
        params = dict(resource.get("parameters") or {})
        technology: dict[str, Any] = {"type": self.type, "parameters": {}}
        mapped = technology["parameters"]
        selector: dict[str, Any] = {}
        names = params.pop("FunctionName", None)
        if names:
            selector["ids"] = names if isinstance(names, list) else [names]
        if params.get("Tags"):
            selector["tags"] = _layer_tags(params.pop("Tags"))
        if selector:
            technology["selector"] = selector
        if "ReservedConcurrentExecutions" in params:
            mapped["reservedConcurrency"] = params.pop("ReservedConcurrentExecutions")
        if "ProvisionedConcurrentExecutions" in params and "Qualifier" in params:
            mapped["provisionedConcurrency"] = {
                "qualifier": params.pop("Qualifier"),
                "executions": params.pop("ProvisionedConcurrentExecutions"),
            }
        if isinstance(params.get("Enabled"), bool):
            mapped["eventSourceMappings"] = "enable" if params.pop("Enabled") else "disable"
        known = set(self.parameters_schema["properties"])
        mapped.update({k: v for k, v in params.items() if k in known})
        unmapped = [f"{where}.parameters.{k}" for k in params if k not in known]
        return LayerMapping(technology=technology, unmapped=unmapped)

    # --- discovery ------------------------------------------------------------------------
    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        found = Discovered()
        if not selector_scope_matches(selector, ctx, RESOURCE_TYPE):
            return found
        wanted_tags = selector_field(selector, "tags")
        ids = list(selector_field(selector, "ids"))
        client = ctx.client("lambda")
        try:
            if ids:
                for value in ids:
                    region, name = function_name(value)
                    if region and region != ctx.region:
                        continue
                    try:
                        answer = client.get_function(FunctionName=name)
                    except ClientError as error:
                        if error_code(error) == NOT_FOUND:
                            continue
                        raise
                    config, tags = answer["Configuration"], answer.get("Tags") or {}
                    if tags_match(tags, wanted_tags):
                        found.append(self._resource(ctx, config, tags))
            else:
                for page in client.get_paginator("list_functions").paginate():
                    for config in page.get("Functions", []):
                        tags = client.list_tags(Resource=config["FunctionArn"]).get("Tags") or {}
                        if tags_match(tags, wanted_tags):
                            found.append(self._resource(ctx, config, tags))
        except ClientError as error:
            self.fail(error, ctx, "listing Lambda functions")
        unique = {r.id: r for r in found}
        found[:] = sorted(unique.values(), key=lambda r: r.id)
        return found

    @staticmethod
    def _resource(ctx: AccountContext, config: Mapping, tags: Mapping[str, str]) -> Resource:
        name = config["FunctionName"]
        return Resource(
            name, config["FunctionArn"], ctx.account_id, ctx.region, name, dict(tags), RESOURCE_TYPE
        )

    # --- start / status -----------------------------------------------------------------
    def act(self, ctx: AccountContext, state: dict, items: list[Resource], key: str) -> dict:
        phase, drill, params = state["phase"], state["drill"], state["params"]
        client = self.client(ctx, drill)
        for resource in items:
            item = state["items"][resource.id]
            try:
                if phase == "REPLICATE":
                    item["result"] = {
                        "status": SKIPPED,
                        "note": "nothing to re-establish: a function has no replication",
                    }
                elif phase == "INSTANTIATE" or (phase == "ACTIVATE" and drill):
                    self._verify(client, resource.id, item, params, drill)
                elif phase == "ACTIVATE":
                    self._plan_activate(client, resource.id, item, params)
                elif phase == "CLEANUP":
                    self._plan_cleanup(ctx, resource.id, item)
            except ClientError as error:
                self.fail(error, ctx, f"reading function {resource.id}")
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        self.check_state(phase, state)
        client = self.client(ctx, bool(state.get("drill")))
        for name, item in state["items"].items():
            if "result" in item:
                continue
            try:
                self._converge(client, name, item)
            except ClientError as error:
                if classify(error) in ("retryable", "access-denied"):
                    self.fail(error, ctx, f"changing function {name}")
                self._refused(error, name, item)
        return self.result(state)

    @staticmethod
    def _refused(error: ClientError, name: str, item: dict) -> None:
        """Lambda refused a change (a validation, conflict or quota error): the function
        fails, and what was recorded so far stays in its detail for CLEANUP."""
        message = error_message(error)
        hint = (
            " (give it at least as much reservedConcurrency)"
            if "reservedConcurrentExecution" in message
            else ""
        )
        item["result"] = {
            "status": FAILED,
            "error": f"{error.operation_name} refused for {name}: {error_code(error)}: "
            f"{message}{hint}",
            **item.get("live", {}),
            **{k: item[k] for k in ("before", "restoring", "changed") if k in item},
        }

    # --- shared -------------------------------------------------------------------------------
    def running(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {
            **super().running(item),
            # what a CLEANUP after an ACTIVATE that never finished must know
            **{k: item[k] for k in ("before", "changed") if k in item},
        }

    # --- what is there --------------------------------------------------------------------------
    @staticmethod
    def _reserved(client: Any, name: str) -> int | None:
        return client.get_function_concurrency(FunctionName=name).get(
            "ReservedConcurrentExecutions"
        )

    @staticmethod
    def _provisioned(client: Any, name: str, qualifier: str) -> dict[str, Any] | None:
        try:
            return client.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
        except ClientError as error:
            if error_code(error) == NO_PROVISIONED:
                return None
            raise

    @staticmethod
    def _mappings(client: Any, name: str, sources: Sequence[str] | None) -> dict[str, dict]:
        found = {}
        for page in client.get_paginator("list_event_source_mappings").paginate(FunctionName=name):
            for mapping in page.get("EventSourceMappings", []):
                if sources and mapping.get("EventSourceArn") not in sources:
                    continue
                found[mapping["UUID"]] = {
                    "state": mapping.get("State", ""),
                    "source": mapping.get("EventSourceArn", ""),
                }
        return found

    def _exists(self, client: Any, name: str, item: dict) -> bool:
        try:
            client.get_function(FunctionName=name)
        except ClientError as error:
            if error_code(error) != NOT_FOUND:
                raise
            item["result"] = {"status": FAILED, "error": f"no function {name} here"}
            return False
        return True

    def _verify(self, client: Any, name: str, item: dict, params: Mapping, drill: bool) -> None:
        if not self._exists(client, name, item):
            return
        result: dict[str, Any] = {
            "status": SUCCEEDED,
            "reservedConcurrency": self._reserved(client, name),
            "mappings": self._mappings(client, name, params.get("eventSourceArns")),
        }
        wanted = params.get("provisionedConcurrency")
        if wanted:
            config = self._provisioned(client, name, wanted["qualifier"])
            result["provisioned"] = {
                "qualifier": wanted["qualifier"],
                "executions": config["RequestedProvisionedConcurrentExecutions"]
                if config
                else None,
                "status": config["Status"] if config else None,
            }
        if drill:
            result["note"] = (
                "verified only: raising its concurrency or enabling its mappings in a drill "
                "would run it against production events"
            )
        item["result"] = result

    # --- ACTIVATE ---------------------------------------------------------------------------------
    def _plan_activate(self, client: Any, name: str, item: dict, params: Mapping) -> None:
        if not self._exists(client, name, item):
            return
        before: dict[str, Any] = {"reservedConcurrency": self._reserved(client, name)}
        want: dict[str, Any] = {}
        if "reservedConcurrency" in params:
            value = params["reservedConcurrency"]
            want["reserved"] = None if value == "unreserved" else value
        wanted = params.get("provisionedConcurrency")
        if wanted:
            config = self._provisioned(client, name, wanted["qualifier"])
            before["provisioned"] = {
                "qualifier": wanted["qualifier"],
                "executions": config["RequestedProvisionedConcurrentExecutions"]
                if config
                else None,
            }
            want["provisioned"] = dict(wanted)
        mappings = self._mappings(client, name, params.get("eventSourceArns"))
        before["mappings"] = {uuid: m["state"] for uuid, m in mappings.items()}
        switch = params.get("eventSourceMappings", "leave")
        if switch != "leave":
            want["mappings"] = {uuid: switch == "enable" for uuid in mappings}
        item.update(before=before, want=want, steps=list(ACTIVATE_ORDER))

    # --- CLEANUP ----------------------------------------------------------------------------------
    def _plan_cleanup(self, ctx: AccountContext, name: str, item: dict) -> None:
        recorded = ctx.recorded.get(name)
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
        changed = (recorded or {}).get("changed") or []
        want: dict[str, Any] = {}
        if "reserved" in changed:
            want["reserved"] = before.get("reservedConcurrency")
        if "provisioned" in changed and before.get("provisioned"):
            want["provisioned"] = dict(before["provisioned"])
        if "mappings" in changed:
            want["mappings"] = {
                uuid: SETTLED.get(state, state == "Enabling")
                for uuid, state in (before.get("mappings") or {}).items()
            }
        item.update(want=want, steps=list(CLEANUP_ORDER), restoring=before)

    # --- converging -------------------------------------------------------------------------------
    def _converge(self, client: Any, name: str, item: dict) -> None:
        """Make the next step true; a step waited for ends this status call."""
        want = item["want"]
        live = item.setdefault("live", {})
        while item["steps"]:
            step = item["steps"][0]
            if step in want:
                changed = item.setdefault("changed", [])
                if step not in changed:  # recorded before the change: CLEANUP restores it
                    changed.append(step)
                done = getattr(self, f"_step_{step}")(client, name, want[step], live, item)
                if "result" in item or not done:
                    return
            item["steps"].pop(0)
        result: dict[str, Any] = {"status": SUCCEEDED, **live}
        for key in ("before", "restoring", "changed"):
            if key in item:
                result[key] = item[key]
        item["result"] = result

    def _step_reserved(
        self, client: Any, name: str, wanted: int | None, live: dict, item: dict
    ) -> bool:
        current = self._reserved(client, name)
        if current != wanted:
            if wanted is None:
                client.delete_function_concurrency(FunctionName=name)
            else:
                client.put_function_concurrency(
                    FunctionName=name, ReservedConcurrentExecutions=wanted
                )
            current = self._reserved(client, name)
        live["reservedConcurrency"] = current
        return current == wanted

    def _step_provisioned(
        self, client: Any, name: str, wanted: dict, live: dict, item: dict
    ) -> bool:
        qualifier, executions = wanted["qualifier"], wanted.get("executions")
        config = self._provisioned(client, name, qualifier)
        if executions is None:  # cleanup of a configuration that was not there before
            if config is not None:
                client.delete_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
            live["provisioned"] = {"qualifier": qualifier, "executions": None}
            return True
        if config is None or config["RequestedProvisionedConcurrentExecutions"] != executions:
            config = client.put_provisioned_concurrency_config(
                FunctionName=name, Qualifier=qualifier, ProvisionedConcurrentExecutions=executions
            )
        status = config["Status"]
        live["provisioned"] = {
            "qualifier": qualifier,
            "executions": executions,
            "available": config.get("AvailableProvisionedConcurrentExecutions", 0),
            "status": status,
        }
        if status == "FAILED":
            item["result"] = {
                "status": FAILED,
                "error": f"provisioned concurrency on {name}:{qualifier} FAILED: "
                f"{config.get('StatusReason', 'no reason given')}",
                **live,
                **{k: item[k] for k in ("before", "restoring", "changed") if k in item},
            }
            return False
        return status == "READY"

    def _step_mappings(
        self, client: Any, name: str, wanted: dict[str, bool], live: dict, item: dict
    ) -> bool:
        states = {}
        for uuid, enabled in wanted.items():
            try:
                mapping = client.get_event_source_mapping(UUID=uuid)
            except ClientError as error:
                if error_code(error) != NOT_FOUND:
                    raise
                states[uuid] = "gone"
                continue
            state = mapping.get("State", "")
            if state in SETTLED and SETTLED[state] != enabled:
                mapping = client.update_event_source_mapping(UUID=uuid, Enabled=enabled)
                state = mapping.get("State", "")
            states[uuid] = state
        live["mappings"] = states
        target = {True: "Enabled", False: "Disabled"}
        return all(states[u] in (target[e], "gone") for u, e in wanted.items())
