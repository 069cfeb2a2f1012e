"""What each drorch component may do, derived from what its code calls.

* Hub Lambda functions: :data:`FUNCTION_NEEDS` maps each handler to the stores it
  touches (read from ``drorch.engine.steps``/``executor``/``gates``/``events``).
* Staging execution role: :func:`module_statements` per module in use (the DRS
  module's calls in ``drorch.modules.drs``/``drs_jobs``, plus the EC2 actions
  ``drs:StartRecovery`` depends on), limited to the account's regions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from drorch import names
from stacks.policies import Arns, statement

# handler key -> what it needs
FUNCTION_NEEDS: dict[str, frozenset[str]] = {
    "initialise": frozenset({"manifest", "history", "lock", "events", "notify"}),
    "discover": frozenset({"manifest", "history", "artifacts", "staging"}),
    "plan": frozenset({"manifest", "history", "artifacts"}),
    "gate": frozenset({"history", "artifacts", "events", "notify"}),
    "checkpoint": frozenset({"history", "artifacts", "events", "notify"}),
    "module_start": frozenset({"history", "artifacts", "idempotency", "staging"}),
    "module_status": frozenset({"history", "artifacts", "events", "staging"}),
    "finalise": frozenset({"history", "artifacts", "lock", "events", "notify"}),
    "fail": frozenset({"history", "artifacts", "lock", "events", "notify"}),
}
STAGING_FUNCTIONS = tuple(k for k, needs in FUNCTION_NEEDS.items() if "staging" in needs)

HISTORY_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:Query",
    "dynamodb:BatchWriteItem",
)
LOCK_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
IDEMPOTENCY_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)
ARTIFACTS_PREFIX = "executions/"
MANIFEST_PREFIX = "manifests/"


def function_statements(
    key: str,
    hub: Arns,
    *,
    manifest_bucket: str,
    artifacts_bucket: str,
    kms_key_arn: Any,
    topic_arn: Any,
    log_group_arn: Any,
    staging_role_arns: Sequence[str],
    extra_topic_arns: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The inline policy statements of one function's role (values may be Outputs)."""
    needs = FUNCTION_NEEDS[key]
    found: list[dict[str, Any]] = [
        statement(
            "OwnLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [pulumi.Output.concat(log_group_arn, ":*")],
        ),
        statement(
            "Tracing",
            ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "*",
        ),
    ]
    via = [hub.service("dynamodb")]
    if "manifest" in needs:
        via.append(hub.service("s3"))
        found.append(
            statement(
                "ReadManifests",
                ["s3:GetObject", "s3:GetObjectVersion"],
                [hub.objects(manifest_bucket, MANIFEST_PREFIX)],
            )
        )
    if "artifacts" in needs:
        via.append(hub.service("s3"))
        found.append(
            statement(
                "ExecutionArtifacts",
                ["s3:GetObject", "s3:PutObject"],
                [hub.objects(artifacts_bucket, ARTIFACTS_PREFIX)],
            )
        )
        found.append(  # so a missing key is NoSuchKey, not AccessDenied
            statement(
                "ListExecutionArtifacts",
                ["s3:ListBucket"],
                [hub.bucket(artifacts_bucket)],
                condition={"StringLike": {"s3:prefix": [f"{ARTIFACTS_PREFIX}*"]}},
            )
        )
    if "history" in needs:
        found.append(
            statement(
                "History",
                HISTORY_ACTIONS,
                [hub.table(names.HISTORY_TABLE), hub.table_indexes(names.HISTORY_TABLE)],
            )
        )
    if "lock" in needs:
        found.append(statement("ApplicationLock", LOCK_ACTIONS, [hub.table(names.LOCK_TABLE)]))
    if "idempotency" in needs:
        found.append(
            statement("Idempotency", IDEMPOTENCY_ACTIONS, [hub.table(names.IDEMPOTENCY_TABLE)])
        )
    if "events" in needs:
        found.append(statement("Events", ["events:PutEvents"], [hub.event_bus()]))
    if "notify" in needs:
        via.append(hub.service("sns"))
        found.append(
            statement("Notify", ["sns:Publish"], [topic_arn, *sorted(set(extra_topic_arns))])
        )
    if "staging" in needs and staging_role_arns:
        found.append(
            statement("StagingAccounts", ["sts:AssumeRole"], sorted(set(staging_role_arns)))
        )
    found.append(
        statement(
            "HubKey",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            [kms_key_arn],
            condition={"StringEquals": {"kms:ViaService": sorted(set(via))}},
        )
    )
    return found


