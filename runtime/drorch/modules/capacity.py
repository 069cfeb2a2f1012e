"""The capacity-before record shared by the capacity modules (ECS services, Auto Scaling
groups, EC2 instances, EKS node groups, OpenSearch domains).

A module that changes capacity records the value before its change, so that CLEANUP
can put it back: on the resource as the tags ``drorch:capacity-before`` (the value)
and ``drorch:capacity-execution`` (the execution that wrote it) where the service has
tags, and always in the result's ``detail.before``, which the history keeps and a
later run reads back from :attr:`AccountContext.recorded`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import (
    BLOCKER,
    READY,
    WARNING,
    AccountContext,
    Finding,
    Resource,
    error_code,
    error_message,
    in_regions,
    raise_if_fatal,
    resource_finding,
    statement,
)

MARK_BEFORE = "drorch:capacity-before"
MARK_BY = "drorch:capacity-execution"


def tag_map(
    tags: Iterable[Mapping[str, Any]] | None, key: str = "Key", value: str = "Value"
) -> dict[str, str]:
    """An AWS tag list (``[{"Key": ..., "Value": ...}]``, or ``key``/``value``) as a dict."""
    return {t[key]: t.get(value, "") for t in tags or []}


def marks(tags: Mapping[str, str]) -> dict[str, str]:
    """The capacity-before tags among ``tags``."""
    return {k: v for k, v in tags.items() if k in (MARK_BEFORE, MARK_BY)}


def note_marker(item: dict[str, Any], found: Mapping[str, str]) -> None:
    """Keep in ``item`` which execution tagged the value before (when one did)."""
    if found.get(MARK_BY):
        item["recordedBy"] = found[MARK_BY]


def execution_mark(ctx: AccountContext) -> str:
    """The ``drorch:capacity-execution`` value: the execution that recorded the value."""
    return (ctx.execution_id or "unknown")[:256]


def recorded_before(ctx: AccountContext, rid: str) -> Any:
    """What the earlier run recorded as the value before its change (None: nothing)."""
    return (ctx.recorded.get(rid) or {}).get("before")


def restoring_from(ctx: AccountContext, item: dict[str, Any]) -> None:
    """Mark ``item`` as put back to the earlier run's record (CLEANUP)."""
    item["restoring"] = True
    if ctx.recorded_from:
        item["recordedBy"] = ctx.recorded_from


def finish(item: Mapping[str, Any], result: dict[str, Any], restored: Any) -> dict[str, Any]:
    """A settled resource's result: ``restored`` in CLEANUP, else ``before`` (the item's),
    and who recorded it."""
    if item.get("restoring"):
        result["restored"] = restored
    else:
        result["before"] = item["before"]
    if item.get("recordedBy"):
        result["recordedBy"] = item["recordedBy"]
    return result


def carry_before(item: Mapping[str, Any], detail: dict[str, Any]) -> dict[str, Any]:
    """A still-running result's detail keeps the value before the change (not in CLEANUP)."""
    if "before" in item and "before" not in detail and not item.get("restoring"):
        detail["before"] = item["before"]
    return detail


def carry(item: Mapping[str, Any], detail: dict[str, Any], *keys: str) -> dict[str, Any]:
    """``detail`` with the item's ``keys`` it does not already have."""
    for key in keys:
        if key in item and key not in detail:
            detail[key] = item[key]
    return detail


# --- readiness: headroom and service quotas against what the plan needs ----------------------
# Service Quotas code of the EC2 On-Demand vCPU limit for the standard families
EC2_STANDARD_VCPUS = ("ec2", "L-1216C47A", "Running On-Demand Standard instances (vCPUs)")
_STANDARD_FAMILIES = tuple("acdhimrtz")


def quota_finding(
    ctx: AccountContext, resource: Resource, quota: tuple[str, str, str], needed: float, what: str
) -> Finding:
    """``needed`` (what the account would use after the plan's change) against a service
    quota: OK within it, a WARNING over it (a launch or scale-out would be refused). A quota
    Service Quotas does not answer (no such quota here, or not readable) is said, not guessed."""
    service, code, name = quota
    call = f"servicequotas:GetServiceQuota {service} {code} in {ctx.account_id} ({ctx.region})"
    try:
        value = float(
            ctx.client("service-quotas").get_service_quota(ServiceCode=service, QuotaCode=code)[
                "Quota"
            ]["Value"]
        )
    except ClientError as error:
        raise_if_fatal(error, ctx, f"reading the {name} quota for readiness")
        return resource_finding(
            resource,
            "service quota",
            READY,
            f"{what} needs {needed:g}; {name}: not checked ({error_code(error)}: "
            f"{error_message(error)})",
            call,
        )
    if needed > value:
        return resource_finding(
            resource,
            "service quota",
            WARNING,
            f"{what} needs {needed:g}, more than the quota {name} = {value:g}",
            call,
            f"request an increase (Service Quotas, {service} {code}) before a failover",
        )
    return resource_finding(
        resource, "service quota", READY, f"{what} needs {needed:g} of {value:g} ({name})", call
    )


def standard_vcpus(ctx: AccountContext, instance_types: dict[str, int]) -> tuple[int, int]:
    """(vCPUs of ``instance_types`` {type: count} in the standard families, vCPUs the account's
    running standard On-Demand instances use now in the region)."""
    ec2 = ctx.client("ec2")
    running: dict[str, int] = {}
    for page in ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}]
    ):
        for reservation in page.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                kind = instance.get("InstanceType", "")
                running[kind] = running.get(kind, 0) + 1
    kinds = sorted({*instance_types, *running} - {""})
    per: dict[str, int] = {}
    for start in range(0, len(kinds), 100):
        answer = ec2.describe_instance_types(InstanceTypes=kinds[start : start + 100])
        for item in answer.get("InstanceTypes", []):
            per[item["InstanceType"]] = int(item["VCpuInfo"]["DefaultVCpus"])

    def vcpus(counts: Mapping[str, int]) -> int:
        return sum(per.get(k, 0) * n for k, n in counts.items() if k.startswith(_STANDARD_FAMILIES))

    return vcpus(instance_types), vcpus(running)


def headroom_finding(
    resource: Resource, current: str, target: str, call: str, problem: str = ""
) -> Finding:
    """What the plan changes (``current`` -> ``target``); a BLOCKER with ``problem`` when the
    resource cannot take it."""
    if problem:
        return resource_finding(
            resource, "headroom", BLOCKER, problem, call, "fix the group's parameters"
        )
    return resource_finding(resource, "headroom", READY, f"{current} -> {target}", call)


def readiness_reads(sid: str, regions: Sequence[str], *extra: str) -> dict[str, Any]:
    """The read statement the capacity readiness probes need (``sid`` unique per module):
    the running instances and instance types, and the service quota (``*`` in the regions)."""
    return statement(
        sid,
        [
            "ec2:DescribeInstances",
            "ec2:DescribeInstanceTypes",
            "servicequotas:GetServiceQuota",
            *extra,
        ],
        "*",
        condition=in_regions(regions),
    )
