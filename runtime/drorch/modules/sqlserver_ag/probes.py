"""Readiness of the SQL Server AG replicas in a staging account (``accounts verify``).

``readiness`` cannot wait for a Run Command (modules never sleep), so it reports the
last AG state the module read on each replica (a drill, INSTANTIATE or a failover
prints it), with its age; a replica never read is a warning that says how to read it.
The synchronisation state itself is SQL Server's answer to the module's read-only
query of ``sys.dm_hadr_database_replica_states`` (:mod:`.scripts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import Finding, Probe, error_code, error_message
from drorch.modules.sqlserver_ag.iam import DOCUMENT
from drorch.modules.sqlserver_ag.scripts import (
    OUTPUT_PREFIX,
    databases_behind,
    max_lag,
    parse_output,
    planned_ready,
)
from drorch.names import TAG_STRATEGY

STRATEGY = "sql-ag"
AG_TAG = "dr:sql-availability-group"
LOOKBACK = 20  # invocations per instance searched for the last reading

PROBES: tuple[Probe, ...] = (
    Probe("ec2:DescribeInstances", "ec2", "describe_instances", {"MaxResults": 5}),
    Probe("ssm:ListCommands", "ssm", "list_commands", {"MaxResults": 1}),
    Probe("ssm:ListCommandInvocations", "ssm", "list_command_invocations", {"MaxResults": 1}),
)


def assess(state: Mapping[str, Any]) -> tuple[str, str]:
    """(OK | WARNING | FAIL, why) for one AG state read on the recovery replica."""
    ag, role = state.get("ag"), state.get("role")
    lag = max_lag(state)
    lag_text = f"; lag {lag} s" if lag is not None else ""
    if role == "PRIMARY":
        return "OK", f"{ag}: this replica is already PRIMARY"
    suspended = [d.get("name") for d in state.get("databases") or [] if d.get("suspended")]
    behind = databases_behind(state)
    if (
        state.get("health") not in (None, "HEALTHY")
        or suspended
        or any("NOT SYNCHRONIZING" in b for b in behind)
    ):
        why = ", ".join(behind) or state.get("health")
        return "FAIL", (
            f"{ag}: the replica is not receiving data ({why}"
            + (f"; suspended: {', '.join(map(str, suspended))}" if suspended else "")
            + ")"
        )
    if planned_ready(state):
        return "OK", f"{ag}: SECONDARY, SYNCHRONOUS_COMMIT, every database SYNCHRONIZED"
    return "WARNING", (
        f"{ag}: {state.get('availabilityMode')}, {', '.join(behind)}{lag_text}: a planned "
        "failover is refused; allowDataLoss: true forces one and loses what is not received"
    )


def last_reading(ssm: Any, instance_id: str) -> tuple[str, dict[str, dict[str, Any]]] | None:
    """(when, AG states) of the newest successful sqlserver-ag script on the instance."""
    answer = ssm.list_command_invocations(InstanceId=instance_id, Details=True, MaxResults=LOOKBACK)
    for item in answer.get("CommandInvocations", []):
        if item.get("DocumentName") != DOCUMENT or item.get("Status") != "Success":
            continue
        output = "".join(p.get("Output") or "" for p in item.get("CommandPlugins") or [])
        if OUTPUT_PREFIX not in output:
            continue
        reading = parse_output(output)
        states = reading.after or reading.before
        if states:
            return str(item.get("RequestedDateTime", "")), states
    return None


def readiness(session: Any, account_id: str, region: str) -> list[Finding]:
    check = "SQL Server AG replicas"
    ec2 = session.client("ec2", region_name=region)
    ssm = session.client("ssm", region_name=region)
    try:
        reservations = ec2.describe_instances(
            Filters=[
                {"Name": f"tag:{TAG_STRATEGY}", "Values": [STRATEGY]},
                {"Name": "instance-state-name", "Values": ["pending", "running", "stopped"]},
            ]
        )["Reservations"]
    except ClientError as exc:
        return [
            Finding(
                check,
                "FAIL",
                f"could not list instances: {error_code(exc)}: {error_message(exc)}",
                "grant ec2:DescribeInstances to the execution role",
            )
        ]
    instances = [i for r in reservations for i in r.get("Instances", [])]
    if not instances:
        return [
            Finding(
                check,
                "WARNING",
                f"no EC2 instance tagged {TAG_STRATEGY}={STRATEGY} in {region}",
                "tag the recovery region's secondary replica instance, or remove "
                "sqlserver-ag from the account's modules",
            )
        ]
    found: list[Finding] = []
    for instance in sorted(instances, key=lambda i: i["InstanceId"]):
        instance_id = instance["InstanceId"]
        tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
        label = f"{check}: {tags.get('Name', instance_id)}"
        if instance.get("State", {}).get("Name") != "running":
            found.append(
                Finding(
                    label,
                    "FAIL",
                    f"{instance_id} is {instance.get('State', {}).get('Name')}: Run Command "
                    "cannot reach its SQL Server",
                    "start the instance",
                )
            )
            continue
        try:
            reading = last_reading(ssm, instance_id)
        except ClientError as exc:
            found.append(
                Finding(
                    label,
                    "FAIL",
                    f"could not read Run Command results: {error_code(exc)}",
                    "grant ssm:ListCommandInvocations to the execution role",
                )
            )
            continue
        if reading is None:
            found.append(
                Finding(
                    label,
                    "WARNING",
                    f"{instance_id}: the availability group state was never read",
                    "run a drill (`drorch execute --operation drill`): it reads the AG "
                    "state with a read-only query",
                )
            )
            continue
        when, states = reading
        for state in states.values():
            result, detail = assess(state)
            found.append(
                Finding(label, result, f"{detail} (read {when})", _fix(result)),
            )
    return found


def _fix(result: str) -> str:
    if result == "FAIL":
        return "resume data movement (ALTER DATABASE ... SET HADR RESUME) and check the AG"
    if result == "WARNING":
        return "switch the replica to SYNCHRONOUS_COMMIT before a planned failover"
    return ""
