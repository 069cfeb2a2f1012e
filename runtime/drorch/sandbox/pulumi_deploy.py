"""Deploy the real Pulumi program (``stacks.program.build``) into the sandbox.

The program runs under Pulumi's mock runtime, but :class:`SandboxMocks` does not
invent state: every ``new_resource`` creates the resource in the sandbox through
boto3 — in the hub account for the hub's provider, in a staging account for a
resource whose provider assumes a role there (its ``assumeRoles``) — and returns
the ids and ARNs the sandbox's services gave it. Dynamic resources (the DRS
initialisation and launch configuration template) run their own provider code.
A resource type the mocks cannot create is recorded in
:attr:`SandboxMocks.unsupported` and makes :func:`deploy_program` fail, naming
it, unless the caller allows it — it is never faked.

The Lambda functions are created in moto and registered for in-process dispatch
(:mod:`drorch.sandbox.stepfunctions`), as :mod:`drorch.sandbox.hub` does.
"""

from __future__ import annotations

import base64
import contextvars
import io
import json
import logging
import sys
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from drorch import names
from drorch.engine import clock as engine_clock
from drorch.errors import DrorchError
from drorch.sandbox.core import Sandbox

LAMBDA_TASK_ROOT = "/var/task/"
DYNAMIC = "pulumi-python:dynamic:Resource"
# the sandbox's Lambda runtime: no X-Ray daemon, no EMF metrics on stdout
SANDBOX_FUNCTION_SETTINGS = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


class SandboxDeployError(DrorchError):
    """The program could not be deployed into the sandbox."""


@dataclass(frozen=True)
class Target:
    """Where a provider's resources go."""

    account_id: str
    region: str
    role_arn: str | None = None


