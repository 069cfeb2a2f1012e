"""IAM policy documents as plain data: statements, documents, and the permissions each
drorch component needs.

Every document here names its actions one by one (never ``*`` or ``service:*`` in an
Allow) and scopes write actions to ARNs. The few actions AWS only authorises on
``Resource: "*"`` are listed in :data:`STAR_ONLY_ACTIONS`, with why; the tests in
``tests/stacks`` hold every deployed document to these rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pulumi

from drorch import names

VERSION = "2012-10-17"

# Actions AWS authorises only on "*" (no resource-level permissions), and why drorch needs them.
STAR_ONLY_ACTIONS: dict[str, str] = {
    # X-Ray tracing of the Lambda functions and state machines
    "xray:PutTraceSegments": "X-Ray tracing",
    "xray:PutTelemetryRecords": "X-Ray tracing",
    "xray:GetSamplingRules": "X-Ray tracing",
    "xray:GetSamplingTargets": "X-Ray tracing",
    # Step Functions vended logs to CloudWatch Logs
    "logs:CreateLogDelivery": "state machine logging",
    "logs:GetLogDelivery": "state machine logging",
    "logs:UpdateLogDelivery": "state machine logging",
    "logs:DeleteLogDelivery": "state machine logging",
    "logs:ListLogDeliveries": "state machine logging",
    "logs:PutResourcePolicy": "state machine logging",
    "logs:DescribeResourcePolicies": "state machine logging",
    "logs:DescribeLogGroups": "state machine logging",
    # answering a gate's task token (operator and gate function)
    "states:SendTaskSuccess": "approve / reject a gate",
    "states:SendTaskFailure": "approve / reject a gate",
    "states:SendTaskHeartbeat": "keep a gate's token alive",
    "drs:ListTagsForResource": "DRS tags (selectors, recovery instances)",
    # reads without resource-level permissions, in staging accounts
    "drs:DescribeSourceServers": "DRS discovery",
    "drs:DescribeJobs": "DRS job tracking",
    "drs:DescribeRecoveryInstances": "DRS recovery instances",
    "drs:DescribeRecoverySnapshots": "DRS point-in-time choice",
    "drs:DescribeJobLogItems": "DRS job log",
    "drs:DescribeLaunchConfigurationTemplates": "staging readiness checks",
    "drs:DescribeReplicationConfigurationTemplates": "staging readiness checks",
    "resource-explorer-2:ListViews": "discovery",
    "resource-explorer-2:ListIndexes": "readiness checks",
    "resource-explorer-2:GetIndex": "readiness checks",
    "cloudformation:ListExports": "resolve:cfn-export: references",
    "ec2:DescribeInstances": "recovery instance details",
    "ec2:DescribeInstanceStatus": "recovery instance details",
    "ec2:DescribeInstanceTypes": "DRS launch",
    "ec2:DescribeInstanceAttribute": "DRS launch",
    "ec2:DescribeLaunchTemplates": "DRS launch settings",
    "ec2:DescribeLaunchTemplateVersions": "DRS launch settings",
    "ec2:DescribeSubnets": "DRS launch settings",
    "ec2:DescribeSecurityGroups": "DRS launch settings",
    "ec2:DescribeVolumes": "DRS launch",
    "ec2:DescribeSnapshots": "DRS launch",
    "ec2:DescribeImages": "DRS launch",
    "ec2:DescribeAvailabilityZones": "DRS launch",
    "ec2:DescribeAccountAttributes": "DRS launch",
}

READ_PREFIXES = ("Describe", "Get", "List", "Search", "Query", "Scan", "BatchGet")


def is_read(action: str) -> bool:
    """Whether an IAM action only reads (by its verb)."""
    _, _, verb = action.partition(":")
    return verb.startswith(READ_PREFIXES)


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[Any] | Any,
    *,
    effect: str = "Allow",
    condition: Mapping[str, Any] | None = None,
    principal: Any = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"Sid": sid, "Effect": effect}
    if principal is not None:
        body["Principal"] = principal
    body["Action"] = sorted(set(actions))
    body["Resource"] = resources
    if condition:
        body["Condition"] = dict(condition)
    return body


def document(statements: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": [dict(s) for s in statements]}


# IAM's size limits, in characters not counting white space (IAM and STS quotas):
MANAGED_POLICY_LIMIT = 6144  # one customer managed policy
INLINE_POLICIES_LIMIT = 10240  # all the inline policies of one role together
MANAGED_POLICIES_PER_ROLE = 10  # attached to one role (the default quota; adjustable)


def policy_size(doc: Any) -> int:
    """A policy's size as IAM counts it: its JSON without white space."""
    text = doc if isinstance(doc, str) else json.dumps(doc, sort_keys=True)
    return sum(1 for c in text if not c.isspace())


