"""Readiness of OpenSearch Service domains in a staging account's recovery region."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import Finding, Probe, error_code, error_message

PROBES = (
    Probe("es:ListDomainNames", "opensearch", "list_domain_names", {}),
    Probe("es:DescribeOutboundConnections", "opensearch", "describe_outbound_connections", {}),
)
MAX_DOMAINS = 50  # readiness looks at this many domains at most
BATCH = 5  # DescribeDomains takes at most 5 names


def readiness(session: Any, account_id: str, region: str) -> list[Finding]:
    """One finding per domain in the recovery region: not processing a change, and for a
    follower (a domain with an outbound connection) its connection ACTIVE."""
    client = session.client("opensearch", region_name=region)
    try:
        names = [d["DomainName"] for d in client.list_domain_names().get("DomainNames", [])]
        connections = client.describe_outbound_connections().get("Connections", [])
    except ClientError as error:
        return [
            Finding(
                "OpenSearch domains",
                "FAIL",
                f"could not list domains in {region}: {error_code(error)}: {error_message(error)}",
                "grant es:ListDomainNames and es:DescribeOutboundConnections to the execution role",
            )
        ]
    found = []
    names = sorted(names)[:MAX_DOMAINS]
    for start in range(0, len(names), BATCH):
        try:
            batch = client.describe_domains(DomainNames=names[start : start + BATCH])
        except ClientError as error:
            found.append(
                Finding(
                    "OpenSearch domains",
                    "FAIL",
                    f"{error_code(error)}: {error_message(error)}",
                    "grant es:DescribeDomains",
                )
            )
            continue
        for domain in batch.get("DomainStatusList", []):
            found.append(_finding(domain, connections))
    if not found:
        return [Finding("OpenSearch domains", "SKIP", f"no OpenSearch domain in {region}")]
    return found


def _finding(domain: dict[str, Any], connections: list[dict[str, Any]]) -> Finding:
    name = domain["DomainName"]
    check = f"OpenSearch {name}"
    cluster = domain.get("ClusterConfig") or {}
    state = f"{cluster.get('InstanceType')} x {cluster.get('InstanceCount')}"
    mine = [
        c
        for c in connections
        if c["LocalDomainInfo"]["AWSDomainInformation"]["DomainName"] == name
        and c["ConnectionStatus"]["StatusCode"] not in ("DELETED", "REJECTED")
    ]
    if domain.get("Processing"):
        return Finding(check, "WARNING", f"{state}; a change is in progress", "wait for it")
    if mine:
        statuses = ", ".join(
            f"{c['ConnectionId']} {c['ConnectionStatus']['StatusCode']}" for c in mine
        )
        if any(c["ConnectionStatus"]["StatusCode"] != "ACTIVE" for c in mine):
            return Finding(check, "FAIL", f"{state}; follower: {statuses}", "repair the connection")
        return Finding(check, "OK", f"{state}; follower: {statuses}")
    return Finding(check, "OK", state)
