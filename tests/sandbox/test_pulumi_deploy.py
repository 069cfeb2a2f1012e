"""The real Pulumi program (stacks.program.build), deployed into the sandbox by its mocks."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from drorch import names
from drorch.accounts import load_accounts
from drorch.cli.sandbox_run import sandbox_hub
from drorch.onboarding import verify_account
from drorch.sandbox import Sandbox
from drorch.sandbox.pulumi_deploy import SandboxDeployError, deploy_program, program_config
from tests.conftest import ACCOUNTS_DIR, REPO

EXAMPLE = REPO / "manifests" / "examples" / "three-tier-claims.yaml"


# These two start sandboxes of their own: they run before the module's shared sandbox starts.
def test_an_unsupported_resource_type_is_named_not_faked():
    def build(config):
        aws.apigateway.RestApi("work-api", name="drorch-work")
        return {"environment": config.environment}

    with Sandbox(strict=True) as sandbox:
        config = program_config(sandbox, [])
        with pytest.raises(
            SandboxDeployError, match=r"aws:apigateway/restApi:RestApi \(work-api\)"
        ):
            deploy_program(sandbox, config, build=build)
        # nothing pretended to exist
        apis = sandbox.admin_session(sandbox.hub.account_id).client("apigateway")
        assert apis.get_rest_apis().get("items", []) == []


def test_staging_resources_go_to_the_account_their_provider_assumes():
    accounts = load_accounts(ACCOUNTS_DIR)[:1]
    account = accounts[0]

    def build(config):
        provider = aws.Provider(
            "staging",
            region=account.recovery_region,
            assume_roles=[
                {
                    "role_arn": f"arn:aws:iam::{account.account_id}:role/OrganizationAccountAccessRole"
                }
            ],
            allowed_account_ids=[account.account_id],
        )
        staging_logs = aws.cloudwatch.LogGroup(
            "staging-logs", name="/drorch/probe", opts=pulumi.ResourceOptions(provider=provider)
        )
        hub_logs = aws.cloudwatch.LogGroup("hub-logs", name="/drorch/hub-probe")
        return {"staging": staging_logs.arn, "hub": hub_logs.arn}

    with Sandbox(strict=True) as sandbox:
        exports = deploy_program(sandbox, program_config(sandbox, []), build=build)
        assert exports["staging"].split(":")[4] == account.account_id
        assert exports["hub"].split(":")[4] == sandbox.hub.account_id
        logs = sandbox.admin_session(account.account_id, account.recovery_region).client("logs")
        assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == [
            "/drorch/probe"
        ]


@pytest.fixture(scope="module")
def deployed():
    with sandbox_hub("three-tier", ACCOUNTS_DIR, strict=True) as running:
        yield running
        assert running.sandbox.state.fidelity.violations == []


def test_hub_resources_have_the_names_the_runtime_uses(deployed):
    sandbox = deployed.sandbox
    hub = sandbox.admin_session(sandbox.hub.account_id, sandbox.hub.region)
    account, region = sandbox.hub.account_id, sandbox.hub.region

    tables = set(hub.client("dynamodb").list_tables()["TableNames"])
    assert {names.HISTORY_TABLE, names.LOCK_TABLE, names.IDEMPOTENCY_TABLE} <= tables
    history = hub.client("dynamodb").describe_table(TableName=names.HISTORY_TABLE)["Table"]
    assert {i["IndexName"] for i in history["GlobalSecondaryIndexes"]} == {
        "by-status",
        "by-application",
    }
    assert history["SSEDescription"]["Status"] == "ENABLED"

    s3 = hub.client("s3")
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    manifest_bucket = names.manifest_bucket(account, region)
    assert {manifest_bucket, names.artifacts_bucket(account, region)} <= buckets
    assert s3.get_bucket_versioning(Bucket=manifest_bucket)["Status"] == "Enabled"
    encryption = s3.get_bucket_encryption(Bucket=manifest_bucket)
    rule = encryption["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    block = s3.get_public_access_block(Bucket=manifest_bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())

    functions = {f["FunctionName"]: f for f in hub.client("lambda").list_functions()["Functions"]}
    assert set(names.FUNCTIONS.values()) <= set(functions)
    for key, name in names.FUNCTIONS.items():
        assert functions[name]["FunctionArn"] == names.function_arn(account, region, key)
        assert functions[name]["Handler"] == f"drorch.handlers.{key}.handler"
        assert sandbox.state.lambda_runtime.handlers[functions[name]["FunctionArn"]] == (
            f"drorch.handlers.{key}:handler"
        )

    machines = {
        m["name"]: m["stateMachineArn"]
        for m in hub.client("stepfunctions").list_state_machines()["stateMachines"]
    }
    for key, name in names.STATE_MACHINES.items():
        assert machines[name] == names.state_machine_arn(account, region, key)
    assert deployed.deployment.state_machines == {
        key: names.state_machine_arn(account, region, key) for key in names.STATE_MACHINES
    }
    topics = [t["TopicArn"] for t in hub.client("sns").list_topics()["Topics"]]
    assert names.topic_arn(account, region) in topics
    buses = {b["Name"] for b in hub.client("events").list_event_buses()["EventBuses"]}
    assert names.EVENT_BUS in buses


def test_staging_accounts_are_ready_for_the_hub(deployed):
    sandbox = deployed.sandbox
    accounts = [p.account for p in sandbox.accounts.values()]
    assert accounts, "the scenario's staging accounts were deployed"
    for account in accounts:
        role = (
            sandbox.admin_session(account.account_id, account.recovery_region)
            .client("iam")
            .get_role(RoleName=account.execution_role_name)["Role"]
        )
        trust = role["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        assert trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"] == (
            account.external_id
        )
        readiness = verify_account(sandbox.orchestrator_session(), account)
        assert readiness.ready, [c for c in readiness.checks if c.result != "ready"]


def test_a_drill_runs_on_the_program_deployed_hub(deployed):
    client = deployed.client
    client.upload_manifest(EXAMPLE)
    execution_id = client.start_execution("claims", "drill", poll_seconds=30)
    final = client.wait(execution_id, on_gate=lambda gate: True, timeout=120)
    assert final["execution"]["status"] == "SUCCEEDED", final["execution"]
    activated = [r for r in final["resources"] if r["phase"] == "ACTIVATE"]
    assert activated and {r["status"] for r in activated} == {"SUCCEEDED"}
