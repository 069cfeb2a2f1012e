"""Readiness of ElastiCache global datastores in a staging account's recovery region."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import Finding, Probe, error_code, error_message

PROBES = (
    Probe(
        "elasticache:DescribeReplicationGroups",
        "elasticache",
        "describe_replication_groups",
        {"MaxRecords": 20},
    ),
    Probe(
        "elasticache:DescribeGlobalReplicationGroups",
        "elasticache",
        "describe_global_replication_groups",
        {"MaxRecords": 20},
    ),
)


def readiness(session: Any, account_id: str, region: str) -> list[Finding]:
    """One finding per recovery-region member of a global datastore: available, associated
    and its role. (The lag is a metric read over a time window, and readiness has no engine
    clock: ACTIVATE and the drill report it.)"""
    from drorch.modules.elasticache_global.adapter import datastore_of

    client = session.client("elasticache", region_name=region)
    try:
        pages = client.get_paginator("describe_replication_groups").paginate()
        groups = [g for page in pages for g in page["ReplicationGroups"]]
    except ClientError as error:
        return [
            Finding(
                "ElastiCache global datastores",
                "FAIL",
                f"could not list replication groups in {region}: {error_code(error)}: "
                f"{error_message(error)}",
                "grant elasticache:DescribeReplicationGroups to the execution role",
            )
        ]
    members = [g for g in groups if datastore_of(g)[0]]
    if not members:
        return [Finding("ElastiCache global datastores", "SKIP", f"no member in {region}")]
    found = []
    for group in members:
        datastore_id, role = datastore_of(group)
        check = f"ElastiCache {group['ReplicationGroupId']} ({datastore_id})"
        try:
            datastore = client.describe_global_replication_groups(
                GlobalReplicationGroupId=datastore_id, ShowMemberInfo=True
            )["GlobalReplicationGroups"][0]
        except ClientError as error:
            found.append(
                Finding(
                    check, "FAIL", f"{error_code(error)}: {error_message(error)}", "grant the read"
                )
            )
            continue
        member = next(
            (
                m
                for m in datastore.get("Members") or []
                if m["ReplicationGroupId"] == group["ReplicationGroupId"]
                and m["ReplicationGroupRegion"] == region
            ),
            {},
        )
        state = f"{role}, {member.get('Status', '?')}, datastore {datastore['Status']}"
        if datastore["Status"] != "available" or member.get("Status") != "associated":
            found.append(Finding(check, "FAIL", state, "wait for the datastore, or repair it"))
        elif role != "SECONDARY":
            found.append(
                Finding(check, "WARNING", state, "the recovery region already holds the primary")
            )
        else:
            found.append(Finding(check, "OK", state))
    return found
