"""The auto-scaling module: the size of EC2 Auto Scaling groups in the recovery region.

A resource is an Auto Scaling group in the account's region, named by its group name.
Discovery makes direct calls there (``DescribeAutoScalingGroups``, whose answer carries
the tags) by the selector's ids (group name or ARN) and tags.

The AWS guidance for a pilot-light or warm-standby EC2 tier is a group defined in the
recovery region at 0 (or a few) instances, scaled out when the region takes traffic.
drorch sets min/desired/max with ``UpdateAutoScalingGroup`` and waits for the instances;
it never changes the launch template, the subnets or the scaling processes.

Phases (each ``start`` + ``status``; status reads ``DescribeAutoScalingGroups`` and
``DescribeScalingActivities``, never a timer):

* INSTANTIATE and ACTIVATE — set the group's size: ``desiredCapacity`` (or the group's
  ``groups`` entry), ``minSize`` (default: the desired capacity, so scale-in policies keep
  the recovery capacity) and ``maxSize`` (default: the group's, raised to the desired
  capacity). Done when the group has exactly that many instances, all ``InService`` and
  ``Healthy``. ``maxFailedLaunches`` failed scaling activities since the phase began fail
  the group, with the activity's StatusMessage. When both phases run, ACTIVATE finds the
  size set and only waits.
* CLEANUP — puts back the min/desired/max recorded before the change (the earlier run's
  ``detail.before``, from ``AccountContext.recorded``), waits for the group to reach it,
  then removes drorch's tags. Nothing recorded for a group: left alone (SKIPPED).
* REPLICATE — nothing (SKIPPED).

The size before the change: before its first ``UpdateAutoScalingGroup`` the module tags
the group ``drorch:capacity-before=min=<n> desired=<n> max=<n>`` (not propagated to
instances); a later phase or a retried start reads the size from there rather than the
one it set itself.

Drill: grows the recovery-region group only — a standby there takes no production
traffic. A drill never lowers min, desired or max (a group already larger is SKIPPED,
said so); the drill client refuses ``UpdateAutoScalingGroup`` to a desired or maximum of 0
or with anything but the sizes, and every call that removes instances.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules import capacity
from drorch.modules.auto_scaling import iam
from drorch.modules.auto_scaling.probes import PROBES, readiness
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
    load_schema,
    selector_field,
    selector_scope_matches,
    tags_match,
)
from drorch.modules.capacity import (
    EC2_STANDARD_VCPUS,
    MARK_BEFORE,
    MARK_BY,
    headroom_finding,
    quota_finding,
    standard_vcpus,
)
from drorch.modules.resource import ResourceModule

RESOURCE_TYPE = "autoscaling:autoScalingGroup"
STATE_VERSION = 1
WAIT_SECONDS = 30
SIZE_KEYS = frozenset({"AutoScalingGroupName", "MinSize", "MaxSize", "DesiredCapacity"})
FAILED_ACTIVITY = frozenset({"Failed", "Cancelled"})
_SIZES = re.compile(r"^min=(\d+) desired=(\d+) max=(\d+)$")


def _update_disruptive(params: Mapping[str, Any]) -> bool:
    """UpdateAutoScalingGroup is disruptive when it empties the group or changes more than
    its sizes."""
    return (
        params.get("DesiredCapacity") == 0
        or params.get("MaxSize") == 0
        or bool(set(params) - SIZE_KEYS)
    )


# API calls that could harm production; a drill makes none of them (the drill client refuses them).
DISRUPTIVE_CALLS = {
    "UpdateAutoScalingGroup": _update_disruptive,
    "SetDesiredCapacity": always,
    "DeleteAutoScalingGroup": always,
    "TerminateInstanceInAutoScalingGroup": always,
    "DetachInstances": always,
    "EnterStandby": always,
    "SuspendProcesses": always,
    "StartInstanceRefresh": always,
}

PARAMETERS_SCHEMA: dict[str, Any] = load_schema(Path(__file__).with_name("parameters.json"))


def group_name(value: str) -> tuple[str, str | None]:
    """(group name, region or None) of a selector id: a name or a group ARN."""
    if value.startswith("arn:") and "autoScalingGroupName/" in value:
        return value.split("autoScalingGroupName/", 1)[1], value.split(":")[3]
    return value, None


def sizes(group: Mapping[str, Any]) -> dict[str, int]:
    return {
        "minSize": int(group["MinSize"]),
        "desiredCapacity": int(group["DesiredCapacity"]),
        "maxSize": int(group["MaxSize"]),
    }


def mark_value(size: Mapping[str, int]) -> str:
    return f"min={size['minSize']} desired={size['desiredCapacity']} max={size['maxSize']}"


def parse_mark(value: str) -> dict[str, int] | None:
    found = _SIZES.match(value or "")
    if not found:
        return None
    low, desired, high = (int(n) for n in found.groups())
    return {"minSize": low, "desiredCapacity": desired, "maxSize": high}


def wanted_sizes(
    params: Mapping[str, Any], name: str, current: Mapping[str, int]
) -> dict[str, int] | None:
    """The sizes to set (None: the parameters give no desired capacity for the group)."""
    chosen: Mapping[str, Any] = params
    for entry in params.get("groups") or ():
        if group_name(entry["name"])[0] == name:
            chosen = entry
            break
    if chosen.get("desiredCapacity") is None:
        return None
    desired = int(chosen["desiredCapacity"])
    low = chosen.get("minSize", params.get("minSize") if chosen is not params else None)
    high = chosen.get("maxSize", params.get("maxSize") if chosen is not params else None)
    return {
        "minSize": desired if low is None else int(low),
        "desiredCapacity": desired,
        "maxSize": max(current["maxSize"], desired) if high is None else int(high),
    }


def launch_instance_type(ctx: AccountContext, group: Mapping[str, Any]) -> str | None:
    """The instance type a group launches: its launch template's (or the first override of
    a mixed instances policy), else its launch configuration's; None when it names none."""
    policy = group.get("MixedInstancesPolicy") or {}
    spec = group.get("LaunchTemplate") or (policy.get("LaunchTemplate") or {}).get(
        "LaunchTemplateSpecification"
    )
    overrides = (policy.get("LaunchTemplate") or {}).get("Overrides") or []
    if overrides and overrides[0].get("InstanceType"):
        return str(overrides[0]["InstanceType"])
    if spec:
        template = {k: spec[k] for k in ("LaunchTemplateId", "LaunchTemplateName") if spec.get(k)}
        versions = ctx.client("ec2").describe_launch_template_versions(
            **template, Versions=[str(spec.get("Version") or "$Default")]
        )["LaunchTemplateVersions"]
        return (
            (versions[0].get("LaunchTemplateData") or {}).get("InstanceType") if versions else None
        )
    if group.get("LaunchConfigurationName"):
        configs = ctx.client("autoscaling").describe_launch_configurations(
            LaunchConfigurationNames=[group["LaunchConfigurationName"]]
        )["LaunchConfigurations"]
        return configs[0].get("InstanceType") if configs else None
    return None