# --- staging accounts -------------------------------------------------------------------------
DRS_READS = (
    "drs:DescribeSourceServers",
    "drs:DescribeJobs",
    "drs:DescribeJobLogItems",
    "drs:DescribeRecoveryInstances",
    "drs:DescribeRecoverySnapshots",
    "drs:DescribeLaunchConfigurationTemplates",
    "drs:DescribeReplicationConfigurationTemplates",
)
DRS_RESOURCE_READS = (
    "drs:GetLaunchConfiguration",
    "drs:GetReplicationConfiguration",
    "drs:ListTagsForResource",
)
# what drs:StartRecovery depends on (Service Authorization Reference, "Dependent actions")
EC2_READS = (
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceStatus",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeInstanceAttribute",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVolumes",
    "ec2:DescribeSnapshots",
    "ec2:DescribeImages",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeAccountAttributes",
)
EC2_LAUNCH_WRITES = (
    "ec2:RunInstances",
    "ec2:StartInstances",
    "ec2:StopInstances",
    "ec2:TerminateInstances",
    "ec2:ModifyInstanceAttribute",
    "ec2:CreateVolume",
    "ec2:AttachVolume",
    "ec2:DetachVolume",
    "ec2:DeleteVolume",
    "ec2:CreateSnapshot",
    "ec2:DeleteSnapshot",
    "ec2:CreateTags",
    "ec2:CreateLaunchTemplate",
    "ec2:CreateLaunchTemplateVersion",
    "ec2:ModifyLaunchTemplate",
    "ec2:CreateSecurityGroup",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupEgress",
)
EC2_RESOURCE_TYPES = (
    "instance",
    "volume",
    "snapshot",
    "launch-template",
    "security-group",
    "subnet",
    "network-interface",
    "vpc",
)


def _in_regions(regions: Sequence[str]) -> dict[str, Any]:
    return {"StringEquals": {"aws:RequestedRegion": sorted(set(regions))}}


def drs_statements(account_id: str, regions: Sequence[str]) -> list[dict[str, Any]]:
    regions = sorted(set(regions))
    part = "aws"

    def drs(kind: str) -> list[str]:
        return [f"arn:{part}:drs:{r}:{account_id}:{kind}/*" for r in regions]

    ec2 = [f"arn:{part}:ec2:{r}:{account_id}:{t}/*" for r in regions for t in EC2_RESOURCE_TYPES]
    images = [f"arn:{part}:ec2:{r}::image/*" for r in regions] + [
        f"arn:{part}:ec2:{r}:{account_id}:image/*" for r in regions
    ]
    return [
        statement("DrsRead", DRS_READS, "*", condition=_in_regions(regions)),
        statement(
            "DrsResourceRead",
            DRS_RESOURCE_READS,
            drs("source-server") + drs("recovery-instance") + drs("job"),
        ),
        statement(
            "DrsRecover",
            [
                "drs:StartRecovery",
                "drs:UpdateLaunchConfiguration",
                "drs:CreateRecoveryInstanceForDrs",
            ],
            drs("source-server") + drs("recovery-instance"),
        ),
        statement(
            "DrsRecoveryInstances",
            [
                "drs:TerminateRecoveryInstances",
                "drs:ReverseReplication",
                "drs:StartFailbackLaunch",
            ],
            drs("recovery-instance"),
        ),
        statement("DrsTagJobs", ["drs:TagResource"], drs("job") + drs("recovery-instance")),
        statement("Ec2Read", EC2_READS, "*", condition=_in_regions(regions)),
        statement("Ec2Launch", EC2_LAUNCH_WRITES, ec2 + images),
        statement(
            "PassRecoveryInstanceRole",
            ["iam:PassRole"],
            [f"arn:{part}:iam::{account_id}:role/service-role/AWSElasticDisasterRecovery*"],
            condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        ),
    ]


MODULE_STATEMENTS = {"drs": drs_statements}


def execution_statements(
    account_id: str, regions: Sequence[str], modules: Sequence[str]
) -> list[dict[str, Any]]:
    """The execution role's permissions: discovery and references, plus each module's."""
    regions = sorted(set(regions))
    unknown = sorted(set(modules) - set(MODULE_STATEMENTS))
    if unknown:
        raise ValueError(
            f"no staging permissions are defined for module(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(MODULE_STATEMENTS))}"
        )
    found = [
        statement(
            "ResourceExplorer",
            ["resource-explorer-2:Search", "resource-explorer-2:GetView"],
            [
                f"arn:aws:resource-explorer-2:{r}:{account_id}:view/{names.RESOURCE_EXPLORER_VIEW}/*"
                for r in regions
            ],
        ),
        statement(
            "ResourceExplorerIndexes",
            [
                "resource-explorer-2:GetIndex",
                "resource-explorer-2:ListIndexes",
                "resource-explorer-2:ListViews",
            ],
            "*",
            condition=_in_regions(regions),
        ),
        statement(
            "ParameterReferences",
            ["ssm:GetParameters"],
            [f"arn:aws:ssm:{r}:{account_id}:parameter/*" for r in regions],
        ),
        statement(
            "ExportReferences",
            ["cloudformation:ListExports"],
            "*",
            condition=_in_regions(regions),
        ),
    ]
    for module in sorted(set(modules)):
        found += MODULE_STATEMENTS[module](account_id, regions)
    return found


def by_sid(statements: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {s["Sid"]: s for s in statements}
