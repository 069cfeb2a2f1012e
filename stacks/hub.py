"""The hub: drorch's orchestration account, in the DR region (SPEC §7).

One :class:`HubStack` creates what the engine runs on — the KMS key, the manifest
and artifacts buckets, the three DynamoDB tables, the twelve Lambda functions (one
least-privilege role each), the three state machines, the SNS topic, the event bus,
scheduled drills, the dashboard and alarms, and the SSM Automation document that
starts an execution — with the names of :mod:`drorch.names` and the definitions of
:mod:`drorch.engine.asl`, the same ones the sandbox deploys.

With ``orchestrator_role_arn`` (TRS §6.1, centrally governed IAM) the stack creates
no IAM role: the given role runs the functions, the state machines, the drill
schedules and the Automation document, and is the one principal the staging accounts
trust. It must trust ``lambda``, ``states``, ``events`` and ``ssm`` and hold the
union of the permissions below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from drorch import names
from drorch.accounts import StagingAccount
from drorch.engine import asl, tables, waiters
from stacks import permissions
from stacks.policies import Arns, document, statement, to_json, trust

REPO = Path(__file__).resolve().parents[1]
RUNTIME_DIR = REPO / "runtime" / "drorch"
DRS_SETTINGS_DIR = REPO / "accounts" / "drs"
DEFAULT_LAYER_DIR = REPO / "build" / "lambda-layer"

# not deployed to Lambda (SPEC §2: the code asset stays lean)
EXCLUDED_FROM_CODE = frozenset({"cli", "sandbox", "client.py", "__pycache__"})
CODE_PACKAGE = "drorch"
SETTINGS_IN_CODE = "drs-settings"  # accounts/drs/ in the asset: /var/task/drs-settings
LAMBDA_TASK_ROOT = "/var/task"
RUNTIME = "python3.12"
OPERATIONS = ("drill", "failover", "failback", "cleanup")
READINESS_ALL = names.READINESS_ALL
MANIFEST_PREFIX = names.MANIFEST_PREFIX
START_EXECUTION_DOCUMENT = f"{names.PREFIX}-start-execution"
STATES_ROLE = f"{names.PREFIX}-states"
SCHEDULER_ROLE = f"{names.PREFIX}-scheduler"
AUTOMATION_ROLE = f"{names.PREFIX}-automation"
OPERATOR_POLICY = f"{names.PREFIX}-operator"
OPERATOR_ROLE = f"{names.PREFIX}-operator"
RECONCILE_RULE = f"{names.PREFIX}-reconcile-on-master-end"
COMPLETION_RULE = f"{names.PREFIX}-event-driven-completion"
SYNC_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"
LONG_RUNNING = frozenset({"discover", "plan", "readiness"})
FUNCTION_TIMEOUT_SECONDS = 300
LONG_TIMEOUT_SECONDS = 900  # the long-running functions'


def function_role_name(key: str) -> str:
    return f"{names.FUNCTIONS[key]}-role"


@dataclass(frozen=True)
class ScheduledDrill:
    application: str
    schedule: str  # an EventBridge schedule expression: cron(...) or rate(...)
    operation: str = "drill"

    def __post_init__(self) -> None:
        if self.operation not in OPERATIONS:
            raise ValueError(f"scheduled operation {self.operation!r} is not one of {OPERATIONS}")
        if not self.schedule.startswith(("cron(", "rate(")):
            raise ValueError(f"schedule {self.schedule!r} must be cron(...) or rate(...)")

    @property
    def rule_name(self) -> str:
        return f"{names.PREFIX}-{self.operation}-{self.application}"[:64]


@dataclass(frozen=True)
class ScheduledReadiness:
    """The readiness Lambda on a schedule, for one application (None: every application with
    a manifest); it writes drorch/Readiness Blockers and Warnings (dimension Application,
    ``ALL`` for the sum), and an alarm watches the Blockers."""

    schedule: str
    application: str | None = None
    operation: str = "failover"

    def __post_init__(self) -> None:
        if self.operation not in OPERATIONS:
            raise ValueError(f"readiness operation {self.operation!r} is not one of {OPERATIONS}")
        if not self.schedule.startswith(("cron(", "rate(")):
            raise ValueError(f"schedule {self.schedule!r} must be cron(...) or rate(...)")

    @property
    def label(self) -> str:
        """``readiness-<application>`` (``readiness-all``): the rule's and the alarm's name."""
        return f"readiness-{self.application or 'all'}"[:56]

    @property
    def dimension(self) -> str:
        return self.application or READINESS_ALL


@dataclass(frozen=True)
class HubConfig:
    environment: str
    region: str
    account_id: str
    staging_accounts: tuple[StagingAccount, ...] = ()
    scheduled_drills: tuple[ScheduledDrill, ...] = ()
    scheduled_readiness: tuple[ScheduledReadiness, ...] = ()
    alarm_emails: tuple[str, ...] = ()
    orchestrator_role_arn: str | None = None
    log_retention_days: int = 90
    artifacts_retention_days: int = 365
    # the dependencies layer (``make lambda-layer``); None: no layer (mock/sandbox runs only)
    layer_dir: Path | None = None
    runtime_dir: Path = RUNTIME_DIR
    drs_settings_dir: Path = DRS_SETTINGS_DIR
    # topics a manifest's ``notifications.snsTopicArn`` may name (the functions may publish there)
    extra_notification_topics: tuple[str, ...] = ()
    partition: str = "aws"
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def manifest_bucket(self) -> str:
        return names.manifest_bucket(self.account_id, self.region)

    @property
    def artifacts_bucket(self) -> str:
        return names.artifacts_bucket(self.account_id, self.region)

    @property
    def arns(self) -> Arns:
        return Arns(self.account_id, self.region, self.partition)


# --- the code asset ---------------------------------------------------------------------------
def code_files(runtime_dir: Path = RUNTIME_DIR) -> dict[str, Path]:
    """Asset path -> file for the drorch package, without the CLI, the sandbox and caches."""
    found: dict[str, Path] = {}
    for path in sorted(runtime_dir.rglob("*")):
        relative = path.relative_to(runtime_dir)
        if not path.is_file() or any(part in EXCLUDED_FROM_CODE for part in relative.parts):
            continue
        if path.suffix in (".pyc", ".pyo"):
            continue
        found[f"{CODE_PACKAGE}/{relative.as_posix()}"] = path
    return found


def settings_files(settings_dir: Path = DRS_SETTINGS_DIR) -> dict[str, Path]:
    if not settings_dir.is_dir():
        return {}
    return {
        f"{SETTINGS_IN_CODE}/{p.relative_to(settings_dir).as_posix()}": p
        for p in sorted(settings_dir.rglob("*.yaml"))
    }


def lambda_code(config: HubConfig) -> pulumi.AssetArchive:
    files = {**code_files(config.runtime_dir), **settings_files(config.drs_settings_dir)}
    return pulumi.AssetArchive({key: pulumi.FileAsset(str(path)) for key, path in files.items()})


def accounts_variable(accounts: tuple[StagingAccount, ...]) -> str:
    """``DRORCH_ACCOUNTS``: how the functions reach the staging accounts."""
    return json.dumps(
        [
            {
                "name": a.name,
                "accountId": a.account_id,
                "recoveryRegion": a.recovery_region,
                "sourceRegion": a.source_region,
                "executionRoleArn": a.execution_role_arn,
                "externalId": a.external_id,
            }
            for a in accounts
        ],
        sort_keys=True,
    )


class DeployedTargets(asl.Targets):
    """The ARNs of the deployed functions and state machines, for :mod:`drorch.engine.asl`."""

    def __init__(
        self, account_id: str, region: str, functions: dict[str, str], machines: dict[str, str]
    ) -> None:
        super().__init__(account_id, region)
        object.__setattr__(self, "_functions", dict(functions))
        object.__setattr__(self, "_machines", dict(machines))

    def function(self, key: str) -> str:
        return self._functions[key]

    def state_machine(self, key: str) -> str:
        return self._machines.get(key) or super().state_machine(key)


class HubStack(pulumi.ComponentResource):
    def __init__(
        self, name: str, config: HubConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("drorch:hub:HubStack", name, None, opts)
        self.config = config
        self._child = pulumi.ResourceOptions(parent=self)
        self.tags = {
            "drorch:environment": config.environment,
            "drorch:component": "hub",
            **config.tags,
        }
        arns = config.arns
        self.key = self._key()
        self.manifest_bucket = self._bucket("manifests", config.manifest_bucket, expire=False)
        self.artifacts_bucket = self._bucket("artifacts", config.artifacts_bucket, expire=True)
        self.tables = {spec.name: self._table(spec) for spec in tables.TABLES}
        self.topic = aws.sns.Topic(
            "notifications",
            name=names.NOTIFICATION_TOPIC,
            kms_master_key_id=self.key.arn,
            tags=self.tags,
            opts=self._child,
        )
        for index, email in enumerate(config.alarm_emails):
            aws.sns.TopicSubscription(
                f"notifications-email-{index}",
                topic=self.topic.arn,
                protocol="email",
                endpoint=email,
                opts=self._child,
            )
        self.event_bus = aws.cloudwatch.EventBus(
            "events",
            name=names.EVENT_BUS,
            kms_key_identifier=self.key.arn,
            tags=self.tags,
            opts=self._child,
        )
        self.event_bus_policy = self._event_bus_policy()

        external = config.orchestrator_role_arn
        self.layer = self._layer()
        code = lambda_code(config)
        self.log_groups: dict[str, aws.cloudwatch.LogGroup] = {}
        self.roles: dict[str, aws.iam.Role] = {}
        self.role_policies: dict[str, aws.iam.RolePolicy] = {}
        self.functions: dict[str, aws.lambda_.Function] = {}
        self.environment = {
            "DRORCH_HISTORY_TABLE": names.HISTORY_TABLE,
            "DRORCH_LOCK_TABLE": names.LOCK_TABLE,
            "DRORCH_IDEMPOTENCY_TABLE": names.IDEMPOTENCY_TABLE,
            "DRORCH_MANIFEST_BUCKET": config.manifest_bucket,
            "DRORCH_ARTIFACTS_BUCKET": config.artifacts_bucket,
            "DRORCH_EVENT_BUS": names.EVENT_BUS,
            "DRORCH_TOPIC_ARN": self.topic.arn,
            "DRORCH_ACCOUNTS": accounts_variable(config.staging_accounts),
            "DRORCH_DRS_SETTINGS_DIR": f"{LAMBDA_TASK_ROOT}/{SETTINGS_IN_CODE}",
            "POWERTOOLS_SERVICE_NAME": names.PREFIX,
            "POWERTOOLS_METRICS_NAMESPACE": names.PREFIX,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        for key in names.FUNCTIONS:
            self._function(key, code, external)
        self.operator_role = self._operator_role()
        self.staging_principals: list[pulumi.Input[str]] = [
            *(
                [external]
                if external
                else [self.roles[k].arn for k in permissions.STAGING_FUNCTIONS]
            ),
            self.operator_role.arn,  # `drorch manifest plan` discovers as the operator
        ]

        self.states_role_arn = external or self._states_role().arn
        self.state_machines: dict[str, aws.sfn.StateMachine] = {}
        for key in ("executor", "lifecycle", "master"):
            self._state_machine(key)

        self.drill_rules = self._scheduled_drills(external)
        self.reconcile_rule = self._reconcile_rule()
        self.completion_rule = self._completion_rule()
        self.readiness_rules, self.readiness_alarms = self._scheduled_readiness()
        self.document = self._start_execution_document(external)
        self.operator_policy = self._operator_policy()
        self.alarms = self._alarms()
        self.dashboard = self._dashboard()

        self.outputs = {
            "kmsKeyArn": self.key.arn,
            "manifestBucket": self.manifest_bucket.bucket,
            "artifactsBucket": self.artifacts_bucket.bucket,
            "topicArn": self.topic.arn,
            "eventBusArn": self.event_bus.arn,
            "functions": {k: f.arn for k, f in self.functions.items()},
            "stateMachines": {k: m.arn for k, m in self.state_machines.items()},
            "stagingPrincipals": self.staging_principals,
            "startExecutionDocument": self.document.name,
            "operatorPolicyArn": self.operator_policy.arn,
            "tables": {name: t.name for name, t in self.tables.items()},
        }
        assert arns.account == config.account_id
        self.register_outputs(self.outputs)

    # --- encryption -----------------------------------------------------------------------
    def key_policy(self) -> dict[str, Any]:
        c = self.config
        root = f"arn:{c.partition}:iam::{c.account_id}:root"
        return document(
            [
                statement(
                    "AccountAdministersAndDelegatesToIam",
                    [
                        "kms:CancelKeyDeletion",
                        "kms:CreateAlias",
                        "kms:CreateGrant",
                        "kms:Decrypt",
                        "kms:DeleteAlias",
                        "kms:DescribeKey",
                        "kms:DisableKey",
                        "kms:EnableKey",
                        "kms:EnableKeyRotation",
                        "kms:Encrypt",
                        "kms:GenerateDataKey",
                        "kms:GenerateDataKeyWithoutPlaintext",
                        "kms:GetKeyPolicy",
                        "kms:GetKeyRotationStatus",
                        "kms:ListGrants",
                        "kms:ListResourceTags",
                        "kms:PutKeyPolicy",
                        "kms:ReEncryptFrom",
                        "kms:ReEncryptTo",
                        "kms:RetireGrant",
                        "kms:RevokeGrant",
                        "kms:ScheduleKeyDeletion",
                        "kms:TagResource",
                        "kms:UntagResource",
                        "kms:UpdateAlias",
                        "kms:UpdateKeyDescription",
                    ],
                    "*",  # in a key policy: this key
                    principal={"AWS": root},
                ),
                statement(
                    "CloudWatchLogsEncryptsDrorchLogs",
                    [
                        "kms:Decrypt",
                        "kms:DescribeKey",
                        "kms:Encrypt",
                        "kms:GenerateDataKey",
                        "kms:ReEncryptFrom",
                        "kms:ReEncryptTo",
                    ],
                    "*",
                    principal={"Service": f"logs.{c.region}.amazonaws.com"},
                    condition={
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": (
                                f"arn:{c.partition}:logs:{c.region}:{c.account_id}:log-group:*"
                            )
                        }
                    },
                ),
                statement(
                    "EventBridgeEncryptsTheDrorchBus",
                    ["kms:Decrypt", "kms:GenerateDataKey"],
                    "*",
                    principal={"Service": "events.amazonaws.com"},
                    condition={
                        "StringEquals": {
                            "aws:SourceAccount": c.account_id,
                            "kms:EncryptionContext:aws:events:event-bus:arn": (c.arns.event_bus()),
                        }
                    },
                ),
                statement(
                    "AlarmsPublishToEncryptedTopic",
                    ["kms:Decrypt", "kms:GenerateDataKey"],
                    "*",
                    principal={"Service": "cloudwatch.amazonaws.com"},
                    condition={"StringEquals": {"aws:SourceAccount": c.account_id}},
                ),
            ]
        )

    def _key(self) -> aws.kms.Key:
        key = aws.kms.Key(
            "key",
            description=f"drorch {self.config.environment}: manifests, artifacts, history, "
            "notifications and logs",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=to_json(self.key_policy()),
            tags=self.tags,
            opts=self._child,
        )
        aws.kms.Alias(
            "key-alias",
            name=f"alias/{names.PREFIX}-{self.config.environment}",
            target_key_id=key.key_id,
            opts=self._child,
        )
        return key

    # --- stores ---------------------------------------------------------------------------
    def _bucket(self, label: str, name: str, expire: bool) -> aws.s3.Bucket:
        opts = self._child
        bucket = aws.s3.Bucket(label, bucket=name, tags=self.tags, opts=opts)
        aws.s3.BucketPublicAccessBlock(
            f"{label}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=opts,
        )
        aws.s3.BucketVersioning(
            f"{label}-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=opts,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{label}-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": self.key.arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=opts,
        )
        aws.s3.BucketPolicy(
            f"{label}-policy",
            bucket=bucket.id,
            policy=to_json(self.bucket_policy(name)),
            opts=opts,
        )
        if expire:
            days = self.config.artifacts_retention_days
            aws.s3.BucketLifecycleConfiguration(
                f"{label}-lifecycle",
                bucket=bucket.id,
                rules=[
                    {
                        "id": "expire-executions",
                        "status": "Enabled",
                        "filter": {"prefix": permissions.ARTIFACTS_PREFIX},
                        "expiration": {"days": days},
                        "noncurrent_version_expiration": {"noncurrent_days": 30},
                    }
                ],
                opts=opts,
            )
        return bucket

    def bucket_policy(self, name: str) -> dict[str, Any]:
        arns = self.config.arns
        return document(
            [
                statement(
                    "DenyInsecureTransport",
                    ["s3:*"],  # a Deny: every request without TLS is refused
                    [arns.bucket(name), arns.objects(name)],
                    effect="Deny",
                    principal="*",
                    condition={"Bool": {"aws:SecureTransport": "false"}},
                ),
            ]
        )

    def _table(self, spec: tables.Table) -> aws.dynamodb.Table:
        return aws.dynamodb.Table(
            spec.name,
            name=spec.name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=spec.hash_key,
            range_key=spec.range_key,
            attributes=[{"name": n, "type": t} for n, t in spec.attributes],
            global_secondary_indexes=[
                {
                    "name": index.name,
                    "hash_key": index.hash_key,
                    "range_key": index.range_key,
                    "projection_type": "ALL",
                }
                for index in spec.indexes
            ]
            or None,
            ttl={"attribute_name": spec.ttl_attribute, "enabled": True}
            if spec.ttl_attribute
            else None,
            point_in_time_recovery={"enabled": True},
            server_side_encryption={"enabled": True, "kms_key_arn": self.key.arn},
            deletion_protection_enabled=True,
            tags=self.tags,
            opts=self._child,
        )

    def _event_bus_policy(self) -> aws.cloudwatch.EventBusPolicy | None:
        accounts = self.config.staging_accounts
        if not accounts:
            return None
        self.bus_policy_document = document(
            [
                statement(
                    f"Forward{''.join(p.title() for p in a.name.split('-'))}",
                    ["events:PutEvents"],
                    self.config.arns.event_bus(),
                    principal={"AWS": f"arn:{self.config.partition}:iam::{a.account_id}:root"},
                    condition={"StringEquals": {"events:source": ["aws.drs", "aws.rds"]}},
                )
                for a in accounts
            ]
        )
        return aws.cloudwatch.EventBusPolicy(
            "events-policy",
            event_bus_name=self.event_bus.name,
            policy=to_json(self.bus_policy_document),
            opts=self._child,
        )

    # --- functions ------------------------------------------------------------------------
    def _layer(self) -> aws.lambda_.LayerVersion | None:
        if self.config.layer_dir is None:
            return None
        return aws.lambda_.LayerVersion(
            "dependencies",
            layer_name=f"{names.PREFIX}-dependencies",
            description="boto3, aws-lambda-powertools, jsonschema, PyYAML (make lambda-layer)",
            code=pulumi.FileArchive(str(self.config.layer_dir)),
            compatible_runtimes=[RUNTIME],
            opts=self._child,
        )

    def _log_group(self, label: str, name: str) -> aws.cloudwatch.LogGroup:
        group = aws.cloudwatch.LogGroup(
            label,
            name=name,
            retention_in_days=self.config.log_retention_days,
            kms_key_id=self.key.arn,
            tags=self.tags,
            opts=self._child,
        )
        self.log_groups[label] = group
        return group

    def function_policy(self, key: str, log_group_arn: Any) -> dict[str, Any]:
        c = self.config
        return document(
            permissions.function_statements(
                key,
                c.arns,
                manifest_bucket=c.manifest_bucket,
                artifacts_bucket=c.artifacts_bucket,
                kms_key_arn=self.key.arn,
                topic_arn=self.topic.arn,
                log_group_arn=log_group_arn,
                staging_role_arns=[a.execution_role_arn for a in c.staging_accounts],
                extra_topic_arns=c.extra_notification_topics,
            )
        )

    def _function(self, key: str, code: pulumi.AssetArchive, external: str | None) -> None:
        name = names.FUNCTIONS[key]
        group = self._log_group(f"{key}-logs", f"/aws/lambda/{name}")
        depends: list[pulumi.Resource] = [group]
        if external:
            role_arn: pulumi.Input[str] = external
        else:
            role = aws.iam.Role(
                f"{key}-role",
                name=function_role_name(key),
                description=f"drorch Lambda function {name}",
                assume_role_policy=json.dumps(
                    trust(
                        "lambda.amazonaws.com",
                        {"StringEquals": {"aws:SourceAccount": self.config.account_id}},
                    ),
                    sort_keys=True,
                ),
                tags=self.tags,
                opts=self._child,
            )
            policy = aws.iam.RolePolicy(
                f"{key}-policy",
                name=f"{name}-least-privilege",
                role=role.id,
                policy=to_json(self.function_policy(key, group.arn)),
                opts=self._child,
            )
            self.roles[key], self.role_policies[key] = role, policy
            role_arn = role.arn
            depends.append(policy)
        self.functions[key] = aws.lambda_.Function(
            key,
            name=name,
            runtime=RUNTIME,
            handler=f"drorch.handlers.{key}.handler",
            role=role_arn,
            code=code,
            layers=[self.layer.arn] if self.layer else None,
            timeout=LONG_TIMEOUT_SECONDS if key in LONG_RUNNING else FUNCTION_TIMEOUT_SECONDS,
            memory_size=512,
            environment={"variables": self.environment},
            kms_key_arn=self.key.arn,
            tracing_config={"mode": "Active"},
            logging_config={"log_format": "JSON", "log_group": group.name},
            tags={**self.tags, "drorch:function": key},
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )

    # --- state machines --------------------------------------------------------------------
    def states_policy(self) -> dict[str, Any]:
        arns = self.config.arns
        children = ("lifecycle", "executor")
        return document(
            [
                statement(
                    "InvokeDrorchFunctions",
                    ["lambda:InvokeFunction"],
                    [arns.function(k) for k in names.FUNCTIONS],
                ),
                statement(
                    "StartChildMachines",
                    ["states:StartExecution"],
                    [arns.state_machine(k) for k in children],
                ),
                statement(
                    "FollowChildExecutions",
                    ["states:DescribeExecution", "states:StopExecution"],
                    [arns.executions(k) for k in children],
                ),
                statement(
                    "SyncIntegrationRule",
                    ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                    [arns.rule(SYNC_RULE)],
                ),
                statement(
                    "Logging",
                    [
                        "logs:CreateLogDelivery",
                        "logs:GetLogDelivery",
                        "logs:UpdateLogDelivery",
                        "logs:DeleteLogDelivery",
                        "logs:ListLogDeliveries",
                        "logs:PutResourcePolicy",
                        "logs:DescribeResourcePolicies",
                        "logs:DescribeLogGroups",
                    ],
                    "*",
                ),
                statement(
                    "Tracing",
                    [
                        "xray:PutTraceSegments",
                        "xray:PutTelemetryRecords",
                        "xray:GetSamplingRules",
                        "xray:GetSamplingTargets",
                    ],
                    "*",
                ),
                self.machine_key_statement(),
            ]
        )

    def machine_key_statement(self) -> dict[str, Any]:
        """Use of the hub key for the encrypted state machines' data (start, describe)."""
        arns = self.config.arns
        return statement(
            "EncryptedStateMachines",
            ["kms:Decrypt", "kms:GenerateDataKey"],
            [self.key.arn],
            condition={
                "ArnLike": {
                    "kms:EncryptionContext:aws:states:stateMachineArn": [
                        arns.state_machine(k) for k in ("master", "lifecycle", "executor")
                    ]
                }
            },
        )

    def _states_role(self) -> aws.iam.Role:
        role = aws.iam.Role(
            "states-role",
            name=STATES_ROLE,
            description="drorch state machines",
            assume_role_policy=json.dumps(
                trust(
                    "states.amazonaws.com",
                    {"StringEquals": {"aws:SourceAccount": self.config.account_id}},
                ),
                sort_keys=True,
            ),
            tags=self.tags,
            opts=self._child,
        )
        self.roles["states"] = role
        self.role_policies["states"] = aws.iam.RolePolicy(
            "states-policy",
            name=f"{STATES_ROLE}-least-privilege",
            role=role.id,
            policy=to_json(self.states_policy()),
            opts=self._child,
        )
        return role

    def _state_machine(self, key: str) -> None:
        c = self.config
        name = names.STATE_MACHINES[key]
        group = self._log_group(f"{key}-machine-logs", f"/aws/vendedlogs/states/{name}")
        functions = {k: f.arn for k, f in self.functions.items()}
        machines = {k: m.arn for k, m in self.state_machines.items()}

        def definition(resolved: list[dict[str, str]]) -> str:
            targets = DeployedTargets(c.account_id, c.region, resolved[0], resolved[1])
            return asl.definition_json(key, targets)

        depends = [self.role_policies["states"]] if "states" in self.role_policies else []
        self.state_machines[key] = aws.sfn.StateMachine(
            f"{key}-machine",
            name=name,
            type="STANDARD",
            role_arn=self.states_role_arn,
            definition=pulumi.Output.all(functions, machines).apply(definition),
            logging_configuration={
                "log_destination": pulumi.Output.concat(group.arn, ":*"),
                "include_execution_data": True,
                "level": "ALL",
            },
            tracing_configuration={"enabled": True},
            encryption_configuration={
                "type": "CUSTOMER_MANAGED_KMS_KEY",
                "kms_key_id": self.key.arn,
                "kms_data_key_reuse_period_seconds": 300,
            },
            tags=self.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )

    # --- ways to start an execution -----------------------------------------------------------
    def _start_role(self, label: str, name: str, service: str) -> aws.iam.Role:
        role = aws.iam.Role(
            f"{label}-role",
            name=name,
            assume_role_policy=json.dumps(
                trust(service, {"StringEquals": {"aws:SourceAccount": self.config.account_id}}),
                sort_keys=True,
            ),
            tags=self.tags,
            opts=self._child,
        )
        self.roles[label] = role
        self.role_policies[label] = aws.iam.RolePolicy(
            f"{label}-policy",
            name=f"{name}-start-master",
            role=role.id,
            policy=to_json(
                document(
                    [
                        statement(
                            "StartMaster",
                            ["states:StartExecution"],
                            [self.config.arns.state_machine("master")],
                        ),
                        self.machine_key_statement(),
                    ]
                )
            ),
            opts=self._child,
        )
        return role

    def master_input(self, application: str, operation: str, execution_id: str) -> dict:
        return {
            "executionId": execution_id,
            "application": application,
            "operation": operation,
            "manifest": {
                "bucket": self.config.manifest_bucket,
                "key": names.manifest_key(application),
            },
            "pollSeconds": 30,
            "requestedBy": execution_id.split("-", 1)[0],
        }

    def _scheduled_drills(self, external: str | None) -> dict[str, aws.cloudwatch.EventRule]:
        drills = self.config.scheduled_drills
        if not drills:
            return {}
        role_arn = (
            external or self._start_role("scheduler", SCHEDULER_ROLE, "events.amazonaws.com").arn
        )
        rules = {}
        for drill in drills:
            rule = aws.cloudwatch.EventRule(
                drill.rule_name,
                name=drill.rule_name,
                description=f"drorch: scheduled {drill.operation} of {drill.application}",
                schedule_expression=drill.schedule,
                state="ENABLED",
                tags=self.tags,
                opts=self._child,
            )
            template = self.master_input(drill.application, drill.operation, "scheduled-<id>")
            aws.cloudwatch.EventTarget(
                f"{drill.rule_name}-target",
                rule=rule.name,
                arn=self.state_machines["master"].arn,
                role_arn=role_arn,
                input_transformer={
                    "input_paths": {"id": "$.id"},
                    "input_template": json.dumps(template, sort_keys=True),
                },
                opts=self._child,
            )
            rules[drill.rule_name] = rule
        return rules

    def _scheduled_readiness(
        self,
    ) -> tuple[dict[str, aws.cloudwatch.EventRule], dict[str, aws.cloudwatch.MetricAlarm]]:
        """Per scheduled readiness: a rule invoking ``drorch-readiness`` with the application,
        and an alarm when the application's Blockers reach 1 (the state is kept between
        evaluations: missing data is ignored)."""
        rules: dict[str, aws.cloudwatch.EventRule] = {}
        alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        function = self.functions["readiness"]
        actions = [self.topic.arn]
        for check in self.config.scheduled_readiness:
            name = f"{names.PREFIX}-{check.label}"
            rule = aws.cloudwatch.EventRule(
                f"{check.label}-rule",
                name=name,
                description=f"drorch: readiness of {check.application or 'every application'} "
                f"for a {check.operation}",
                schedule_expression=check.schedule,
                state="ENABLED",
                tags=self.tags,
                opts=self._child,
            )
            event = {"operation": check.operation}
            if check.application:
                event["application"] = check.application
            aws.cloudwatch.EventTarget(
                f"{check.label}-target",
                rule=rule.name,
                arn=function.arn,
                input=json.dumps(event, sort_keys=True),
                opts=self._child,
            )
            aws.lambda_.Permission(
                f"{check.label}-invoke",
                action="lambda:InvokeFunction",
                function=function.name,
                principal="events.amazonaws.com",
                source_arn=rule.arn,
                opts=self._child,
            )
            alarms[check.label] = aws.cloudwatch.MetricAlarm(
                f"{check.label}-blockers",
                name=name,
                alarm_description=f"drorch: {check.application or 'an application'} is not "
                f"ready for a {check.operation} (readiness BLOCKERs; `drorch readiness` "
                "names them)",
                namespace=names.READINESS_NAMESPACE,
                metric_name="Blockers",
                dimensions={"Application": check.dimension},
                statistic="Maximum",
                period=300,
                evaluation_periods=1,
                threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                treat_missing_data="ignore",
                alarm_actions=actions,
                ok_actions=actions,
                tags=self.tags,
                opts=self._child,
            )
            rules[check.label] = rule
        return rules, alarms

    def _reconcile_rule(self) -> aws.cloudwatch.EventRule:
        """The master's end, however it came (stopped from outside, timed out, failed),
        goes to ``drorch-reconcile``, which makes the history and the lock agree."""
        rule = aws.cloudwatch.EventRule(
            "reconcile-rule",
            name=RECONCILE_RULE,
            description="drorch: repair the history and the lock when a master execution ends",
            event_pattern=self.state_machines["master"].arn.apply(
                lambda arn: json.dumps(
                    {
                        "source": ["aws.states"],
                        "detail-type": ["Step Functions Execution Status Change"],
                        "detail": {
                            "stateMachineArn": [arn],
                            "status": ["ABORTED", "FAILED", "TIMED_OUT", "SUCCEEDED"],
                        },
                    },
                    sort_keys=True,
                )
            ),
            state="ENABLED",
            tags=self.tags,
            opts=self._child,
        )
        aws.cloudwatch.EventTarget(
            "reconcile-target",
            rule=rule.name,
            arn=self.functions["reconcile"].arn,
            retry_policy={"maximum_retry_attempts": 185, "maximum_event_age_in_seconds": 86400},
            opts=self._child,
        )
        aws.lambda_.Permission(
            "reconcile-invoke",
            action="lambda:InvokeFunction",
            function=self.functions["reconcile"].name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            opts=self._child,
        )
        return rule

    def _completion_rule(self) -> aws.cloudwatch.EventRule:
        """The services' events forwarded to the hub bus (DRS launch results, the RDS events
        that end a role change) are queued for ``drorch-waiter``, which Lambda's poller
        invokes with batches of them; it answers the task tokens of the executors waiting
        on them (:mod:`drorch.engine.waiters`). One invocation per event would be one per
        server launched."""
        dead_letters = aws.sqs.Queue(
            "completion-dead-letters",
            name=names.COMPLETION_DEAD_LETTERS,
            sqs_managed_sse_enabled=True,
            message_retention_seconds=14 * 24 * 3600,  # for an operator to look at
            tags=self.tags,
            opts=self._child,
        )
        queue = aws.sqs.Queue(
            "completion-queue",
            name=names.COMPLETION_QUEUE,
            sqs_managed_sse_enabled=True,
            # a late event is worthless: the executor's fallback poll has run by then
            message_retention_seconds=600,
            # at least the function's timeout (Lambda refuses the mapping otherwise)
            visibility_timeout_seconds=FUNCTION_TIMEOUT_SECONDS,
            redrive_policy=dead_letters.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})
            ),
            tags=self.tags,
            opts=self._child,
        )
        rule = aws.cloudwatch.EventRule(
            "completion-rule",
            name=COMPLETION_RULE,
            description="drorch: DRS launch results and RDS role-change events end the executors' waits",
            event_bus_name=self.event_bus.name,
            event_pattern=json.dumps(waiters.EVENT_PATTERN, sort_keys=True),
            state="ENABLED",
            tags=self.tags,
            opts=self._child,
        )
        aws.sqs.QueuePolicy(
            "completion-queue-policy",
            queue_url=queue.url,
            policy=to_json(
                document(
                    [
                        statement(
                            "FromTheCompletionRule",
                            ["sqs:SendMessage"],
                            [queue.arn],
                            principal={"Service": "events.amazonaws.com"},
                            condition={"ArnEquals": {"aws:SourceArn": rule.arn}},
                        )
                    ]
                )
            ),
            opts=self._child,
        )
        aws.cloudwatch.EventTarget(
            "completion-target",
            rule=rule.name,
            event_bus_name=self.event_bus.name,
            arn=queue.arn,
            retry_policy={"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 600},
            opts=self._child,
        )
        aws.lambda_.EventSourceMapping(
            "completion-batches",
            event_source_arn=queue.arn,
            function_name=self.functions["waiter"].arn,
            batch_size=waiters.QUEUE_BATCH_SIZE,
            maximum_batching_window_in_seconds=waiters.QUEUE_BATCH_WINDOW_SECONDS,
            enabled=True,
            opts=self._child,
        )
        return rule

    def _start_execution_document(self, external: str | None) -> aws.ssm.Document:
        role_arn = (
            external or self._start_role("automation", AUTOMATION_ROLE, "ssm.amazonaws.com").arn
        )
        execution_id = "ssm-{{automation:EXECUTION_ID}}"
        started = self.master_input("{{Application}}", "{{Operation}}", execution_id)
        started["requestedBy"] = "ssm-automation"

        def content(resolved: list[str]) -> str:
            role, master = resolved
            return json.dumps(
                {
                    "schemaVersion": "0.3",
                    "description": "Start a drorch execution (master state machine)",
                    "assumeRole": "{{AutomationAssumeRole}}",
                    "parameters": {
                        "Application": {
                            "type": "String",
                            "description": "The manifest's application",
                            "allowedPattern": "^[a-z0-9][a-z0-9-]{0,62}$",
                        },
                        "Operation": {
                            "type": "String",
                            "allowedValues": list(OPERATIONS),
                            "default": "drill",
                        },
                        "AutomationAssumeRole": {"type": "String", "default": role},
                    },
                    "mainSteps": [
                        {
                            "name": "StartExecution",
                            "action": "aws:executeAwsApi",
                            "inputs": {
                                "Service": "stepfunctions",
                                "Api": "StartExecution",
                                "stateMachineArn": master,
                                "name": execution_id,
                                "input": json.dumps(started, sort_keys=True),
                            },
                            "outputs": [
                                {
                                    "Name": "ExecutionArn",
                                    "Selector": "$.executionArn",
                                    "Type": "String",
                                }
                            ],
                        }
                    ],
                    "outputs": ["StartExecution.ExecutionArn"],
                },
                sort_keys=True,
            )

        return aws.ssm.Document(
            "start-execution",
            name=START_EXECUTION_DOCUMENT,
            document_type="Automation",
            document_format="JSON",
            content=pulumi.Output.all(role_arn, self.state_machines["master"].arn).apply(content),
            tags=self.tags,
            opts=self._child,
        )

    def operator_policy_document(self) -> dict[str, Any]:
        """What a person (or CI) running ``drorch`` against this hub needs."""
        c, arns = self.config, self.config.arns
        return document(
            [
                statement(
                    "UploadManifests",
                    ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"],
                    [arns.objects(c.manifest_bucket, MANIFEST_PREFIX)],
                ),
                statement(  # reports, and plans written by `drorch manifest plan`
                    "ExecutionArtifacts",
                    ["s3:GetObject", "s3:PutObject"],
                    [arns.objects(c.artifacts_bucket, permissions.ARTIFACTS_PREFIX)],
                ),
                statement(  # the staging accounts the hub works with (discover's settings)
                    "HubConfiguration",
                    ["lambda:GetFunctionConfiguration"],
                    [arns.function(k) for k in names.FUNCTIONS],
                ),
                statement(
                    "ListStores",
                    ["s3:ListBucket"],
                    [arns.bucket(c.manifest_bucket), arns.bucket(c.artifacts_bucket)],
                ),
                statement(
                    "Executions",
                    ["states:StartExecution"],
                    [arns.state_machine("master")],
                ),
                statement(
                    "FollowAndAnswer",
                    [
                        "states:DescribeExecution",
                        "states:StopExecution",
                    ],
                    [arns.executions("master")],
                ),
                statement(  # task-token actions accept only "*" (no resource types)
                    "AnswerGates",
                    list(permissions.TASK_TOKEN_ACTIONS),
                    "*",
                ),
                statement(
                    "History",
                    [
                        "dynamodb:GetItem",
                        "dynamodb:Query",
                        "dynamodb:Scan",
                        "dynamodb:UpdateItem",
                        "dynamodb:PutItem",
                    ],
                    [
                        arns.table(names.HISTORY_TABLE),
                        arns.table_indexes(names.HISTORY_TABLE),
                        arns.table(names.LOCK_TABLE),
                    ],
                ),
                statement("Events", ["events:PutEvents"], [arns.event_bus()]),
                statement("Notify", ["sns:Publish"], [self.topic.arn]),
                *(
                    [
                        statement(  # `manifest plan` discovers in the staging accounts
                            "StagingAccounts",
                            ["sts:AssumeRole"],
                            sorted({a.execution_role_arn for a in c.staging_accounts}),
                        )
                    ]
                    if c.staging_accounts
                    else []
                ),
                self.machine_key_statement(),
                statement(
                    "HubKey",
                    ["kms:Decrypt", "kms:GenerateDataKey"],
                    [self.key.arn],
                    condition={
                        "StringEquals": {
                            "kms:ViaService": sorted(
                                arns.service(s) for s in ("s3", "dynamodb", "sns")
                            )
                        }
                    },
                ),
            ]
        )

    def _operator_role(self) -> aws.iam.Role:
        """A role people and pipelines of the hub account assume to run drorch; the
        staging execution roles trust it (with their ExternalId)."""
        c = self.config
        return aws.iam.Role(
            "operator-role",
            name=OPERATOR_ROLE,
            description="Assume to run drorch against this hub (approve, plan, start, cancel)",
            assume_role_policy=json.dumps(
                document(
                    [
                        {
                            "Sid": "HubAccountPrincipals",
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:{c.partition}:iam::{c.account_id}:root"},
                            "Action": "sts:AssumeRole",
                        }
                    ]
                ),
                sort_keys=True,
            ),
            tags=self.tags,
            opts=self._child,
        )

    def _operator_policy(self) -> aws.iam.Policy:
        policy = aws.iam.Policy(
            "operator-policy",
            name=OPERATOR_POLICY,
            description="Attach to the people and pipelines that run drorch against this hub",
            policy=to_json(self.operator_policy_document()),
            tags=self.tags,
            opts=self._child,
        )
        aws.iam.RolePolicyAttachment(
            "operator-role-policy",
            role=self.operator_role.name,
            policy_arn=policy.arn,
            opts=self._child,
        )
        return policy

    # --- monitoring (TRS App. C) ---------------------------------------------------------------
    def _alarms(self) -> dict[str, aws.cloudwatch.MetricAlarm]:
        alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        actions = [self.topic.arn]

        def alarm(label: str, namespace: str, metric: str, dimensions: dict, what: str) -> None:
            alarms[label] = aws.cloudwatch.MetricAlarm(
                label,
                name=f"{names.PREFIX}-{label}",
                alarm_description=what,
                namespace=namespace,
                metric_name=metric,
                dimensions=dimensions,
                statistic="Sum",
                period=300,
                evaluation_periods=1,
                threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=actions,
                ok_actions=actions,
                tags=self.tags,
                opts=self._child,
            )

        for key, machine in self.state_machines.items():
            for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
                alarm(
                    f"{key}-{metric.lower()}",
                    "AWS/States",
                    metric,
                    {"StateMachineArn": machine.arn},
                    f"drorch {key} state machine: {metric}",
                )
        for key in self.functions:
            for metric in ("Errors", "Throttles"):
                alarm(
                    f"{names.FUNCTIONS[key]}-{metric.lower()}".removeprefix(f"{names.PREFIX}-"),
                    "AWS/Lambda",
                    metric,
                    {"FunctionName": names.FUNCTIONS[key]},
                    f"drorch function {names.FUNCTIONS[key]}: {metric}",
                )
        # completion events drorch-waiter could not record: the executors fell back to polling
        alarm(
            "completion-dead-letters",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": names.COMPLETION_DEAD_LETTERS},
            "drorch: completion events set aside after 3 failed deliveries to drorch-waiter "
            f"(queue {names.COMPLETION_DEAD_LETTERS}); executors poll every "
            f"{asl.EVENT_FALLBACK_SECONDS} s instead",
        )
        return alarms

    def _dashboard(self) -> aws.cloudwatch.Dashboard:
        region = self.config.region

        def body(machine_arns: dict[str, str]) -> str:
            widgets = [
                {
                    "type": "metric",
                    "width": 12,
                    "height": 6,
                    "properties": {
                        "title": "Executions (master)",
                        "region": region,
                        "stat": "Sum",
                        "period": 300,
                        "metrics": [
                            ["AWS/States", m, "StateMachineArn", machine_arns["master"]]
                            for m in (
                                "ExecutionsStarted",
                                "ExecutionsSucceeded",
                                "ExecutionsFailed",
                                "ExecutionsTimedOut",
                            )
                        ],
                    },
                },
                {
                    "type": "metric",
                    "width": 12,
                    "height": 6,
                    "properties": {
                        "title": "drorch engine",
                        "region": region,
                        "stat": "Sum",
                        "period": 300,
                        "metrics": [
                            [names.PREFIX, m, "service", names.PREFIX]
                            for m in (
                                "ExecutionsStarted",
                                "ResourcesStarted",
                                "ResourcesFailed",
                                "WavesFailed",
                                "GatesOpened",
                            )
                        ],
                    },
                },
            ]
            for metric in ("Errors", "Throttles", "Duration"):
                widgets.append(
                    {
                        "type": "metric",
                        "width": 8,
                        "height": 6,
                        "properties": {
                            "title": f"Lambda {metric}",
                            "region": region,
                            "stat": "Maximum" if metric == "Duration" else "Sum",
                            "period": 300,
                            "metrics": [
                                ["AWS/Lambda", metric, "FunctionName", fn]
                                for fn in names.FUNCTIONS.values()
                            ],
                        },
                    }
                )
            return json.dumps({"widgets": widgets}, sort_keys=True)

        machines = {k: m.arn for k, m in self.state_machines.items()}
        return aws.cloudwatch.Dashboard(
            "dashboard",
            dashboard_name=f"{names.PREFIX}-{self.config.environment}",
            dashboard_body=pulumi.Output.from_input(machines).apply(body),
            opts=self._child,
        )
