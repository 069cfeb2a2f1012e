"""Readiness of a staging account for DRS recovery: `accounts verify` and the readiness check."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import Finding, Probe, error_code, error_message

PROBES: tuple[Probe, ...] = (
    Probe("drs:DescribeSourceServers", "drs", "describe_source_servers", {"maxResults": 1}),
    Probe("drs:DescribeJobs", "drs", "describe_jobs", {"maxResults": 1}),
    Probe("drs:DescribeRecoveryInstances", "drs", "describe_recovery_instances", {}),
    Probe(
        "drs:DescribeLaunchConfigurationTemplates", "drs", "describe_launch_configuration_templates"
    ),
    Probe("ec2:DescribeInstances", "ec2", "describe_instances", {"MaxResults": 5}),
    Probe("ec2:DescribeLaunchTemplates", "ec2", "describe_launch_templates", {}),
    Probe("ec2:DescribeSubnets", "ec2", "describe_subnets", {}),
)

_TEMPLATES = (
    (
        "DRS replication template",
        "describe_replication_configuration_templates",
        "replication configuration template",
        "replicationConfigurationTemplateID",
    ),
    (
        "DRS launch template",
        "describe_launch_configuration_templates",
        "launch configuration template",
        "launchConfigurationTemplateID",
    ),
)


def _describe(error: ClientError) -> str:
    return f"{error_code(error) or 'Error'}: {error_message(error)}"


def readiness(session: Any, account_id: str, region: str) -> list[Finding]:
    """DRS initialised in the recovery region, and its replication and launch templates."""
    drs = session.client("drs", region_name=region)
    try:
        drs.describe_source_servers(maxResults=1)
    except ClientError as exc:
        if error_code(exc) == "UninitializedAccountException":
            first = Finding(
                "DRS initialised",
                "FAIL",
                f"DRS is not initialised in {region} ({_describe(exc)})",
                f"initialise it: `aws drs initialize-service --region {region}` in the "
                "account, or open the DRS console there once",
            )
        else:
            first = Finding(
                "DRS initialised",
                "FAIL",
                f"could not ask DRS in {region}: {_describe(exc)}",
                "grant drs:DescribeSourceServers to the execution role",
            )
        return [first] + [Finding(c[0], "SKIP", "DRS is not reachable") for c in _TEMPLATES]
    found = [Finding("DRS initialised", "OK", f"in {region}")]
    for check, operation, what, id_key in _TEMPLATES:
        try:
            items = getattr(drs, operation)()["items"]
        except ClientError as exc:
            found.append(
                Finding(check, "FAIL", f"could not list: {_describe(exc)}", "grant the read")
            )
            continue
        if items:
            found.append(Finding(check, "OK", ", ".join(i.get(id_key, "?") for i in items)))
        else:
            found.append(
                Finding(
                    check,
                    "FAIL",
                    f"no DRS {what} in {region}",
                    "deploy the staging stack (`pulumi up`): it creates the DRS templates",
                )
            )
    return found
