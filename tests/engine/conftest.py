"""One strict sandbox for the engine tests: the hub and staging accounts deployed by the
Pulumi program (the one deployment), the three-tier servers seeded.

Deploying and seeding cost seconds, so the sandbox is shared by the package; every
test uses its own execution ids (and applications, where a lock is involved).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from drorch.accounts import load_accounts
from drorch.engine.runtime import Engine
from drorch.sandbox import Sandbox
from drorch.sandbox.pulumi_deploy import deploy_hub
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


@pytest.fixture(scope="package")
def hub() -> Iterator[HubStores]:
    """The handlers run in this process as the operator, with the functions' environment
    (set by the deployment, restored when the sandbox stops) and on simulated time."""
    with Sandbox(strict=True) as sandbox:
        scenario = replace(load_scenario("three-tier"), resources=[])  # the servers are enough
        accounts = load_accounts(REPO / "accounts")
        deployment = deploy_hub(sandbox, scenario.select_accounts(accounts))
        report = seed(sandbox, scenario, accounts)
        yield HubStores(
            sandbox,
            sandbox.operator_session(),
            deployment.artifacts_bucket,
            deployment.manifest_bucket,
            deployment.topic_arn,
            {a.name: a for a in report.accounts},
            dict(report.servers),
        )
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
