"""Readiness of ECS services in a staging account's recovery region."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import Finding, Probe, error_code, error_message

PROBES = (Probe("ecs:ListClusters", "ecs", "list_clusters", {"maxResults": 10}),)
MAX_CLUSTERS = 20  # readiness looks at this many clusters at most


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