def _json_or(value: Any) -> Any:
    """Provider inputs arrive JSON-encoded (``"[{...}]"``); resource inputs do not."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


_SIG_KEY = "4dabf18193072939515e22adb298388d"  # pulumi.runtime.rpc: special value marker
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def _unwrap(value: Any) -> Any:
    """Secrets reach the mocks as ``{<sig>: <secret sig>, "value": v}``: the sandbox needs ``v``."""
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return _unwrap(value.get("value"))
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


def _tags(tags: Any) -> list[dict[str, str]]:
    return [{"Key": k, "Value": str(v)} for k, v in (tags or {}).items()]


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _asset_root(code: Any, relative: str) -> str | None:
    """The local folder a code-asset folder came from (``/var/task/<relative>`` in Lambda)."""
    assets = getattr(code, "assets", None) or {}
    prefix = relative.rstrip("/") + "/"
    for key, asset in assets.items():
        path = getattr(asset, "path", None)
        if key.startswith(prefix) and path:
            suffix = key[len(prefix) :]
            local = Path(path)
            if local.as_posix().endswith(suffix):
                return local.as_posix()[: -len(suffix)].rstrip("/")
    return None


class _Clients:
    """A session whose clients are made once (creating a botocore client is the slow part)."""

    def __init__(self, session: boto3.Session) -> None:
        self.session = session
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]


def _insecure_transport_only(statement: dict) -> bool:
    """A statement that only matches requests without TLS."""
    condition = statement.get("Condition") or {}
    flags = condition.get("Bool") or {}
    return set(condition) == {"Bool"} and str(flags.get("aws:SecureTransport")).lower() == "false"


@dataclass
class Created:
    typ: str
    name: str
    id: str
    account_id: str
    region: str


class SandboxMocks:
    """``pulumi.runtime.Mocks`` that create each resource in the sandbox."""

    def __init__(self, sandbox: Sandbox, *, hub_region: str | None = None) -> None:
        self.sandbox = sandbox
        self.hub_region = hub_region or sandbox.hub.region
        self.providers: dict[str, Target] = {}  # provider id -> target
        self.created: list[Created] = []
        self.unsupported: list[tuple[str, str]] = []
        self.functions: dict[str, dict[str, Any]] = {}  # ARN -> inputs
        self.bucket_policies: dict[str, dict[str, Any]] = {}  # bucket -> policy as declared
        self.messages: list[str] = []  # the program's pulumi.log messages
        self._sessions: dict[tuple[str, str, str | None], _Clients] = {}
        self._lock = threading.Lock()
        self._creators: dict[str, Callable[[_Clients, Target, str, dict], tuple]] = {
            "aws:kms/key:Key": self._kms_key,
            "aws:kms/alias:Alias": self._kms_alias,
            "aws:s3/bucket:Bucket": self._bucket,
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": self._public_access,
            "aws:s3/bucketVersioning:BucketVersioning": self._versioning,
            "aws:s3/bucketServerSideEncryptionConfiguration:"
            "BucketServerSideEncryptionConfiguration": self._bucket_encryption,
            "aws:s3/bucketPolicy:BucketPolicy": self._bucket_policy,
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": self._lifecycle,
            "aws:dynamodb/table:Table": self._table,
            "aws:sns/topic:Topic": self._topic,
            "aws:sns/topicSubscription:TopicSubscription": self._subscription,
            "aws:cloudwatch/eventBus:EventBus": self._event_bus,
            "aws:cloudwatch/eventBusPolicy:EventBusPolicy": self._event_bus_policy,
            "aws:cloudwatch/eventRule:EventRule": self._event_rule,
            "aws:cloudwatch/eventTarget:EventTarget": self._event_target,
            "aws:cloudwatch/logGroup:LogGroup": self._log_group,
            "aws:cloudwatch/metricAlarm:MetricAlarm": self._alarm,
            "aws:cloudwatch/dashboard:Dashboard": self._dashboard,
            "aws:iam/role:Role": self._role,
            "aws:iam/rolePolicy:RolePolicy": self._role_policy,
            "aws:iam/policy:Policy": self._policy,
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment": self._attachment,
            "aws:lambda/function:Function": self._function,
            "aws:sfn/stateMachine:StateMachine": self._state_machine,
            "aws:ssm/document:Document": self._document,
            "aws:resourceexplorer/index:Index": self._index,
            "aws:resourceexplorer/view:View": self._view,
            "aws:drs/replicationConfigurationTemplate:ReplicationConfigurationTemplate": (
                self._replication_template
            ),
            "aws:ec2/vpc:Vpc": self._vpc,
            "aws:ec2/subnet:Subnet": self._subnet,
            "aws:ec2/securityGroup:SecurityGroup": self._security_group,
        }

    # --- the Mocks interface ----------------------------------------------------------------
    def new_resource(self, args: Any) -> tuple[str | None, dict]:
        with self._lock:
            return self._new_resource(args)

    def call(self, args: Any) -> tuple[dict, list | None]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            target = self._target(args.provider)
            identity = self._session(target).client("sts").get_caller_identity()
            return {
                "accountId": identity["Account"],
                "arn": identity["Arn"],
                "userId": identity["UserId"],
                "id": identity["Account"],
            }, []
        if args.token == "aws:index/getRegion:getRegion":
            region = self._target(args.provider).region
            return {"name": region, "region": region, "id": region}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        self.unsupported.append((args.token, "(invoke)"))
        raise SandboxDeployError(f"the sandbox cannot answer the Pulumi invoke {args.token}")

    def register_transform(self, transform: Any) -> None:  # pragma: no cover - none used
        pass

    def register_invoke_transform(self, transform: Any) -> None:  # pragma: no cover
        pass

    # --- routing ------------------------------------------------------------------------------
    def _new_resource(self, args: Any) -> tuple[str | None, dict]:
        inputs = _unwrap(dict(args.inputs))
        if args.typ.startswith("pulumi:providers:"):
            return self._provider(args.typ, args.name, inputs)
        if not args.custom:
            return None, {}  # a component: nothing exists in AWS for it
        if args.typ == DYNAMIC:
            return self._dynamic(args.name, inputs)
        creator = self._creators.get(args.typ)
        if creator is None:
            self.unsupported.append((args.typ, args.name))
            # the program goes on so that every unsupported type is named at once
            return f"unsupported-{args.name}", dict(inputs)
        target = self._target(args.provider)
        resource_id, outputs = creator(self._session(target), target, args.name, inputs)
        self.created.append(
            Created(args.typ, args.name, resource_id, target.account_id, target.region)
        )
        return resource_id, {**inputs, **outputs, "id": resource_id}

    def _provider(self, typ: str, name: str, inputs: dict) -> tuple[str, dict]:
        if typ != "pulumi:providers:aws":
            self.unsupported.append((typ, name))
            return f"unsupported-provider-{name}", inputs
        region = inputs.get("region") or self.hub_region
        roles = _json_or(inputs.get("assumeRoles")) or []
        single = _json_or(inputs.get("assumeRole"))
        if single:
            roles = [single]
        role_arn = None
        if roles:
            last = roles[-1]
            role_arn = last.get("roleArn") or last.get("role_arn")
        account = role_arn.split(":")[4] if role_arn else self.sandbox.hub.account_id
        allowed = _json_or(inputs.get("allowedAccountIds")) or []
        if allowed and account not in allowed:
            raise SandboxDeployError(
                f"provider {name}: account {account} is not in its allowedAccountIds {allowed}"
            )
        provider_id = f"{name}-{account}-{region}"
        self.providers[provider_id] = Target(account, region, role_arn)
        return provider_id, inputs

    def _target(self, provider: str | None) -> Target:
        if not provider:  # the default provider: the deployer's account, the hub's region
            return Target(self.sandbox.hub.account_id, self.hub_region)
        provider_id = provider.rsplit("::", 1)[-1]
        if provider_id not in self.providers:
            raise SandboxDeployError(f"resource uses an unknown provider {provider}")
        return self.providers[provider_id]

    def _session(self, target: Target) -> _Clients:
        """The deployer's access to the target: the provider's role, assumed like the provider does."""
        key = (target.account_id, target.region, target.role_arn)
        if key not in self._sessions:
            if target.role_arn is None or target.role_arn.endswith(
                "/OrganizationAccountAccessRole"
            ):
                session = self.sandbox.admin_session(target.account_id, target.region)
            else:
                creds = (
                    self.sandbox.operator_session(target.region)
                    .client("sts")
                    .assume_role(RoleArn=target.role_arn, RoleSessionName="drorch-deploy")[
                        "Credentials"
                    ]
                )
                session = boto3.Session(
                    aws_access_key_id=creds["AccessKeyId"],
                    aws_secret_access_key=creds["SecretAccessKey"],
                    aws_session_token=creds["SessionToken"],
                    region_name=target.region,
                )
            self._sessions[key] = _Clients(session)
        return self._sessions[key]

    def _dynamic(self, name: str, inputs: dict) -> tuple[str, dict]:
        """Run the dynamic resource's own provider (``create``) against the sandbox."""
        import dill

        serialized = inputs.pop("__provider")
        provider = dill.loads(base64.b64decode(serialized))
        result = provider.create(inputs)
        outs = dict(result.outs or {})
        self.created.append(
            Created(
                f"{DYNAMIC}:{type(provider).__name__}",
                name,
                result.id,
                str(inputs.get("accountId", "")),
                str(inputs.get("region", "")),
            )
        )
        return result.id, {**outs, "__provider": serialized}

    # --- KMS ----------------------------------------------------------------------------------
    def _kms_key(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        kms = s.client("kms")
        kwargs: dict[str, Any] = {"Description": i.get("description", ""), "Tags": []}
        if i.get("policy"):
            kwargs["Policy"] = i["policy"]
        kwargs["Tags"] = [{"TagKey": k, "TagValue": v} for k, v in (i.get("tags") or {}).items()]
        meta = kms.create_key(**kwargs)["KeyMetadata"]
        if i.get("enableKeyRotation"):
            kms.enable_key_rotation(KeyId=meta["KeyId"])
        return meta["KeyId"], {"arn": meta["Arn"], "keyId": meta["KeyId"]}

    def _kms_alias(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        s.client("kms").create_alias(AliasName=i["name"], TargetKeyId=i["targetKeyId"])
        arn = f"arn:aws:kms:{t.region}:{t.account_id}:{i['name']}"
        return i["name"], {"arn": arn, "targetKeyArn": i["targetKeyId"]}

    # --- S3 -----------------------------------------------------------------------------------
    def _bucket(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        bucket = i["bucket"]
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if t.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": t.region}
        s3 = s.client("s3")
        s3.create_bucket(**kwargs)
        if i.get("tags"):
            s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": _tags(i["tags"])})
        return bucket, {
            "arn": f"arn:aws:s3:::{bucket}",
            "bucketDomainName": f"{bucket}.s3.amazonaws.com",
            "region": t.region,
        }

    def _public_access(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        s.client("s3").put_public_access_block(
            Bucket=i["bucket"],
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": bool(i.get("blockPublicAcls")),
                "IgnorePublicAcls": bool(i.get("ignorePublicAcls")),
                "BlockPublicPolicy": bool(i.get("blockPublicPolicy")),
                "RestrictPublicBuckets": bool(i.get("restrictPublicBuckets")),
            },
        )
        return i["bucket"], {}

    def _versioning(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        status = (i.get("versioningConfiguration") or {}).get("status", "Enabled")
        s.client("s3").put_bucket_versioning(
            Bucket=i["bucket"], VersioningConfiguration={"Status": status}
        )
        return i["bucket"], {}

    def _bucket_encryption(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        rules = []
        for rule in i.get("rules") or []:
            default = rule.get("applyServerSideEncryptionByDefault") or {}
            by_default = {"SSEAlgorithm": default.get("sseAlgorithm", "aws:kms")}
            if default.get("kmsMasterKeyId"):
                by_default["KMSMasterKeyID"] = default["kmsMasterKeyId"]
            rules.append(
                {
                    "ApplyServerSideEncryptionByDefault": by_default,
                    "BucketKeyEnabled": bool(rule.get("bucketKeyEnabled")),
                }
            )
        s.client("s3").put_bucket_encryption(
            Bucket=i["bucket"], ServerSideEncryptionConfiguration={"Rules": rules}
        )
        return i["bucket"], {}

    def _bucket_policy(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        """moto enforces ``Principal: *`` statements but ignores their conditions, so the
        TLS-only Deny would refuse every request. Every sandbox request is made over TLS,
        where that statement never applies: it is kept in :attr:`bucket_policies` and the
        rest of the policy is applied."""
        policy = json.loads(i["policy"])
        self.bucket_policies[i["bucket"]] = policy
        applied = [s_ for s_ in policy.get("Statement", []) if not _insecure_transport_only(s_)]
        if applied:
            s.client("s3").put_bucket_policy(
                Bucket=i["bucket"], Policy=json.dumps({**policy, "Statement": applied})
            )
        return i["bucket"], {}

    def _lifecycle(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        rules = []
        for rule in i.get("rules") or []:
            item: dict[str, Any] = {"ID": rule["id"], "Status": rule.get("status", "Enabled")}
            item["Filter"] = {"Prefix": (rule.get("filter") or {}).get("prefix", "")}
            if rule.get("expiration"):
                item["Expiration"] = {"Days": _int(rule["expiration"].get("days"))}
            if rule.get("noncurrentVersionExpiration"):
                item["NoncurrentVersionExpiration"] = {
                    "NoncurrentDays": _int(rule["noncurrentVersionExpiration"]["noncurrentDays"])
                }
            rules.append(item)
        s.client("s3").put_bucket_lifecycle_configuration(
            Bucket=i["bucket"], LifecycleConfiguration={"Rules": rules}
        )
        return i["bucket"], {}

    # --- DynamoDB -----------------------------------------------------------------------------
    def _table(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        dynamodb = s.client("dynamodb")
        keys = [{"AttributeName": i["hashKey"], "KeyType": "HASH"}]
        if i.get("rangeKey"):
            keys.append({"AttributeName": i["rangeKey"], "KeyType": "RANGE"})
        kwargs: dict[str, Any] = {
            "TableName": i["name"],
            "BillingMode": i.get("billingMode", "PAY_PER_REQUEST"),
            "AttributeDefinitions": [
                {"AttributeName": a["name"], "AttributeType": a["type"]}
                for a in i.get("attributes") or []
            ],
            "KeySchema": keys,
        }
        indexes = []
        for index in i.get("globalSecondaryIndexes") or []:
            schema = [{"AttributeName": index["hashKey"], "KeyType": "HASH"}]
            if index.get("rangeKey"):
                schema.append({"AttributeName": index["rangeKey"], "KeyType": "RANGE"})
            indexes.append(
                {
                    "IndexName": index["name"],
                    "KeySchema": schema,
                    "Projection": {"ProjectionType": index.get("projectionType", "ALL")},
                }
            )
        if indexes:
            kwargs["GlobalSecondaryIndexes"] = indexes
        sse = i.get("serverSideEncryption") or {}
        if sse.get("enabled"):
            kwargs["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
            if sse.get("kmsKeyArn"):
                kwargs["SSESpecification"]["KMSMasterKeyId"] = sse["kmsKeyArn"]
        if i.get("tags"):
            kwargs["Tags"] = _tags(i["tags"])
        if i.get("deletionProtectionEnabled") is not None:
            kwargs["DeletionProtectionEnabled"] = bool(i["deletionProtectionEnabled"])
        table = dynamodb.create_table(**kwargs)["TableDescription"]
        ttl = i.get("ttl") or {}
        if ttl.get("enabled") and ttl.get("attributeName"):
            dynamodb.update_time_to_live(
                TableName=i["name"],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]},
            )
        if (i.get("pointInTimeRecovery") or {}).get("enabled"):
            dynamodb.update_continuous_backups(
                TableName=i["name"],
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        return i["name"], {"arn": table["TableArn"]}

    # --- SNS, EventBridge, CloudWatch ---------------------------------------------------------
    def _topic(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        attributes = {}
        if i.get("kmsMasterKeyId"):
            attributes["KmsMasterKeyId"] = i["kmsMasterKeyId"]
        arn = s.client("sns").create_topic(
            Name=i["name"], Attributes=attributes, Tags=_tags(i.get("tags"))
        )["TopicArn"]
        return arn, {"arn": arn}

    def _subscription(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        arn = s.client("sns").subscribe(
            TopicArn=i["topic"], Protocol=i["protocol"], Endpoint=i["endpoint"]
        )["SubscriptionArn"]
        return arn, {"arn": arn}

    def _event_bus(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        arn = s.client("events").create_event_bus(Name=i["name"], Tags=_tags(i.get("tags")))[
            "EventBusArn"
        ]
        return i["name"], {"arn": arn}

    def _event_bus_policy(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        s.client("events").put_permission(EventBusName=i["eventBusName"], Policy=i["policy"])
        return i["eventBusName"], {}

    def _event_rule(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        kwargs: dict[str, Any] = {"Name": i["name"], "State": i.get("state", "ENABLED")}
        for key, api in (
            ("description", "Description"),
            ("eventPattern", "EventPattern"),
            ("scheduleExpression", "ScheduleExpression"),
            ("eventBusName", "EventBusName"),
            ("roleArn", "RoleArn"),
        ):
            if i.get(key):
                kwargs[api] = i[key]
        if i.get("tags"):
            kwargs["Tags"] = _tags(i["tags"])
        arn = s.client("events").put_rule(**kwargs)["RuleArn"]
        return i["name"], {"arn": arn}

    def _event_target(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        target_id = i.get("targetId") or name
        target: dict[str, Any] = {"Id": target_id, "Arn": i["arn"]}
        if i.get("roleArn"):
            target["RoleArn"] = i["roleArn"]
        if i.get("input"):
            target["Input"] = i["input"]
        transformer = i.get("inputTransformer")
        if transformer:
            target["InputTransformer"] = {
                "InputPathsMap": dict(transformer.get("inputPaths") or {}),
                "InputTemplate": transformer["inputTemplate"],
            }
        kwargs: dict[str, Any] = {"Rule": i["rule"], "Targets": [target]}
        if i.get("eventBusName"):
            kwargs["EventBusName"] = i["eventBusName"]
        s.client("events").put_targets(**kwargs)
        return f"{i['rule']}-{target_id}", {"targetId": target_id}

    def _log_group(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        logs = s.client("logs")
        kwargs: dict[str, Any] = {"logGroupName": i["name"]}
        if i.get("kmsKeyId"):
            kwargs["kmsKeyId"] = i["kmsKeyId"]
        if i.get("tags"):
            kwargs["tags"] = dict(i["tags"])
        logs.create_log_group(**kwargs)
        if i.get("retentionInDays"):
            logs.put_retention_policy(
                logGroupName=i["name"], retentionInDays=_int(i["retentionInDays"])
            )
        arn = f"arn:aws:logs:{t.region}:{t.account_id}:log-group:{i['name']}"
        return i["name"], {"arn": arn}

    def _alarm(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        s.client("cloudwatch").put_metric_alarm(
            AlarmName=i["name"],
            AlarmDescription=i.get("alarmDescription", ""),
            Namespace=i["namespace"],
            MetricName=i["metricName"],
            Dimensions=[{"Name": k, "Value": v} for k, v in (i.get("dimensions") or {}).items()],
            Statistic=i.get("statistic", "Sum"),
            Period=_int(i.get("period")),
            EvaluationPeriods=_int(i.get("evaluationPeriods")),
            Threshold=float(i.get("threshold", 0)),
            ComparisonOperator=i["comparisonOperator"],
            TreatMissingData=i.get("treatMissingData", "missing"),
            AlarmActions=list(i.get("alarmActions") or []),
            OKActions=list(i.get("okActions") or []),
            Tags=_tags(i.get("tags")),
        )
        arn = f"arn:aws:cloudwatch:{t.region}:{t.account_id}:alarm:{i['name']}"
        return i["name"], {"arn": arn}

    def _dashboard(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        s.client("cloudwatch").put_dashboard(
            DashboardName=i["dashboardName"], DashboardBody=i["dashboardBody"]
        )
        arn = f"arn:aws:cloudwatch::{t.account_id}:dashboard/{i['dashboardName']}"
        return i["dashboardName"], {"dashboardArn": arn}

    # --- IAM ----------------------------------------------------------------------------------
    def _role(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        kwargs: dict[str, Any] = {
            "RoleName": i["name"],
            "AssumeRolePolicyDocument": i["assumeRolePolicy"],
            "Description": i.get("description", ""),
        }
        if i.get("maxSessionDuration"):
            kwargs["MaxSessionDuration"] = _int(i["maxSessionDuration"])
        if i.get("tags"):
            kwargs["Tags"] = _tags(i["tags"])
        role = s.client("iam").create_role(**kwargs)["Role"]
        return i["name"], {"arn": role["Arn"], "uniqueId": role["RoleId"], "name": i["name"]}

    def _role_policy(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        s.client("iam").put_role_policy(
            RoleName=i["role"], PolicyName=i["name"], PolicyDocument=i["policy"]
        )
        return f"{i['role']}:{i['name']}", {}

    def _policy(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        policy = s.client("iam").create_policy(
            PolicyName=i["name"],
            PolicyDocument=i["policy"],
            Description=i.get("description", ""),
            Tags=_tags(i.get("tags")),
        )["Policy"]
        return policy["Arn"], {"arn": policy["Arn"], "policyId": policy["PolicyId"]}

    def _attachment(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        s.client("iam").attach_role_policy(RoleName=i["role"], PolicyArn=i["policyArn"])
        return f"{i['role']}-{i['policyArn']}", {}

    # --- Lambda, Step Functions, SSM ------------------------------------------------------------
    def _function(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        handler = i["handler"]
        module, _, function = handler.rpartition(".")
        code = _zip(
            {
                "SANDBOX.txt": "In the drorch sandbox this function runs in-process from the "
                "installed drorch package.\n"
            }
        )
        variables = dict((i.get("environment") or {}).get("variables") or {})
        kwargs: dict[str, Any] = {
            "FunctionName": i["name"],
            "Runtime": i.get("runtime", "python3.12"),
            "Role": i["role"],
            "Handler": handler,
            "Code": {"ZipFile": code},
            "Timeout": _int(i.get("timeout")) or 3,
            "MemorySize": _int(i.get("memorySize")) or 128,
            "Environment": {"Variables": variables},
            "Tags": dict(i.get("tags") or {}),
        }
        if i.get("kmsKeyArn"):
            kwargs["KMSKeyArn"] = i["kmsKeyArn"]
        if (i.get("tracingConfig") or {}).get("mode"):
            kwargs["TracingConfig"] = {"Mode": i["tracingConfig"]["mode"]}
        answer = s.client("lambda").create_function(**kwargs)
        arn = answer["FunctionArn"]
        self.sandbox.state.lambda_runtime.handlers[arn] = f"{module}:{function}"
        self.functions[arn] = i
        return i["name"], {
            "arn": arn,
            "invokeArn": f"arn:aws:apigateway:{t.region}:lambda:path/2015-03-31/functions/"
            f"{arn}/invocations",
            "qualifiedArn": f"{arn}:$LATEST",
            "version": "$LATEST",
        }

    def _state_machine(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        kwargs: dict[str, Any] = {
            "name": i["name"],
            "definition": i["definition"],
            "roleArn": i["roleArn"],
            "type": i.get("type", "STANDARD"),
        }
        logging = i.get("loggingConfiguration") or {}
        if logging:
            kwargs["loggingConfiguration"] = {
                "level": logging.get("level", "OFF"),
                "includeExecutionData": bool(logging.get("includeExecutionData")),
                "destinations": [
                    {"cloudWatchLogsLogGroup": {"logGroupArn": logging["logDestination"]}}
                ]
                if logging.get("logDestination")
                else [],
            }
        if (i.get("tracingConfiguration") or {}).get("enabled") is not None:
            kwargs["tracingConfiguration"] = {"enabled": bool(i["tracingConfiguration"]["enabled"])}
        if i.get("tags"):
            kwargs["tags"] = [{"key": k, "value": v} for k, v in i["tags"].items()]
        arn = s.client("stepfunctions").create_state_machine(**kwargs)["stateMachineArn"]
        return arn, {"arn": arn, "status": "ACTIVE"}

    def _document(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        description = s.client("ssm").create_document(
            Name=i["name"],
            Content=i["content"],
            DocumentType=i.get("documentType", "Command"),
            DocumentFormat=i.get("documentFormat", "JSON"),
            Tags=_tags(i.get("tags")),
        )["DocumentDescription"]
        arn = f"arn:aws:ssm:{t.region}:{t.account_id}:document/{i['name']}"
        return i["name"], {"arn": arn, "latestVersion": description.get("LatestVersion", "1")}

    # --- Resource Explorer, DRS, EC2 -----------------------------------------------------------
    def _index(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        rex = s.client("resource-explorer-2")
        arn = rex.create_index()["Arn"]
        kind = i.get("type", "LOCAL")
        if kind != "LOCAL":
            rex.update_index_type(Arn=arn, Type=kind)
        return arn, {"arn": arn, "type": kind}

    def _view(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        kwargs: dict[str, Any] = {
            "ViewName": i["name"],
            "IncludedProperties": [{"Name": p["name"]} for p in i.get("includedProperties") or []],
        }
        filters = i.get("filters") or {}
        if filters.get("filterString"):
            kwargs["Filters"] = {"FilterString": filters["filterString"]}
        if i.get("tags"):
            kwargs["Tags"] = dict(i["tags"])
        rex = s.client("resource-explorer-2")
        arn = rex.create_view(**kwargs)["View"]["ViewArn"]
        if i.get("defaultView"):
            rex.associate_default_view(ViewArn=arn)
        return arn, {"arn": arn}

    def _replication_template(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        template = s.client("drs").create_replication_configuration_template(
            associateDefaultSecurityGroup=bool(i.get("associateDefaultSecurityGroup")),
            bandwidthThrottling=_int(i.get("bandwidthThrottling")),
            createPublicIP=bool(i.get("createPublicIp")),
            dataPlaneRouting=i["dataPlaneRouting"],
            defaultLargeStagingDiskType=i["defaultLargeStagingDiskType"],
            ebsEncryption=i["ebsEncryption"],
            **(
                {"ebsEncryptionKeyArn": i["ebsEncryptionKeyArn"]}
                if i.get("ebsEncryptionKeyArn")
                else {}
            ),
            replicationServerInstanceType=i["replicationServerInstanceType"],
            replicationServersSecurityGroupsIDs=list(
                i.get("replicationServersSecurityGroupsIds") or []
            ),
            stagingAreaSubnetId=i["stagingAreaSubnetId"],
            stagingAreaTags=dict(i.get("stagingAreaTags") or {}),
            useDedicatedReplicationServer=bool(i.get("useDedicatedReplicationServer")),
            pitPolicy=[
                {
                    "interval": _int(p["interval"]),
                    "retentionDuration": _int(p["retentionDuration"]),
                    "units": p["units"],
                    "enabled": bool(p.get("enabled", True)),
                    **({"ruleID": _int(p["ruleId"])} if p.get("ruleId") is not None else {}),
                }
                for p in i.get("pitPolicies") or []
            ],
            tags=dict(i.get("tags") or {}),
        )
        template_id = template["replicationConfigurationTemplateID"]
        return template_id, {"arn": template["arn"]}

    def _vpc(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        ec2 = s.client("ec2")
        kwargs: dict[str, Any] = {"CidrBlock": i["cidrBlock"]}
        if i.get("tags"):
            kwargs["TagSpecifications"] = [{"ResourceType": "vpc", "Tags": _tags(i["tags"])}]
        vpc_id = ec2.create_vpc(**kwargs)["Vpc"]["VpcId"]
        for key, attribute in (
            ("enableDnsSupport", "EnableDnsSupport"),
            ("enableDnsHostnames", "EnableDnsHostnames"),
        ):
            if i.get(key) is not None:
                ec2.modify_vpc_attribute(VpcId=vpc_id, **{attribute: {"Value": bool(i[key])}})
        arn = f"arn:aws:ec2:{t.region}:{t.account_id}:vpc/{vpc_id}"
        return vpc_id, {"arn": arn}

    def _subnet(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        kwargs: dict[str, Any] = {"VpcId": i["vpcId"], "CidrBlock": i["cidrBlock"]}
        if i.get("availabilityZone"):
            kwargs["AvailabilityZone"] = i["availabilityZone"]
        if i.get("tags"):
            kwargs["TagSpecifications"] = [{"ResourceType": "subnet", "Tags": _tags(i["tags"])}]
        subnet = s.client("ec2").create_subnet(**kwargs)["Subnet"]
        return subnet["SubnetId"], {
            "arn": subnet.get("SubnetArn", ""),
            "availabilityZone": subnet["AvailabilityZone"],
        }

    def _security_group(self, s: _Clients, t: Target, name: str, i: dict) -> tuple:
        ec2 = s.client("ec2")
        group = ec2.create_security_group(
            GroupName=i.get("name") or name,
            Description=i.get("description", "Managed by Pulumi"),
            VpcId=i["vpcId"],
        )["GroupId"]

        def permissions(rules: list[dict]) -> list[dict]:
            return [
                {
                    "IpProtocol": r["protocol"],
                    "FromPort": _int(r.get("fromPort")),
                    "ToPort": _int(r.get("toPort")),
                    "IpRanges": [
                        {"CidrIp": c, "Description": r.get("description", "")}
                        for c in r.get("cidrBlocks") or []
                    ],
                }
                for r in rules
            ]

        if i.get("ingress"):
            ec2.authorize_security_group_ingress(
                GroupId=group, IpPermissions=permissions(i["ingress"])
            )
        if i.get("egress") is not None:
            # like the provider: the egress rules given replace AWS's default allow-all
            ec2.revoke_security_group_egress(
                GroupId=group,
                IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
            )
            if i["egress"]:
                ec2.authorize_security_group_egress(
                    GroupId=group, IpPermissions=permissions(i["egress"])
                )
        arn = f"arn:aws:ec2:{t.region}:{t.account_id}:security-group/{group}"
        return group, {"arn": arn}


# --- running the program -------------------------------------------------------------------


def project_dir(start: Path | None = None) -> Path:
    """The folder holding ``Pulumi.yaml`` and ``stacks/`` (searched upwards)."""
    here = (start or Path.cwd()).resolve()
    package = Path(__file__).resolve().parents[3]  # an editable install: <repo>/runtime/drorch
    for folder in (here, *here.parents, package):
        if (folder / "Pulumi.yaml").is_file() and (folder / "stacks").is_dir():
            return folder
    raise SandboxDeployError(
        f"no Pulumi project (Pulumi.yaml and stacks/) in {here} or above",
        hint="run from the drorch repository",
    )


def _import_build(directory: Path) -> Callable[[Any], dict[str, Any]]:
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    from stacks.program import build

    return build


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.INFO)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(f"{record.levelname.lower()}: {record.getMessage()}")


def _resolve(value: Any) -> Any:
    """Plain values from a tree of Outputs (after the program ran, everything is known)."""
    import pulumi
    from pulumi.runtime.sync_await import _sync_await

    return _sync_await(pulumi.Output.from_input(value).future())


def run_program(
    sandbox: Sandbox,
    config: Any,
    *,
    mocks: SandboxMocks | None = None,
    build: Callable[[Any], dict[str, Any]] | None = None,
    project: str = "drorch",
    stack: str = "sandbox",
) -> tuple[SandboxMocks, dict[str, Any]]:
    """Run ``build(config)`` under :class:`SandboxMocks`; returns the mocks and the exports.

    Pulumi's runtime settings are context variables: the program runs in a context
    of its own, so mocks another caller set (Pulumi unit tests) stay in place.
    """
    mocks = mocks or SandboxMocks(sandbox, hub_region=config.hub_region)
    build = build or _import_build(project_dir())
    return contextvars.copy_context().run(_run_isolated, mocks, build, config, project, stack)


def _run_isolated(
    mocks: SandboxMocks,
    build: Callable[[Any], dict[str, Any]],
    config: Any,
    project: str,
    stack: str,
) -> tuple[SandboxMocks, dict[str, Any]]:
    from pulumi.runtime import mocks as pulumi_mocks
    from pulumi.runtime import settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    class _Adapter(pulumi_mocks.Mocks):
        def new_resource(self, args: Any) -> tuple[str | None, dict]:
            return mocks.new_resource(args)

        def call(self, args: Any) -> tuple[dict, list | None]:
            return mocks.call(args)

    # the program's log messages (pulumi.log) are kept with the deployment, not printed
    logger = logging.getLogger("drorch.sandbox.pulumi")
    logger.propagate = False
    logger.handlers[:] = [_Collect(mocks.messages)]
    settings.ROOT.set(None)  # a root stack of this deployment's own
    pulumi_mocks.set_mocks(_Adapter(), project=project, stack=stack, preview=False, logger=logger)
    settings.SETTINGS.rpc_manager.clear()
    settings.SETTINGS.outputs.clear()
    exports: dict[str, Any] = {}

    def program() -> None:
        outputs = build(config)
        public = {k: v for k, v in outputs.items() if not k.startswith("_")}
        exports.update(_resolve(public) or {})

    try:
        _sync_await(run_pulumi_func(program))
    except SandboxDeployError:
        raise
    except Exception as exc:
        raise SandboxDeployError(
            f"the Pulumi program failed in the sandbox: {type(exc).__name__}: {exc}"
        ) from exc
    return mocks, exports


def deploy_program(
    sandbox: Sandbox,
    config: Any,
    *,
    build: Callable[[Any], dict[str, Any]] | None = None,
    allow_unsupported: bool = False,
    log_level: str = "WARNING",
) -> dict[str, Any]:
    """Deploy hub and staging accounts with the real program; returns its exports.

    ``config`` is a ``stacks.config.DeploymentConfig``. Afterwards the sandbox
    runs the hub's functions in-process as the hub's orchestrator role, with the
    functions' environment, and its staging accounts are registered (for
    :meth:`Sandbox.execution_session`).
    """
    from drorch.sandbox.core import ProvisionedAccount

    mocks, exports = run_program(sandbox, config, build=build)
    if mocks.unsupported and not allow_unsupported:
        listed = ", ".join(f"{typ} ({name})" for typ, name in mocks.unsupported)
        raise SandboxDeployError(
            f"the sandbox cannot create these resource types: {listed}",
            hint="add them to drorch.sandbox.pulumi_deploy.SandboxMocks",
        )
    for account in config.accounts:
        staged = exports.get("stagingAccounts", {}).get(account.name, {})
        provisioned = sandbox.accounts.setdefault(account.account_id, ProvisionedAccount(account))
        provisioned.view_arn = staged.get("viewArn", "")
        provisioned.index_arns = dict(staged.get("indexes") or {})
        _describe_network(sandbox, provisioned)
    environment = _function_environment(mocks, log_level)
    _activate(sandbox, environment)
    exports["sandbox"] = {
        "created": len(mocks.created),
        "unsupported": [f"{typ} ({name})" for typ, name in mocks.unsupported],
        "environment": environment,
        "messages": list(mocks.messages),
    }
    return exports


def _describe_network(sandbox: Sandbox, provisioned: Any) -> None:
    """Fill in the staging network the program created (the scenario seeders use it)."""
    account = provisioned.account
    if not account.vpc_cidr:
        return
    ec2 = sandbox.admin_session(account.account_id, account.recovery_region).client("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": [account.vpc_cidr]}])["Vpcs"]
    if not vpcs:
        return
    provisioned.vpc_id = vpcs[0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [provisioned.vpc_id]}])[
        "Subnets"
    ]
    by_cidr = {s["CidrBlock"]: s["SubnetId"] for s in subnets}
    provisioned.recovery_subnet_ids = []
    for subnet in account.subnets:
        subnet_id = by_cidr.get(subnet.cidr)
        if not subnet_id:
            continue
        if subnet.purpose == "staging":
            provisioned.staging_subnet_id = provisioned.staging_subnet_id or subnet_id
        else:
            provisioned.recovery_subnet_ids.append(subnet_id)
    groups = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [provisioned.vpc_id]},
            {"Name": "group-name", "Values": [f"{names.PREFIX}-drs-replication"]},
        ]
    )["SecurityGroups"]
    if groups:
        provisioned.security_group_id = groups[0]["GroupId"]


def _function_environment(mocks: SandboxMocks, log_level: str) -> dict[str, str]:
    """The functions' environment, with ``/var/task/...`` mapped to where the asset came from."""
    merged: dict[str, str] = {}
    for inputs in mocks.functions.values():
        variables = (inputs.get("environment") or {}).get("variables") or {}
        for key, value in variables.items():
            value = str(value)
            if value.startswith(LAMBDA_TASK_ROOT):
                local = _asset_root(inputs.get("code"), value[len(LAMBDA_TASK_ROOT) :])
                if local is None:
                    raise SandboxDeployError(
                        f"{key}={value} names a folder that is not in the function's code asset"
                    )
                value = local
            merged[key] = value
    return merged | SANDBOX_FUNCTION_SETTINGS | {"POWERTOOLS_LOG_LEVEL": log_level}


def _activate(sandbox: Sandbox, environment: dict[str, str]) -> None:
    """Run the hub's functions in-process as its orchestrator role, with their environment."""
    orchestrator = sandbox.orchestrator_session(sandbox.hub.region)
    sandbox.state.lambda_runtime.session = orchestrator
    sandbox.state.service_access_key = orchestrator.get_credentials().access_key
    sandbox.set_environment(environment)
    engine_clock.use(sandbox.clock.now)
    sandbox.on_stop(lambda: engine_clock.use(None))


def program_config(sandbox: Sandbox, accounts: Any, *, environment: str = "sandbox") -> Any:
    """The ``DeploymentConfig`` of a stack deployed into ``sandbox`` (its hub account and region)."""
    build_dir = project_dir()
    if str(build_dir) not in sys.path:
        sys.path.insert(0, str(build_dir))
    from stacks.config import DeploymentConfig

    return DeploymentConfig(
        environment=environment,
        hub_region=sandbox.hub.region,
        accounts=tuple(accounts),
        hub_account_id=sandbox.hub.account_id,
    )
