"""The ec2-instance module: start (or stop) plain EC2 instances in the recovery region.

A resource is an EC2 instance in the account's region that neither DRS nor Auto Scaling
manages (an instance of an Auto Scaling group is excluded and said so: the auto-scaling
module sizes its group). Discovery makes direct calls there (``DescribeInstances``) by
the selector's ids (instance id or ARN) and tags; terminated instances are left out.

The AWS guidance for a stopped standby (a domain controller, a licence server, a jump
host pre-built in the recovery region) is to start it when the region takes over and to
check both EC2 status checks before it takes work; that is what drorch does.

Phases (each ``start`` + ``status``; status reads ``DescribeInstances`` and
``DescribeInstanceStatus``, never a timer):

* INSTANTIATE and ACTIVATE — ``action: start`` (the default): ``StartInstances`` for the
  stopped ones (one call), then wait until each is ``running`` and, with
  ``waitForStatusChecks`` (default), its instance and system status checks are ``ok``.
  An ``impaired`` check fails the instance, naming the check and its details. An
  instance that is ``stopping`` is started once it has stopped. ``action: stop``:
  ``StopInstances`` for the running ones, then wait until ``stopped`` (never in a drill).
* CLEANUP — puts each instance back in the state recorded before the change (the earlier
  run's ``detail.before.state``, from ``AccountContext.recorded``): stops what the run
  started, starts what it stopped, then removes drorch's tags. Nothing recorded for an
  instance: left alone (SKIPPED).
* REPLICATE — nothing (SKIPPED).

The state before the change: before its first start or stop the module tags the instance
``drorch:capacity-before=<state>`` (and ``drorch:capacity-execution``); a later phase or a
retried start reads the state from there rather than the one it caused.

Drill: may start stopped standby instances in the recovery region (they take no
production traffic until DNS or a load balancer sends it). A drill never stops, reboots
or terminates an instance: the drill client refuses ``StopInstances``,
``RebootInstances``, ``TerminateInstances`` and ``ModifyInstanceAttribute``; an
``action: stop`` in a drill is SKIPPED, said so.
"""

from __future__ import annotations

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
    Exclusion,
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
)
from drorch.modules.capacity import MARK_BEFORE, MARK_BY
from drorch.modules.ec2_instance import iam
from drorch.modules.ec2_instance.probes import PROBES, readiness
from drorch.modules.resource import ResourceModule

RESOURCE_TYPE = "ec2:instance"
STATE_VERSION = 1
WAIT_SECONDS = 30
ASG_TAG = "aws:autoscaling:groupName"
GONE = frozenset({"shutting-down", "terminated"})
BATCH = 100

# API calls that could harm production; a drill makes none of them (the drill client refuses them).
DISRUPTIVE_CALLS = {
    "StopInstances": always,
    "RebootInstances": always,
    "TerminateInstances": always,
    "ModifyInstanceAttribute": always,
}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))


def instance_id(value: str) -> tuple[str, str | None]:
    """(instance id, region or None) of a selector id: an id or an instance ARN."""
    if value.startswith("arn:") and ":instance/" in value:
        return value.rsplit("/", 1)[1], value.split(":")[3]
    return value, None


def _tags(instance: Mapping[str, Any]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in instance.get("Tags") or []}