def _split(statement: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """A statement too big for one document as statements of fewer actions each."""
    body = dict(statement)
    if policy_size(document([body])) <= limit:
        return [body]
    actions = body["Action"] if isinstance(body["Action"], list) else [body["Action"]]
    if len(actions) < 2:
        raise ValueError(
            f"IAM statement {body.get('Sid', '?')} is larger than {limit} characters on its own"
        )
    half = len(actions) // 2
    parts = []
    for n, chunk in enumerate((actions[:half], actions[half:]), 1):
        part = {**body, "Action": chunk}
        if "Sid" in body:
            part["Sid"] = f"{body['Sid']}{n}"
        parts.extend(_split(part, limit))
    return parts


def pack(
    statements: Iterable[Mapping[str, Any]], limit: int = MANAGED_POLICY_LIMIT
) -> list[dict[str, Any]]:
    """Statements as few documents as fit, each within ``limit`` characters (first fit, in
    order, so a deployment's documents change only where its statements do)."""
    documents: list[list[dict[str, Any]]] = []
    for statement in statements:
        for part in _split(statement, limit):
            for held in documents:
                if policy_size(document([*held, part])) <= limit:
                    held.append(part)
                    break
            else:
                documents.append([part])
    return [document(held) for held in documents]


def to_json(doc: Any) -> pulumi.Output[str]:
    """A document that may hold Outputs, as a JSON Output (sorted keys: stable diffs)."""
    return pulumi.Output.from_input(doc).apply(lambda d: json.dumps(d, sort_keys=True))


def trust(service: str | Sequence[str], condition: Mapping[str, Any] | None = None) -> dict:
    services = [service] if isinstance(service, str) else list(service)
    return document(
        [
            {
                "Effect": "Allow",
                "Principal": {"Service": services if len(services) > 1 else services[0]},
                "Action": "sts:AssumeRole",
                **({"Condition": dict(condition)} if condition else {}),
            }
        ]
    )


# --- ARNs ------------------------------------------------------------------------------------
class Arns:
    """ARNs in one account and region (the hub's, or a staging account's)."""

    def __init__(self, account_id: str, region: str, partition: str = "aws") -> None:
        self.account, self.region, self.partition = account_id, region, partition

    def table(self, name: str) -> str:
        return f"arn:{self.partition}:dynamodb:{self.region}:{self.account}:table/{name}"

    def table_indexes(self, name: str) -> str:
        return f"{self.table(name)}/index/*"

    def bucket(self, name: str) -> str:
        return f"arn:{self.partition}:s3:::{name}"

    def objects(self, name: str, prefix: str = "") -> str:
        return f"arn:{self.partition}:s3:::{name}/{prefix}*"

    def function(self, key: str) -> str:
        return names.function_arn(self.account, self.region, key, self.partition)

    def state_machine(self, key: str) -> str:
        return names.state_machine_arn(self.account, self.region, key, self.partition)

    def executions(self, key: str) -> str:
        return (
            f"arn:{self.partition}:states:{self.region}:{self.account}:execution:"
            f"{names.STATE_MACHINES[key]}:*"
        )

    def event_bus(self, name: str = names.EVENT_BUS) -> str:
        return f"arn:{self.partition}:events:{self.region}:{self.account}:event-bus/{name}"

    def queue(self, name: str) -> str:
        return f"arn:{self.partition}:sqs:{self.region}:{self.account}:{name}"

    def rule(self, name: str) -> str:
        return f"arn:{self.partition}:events:{self.region}:{self.account}:rule/{name}"

    def log_group(self, name: str) -> str:
        return f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:{name}"

    def role(self, name: str) -> str:
        return names.role_arn(self.account, name, self.partition)

    def service(self, service: str) -> str:
        return f"{service}.{self.region}.amazonaws.com"