class AutoScalingModule(ResourceModule):
    type = "auto-scaling"
    service = "autoscaling"
    state_version = STATE_VERSION
    parameters_schema = PARAMETERS_SCHEMA
    drill_safe_phases = frozenset({"INSTANTIATE", "ACTIVATE"})
    disruptive_calls = DISRUPTIVE_CALLS
    phases = ("INSTANTIATE", "ACTIVATE", "CLEANUP")
    summary = (
        "EC2 Auto Scaling groups: set min/desired/max in the recovery region and wait until "
        "that many instances are InService and Healthy; CLEANUP puts back the recorded sizes"
    )
    drill = (
        "Grows the recovery-region standby group (it takes no production traffic) and waits for "
        "its instances. A drill never lowers min, desired or max: the drill client refuses "
        "UpdateAutoScalingGroup to 0 or with anything but the sizes, and every call that removes "
        "instances. The cleanup operation puts back the recorded sizes."
    )
    aliases = ("AutoScaling", "AutoScalingGroup", "auto_scaling")
    resource_types = (RESOURCE_TYPE,)
    identified_by = "Auto Scaling group name or ARN"
    probes = PROBES
    sandbox_extension = "drorch.modules.auto_scaling.sandbox"

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return iam.statements(account_id, regions)

    def readiness(self, session: Any, account_id: str, region: str) -> list[Finding]:
        return readiness(session, account_id, region)

    def resource_readiness(
        self, ctx: AccountContext, resources: Sequence[Resource], params: Mapping[str, Any]
    ) -> list[Finding]:
        """Headroom (the sizes the plan sets, against the group's) and the EC2 On-Demand vCPU
        quota against the account's running vCPUs plus the instances the plan adds."""
        client = ctx.client("autoscaling")
        where = f"in {ctx.account_id} ({ctx.region})"
        live = {
            g["AutoScalingGroupName"]: g for g in self._groups(client, [r.id for r in resources])
        }
        found: list[Finding] = []
        for resource in resources:
            call = f"autoscaling:DescribeAutoScalingGroups {resource.id} {where}"
            group = live.get(resource.id)
            if group is None:
                found.append(headroom_finding(resource, "", "", call, "the group no longer exists"))
                continue
            current = sizes(group)
            target = wanted_sizes(params, resource.id, current)
            if target is None or target["maxSize"] < target["desiredCapacity"]:
                problem = (
                    "the parameters give no desired capacity for the group"
                    if target is None
                    else f"maxSize {target['maxSize']} is below desiredCapacity "
                    f"{target['desiredCapacity']}"
                )
                found.append(headroom_finding(resource, "", "", call, problem))
                continue
            found.append(headroom_finding(resource, mark_value(current), mark_value(target), call))
            added = max(0, target["desiredCapacity"] - current["desiredCapacity"])
            kind = launch_instance_type(ctx, group)
            if added and kind:
                extra, running = standard_vcpus(ctx, {kind: added})
                found.append(
                    quota_finding(
                        ctx,
                        resource,
                        EC2_STANDARD_VCPUS,
                        running + extra,
                        f"{added} more {kind} ({extra} vCPUs) beside {running} running vCPUs",
                    )
                )
        return found

    def from_layer(self, resource: Mapping[str, Any], where: str) -> LayerMapping:
        """``AutoScalingGroupName`` -> selector ids; ``MinSize``/``DesiredCapacity``/
        ``MaxSize`` (AWS's names) -> the sizes; ``Tags`` -> selector tags."""
        params = dict(resource.get("parameters") or {})
        technology: dict[str, Any] = {"type": self.type, "parameters": {}}
        selector: dict[str, Any] = {}
        names = params.pop("AutoScalingGroupName", None) or params.pop(
            "AutoScalingGroupNames", None
        )
        if names:
            selector["ids"] = names if isinstance(names, list) else [names]
        for theirs, ours in (
            ("MinSize", "minSize"),
            ("DesiredCapacity", "desiredCapacity"),
            ("MaxSize", "maxSize"),
        ):
            if theirs in params:
                technology["parameters"][ours] = int(params.pop(theirs))
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
        ids = [group_name(str(i)) for i in selector_field(selector, "ids")]
        names = sorted({n for n, region in ids if region in (None, ctx.region)})
        if ids and not names:
            return found
        client = ctx.client("autoscaling")
        try:
            for group in self._groups(client, names):
                tags = {t["Key"]: t.get("Value", "") for t in group.get("Tags") or []}
                if not tags_match(tags, wanted_tags):
                    continue
                name = group["AutoScalingGroupName"]
                found.append(
                    Resource(
                        name,
                        group["AutoScalingGroupARN"],
                        ctx.account_id,
                        ctx.region,
                        name,
                        tags,
                        RESOURCE_TYPE,
                    )
                )
        except ClientError as error:
            self.fail(error, ctx, "describing Auto Scaling groups")
        found.sort(key=lambda r: r.id)
        return found

    # --- start / status -----------------------------------------------------------------
    def state_extra(self, ctx: AccountContext, key: str) -> dict[str, Any]:
        return {"since": ctx.now, "waitSeconds": WAIT_SECONDS}

    def act(self, ctx: AccountContext, state: dict, items: list[Resource], key: str) -> dict:
        phase, drill, params = state["phase"], state["drill"], state["params"]
        if phase == "REPLICATE":
            for item in state["items"].values():
                item["result"] = {
                    "status": SKIPPED,
                    "note": "nothing to re-establish: a group's size has no replication",
                }
            return state
        client = self.client(ctx, drill)
        try:
            live = {
                g["AutoScalingGroupName"]: g for g in self._groups(client, list(state["items"]))
            }
            for resource in items:
                item = state["items"][resource.id]
                group = live.get(resource.id)
                if group is None:
                    item["result"] = {
                        "status": FAILED,
                        "error": f"Auto Scaling group {resource.id} does not exist in {ctx.region}",
                    }
                elif phase == "CLEANUP":
                    self._start_restore(ctx, client, resource.id, item, group)
                else:
                    self._start_scale(ctx, client, resource.id, item, group, params, drill)
        except ClientError as error:
            self.fail(error, ctx, "resizing Auto Scaling groups")
        return state

    def status(self, ctx: AccountContext, phase: str, state: dict[str, Any]) -> StatusResult:
        self.check_state(phase, state)
        client = self.client(ctx, bool(state.get("drill")))
        params = state.get("params") or {}
        pending = [name for name, item in state["items"].items() if "result" not in item]
        if pending:
            try:
                live = {g["AutoScalingGroupName"]: g for g in self._groups(client, pending)}
                for name in pending:
                    item = state["items"][name]
                    self._check(client, name, item, live.get(name), params, state.get("since"))
            except ClientError as error:
                self.fail(error, ctx, "checking Auto Scaling groups")
        return self.result(state)

    # --- shared -------------------------------------------------------------------------------
    @staticmethod
    def _groups(client: Any, names: Sequence[str]) -> list[dict[str, Any]]:
        paginator = client.get_paginator("describe_auto_scaling_groups")
        found = []
        batches = [names[i : i + 50] for i in range(0, len(names), 50)] if names else [None]
        for batch in batches:
            kwargs = {"AutoScalingGroupNames": list(batch)} if batch else {}
            for page in paginator.paginate(**kwargs):
                found += page.get("AutoScalingGroups", [])
        return found

    @staticmethod
    def _marks(group: Mapping[str, Any]) -> dict[str, str]:
        return capacity.marks(capacity.tag_map(group.get("Tags")))

    # --- INSTANTIATE / ACTIVATE -------------------------------------------------------------
    def _start_scale(
        self,
        ctx: AccountContext,
        client: Any,
        name: str,
        item: dict,
        group: Mapping[str, Any],
        params: Mapping[str, Any],
        drill: bool,
    ) -> None:
        current = sizes(group)
        marks = self._marks(group)
        before = parse_mark(marks.get(MARK_BEFORE, "")) or current
        item["before"] = before
        capacity.note_marker(item, marks)
        target = wanted_sizes(params, name, current)
        if target is None:
            item["result"] = {
                "status": FAILED,
                "error": f"no desired capacity for {name}: give desiredCapacity or a groups entry",
            }
            return
        if drill:
            if target["desiredCapacity"] < current["desiredCapacity"]:
                item["result"] = {
                    "status": SKIPPED,
                    **current,
                    "note": f"a drill never scales down: {name} wants "
                    f"{current['desiredCapacity']} instances, more than "
                    f"{target['desiredCapacity']}; left as it is",
                }
                return
            target = {k: max(v, current[k]) for k, v in target.items()}  # never lower a size
        if not target["minSize"] <= target["desiredCapacity"] <= target["maxSize"]:
            item["result"] = {
                "status": FAILED,
                "error": f"{name}: min {target['minSize']}, desired "
                f"{target['desiredCapacity']} and max {target['maxSize']} are not in order",
            }
            return
        item["target"] = target
        if target == current:
            return  # set already (an earlier phase, or a retried start): wait for it
        if MARK_BEFORE not in marks:
            by = capacity.execution_mark(ctx)
            client.create_or_update_tags(
                Tags=[
                    {
                        "ResourceId": name,
                        "ResourceType": "auto-scaling-group",
                        "Key": key,
                        "Value": value,
                        "PropagateAtLaunch": False,
                    }
                    for key, value in ((MARK_BEFORE, mark_value(current)), (MARK_BY, by))
                ]
            )
            item["recordedBy"] = by
        client.update_auto_scaling_group(
            AutoScalingGroupName=name,
            MinSize=target["minSize"],
            MaxSize=target["maxSize"],
            DesiredCapacity=target["desiredCapacity"],
        )

    # --- CLEANUP ------------------------------------------------------------------------------
    def _start_restore(
        self, ctx: AccountContext, client: Any, name: str, item: dict, group: Mapping[str, Any]
    ) -> None:
        recorded = dict(capacity.recorded_before(ctx, name) or {})
        if set(recorded) != {"minSize", "desiredCapacity", "maxSize"}:
            item["result"] = {
                "status": SKIPPED,
                **sizes(group),
                "note": f"no earlier run recorded the sizes of {name}: left as it is",
            }
            return
        target = {k: int(v) for k, v in recorded.items()}
        item["target"] = target
        capacity.restoring_from(ctx, item)
        if sizes(group) != target:
            client.update_auto_scaling_group(
                AutoScalingGroupName=name,
                MinSize=target["minSize"],
                MaxSize=target["maxSize"],
                DesiredCapacity=target["desiredCapacity"],
            )

    # --- status -------------------------------------------------------------------------------
    def _check(
        self,
        client: Any,
        name: str,
        item: dict,
        group: Mapping[str, Any] | None,
        params: Mapping[str, Any],
        since: float | None,
    ) -> None:
        if group is None:
            item["result"] = {"status": FAILED, "error": f"Auto Scaling group {name} is gone"}
            return
        target = item["target"]
        instances = group.get("Instances") or []
        ready = [
            i
            for i in instances
            if i.get("LifecycleState") == "InService" and i.get("HealthStatus") == "Healthy"
        ]
        item["live"] = {
            **sizes(group),
            "inService": len(ready),
            "instances": len(instances),
        }
        failures = self._failures(client, name, since)
        if len(failures) >= int(params.get("maxFailedLaunches", 3)):
            latest = failures[0]
            reason = latest.get("StatusMessage") or latest.get("Description", "")
            item["result"] = {
                **item["live"],
                "status": FAILED,
                "error": f"{len(failures)} scaling activities of {name} failed: {reason}",
            }
            return
        if sizes(group) != target:
            item["live"]["note"] = "its sizes changed since drorch set them: something else did"
            return
        if len(ready) != target["desiredCapacity"] or len(instances) != len(ready):
            return
        if item.get("restoring"):
            marks = self._marks(group)
            if marks:
                client.delete_tags(
                    Tags=[
                        {"ResourceId": name, "ResourceType": "auto-scaling-group", "Key": key}
                        for key in sorted(marks)
                    ]
                )
        item["result"] = capacity.finish(item, {"status": SUCCEEDED, **item["live"]}, target)

    @staticmethod
    def _failures(client: Any, name: str, since: float | None) -> list[dict[str, Any]]:
        """The group's failed scaling activities since the phase began, newest first."""
        answer = client.describe_scaling_activities(AutoScalingGroupName=name, MaxRecords=50)
        start = datetime.fromtimestamp(since, UTC) if since is not None else None
        found = [
            a
            for a in answer.get("Activities", [])
            if a.get("StatusCode") in FAILED_ACTIVITY and (start is None or a["StartTime"] >= start)
        ]
        return sorted(found, key=lambda a: a["StartTime"], reverse=True)

    def detail(self, item: Mapping[str, Any], detail: dict[str, Any]) -> dict[str, Any]:
        return capacity.carry_before(item, detail)
