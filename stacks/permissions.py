"""What each drorch component may do, derived from what its code calls.

* Hub Lambda functions: :data:`FUNCTION_NEEDS` maps each handler to the stores it
  touches (read from ``drorch.engine.steps``/``executor``/``gates``/``events``).
* Staging execution role: discovery and references, plus each module's own
  statements (``Module.iam``, declared in ``drorch/modules/<name>/iam.py`` or the
  adapter) for the modules the account uses, limited to the account's regions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from drorch import names
from drorch.modules import REGISTRY
from stacks.policies import Arns, statement

# handler key -> what it needs
FUNCTION_NEEDS: dict[str, frozenset[str]] = {
    "initialise": frozenset({"manifest", "history", "lock", "events", "notify"}),
    "discover": frozenset({"manifest", "history", "artifacts", "staging"}),
    "plan": frozenset({"manifest", "history", "artifacts"}),
    # in an execution: the plan's probes; on a schedule: discovery, plan, probes and metrics
    "readiness": frozenset(
        {"manifest", "history", "artifacts", "staging", "manifests-list", "metrics"}
    ),
    "gate": frozenset({"history", "artifacts", "events", "notify", "tokens"}),
    "checkpoint": frozenset({"history", "artifacts", "events", "notify"}),
    "module_start": frozenset({"history", "artifacts", "idempotency", "staging"}),
    "module_status": frozenset({"history", "artifacts", "events", "staging"}),
    "finalise": frozenset({"history", "artifacts", "lock", "events", "notify"}),
    "fail": frozenset({"history", "artifacts", "lock", "events", "notify"}),
    "reconcile": frozenset({"history", "lock", "events", "notify"}),
    "waiter": frozenset({"history", "tokens", "completion-queue"}),
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
# what Lambda's SQS poller does with the function's role (the completion queue's batches)
QUEUE_CONSUMER_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
# answer a gate's task token: these accept only Resource "*" (no resource types)
TASK_TOKEN_ACTIONS = (
    "states:SendTaskSuccess",
    "states:SendTaskFailure",
    "states:SendTaskHeartbeat",
)
ARTIFACTS_PREFIX = names.ARTIFACTS_PREFIX
MANIFEST_PREFIX = names.MANIFEST_PREFIX
READINESS_NAMESPACE = names.READINESS_NAMESPACE


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
    if "manifests-list" in needs:  # scheduled readiness: every application with a manifest
        found.append(
            statement(
                "ListManifests",
                ["s3:ListBucket"],
                [hub.bucket(manifest_bucket)],
                condition={"StringLike": {"s3:prefix": [f"{MANIFEST_PREFIX}*"]}},
            )
        )
    if "metrics" in needs:  # PutMetricData has no resource type: limited to its namespace
        found.append(
            statement(
                "ReadinessMetrics",
                ["cloudwatch:PutMetricData"],
                "*",
                condition={"StringEquals": {"cloudwatch:namespace": READINESS_NAMESPACE}},
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
    if "tokens" in needs:
        found.append(statement("AnswerGates", TASK_TOKEN_ACTIONS, "*"))
    if "completion-queue" in needs:  # SQS-managed encryption: no KMS key to name
        found.append(
            statement(
                "CompletionQueue",
                QUEUE_CONSUMER_ACTIONS,
                [hub.queue(names.COMPLETION_QUEUE)],
            )
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
def _in_regions(regions: Sequence[str]) -> dict[str, Any]:
    return {"StringEquals": {"aws:RequestedRegion": sorted(set(regions))}}


def execution_statements(
    account_id: str, regions: Sequence[str], modules: Sequence[str]
) -> list[dict[str, Any]]:
    """The execution role's permissions: discovery and references, plus each module's."""
    regions = sorted(set(regions))
    unknown = sorted(set(modules) - set(REGISTRY))
    if unknown:
        raise ValueError(
            f"unknown module(s) {', '.join(unknown)}; known: {', '.join(sorted(REGISTRY))}"
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
        statement(  # SecureString parameters: decrypted by SSM with the account's keys
            "SecureParameterReferences",
            ["kms:Decrypt"],
            [f"arn:aws:kms:{r}:{account_id}:key/*" for r in regions],
            condition={
                "StringEquals": {"kms:ViaService": [f"ssm.{r}.amazonaws.com" for r in regions]}
            },
        ),
        statement(
            "ExportReferences",
            ["cloudformation:ListExports"],
            "*",
            condition=_in_regions(regions),
        ),
    ]
    sids = {s["Sid"] for s in found}
    for module in sorted(set(modules)):
        for item in REGISTRY[module].iam(account_id, regions).statements:
            if item["Sid"] in sids:
                raise ValueError(f"module {module}: statement id {item['Sid']} is used twice")
            sids.add(item["Sid"])
            found.append(item)
    return found


def by_sid(statements: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {s["Sid"]: s for s in statements}
