"""The wire validator itself: it must catch what botocore's lenient parser lets through."""

from __future__ import annotations

import json

import boto3
import botocore.session
import pytest

from drorch.sandbox.fidelity import FidelityError, check_response

JOB = "drsjob-0123456789abcdef0"
DRS = botocore.session.get_session().get_service_model("drs")


def problems(
    operation: str, body: object, status: int = 200, headers: dict | None = None
) -> list[str]:
    return check_response(
        DRS.operation_model(operation), status, headers or {}, json.dumps(body).encode()
    )


def test_faithful_response_has_no_problems():
    assert problems("DescribeJobs", {"items": [{"jobID": JOB, "status": "PENDING"}]}) == []


def test_unknown_member_is_reported():
    found = problems("DescribeJobs", {"items": [{"jobID": JOB, "colour": "red"}]})
    assert found == ["DescribeJobs.items[0].colour: not a member of Job"]


def test_wrong_type_and_enum_are_reported():
    found = problems(
        "DescribeJobs", {"items": [{"jobID": JOB, "status": "DONE", "tags": {"k": 3}}]}
    )
    assert any("'DONE' is not one of" in p for p in found)
    assert any("tags.k: expected a string" in p for p in found)


def test_required_member_and_null_are_reported():
    found = problems("DescribeJobs", {"items": [{"status": None}]})
    assert any("jobID: required member of Job is missing" in p for p in found)
    assert any("status: null is never sent" in p for p in found)


def test_undeclared_error_code_is_reported():
    found = problems(
        "DescribeJobs",
        {"message": "no"},
        status=404,
        headers={"x-amzn-ErrorType": "ResourceNotFoundException"},
    )
    assert found and "not one this operation declares" in found[0]


def test_error_with_wrong_status_is_reported():
    found = problems(
        "DescribeJobs",
        {"message": "slow down"},
        status=400,
        headers={"x-amzn-ErrorType": "ThrottlingException"},
    )
    assert found == ["DescribeJobs: ThrottlingException has HTTP 400, the model says 429"]


def test_strict_sandbox_raises_in_the_caller(sandbox, monkeypatch):
    """A fake that answers outside the model fails the call that got the answer."""
    from drorch.sandbox.drs import responses

    def broken(self):
        from moto.core.responses import ActionResult  # noqa: F401

        return json.dumps({"items": [], "bogus": 1})

    monkeypatch.setattr(responses.DrsResponse, "describe_source_servers", broken)
    client = boto3.client("drs")
    client.initialize_service()
    with pytest.raises(FidelityError, match="bogus: not a member"):
        client.describe_source_servers()
    sandbox.state.fidelity.violations.clear()


def test_document_members_accept_any_json():
    rex = botocore.session.get_session().get_service_model("resource-explorer-2")
    body = {
        "Resources": [
            {
                "Arn": "arn:aws:ec2:us-east-2:111111111111:vpc/vpc-1",
                "Properties": [{"Name": "tags", "Data": [{"Key": "a", "Value": "b"}]}],
            }
        ],
        "Count": {"TotalResources": 1, "Complete": True},
    }
    found = check_response(rex.operation_model("Search"), 200, {}, json.dumps(body).encode())
    assert found == []
