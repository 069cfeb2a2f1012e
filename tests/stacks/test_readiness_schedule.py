"""Scheduled readiness in the hub stack (Pulumi mocks): a rule per schedule invoking
drorch-readiness with the application, and an alarm on its Blockers metric."""

from __future__ import annotations

import json

import pytest

from drorch import names
from stacks.config import build_config
from tests.conftest import REPO
from tests.stacks.mocks import deploy
from tests.stacks.test_program import SETTINGS

RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
PERMISSION = "aws:lambda/permission:Permission"


@pytest.fixture(scope="module")
def deployed():
    schedules = [
        {"application": "claims", "schedule": "rate(1 hour)"},
        {"schedule": "cron(0 6 * * ? *)", "operation": "drill"},
    ]
    return deploy(build_config({**SETTINGS, "scheduledReadiness": schedules}, REPO))


def test_a_rule_per_schedule_invokes_the_readiness_function(deployed):
    rules = {r.inputs["name"]: r for r in deployed.of_type(RULE)}
    claims, every = rules["drorch-readiness-claims"], rules["drorch-readiness-all"]
    assert claims.inputs["scheduleExpression"] == "rate(1 hour)"
    assert every.inputs["scheduleExpression"] == "cron(0 6 * * ? *)"
    targets = {t.inputs["rule"]: t for t in deployed.of_type(TARGET)}
    function = deployed.named("aws:lambda/function:Function", names.FUNCTIONS["readiness"])
    for rule, event in (
        ("drorch-readiness-claims", {"application": "claims", "operation": "failover"}),
        ("drorch-readiness-all", {"operation": "drill"}),
    ):
        assert targets[rule].inputs["arn"] == function.state["arn"]
        assert json.loads(targets[rule].inputs["input"]) == event  # no executionId: scheduled
    invoked = {
        p.inputs["sourceArn"]
        for p in deployed.of_type(PERMISSION)
        if p.inputs["function"] == names.FUNCTIONS["readiness"]
    }
    assert invoked == {claims.state["arn"], every.state["arn"]}
    assert {p.inputs["principal"] for p in deployed.of_type(PERMISSION)} == {"events.amazonaws.com"}


def test_an_alarm_per_schedule_on_the_blockers_metric(deployed):
    (topic,) = deployed.of_type("aws:sns/topic:Topic")
    alarms = {a.inputs["name"]: a for a in deployed.of_type(ALARM)}
    for name, application in (
        ("drorch-readiness-claims", "claims"),
        ("drorch-readiness-all", "ALL"),
    ):
        alarm = alarms[name]
        assert alarm.inputs["namespace"] == names.READINESS_NAMESPACE == "drorch/Readiness"
        assert alarm.inputs["metricName"] == "Blockers"
        assert alarm.inputs["dimensions"] == {"Application": application}
        assert alarm.inputs["threshold"] == 1
        assert alarm.inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm.inputs["treatMissingData"] == "ignore"
        assert alarm.inputs["alarmActions"] == [topic.state["arn"]]


def test_the_readiness_function_may_put_only_its_metrics_and_list_manifests(deployed):
    policy = deployed.named(
        "aws:iam/rolePolicy:RolePolicy", f"{names.FUNCTIONS['readiness']}-least-privilege"
    )
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    metrics = statements["ReadinessMetrics"]
    assert metrics["Action"] == ["cloudwatch:PutMetricData"]
    assert metrics["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": names.READINESS_NAMESPACE}
    }
    listing = statements["ListManifests"]
    assert listing["Action"] == ["s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [f"{names.MANIFEST_PREFIX}*"]}}
    assert "StagingAccounts" in statements  # discovery and probes in the staging accounts
