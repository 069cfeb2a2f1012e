"""Readiness of DynamoDB global tables in a staging account's recovery region."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import Finding, Probe, error_code, error_message

PROBES = (Probe("dynamodb:ListTables", "dynamodb", "list_tables", {"Limit": 10}),)
MAX_TABLES = 100  # readiness looks at this many tables at most


def readiness(session: Any, account_id: str, region: str) -> list[Finding]:
    """One finding per global-table replica in the recovery region: ACTIVE, its other
    replicas ACTIVE, and point-in-time recovery on (what a drill's restore needs)."""
    from drorch.modules.dynamodb_global.iam import DRILL_PREFIX

    client = session.client("dynamodb", region_name=region)
    try:
        names = client.list_tables(Limit=MAX_TABLES).get("TableNames", [])
    except ClientError as error:
        return [
            Finding(
                "DynamoDB global tables",
                "FAIL",
                f"could not list tables in {region}: {error_code(error)}: {error_message(error)}",
                "grant dynamodb:ListTables to the execution role",
            )
        ]
    found = []
    for name in names:
        if name.startswith(DRILL_PREFIX):
            continue
        check = f"DynamoDB {name}"
        try:
            table = client.describe_table(TableName=name)["Table"]
            if not table.get("Replicas"):
                continue
            backups = client.describe_continuous_backups(TableName=name)
        except ClientError as error:
            found.append(
                Finding(
                    check, "FAIL", f"{error_code(error)}: {error_message(error)}", "grant the read"
                )
            )
            continue
        replicas = {r["RegionName"]: r.get("ReplicaStatus", "") for r in table["Replicas"]}
        state = f"{table['TableStatus']}; replicas " + ", ".join(
            f"{r} {s}" for r, s in sorted(replicas.items())
        )
        pitr = backups["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
        if table["TableStatus"] != "ACTIVE" or any(s != "ACTIVE" for s in replicas.values()):
            found.append(Finding(check, "FAIL", state, "wait for the replicas, or repair them"))
        elif pitr.get("PointInTimeRecoveryStatus") != "ENABLED":
            found.append(
                Finding(
                    check,
                    "WARNING",
                    f"{state}; point-in-time recovery is off here",
                    "turn it on for this replica, or a drill cannot restore a copy of it",
                )
            )
        else:
            found.append(Finding(check, "OK", state))
    if not found:
        return [Finding("DynamoDB global tables", "SKIP", f"no global table replica in {region}")]
    return found
