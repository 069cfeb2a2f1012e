"""One strict sandbox for the engine tests: the three-tier servers seeded, the hub's stores created.

Seeding costs seconds, so the sandbox is shared by the package; every test uses
its own execution ids (and applications, where a lock is involved).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from drorch import names
from drorch.accounts import load_accounts
from drorch.engine import clock, tables
from drorch.engine.runtime import Engine
from drorch.sandbox import Sandbox
from drorch.sandbox.scenario import load_scenario, seed

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_MANIFEST = REPO / "manifests" / "examples" / "three-tier-claims.yaml"
_IDS = itertools.count(1)


@dataclass
class HubStores:
    sandbox: Sandbox
    session: Any
    artifacts_bucket: str
    manifest_bucket: str
    topic_arn: str
    accounts: dict[str, Any]  # name -> StagingAccount
    servers: dict[str, list[str]]  # account id -> source server ids

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def upload_manifest(self, text: str, key: str = "manifests/claims.yaml") -> dict[str, str]:
        answer = self.client("s3").put_object(
            Bucket=self.manifest_bucket, Key=key, Body=text.encode()
        )
        return {"bucket": self.manifest_bucket, "key": key, "versionId": answer["VersionId"]}


def create_stores(session: Any, region: str) -> tuple[str, str, str]:
    """The hub's tables, buckets, bus and topic (as the hub stack creates them)."""
    account = session.client("sts").get_caller_identity()["Account"]
    list(tables.create_tables(session.client("dynamodb")))
    s3 = session.client("s3")
    artifacts = names.artifacts_bucket(account, region)
    manifests = names.manifest_bucket(account, region)
    for bucket in (artifacts, manifests):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_versioning(Bucket=manifests, VersioningConfiguration={"Status": "Enabled"})
    session.client("events").create_event_bus(Name=names.EVENT_BUS)
    topic = session.client("sns").create_topic(Name=names.NOTIFICATION_TOPIC)["TopicArn"]
    return artifacts, manifests, topic


@pytest.fixture(scope="package")
def hub() -> Iterator[HubStores]:
    with pytest.MonkeyPatch.context() as patch, Sandbox(strict=True) as sandbox:
        scenario = replace(load_scenario("three-tier"), resources=[])  # the servers are enough
        report = seed(sandbox, scenario, load_accounts(REPO / "accounts"))
        session = sandbox.operator_session()
        artifacts, manifests, topic = create_stores(session, sandbox.hub.region)
        accounts = {a.name: a for a in report.accounts}
        patch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
        patch.setenv("POWERTOOLS_METRICS_NAMESPACE", "drorch")
        patch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
        patch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
        patch.setenv("DRORCH_ARTIFACTS_BUCKET", artifacts)
        patch.setenv("DRORCH_MANIFEST_BUCKET", manifests)
        patch.setenv("DRORCH_TOPIC_ARN", topic)
        patch.setenv(
            "DRORCH_ACCOUNTS",
            json.dumps(
                [
                    {
                        "name": a.name,
                        "accountId": a.account_id,
                        "recoveryRegion": a.recovery_region,
                        "sourceRegion": a.source_region,
                        "executionRoleArn": a.execution_role_arn,
                        "externalId": a.external_id,
                    }
                    for a in report.accounts
                ]
            ),
        )
        clock.use(sandbox.now)
        try:
            yield HubStores(
                sandbox, session, artifacts, manifests, topic, accounts, dict(report.servers)
            )
        finally:
            clock.use(None)
        assert sandbox.state.fidelity.violations == []


@pytest.fixture
def engine(hub: HubStores) -> Engine:
    hub.sandbox.faults.clear()
    return Engine.from_env()


@pytest.fixture
def execution_id() -> str:
    return f"test-{next(_IDS):04d}"


@pytest.fixture
def manifest_text() -> str:
    return EXAMPLE_MANIFEST.read_text()


class FakeLambdaContext:
    """What Powertools reads from the Lambda context."""

    def __init__(self, function: str = "drorch-test", remaining_ms: int = 300_000) -> None:
        self.function_name = function
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-2:999999999999:function:{function}"
        self.aws_request_id = f"req-{next(_IDS)}"
        self.log_group_name = f"/aws/lambda/{function}"
        self.log_stream_name = self.aws_request_id
        self._remaining = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining
