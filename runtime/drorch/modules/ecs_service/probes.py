"""Readiness of ECS services in a staging account's recovery region."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import (
    BLOCKER,
    READY,
    WARNING,
    AccountContext,
    Finding,
    Probe,
    Resource,
    error_code,
    error_message,
    resource_finding,
)

PROBES = (Probe("ecs:ListClusters", "ecs", "list_clusters", {"maxResults": 10}),)
MAX_CLUSTERS = 20  # readiness looks at this many clusters at most
DESCRIBE_BATCH = 10  # DescribeServices takes 10 services at most


def readiness(session: Any, account_id: str, region: str) -> list[Finding]:
    """One finding per cluster with services: how many services, and which of them
    are not steady now (a standby that cannot reach a steady state will not scale)."""
    client = session.client("ecs", region_name=region)
    found: list[Finding] = []
    try:
        clusters = client.list_clusters(maxResults=MAX_CLUSTERS).get("clusterArns", [])
        for arn in clusters:
            cluster = arn.rsplit("/", 1)[-1]
            names = client.list_services(cluster=cluster, maxResults=10).get("serviceArns", [])
            if not names:
                continue
            services = client.describe_services(cluster=cluster, services=names)["services"]
            unsteady = [
                s["serviceName"]
                for s in services
                if s["runningCount"] != s["desiredCount"] or s.get("pendingCount")
            ]
            standby = sum(1 for s in services if s["desiredCount"] == 0)
            text = f"{len(services)} service(s), {standby} at 0 tasks (pilot light)"
            if unsteady:
                found.append(
                    Finding(
                        f"ECS {cluster}",
                        "WARNING",
                        f"{text}; not steady: {', '.join(sorted(unsteady))}",
                        "look at the services' events: tasks that cannot start now will not "
                        "start in a failover either",
                    )
                )
            else:
                found.append(Finding(f"ECS {cluster}", "OK", text))
    except ClientError as error:
        return [
            Finding(
                "ECS services",
                "FAIL",
                f"could not read ECS in {region}: {error_code(error)}: {error_message(error)}",
                "grant ecs:ListClusters, ecs:ListServices and ecs:DescribeServices",
            )
        ]
    return found or [Finding("ECS services", "SKIP", f"no ECS service in {region}")]


# --- per resource (drorch readiness: the plan's services) ------------------------------------
def service_findings(ctx: AccountContext, resources: Sequence[Resource]) -> list[Finding]:
    """Each of the plan's services (``<cluster>/<service>``): its cluster ACTIVE
    (``DescribeClusters``), the service ACTIVE and steady (``DescribeServices``), and the task
    definition it runs registered in the recovery region (``DescribeTaskDefinition``): a
    scale-out starts tasks of that revision, so a missing one is a BLOCKER."""
    client = ctx.client("ecs")
    where = f"in {ctx.account_id} ({ctx.region})"
    by_cluster: dict[str, list[Resource]] = {}
    for resource in resources:
        by_cluster.setdefault(resource.id.partition("/")[0], []).append(resource)
    found: list[Finding] = []
    clusters = {
        c["clusterName"]: c
        for c in client.describe_clusters(clusters=sorted(by_cluster)).get("clusters", [])
    }
    definitions: dict[str, dict[str, Any] | None] = {}
    for cluster, members in sorted(by_cluster.items()):
        state = clusters.get(cluster, {}).get("status", "missing")
        if state != "ACTIVE":
            call = f"ecs:DescribeClusters {cluster} {where}"
            found += [
                resource_finding(
                    r, "cluster", BLOCKER, f"cluster {cluster} is {state}", call,
                    "create the cluster in the recovery region (or fix the selector)",
                )
                for r in members
            ]  # fmt: skip
            continue
        live: dict[str, dict[str, Any]] = {}
        for part in range(0, len(members), DESCRIBE_BATCH):
            names = [r.id.partition("/")[2] for r in members[part : part + DESCRIBE_BATCH]]
            answer = client.describe_services(cluster=cluster, services=names)
            live.update({s["serviceName"]: s for s in answer.get("services", [])})
        for resource in members:
            service = live.get(resource.id.partition("/")[2])
            call = f"ecs:DescribeServices {resource.id} {where}"
            found.append(_service_finding(resource, service, call))
            if service is None or service.get("status") != "ACTIVE":
                continue
            arn = service["taskDefinition"]
            if arn not in definitions:
                definitions[arn] = _task_definition(client, arn)
            found.append(_definition_finding(resource, arn, definitions[arn], where))
    return found


def _service_finding(resource: Resource, service: dict[str, Any] | None, call: str) -> Finding:
    if service is None or service.get("status") != "ACTIVE":
        state = "missing" if service is None else service.get("status")
        return resource_finding(
            resource, "service", BLOCKER, f"the service is {state}", call,
            "create the standby service in the recovery region (or fix the selector)",
        )  # fmt: skip
    counts = (
        f"desired {service['desiredCount']}, running {service['runningCount']}, "
        f"pending {service.get('pendingCount', 0)}"
    )
    failed = [d for d in service.get("deployments", []) if d.get("rolloutState") == "FAILED"]
    if failed:
        return resource_finding(
            resource, "service", WARNING,
            f"{counts}; rollout FAILED: {failed[0].get('rolloutStateReason', '')}".strip(), call,
            "look at the service's events: tasks that cannot start now will not start in a "
            "failover either",
        )  # fmt: skip
    return resource_finding(resource, "service", READY, f"ACTIVE; {counts}", call)


def _task_definition(client: Any, arn: str) -> dict[str, Any] | None:
    try:
        return client.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    except ClientError as error:
        if error_code(error) in ("ClientException", "InvalidParameterException"):
            return None  # ECS answers an unknown revision with a ClientException
        raise


def _definition_finding(
    resource: Resource, arn: str, definition: dict[str, Any] | None, where: str
) -> Finding:
    name = arn.rsplit("/", 1)[-1]
    call = f"ecs:DescribeTaskDefinition {name} {where}"
    state = "not registered" if definition is None else str(definition.get("status"))
    if state == "ACTIVE":
        return resource_finding(resource, "task definition", READY, f"{name} ACTIVE", call)
    if state == "INACTIVE":  # deregistered: the service still scales with it
        return resource_finding(
            resource, "task definition", WARNING, f"{name} is INACTIVE (deregistered)", call,
            "register the revision again, or point the service at an ACTIVE one",
        )  # fmt: skip
    return resource_finding(
        resource, "task definition", BLOCKER, f"{name} is {state} in the recovery region", call,
        "register the task definition in the recovery region",
    )  # fmt: skip
