"""Per-server readiness of DRS source servers (``drorch readiness`` and every execution's
first state): replication healthy and not stalled, its lag within the RPO target (the
group's ``rpoTargetMinutes``, else the server's ``dr:rpo-target`` tag, in minutes), and the
EC2 launch template DRS launches from valid (it exists, and the subnet it names exists).

A server with broken replication is left out of the plan by discovery; for a failover or
a drill it is still a BLOCKER here: the application would come up without it. A failback
recovers from the recovery instances, whose reverse replication the failback's
precondition checks, so forward replication is not judged then.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from drorch import names
from drorch.modules.base import (
    BLOCKER,
    READY,
    WARNING,
    AccountContext,
    Finding,
    Resource,
    error_code,
    error_message,
    raise_if_fatal,
    resource_finding,
)
from drorch.modules.drs.jobs import chunks

DESCRIBE = "drs:DescribeSourceServers"
GET_LAUNCH = "drs:GetLaunchConfiguration"
TEMPLATE = "ec2:DescribeLaunchTemplateVersions"
SUBNETS = "ec2:DescribeSubnets"
FILTER_SUBNETS = 200  # subnet ids in one DescribeSubnets filter
_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?"
    r"(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
# replication is judged for the operations that recover from it
JUDGES_REPLICATION = frozenset({"failover", "drill", ""})


def duration_seconds(text: str | None) -> float | None:
    """An ISO 8601 duration (``PT1H2M3S``, DRS's ``lagDuration``) in seconds (None: unreadable)."""
    found = _DURATION.match(text or "")
    if not found or text in ("P", "PT"):
        return None
    parts = {k: float(v) for k, v in found.groupdict().items() if v}
    return (
        parts.get("d", 0) * 86400 + parts.get("h", 0) * 3600 + parts.get("m", 0) * 60
    ) + parts.get("s", 0)


def rpo_target_minutes(resource: Resource, params: Mapping[str, Any]) -> int | None:
    if params.get("rpoTargetMinutes") is not None:
        return int(params["rpoTargetMinutes"])
    tag = str(resource.tags.get(names.TAG_RPO, ""))
    return int(tag) if tag.isdigit() else None


def _servers(ctx: AccountContext, drs: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    from drorch.modules.drs.adapter import FILTER_MAX_IDS

    found: dict[str, dict[str, Any]] = {}
    paginator = drs.get_paginator("describe_source_servers")
    for part in chunks(sorted(set(ids)), FILTER_MAX_IDS):
        for page in paginator.paginate(filters={"sourceServerIDs": part}):
            found.update({s["sourceServerID"]: s for s in page.get("items", [])})
    return found


def replication_finding(
    resource: Resource, server: Mapping[str, Any], params: Mapping[str, Any], where: str
) -> Finding:
    from drorch.modules.drs.adapter import RECOVERABLE_STATES

    info = server.get("dataReplicationInfo") or {}
    state = info.get("dataReplicationState", "UNKNOWN")
    lag = duration_seconds(info.get("lagDuration"))
    lag_text = f"lag {info['lagDuration']}" if info.get("lagDuration") else "no lag reported"
    call = f"{DESCRIBE} {where}"
    if state not in RECOVERABLE_STATES:
        error = info.get("dataReplicationError") or {}
        why = f" ({error['error']}: {error.get('rawError', '')})" if error.get("error") else ""
        return resource_finding(
            resource,
            "replication",
            BLOCKER,
            f"replication is {state}{why}, {lag_text}: it would not be recovered with current data",
            call,
            "restore replication (DRS console: the server's data replication; "
            f"`aws drs retry-data-replication --source-server-id {resource.id}` when STALLED)",
        )
    target = rpo_target_minutes(resource, params)
    if target is not None and lag is not None and lag > target * 60:
        return resource_finding(
            resource,
            "replication lag",
            BLOCKER,
            f"{state}, {lag_text} ({lag:.0f} s) exceeds the RPO target of {target} min",
            call,
            "find out why replication is behind (bandwidth, staging area) before failing over",
        )
    within = f" within the RPO target of {target} min" if target is not None else ""
    return resource_finding(resource, "replication", READY, f"{state}, {lag_text}{within}", call)


def launch_template(
    ctx: AccountContext, resource: Resource, where: str
) -> Finding | tuple[str, dict[str, Any]]:
    """The EC2 launch template DRS launches the server from: a BLOCKER finding when it cannot
    be read, else (its id, its default version's data)."""
    try:
        config = ctx.client("drs").get_launch_configuration(sourceServerID=resource.id)
    except ClientError as error:
        raise_if_fatal(error, ctx, "reading a launch configuration for readiness")
        return resource_finding(
            resource,
            "launch template",
            BLOCKER,
            f"{error_code(error)}: {error_message(error)}",
            f"{GET_LAUNCH} {where}",
            "check the server's launch settings in the DRS console",
        )
    template_id = config.get("ec2LaunchTemplateID")
    if not template_id:
        return resource_finding(
            resource,
            "launch template",
            BLOCKER,
            "DRS names no EC2 launch template for this server",
            f"{GET_LAUNCH} {where}",
            "open the server's launch settings in the DRS console (it recreates the template)",
        )
    try:
        versions = ctx.client("ec2").describe_launch_template_versions(
            LaunchTemplateId=template_id, Versions=["$Default"]
        )["LaunchTemplateVersions"]
    except ClientError as error:
        raise_if_fatal(error, ctx, "reading a launch template for readiness")
        return resource_finding(
            resource,
            "launch template",
            BLOCKER,
            f"launch template {template_id}: {error_code(error)}: {error_message(error)}",
            f"{TEMPLATE} {template_id} {where}",
            "the template DRS launches from is gone: open the server's launch settings in the "
            "DRS console, or re-apply them (`drorch execute` INSTANTIATE)",
        )
    return template_id, (versions[0].get("LaunchTemplateData", {}) if versions else {})


def template_subnets(data: Mapping[str, Any]) -> set[str]:
    subnets = {n["SubnetId"] for n in data.get("NetworkInterfaces", []) if n.get("SubnetId")}
    return subnets | ({data["SubnetId"]} if data.get("SubnetId") else set())


def existing_subnets(ctx: AccountContext, wanted: set[str]) -> set[str]:
    """Which of ``wanted`` exist (one DescribeSubnets per 200; an unknown id is left out)."""
    found: set[str] = set()
    ec2 = ctx.client("ec2")
    for part in chunks(sorted(wanted), FILTER_SUBNETS):
        answer = ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": part}])
        found |= {s["SubnetId"] for s in answer.get("Subnets", [])}
    return found


def launch_template_findings(
    ctx: AccountContext, resources: Sequence[Resource], where: str
) -> list[Finding]:
    """Each server's launch template readable, and the subnets it names existing."""
    read = {r.id: launch_template(ctx, r, where) for r in resources}
    wanted = {
        subnet
        for answer in read.values()
        if isinstance(answer, tuple)
        for subnet in template_subnets(answer[1])
    }
    present = existing_subnets(ctx, wanted) if wanted else set()
    found: list[Finding] = []
    for resource in resources:
        answer = read[resource.id]
        if isinstance(answer, Finding):
            found.append(answer)
            continue
        template_id, data = answer
        subnets = template_subnets(data)
        missing = subnets - present
        if missing:
            found.append(
                resource_finding(
                    resource,
                    "launch template",
                    BLOCKER,
                    f"launch template {template_id} names subnet(s) "
                    f"{', '.join(sorted(missing))}, which do not exist",
                    f"{SUBNETS} {where}",
                    "point the launch settings at a recovery subnet (accounts/drs/ settings)",
                )
            )
            continue
        kind = data.get("InstanceType") or "no instance type"
        on = f", subnet {', '.join(sorted(subnets))}" if subnets else ""
        found.append(
            resource_finding(
                resource,
                "launch template",
                READY,
                f"{template_id} ({kind}{on})",
                f"{TEMPLATE} {template_id} {where}",
            )
        )
    return found


def server_findings(
    ctx: AccountContext,
    resources: Sequence[Resource],
    params: Mapping[str, Any],
) -> list[Finding]:
    """Replication and launch template of each server (one DescribeSourceServers per 200)."""
    where = f"in {ctx.account_id} ({ctx.region})"
    judge = ctx.operation in JUDGES_REPLICATION
    drs = ctx.client("drs")
    try:
        live = _servers(ctx, drs, [r.id for r in resources]) if resources else {}
    except ClientError as error:
        raise_if_fatal(error, ctx, "describing source servers for readiness")
        raise
    found: list[Finding] = []
    alive: list[Resource] = []
    for resource in resources:
        server = live.get(resource.id)
        if server is None:
            found.append(
                resource_finding(
                    resource,
                    "exists",
                    BLOCKER,
                    "DRS no longer knows this source server",
                    f"{DESCRIBE} {where}",
                    "re-install the replication agent, or take the server out of the manifest",
                )
            )
            continue
        if judge:
            found.append(replication_finding(resource, server, params, where))
        else:
            found.append(
                resource_finding(
                    resource,
                    "replication",
                    READY,
                    f"not judged for a {ctx.operation}: the recovery instances' reverse "
                    "replication is its precondition",
                    f"{DESCRIBE} {where}",
                )
            )
        alive.append(resource)
    found += launch_template_findings(ctx, alive, where)
    order = {r.id: i for i, r in enumerate(resources)}
    return sorted(found, key=lambda f: order[f.resource])  # stable: replication first


def exclusion_findings(
    ctx: AccountContext, excluded: Sequence[Mapping[str, Any]], default: list[Finding]
) -> list[Finding]:
    """Servers left out for their replication: BLOCKERs for a failover or drill (described
    again, so the finding is current); the other exclusions keep ``default``'s WARNINGs."""
    if ctx.operation not in JUDGES_REPLICATION:
        return default
    broken = [
        Resource.from_dict(x, ctx.account_id)
        for x in excluded
        if any(str(r).startswith("replication is") for r in x.get("reasons", []))
    ]
    if not broken:
        return default
    ids = {r.id for r in broken}
    live = _servers(ctx, ctx.client("drs"), sorted(ids))
    where = f"in {ctx.account_id} ({ctx.region})"
    found = [f for f in default if f.resource not in ids]
    for resource in broken:
        server = live.get(resource.id)
        if server is None:
            continue  # gone since discovery: nothing left to recover
        finding = replication_finding(resource, server, {}, where)
        if finding.result == READY:  # recovered since discovery: not in this run's plan
            finding = resource_finding(
                resource,
                "replication",
                WARNING,
                "healthy again, but discovery left it out of this plan",
                finding.call,
                "run discovery again (a new execution) to include it",
            )
        found.append(finding)
    return found
