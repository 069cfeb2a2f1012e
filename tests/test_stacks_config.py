"""The Pulumi program's configuration: validated before any resource is declared."""

from __future__ import annotations

import pytest

from drorch.errors import InputError
from stacks.config import build_config
from tests.conftest import REPO


def test_defaults_take_every_account_file():
    config = build_config({}, REPO)
    assert config.hub_region == "us-east-2"
    assert [a.name for a in config.accounts] == [
        "staging-app",
        "staging-data",
        "staging-nonprod",
        "staging-web",
    ]


def test_account_selection_keeps_the_given_order():
    config = build_config({"accounts": ["staging-web", "staging-data"]}, REPO)
    assert [a.account_id for a in config.accounts] == ["111111111111", "333333333333"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"hubRegion": "mars-1"}, "drorch:hubRegion 'mars-1' is not an AWS region name"),
        ({"environment": "Prod!"}, "drorch:environment 'Prod!' must be lowercase"),
        ({"accounts": ["staging-web", "nope"]}, "drorch:accounts names nope"),
        ({"accountsDir": "missing"}, "accounts directory not found"),
    ],
)
def test_bad_configuration_is_named(values, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("!", "!")):
        build_config(values, REPO)


def test_deployment_settings_are_typed():
    config = build_config(
        {
            "hubAccountId": "999999999999",
            "scheduledDrills": [{"application": "claims", "schedule": "rate(7 days)"}],
            "alarmEmails": ["ops@example.com"],
            "organizationId": "o-abcdefghij",
            "logRetentionDays": 30,
            "lambdaLayerDir": "",
        },
        REPO,
    )
    assert config.hub_account_id == "999999999999"
    assert [(d.application, d.operation) for d in config.scheduled_drills] == [("claims", "drill")]
    assert config.alarm_emails == ("ops@example.com",)
    assert config.organization_id == "o-abcdefghij"
    assert config.log_retention_days == 30
    assert config.layer_dir is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"hubAccountId": "12"}, "drorch:hubAccountId '12' must be 12 digits"),
        ({"scheduledDrills": [{"application": "claims", "schedule": "monthly"}]}, "cron"),
        (
            {
                "scheduledDrills": [
                    {"application": "claims", "schedule": "rate(1 day)", "operation": "x"}
                ]
            },
            r"scheduledDrills\[0\].operation 'x'",
        ),
        ({"scheduledReadiness": [{"schedule": "hourly"}]}, r"scheduledReadiness\[0\].schedule"),
        (
            {"scheduledReadiness": [{"schedule": "rate(1 hour)", "application": "Bad Name"}]},
            r"scheduledReadiness\[0\].application 'Bad Name'",
        ),
        (
            {"scheduledReadiness": [{"schedule": "rate(1 hour)"}, {"schedule": "rate(2 hours)"}]},
            "names an application \\(or all\\) twice",
        ),
        ({"orchestratorRoleArn": "role/x"}, "is not an IAM role ARN"),
        ({"alarmEmails": ["nobody"]}, "nobody is not an email address"),
        ({"logRetentionDays": 31}, "31 is not a CloudWatch Logs retention"),
        ({"lambdaLayerDir": "no-such-dir"}, "make lambda-layer"),
    ],
)
def test_bad_deployment_settings_are_named(values, message):
    with pytest.raises(InputError, match=message):
        build_config(values, REPO)


@pytest.mark.parametrize("stack", ["prod", "nonprod"])
def test_example_stack_configs_are_valid(stack):
    import yaml

    document = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]
    values = {k.split(":", 1)[1]: v for k, v in document.items() if k.startswith("drorch:")}
    config = build_config(values, REPO)
    assert config.environment == stack
    assert config.scheduled_drills and config.alarm_emails
    assert document["aws:region"] == config.hub_region
