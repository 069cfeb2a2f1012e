"""resolve:ssm / resolve:cfn-export parameter references, resolved against (moto) AWS."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from drorch.errors import InputError
from drorch.manifest import is_reference, resolve_parameters
from drorch.manifest.references import parse_reference, reference_problem

REGION = "us-east-2"


@pytest.fixture(scope="module")
def aws():
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            patch.setenv(key, "testing")
        ssm = boto3.client("ssm", region_name=REGION)
        cfn = boto3.client("cloudformation", region_name=REGION)
        ssm.put_parameter(Name="/claims/batch", Value="25", Type="String")
        ssm.put_parameter(Name="/claims/password", Value="s3cret", Type="SecureString")
        ssm.put_parameter(Name="/claims/subnets", Value="subnet-a,subnet-b", Type="StringList")
        for index in range(12):  # more than one GetParameters batch
            ssm.put_parameter(Name=f"/claims/n{index}", Value=str(index), Type="String")
        template = {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {
                "Arn": {"Value": {"Ref": "Topic"}, "Export": {"Name": "claims-topic-arn"}},
                "Zone": {"Value": "Z123", "Export": {"Name": "claims:zone-id"}},
            },
        }
        cfn.create_stack(StackName="claims", TemplateBody=json.dumps(template))
        yield ssm, cfn


def test_resolves_every_reference_deeply_and_leaves_the_rest(aws):
    ssm, cfn = aws
    params = {
        "batch": "resolve:ssm:/claims/batch",
        "nested": {
            "password": "resolve:ssm:/claims/password",
            "zone": "resolve:cfn-export:claims:zone-id",
        },
        "subnets": "resolve:ssm:/claims/subnets",
        "list": ["resolve:cfn-export:claims-topic-arn", "plain", 3],
        "many": [f"resolve:ssm:/claims/n{i}" for i in range(12)],
        "versioned": "resolve:ssm:/claims/batch:1",
    }
    resolved = resolve_parameters(params, ssm, cfn)
    assert resolved["batch"] == "25"
    assert resolved["nested"] == {"password": "s3cret", "zone": "Z123"}
    assert resolved["subnets"] == ["subnet-a", "subnet-b"]
    assert resolved["list"][0].startswith("arn:aws:sns:us-east-2:")
    assert resolved["list"][1:] == ["plain", 3]
    assert resolved["many"] == [str(i) for i in range(12)]
    assert resolved["versioned"] == "25"
    assert params["batch"] == "resolve:ssm:/claims/batch"  # the input is not changed


def test_every_missing_value_is_reported_at_once(aws):
    ssm, cfn = aws
    with pytest.raises(InputError) as caught:
        resolve_parameters(
            {
                "a": "resolve:ssm:/nope",
                "b": "resolve:cfn-export:nope",
                "c": "resolve:ssm:/claims/batch",
            },
            ssm,
            cfn,
        )
    message = str(caught.value)
    assert "resolve:ssm:/nope: no such SSM parameter" in message
    assert "resolve:cfn-export:nope: no such CloudFormation export" in message


def test_exports_need_a_cloudformation_client(aws):
    ssm, _ = aws
    with pytest.raises(InputError, match="no CloudFormation client"):
        resolve_parameters({"a": "resolve:cfn-export:claims-topic-arn"}, ssm)
    assert resolve_parameters({"a": 1}, ssm) == {"a": 1}


@pytest.mark.parametrize(
    ("value", "parsed", "problem"),
    [
        ("resolve:ssm:/a/b", ("ssm", "/a/b"), None),
        ("resolve:ssm:name:3", ("ssm", "name:3"), None),
        ("resolve:cfn-export:stack:Out", ("cfn-export", "stack:Out"), None),
        ("resolve:ssm:", None, "names nothing"),
        ("resolve:ssm:a b", None, "not a valid SSM parameter name"),
        ("resolve:secretsmanager:x", None, "not a reference drorch knows"),
        ("resolve:ssm", None, "not a reference drorch knows"),
        ("plain", None, None),
        (7, None, None),
    ],
)
def test_reference_syntax(value, parsed, problem):
    assert parse_reference(value) == parsed
    assert is_reference(value) is (parsed is not None)
    found = reference_problem(value)
    assert (found is None) if problem is None else (problem in found)
