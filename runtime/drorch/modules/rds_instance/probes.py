"""Readiness of an account's RDS read replicas: `accounts verify` and `readiness`."""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import AccountContext, Finding, Probe, error_code, error_message
from drorch.modules.rds_instance.common import latest_metric

PROBES: tuple[Probe, ...] = (
    Probe("rds:DescribeDBInstances", "rds", "describe_db_instances", {"MaxRecords": 20}),
)
LAG_WARNING_SECONDS = 60.0


def readiness(session: Any, account_id: str, region: str) -> list[Finding]:
    """Each cross-region read replica in ``region``: available and how far behind it is."""
    rds = session.client("rds", region_name=region)
    try:
        instances = [
            i
            for page in rds.get_paginator("describe_db_instances").paginate()
            for i in page.get("DBInstances", [])
        ]
    except ClientError as exc:
        return [
            Finding(
                "RDS read replicas",
                "FAIL",
                f"could not list DB instances in {region}: {error_code(exc)}: {error_message(exc)}",
                "grant rds:DescribeDBInstances to the execution role",
            )
        ]
    replicas = [i for i in instances if i.get("ReadReplicaSourceDBInstanceIdentifier")]
    if not replicas:
        return [Finding("RDS read replicas", "SKIP", f"no read replica in {region}")]
    # a readiness check is not a phase: it reads the lag as of now
    ctx = AccountContext(session=session, account_id=account_id, region=region, now=time.time())
    cloudwatch = session.client("cloudwatch", region_name=region)
    found = []
    for replica in replicas:
        name = replica["DBInstanceIdentifier"]
        check = f"RDS replica {name} of {replica['ReadReplicaSourceDBInstanceIdentifier']}"
        if replica["DBInstanceStatus"] != "available":
            found.append(Finding(check, "FAIL", f"status {replica['DBInstanceStatus']}"))
            continue
        lag = latest_metric(
            ctx, cloudwatch, "ReplicaLag", [[{"Name": "DBInstanceIdentifier", "Value": name}]]
        )
        if lag is None:
            found.append(Finding(check, "OK", "available; no ReplicaLag datapoint"))
        elif lag[0] > LAG_WARNING_SECONDS:
            found.append(
                Finding(
                    check,
                    "WARNING",
                    f"replica lag {lag[0]:.0f} s at {lag[1]}",
                    "a promotion now would lose that much; find out why replication is behind",
                )
            )
        else:
            found.append(Finding(check, "OK", f"available, lag {lag[0]:.1f} s"))
    return found
