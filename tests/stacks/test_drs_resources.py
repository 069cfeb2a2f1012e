"""The DRS dynamic providers, against the sandbox's DRS fake (real boto3 calls)."""

from __future__ import annotations

import pytest

from drorch import names
from stacks.drs_resources import (
    DrsInitializationProvider,
    LaunchConfigurationTemplateProvider,
)
from stacks.staging import LAUNCH_SETTINGS

ACCOUNT = "111111111111"
REGION = "us-east-2"
BOOTSTRAP = names.role_arn(ACCOUNT, "OrganizationAccountAccessRole")


@pytest.fixture
def props():
    return {
        "region": REGION,
        "roleArn": BOOTSTRAP,
        "settings": dict(LAUNCH_SETTINGS),
        "tags": {names.DRS_TEMPLATE_TAG: "true"},
        "accountId": ACCOUNT,
    }


def _templates(sandbox):
    drs = sandbox.admin_session(ACCOUNT, REGION).client("drs")
    return drs.describe_launch_configuration_templates()["items"]


def test_launch_template_lifecycle_through_the_bootstrap_role(sandbox, props):
    DrsInitializationProvider().create(props)  # assumes the bootstrap role, initialises DRS
    provider = LaunchConfigurationTemplateProvider()

    created = provider.create(props)
    (template,) = _templates(sandbox)
    assert template["launchConfigurationTemplateID"] == created.id
    assert created.outs["arn"] == template["arn"]
    assert f":{ACCOUNT}:" in template["arn"]
    assert template["launchDisposition"] == "STARTED"
    assert template["copyPrivateIp"] is True
    assert template["targetInstanceTypeRightSizingMethod"] == "BASIC"
    assert template["tags"] == {names.DRS_TEMPLATE_TAG: "true"}

    changed = {
        **created.outs,
        "settings": {**LAUNCH_SETTINGS, "launchDisposition": "STOPPED"},
        "tags": {"Owner": "dr-team"},
    }
    diff = provider.diff(created.id, created.outs, changed)
    assert diff.changes and not diff.replaces
    provider.update(created.id, created.outs, changed)
    (template,) = _templates(sandbox)
    assert template["launchDisposition"] == "STOPPED"
    assert template["tags"] == {"Owner": "dr-team"}

    moved = provider.diff(created.id, created.outs, {**created.outs, "region": "us-west-2"})
    assert moved.replaces == ["region"]
    assert not provider.diff(created.id, created.outs, dict(created.outs)).changes

    read = provider.read(created.id, created.outs)
    assert read.id == created.id and read.outs["arn"] == template["arn"]

    provider.delete(created.id, changed)
    assert _templates(sandbox) == []
    provider.delete(created.id, changed)  # already gone: nothing to do


def test_templates_need_an_initialised_drs(sandbox, props):
    with pytest.raises(Exception, match="Uninitialized"):
        LaunchConfigurationTemplateProvider().create(props)


def test_unknown_settings_are_refused_before_any_call(props):
    with pytest.raises(ValueError, match="notAField"):
        LaunchConfigurationTemplateProvider().create({**props, "settings": {"notAField": 1}})