class Ec2InstanceModule(ResourceModule):
    type = "ec2-instance"
    service = "ec2"
    state_version = STATE_VERSION
    name_key = "name"
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"INSTANTIATE", "ACTIVATE"})
    disruptive_calls = DISRUPTIVE_CALLS
    phases = ("INSTANTIATE", "ACTIVATE", "CLEANUP")
    summary = (
        "EC2 instances: start stopped standbys in the recovery region and wait until both "
        "status checks are ok (or stop instances); CLEANUP puts back the recorded state"
    )
    drill = (
        "May start stopped standby instances in the recovery region and wait for their status "
        "checks. A drill never stops, reboots or terminates an instance: the drill client "
        "refuses StopInstances, RebootInstances, TerminateInstances and "
        "ModifyInstanceAttribute. The cleanup operation stops what the drill started."
    )
    aliases = ("EC2", "Ec2Instance", "ec2_instance")
    resource_types = (RESOURCE_TYPE,)
    identified_by = "instance id or instance ARN"
    probes = PROBES
    sandbox_extension = "drorch.modules.ec2_instance.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return iam.statements(account_id, regions)

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        return readiness(session, account_id, region)

    def resource_readiness(
        self, ctx: AccountContext, resources: Sequence[Resource], params: Mapping[str, Any]
    ) -> list[Finding]:
        """Each instance still there and in a state the plan can act on, and (``start``) the
        EC2 On-Demand vCPU quota against the running vCPUs plus the instances it starts."""
        where = f"in {ctx.account_id} ({ctx.region})"
        live = {
            i["InstanceId"]: i
            for i in self._instances(ctx.client("ec2"), [r.id for r in resources])
        }
        found: list[Finding] = []
        starting: dict[str, int] = {}
        for resource in resources:
            call = f"ec2:DescribeInstances {resource.id} {where}"
            instance = live.get(resource.id)
            state = (instance or {}).get("State", {}).get("Name", "gone")
            if state in ("gone", "terminated", "shutting-down"):
                found.append(
                    capacity.headroom_finding(resource, "", "", call, f"the instance is {state}")
                )
                continue
            target = "running" if params.get("action", "start") == "start" else "stopped"
            found.append(capacity.headroom_finding(resource, state, target, call))
            if target == "running" and state in ("stopped", "stopping") and instance:
                kind = instance.get("InstanceType", "")
                starting[kind] = starting.get(kind, 0) + 1
        if starting and resources:
            extra, running = capacity.standard_vcpus(ctx, starting)
            what = f"starting {sum(starting.values())} instance(s) ({extra} vCPUs) beside {running} running vCPUs"
            found.append(
                capacity.quota_finding(
                    ctx, resources[0], capacity.EC2_STANDARD_VCPUS, extra + running, what
                )
            )
        return found

    def from_layer(self, resource: Mapping[str, Any], where: str) -> LayerMapping:
        """``InstanceId``/``InstanceIds`` -> selector ids; ``Action`` start/stop; ``Tags``
        -> selector tags."""
        params = dict(resource.get("parameters") or {})
        technology: dict[str, Any] = {"type": self.type, "parameters": {}}
        selector: dict[str, Any] = {}
        ids = params.pop("InstanceIds", None) or params.pop("InstanceId", None)
        if ids:
            selector["ids"] = ids if isinstance(ids, list) else [ids]
        action = params.pop("Action", None)
        if str(action).lower() in ("start", "stop"):
            technology["parameters"]["action"] = str(action).lower()
        elif action is not None:
            params["Action"] = action
        tags = params.pop("Tags", None)
        if isinstance(tags, Mapping):
            selector["tags"] = {str(k): str(v) for k, v in tags.items()}
        elif isinstance(tags, list):
            selector["tags"] = {str(t.get("Key")): str(t.get("Value")) for t in tags}
        known = set(self.parameters_schema["properties"])
        technology["parameters"].update({k: v for k, v in params.items() if k in known})
        if selector:
            technology["selector"] = selector
        unmapped = [f"{where}.parameters.{k}" for k in params if k not in known]
        return LayerMapping(technology=technology, unmapped=unmapped)

    # --- discovery ------------------------------------------------------------------------
    def discover(self, ctx: AccountContext, selector: Any) -> Discovered:
        found = Discovered()
        if not selector_scope_matches(selector, ctx, RESOURCE_TYPE):
            return found
        wanted_tags = selector_field(selector, "tags")
        ids = [instance_id(str(i)) for i in selector_field(selector, "ids")]
        chosen = sorted({i for i, region in ids if region in (None, ctx.region)})
        if ids and not chosen:
            return found
        filters = [{"Name": f"tag:{k}", "Values": [str(v)]} for k, v in wanted_tags.items()]
        ec2 = ctx.client("ec2")
        try:
            for instance in self._instances(ec2, chosen, filters):
                iid, tags = instance["InstanceId"], _tags(instance)
                if instance["State"]["Name"] in GONE:
                    continue
                arn = f"arn:aws:ec2:{ctx.region}:{ctx.account_id}:instance/{iid}"
                name = tags.get("Name", iid)
                if ASG_TAG in tags:
                    found.excluded.append(
                        Exclusion(
                            iid,
                            arn,
                            ctx.account_id,
                            ctx.region,
                            name,
                            (
                                f"an instance of Auto Scaling group {tags[ASG_TAG]}: the "
                                "auto-scaling module sizes its group",
                            ),
                        )
                    )
                    continue
                found.append(
                    Resource(iid, arn, ctx.account_id, ctx.region, name, tags, RESOURCE_TYPE)
                )
        except ClientError as error:
            self.fail(error, ctx, "describing EC2 instances")
        found.sort(key=lambda r: r.id)
        return found

    # --- start / status -----------------------------------------------------------------
    def new_item(self, resource: Resource) -> dict[str, Any]:
        return {"name": resource.name or resource.id}

    def state_extra(self, ctx: AccountContext, key: str) -> dict[str, Any]:
        return {"waitSeconds": WAIT_SECONDS}

    def act(self, ctx: AccountContext, state: dict, items: list[Resource], key: str) -> dict:
        phase, drill, params = state["phase"], state["drill"], state["params"]
        if phase == "REPLICATE":
            for item in state["items"].values():
                item["result"] = {
                    "status": SKIPPED,
                    "note": "nothing to re-establish: an instance's state has no replication",
                }
            return state
        ec2 = self.client(ctx, drill)
        try:
            live = {i["InstanceId"]: i for i in self._instances(ec2, list(state["items"]))}
            for resource in items:
                item = state["items"][resource.id]
                instance = live.get(resource.id)
                if instance is None or instance["State"]["Name"] in GONE:
                    item["result"] = {
                        "status": FAILED,
                        "error": f"instance {resource.id} does not exist in {ctx.region} "
                        "(or is terminated)",
                    }
                elif phase == "CLEANUP":
                    self._plan_restore(ctx, resource.id, item, instance)
                else:
                    self._plan_change(resource.id, item, instance, params, drill)
            self._act(ctx, ec2, state, live)
        except ClientError as error:
            self.fail(error, ctx, "starting or stopping EC2 instances")
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        self.check_state(phase, state)
        ec2 = self.client(ctx, bool(state.get("drill")))
        params = state.get("params") or {}
        pending = [iid for iid, item in state["items"].items() if "result" not in item]
        if pending:
            try:
                live = {i["InstanceId"]: i for i in self._instances(ec2, pending)}
                self._act(ctx, ec2, state, live)  # a stopping instance, stopped now
                checks = {}
                if any(state["items"][i]["want"] == "running" for i in pending):
                    answer = ec2.describe_instance_status(
                        InstanceIds=pending, IncludeAllInstances=True
                    )
                    checks = {s["InstanceId"]: s for s in answer.get("InstanceStatuses", [])}
                for iid in pending:
                    self._check(
                        ec2, iid, state["items"][iid], live.get(iid), checks.get(iid), params
                    )
            except ClientError as error:
                self.fail(error, ctx, "checking EC2 instances")
        return self.result(state)

    # --- shared -------------------------------------------------------------------------------
    @staticmethod
    def _instances(
        ec2: Any, ids: Sequence[str], filters: Sequence[Mapping[str, Any]] = ()
    ) -> list[dict[str, Any]]:
        paginator = ec2.get_paginator("describe_instances")
        found = []
        batches = [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)] if ids else [None]
        for batch in batches:
            kwargs: dict[str, Any] = {}
            if batch:
                kwargs["InstanceIds"] = list(batch)
            if filters:
                kwargs["Filters"] = list(filters)
            try:
                pages = list(paginator.paginate(**kwargs))
            except ClientError as error:
                if error_code(error) != "InvalidInstanceID.NotFound" or not batch:
                    raise
                if len(batch) > 1:  # one of them is gone: the others one by one
                    for one in batch:
                        found += Ec2InstanceModule._instances(ec2, [one], filters)
                continue
            found += [i for page in pages for r in page["Reservations"] for i in r["Instances"]]
        return found

    @staticmethod
    def _marks(instance: Mapping[str, Any]) -> dict[str, str]:
        return capacity.marks(_tags(instance))

    # --- planning the change ----------------------------------------------------------------
    def _plan_change(
        self,
        iid: str,
        item: dict,
        instance: Mapping[str, Any],
        params: Mapping[str, Any],
        drill: bool,
    ) -> None:
        current = instance["State"]["Name"]
        marks = self._marks(instance)
        before = (
            marks.get(MARK_BEFORE) if marks.get(MARK_BEFORE) in ("running", "stopped") else None
        )
        settled = {"pending": "running", "stopping": "stopped"}.get(current, current)
        item["before"] = {"state": before or settled}
        capacity.note_marker(item, marks)
        want = "running" if params.get("action", "start") == "start" else "stopped"
        if want == "stopped" and drill:
            item["result"] = {
                "status": SKIPPED,
                "state": current,
                "note": f"a drill never stops an instance: {iid} left {current}",
            }
            return
        item["want"] = want

    def _plan_restore(
        self, ctx: AccountContext, iid: str, item: dict, instance: Mapping[str, Any]
    ) -> None:
        recorded = (capacity.recorded_before(ctx, iid) or {}).get("state")
        if recorded not in ("running", "stopped"):
            item["result"] = {
                "status": SKIPPED,
                "state": instance["State"]["Name"],
                "note": f"no earlier run recorded the state of {iid}: left as it is",
            }
            return
        item["want"] = recorded
        capacity.restoring_from(ctx, item)

    def _act(
        self, ctx: AccountContext, ec2: Any, state: dict[str, Any], live: Mapping[str, Any]
    ) -> None:
        """Start what must run and is stopped, stop what must stop and runs (one call each);
        mark an instance with its state before, the first time drorch changes it."""
        to_start, to_stop, to_mark = [], [], {}
        for iid, item in state["items"].items():
            instance = live.get(iid)
            if "result" in item or instance is None or "want" not in item:
                continue
            current = instance["State"]["Name"]
            if item["want"] == "running" and current == "stopped":
                to_start.append(iid)
            elif item["want"] == "stopped" and current in ("running", "pending"):
                to_stop.append(iid)
            else:
                continue
            if not item.get("restoring") and MARK_BEFORE not in self._marks(instance):
                to_mark.setdefault(item["before"]["state"], []).append(iid)
        by = capacity.execution_mark(ctx)
        for before, ids in sorted(to_mark.items()):
            ec2.create_tags(
                Resources=sorted(ids),
                Tags=[{"Key": MARK_BEFORE, "Value": before}, {"Key": MARK_BY, "Value": by}],
            )
            for iid in ids:
                state["items"][iid]["recordedBy"] = by
        if to_start:
            ec2.start_instances(InstanceIds=sorted(to_start))
        if to_stop:
            ec2.stop_instances(InstanceIds=sorted(to_stop))

    # --- status -------------------------------------------------------------------------------
    def _check(
        self,
        ec2: Any,
        iid: str,
        item: dict,
        instance: Mapping[str, Any] | None,
        checks: Mapping[str, Any] | None,
        params: Mapping[str, Any],
    ) -> None:
        if instance is None or instance["State"]["Name"] in GONE:
            item["result"] = {"status": FAILED, "error": f"instance {iid} is gone"}
            return
        current = instance["State"]["Name"]
        item["live"] = {"state": current}
        if item["want"] == "running":
            if current != "running":
                return
            system = ((checks or {}).get("SystemStatus") or {}).get("Status", "")
            own = ((checks or {}).get("InstanceStatus") or {}).get("Status", "")
            item["live"].update(systemStatus=system, instanceStatus=own)
            for which, key in (("system", "SystemStatus"), ("instance", "InstanceStatus")):
                value = (checks or {}).get(key)
                if value and value.get("Status") == "impaired":
                    details = ", ".join(
                        f"{d['Name']} {d['Status']}" for d in value.get("Details") or []
                    )
                    item["result"] = {
                        **item["live"],
                        "status": FAILED,
                        "error": f"{iid} ({item['name']}): the {which} status check is impaired"
                        + (f" ({details})" if details else ""),
                    }
                    return
            if params.get("waitForStatusChecks", True) and not (system == own == "ok"):
                return
        elif current != "stopped":
            return
        if item.get("restoring"):
            marks = self._marks(instance)
            if marks:
                ec2.delete_tags(Resources=[iid], Tags=[{"Key": k} for k in sorted(marks)])
        result: dict[str, Any] = {"status": SUCCEEDED, **item["live"]}
        item["result"] = capacity.finish(item, result, {"state": item["want"]})

    def detail(self, item: Mapping[str, Any], detail: dict[str, Any]) -> dict[str, Any]:
        return capacity.carry_before(item, detail)
