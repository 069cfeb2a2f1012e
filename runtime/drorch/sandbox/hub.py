"""Deploy drorch's hub into the sandbox: what the hub stack deploys in AWS.

Everything is created through boto3 in the hub account, with the names from
:mod:`drorch.names` and the state machines from :mod:`drorch.engine.asl` — the
same definitions the Pulumi stack deploys. The Lambda functions are registered
with moto (so ``ListFunctions`` and ARNs are real) and run in-process by
:mod:`drorch.sandbox.stepfunctions` when invoked.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

from drorch import names
from drorch.engine import asl, tables
from drorch.engine import clock as engine_clock
from drorch.sandbox.core import Sandbox

HANDLER_MODULE = "drorch.handlers.{key}"


@dataclass
class HubDeployment:
    account_id: str
    region: str
    manifest_bucket: str
    artifacts_bucket: str
    topic_arn: str
    event_bus_arn: str
    functions: dict[str, str] = field(default_factory=dict)  # key -> ARN
    state_machines: dict[str, str] = field(default_factory=dict)  # key -> ARN
    environment: dict[str, str] = field(default_factory=dict)


def _code_asset() -> bytes:
    """A minimal zip: in the sandbox the handler runs from this process's drorch package."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "SANDBOX.txt",
            "In the drorch sandbox this function runs in-process from the installed drorch package.\n",
        )
    return buffer.getvalue()


def _accounts_config(sandbox: Sandbox) -> list[dict[str, str]]:
    return [
        {
            "name": p.account.name,
            "accountId": p.account.account_id,
            "recoveryRegion": p.account.recovery_region,
            "sourceRegion": p.account.source_region,
            "executionRoleArn": p.account.execution_role_arn,
            "externalId": p.account.external_id,
        }
        for p in sandbox.accounts.values()
    ]


def _tables(dynamodb: Any) -> None:
    """The hub's tables, from the one definition the hub stack uses too."""
    for _ in tables.create_tables(dynamodb):
        pass


def deploy_hub(sandbox: Sandbox, *, log_level: str = "WARNING") -> HubDeployment:
    """Create the hub's stores, functions and state machines in the sandbox's hub account."""
    hub, region = sandbox.hub.account_id, sandbox.hub.region
    session = sandbox.admin_session(hub, region)
    orchestrator_arn = names.role_arn(hub, names.ORCHESTRATOR_ROLE)
    deployment = HubDeployment(
        account_id=hub,
        region=region,
        manifest_bucket=names.manifest_bucket(hub, region),
        artifacts_bucket=names.artifacts_bucket(hub, region),
        topic_arn="",
        event_bus_arn="",
    )
    s3 = session.client("s3")
    for bucket in (deployment.manifest_bucket, deployment.artifacts_bucket):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        s3.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
    s3.put_bucket_versioning(
        Bucket=deployment.manifest_bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    _tables(session.client("dynamodb"))
    deployment.topic_arn = session.client("sns").create_topic(Name=names.NOTIFICATION_TOPIC)[
        "TopicArn"
    ]
    deployment.event_bus_arn = session.client("events").create_event_bus(Name=names.EVENT_BUS)[
        "EventBusArn"
    ]

    deployment.environment = {
        "DRORCH_HISTORY_TABLE": names.HISTORY_TABLE,
        "DRORCH_LOCK_TABLE": names.LOCK_TABLE,
        "DRORCH_IDEMPOTENCY_TABLE": names.IDEMPOTENCY_TABLE,
        "DRORCH_MANIFEST_BUCKET": deployment.manifest_bucket,
        "DRORCH_ARTIFACTS_BUCKET": deployment.artifacts_bucket,
        "DRORCH_EVENT_BUS": names.EVENT_BUS,
        "DRORCH_TOPIC_ARN": deployment.topic_arn,
        "DRORCH_ACCOUNTS": json.dumps(_accounts_config(sandbox)),
        "POWERTOOLS_SERVICE_NAME": "drorch",
        "POWERTOOLS_METRICS_NAMESPACE": "drorch",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": log_level,
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    lambda_client = session.client("lambda")
    code = _code_asset()
    runtime = sandbox.state.lambda_runtime
    for key, function_name in names.FUNCTIONS.items():
        handler = f"{HANDLER_MODULE.format(key=key)}.handler"
        arn = lambda_client.create_function(
            FunctionName=function_name,
            Runtime="python3.12",
            Role=orchestrator_arn,
            Handler=handler,
            Code={"ZipFile": code},
            Timeout=900 if key in ("discover", "plan") else 300,
            MemorySize=512,
            Environment={"Variables": deployment.environment},
            Tags={"drorch:component": "engine"},
        )["FunctionArn"]
        deployment.functions[key] = arn
        runtime.handlers[arn] = f"{HANDLER_MODULE.format(key=key)}:handler"

    targets = asl.Targets(hub, region)
    sfn = session.client("stepfunctions")
    for key in ("executor", "lifecycle", "master"):
        deployment.state_machines[key] = sfn.create_state_machine(
            name=names.STATE_MACHINES[key],
            definition=asl.definition_json(key, targets),
            roleArn=orchestrator_arn,
            type="STANDARD",
        )["stateMachineArn"]

    # The functions run as the orchestrator role; the interpreter's own calls too.
    orchestrator = sandbox.orchestrator_session(region)
    runtime.session = orchestrator
    sandbox.state.service_access_key = orchestrator.get_credentials().access_key
    sandbox.set_environment(deployment.environment)
    # the engine's timings (wave durations, measured RTO) follow simulated time
    engine_clock.use(sandbox.clock.now)
    sandbox.on_stop(lambda: engine_clock.use(None))
    return deployment
