"""The module interface: statuses, results, registry and parameters."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from drorch.errors import InputError
from drorch.modules import REGISTRY, Resource, ResourceResult, StatusResult, register
from drorch.modules.base import aggregate_status, classify, to_canonical
from drorch.modules.drs import DrsModule

STATUSES = st.sampled_from(["RUNNING", "SUCCEEDED", "FAILED", "SKIPPED"])


@given(st.lists(STATUSES), st.booleans())
def test_aggregate_status(statuses, finished) -> None:
    result = aggregate_status(statuses, finished)
    if not finished or "RUNNING" in statuses:
        assert result == "RUNNING"
    elif "FAILED" in statuses:
        assert result == "FAILED"
    else:
        assert result == "SUCCEEDED"
    assert to_canonical(result) == result


def test_results_reject_unknown_statuses_and_serialise() -> None:
    with pytest.raises(ValueError):
        ResourceResult("s-1", "web", "LAUNCHED")
    with pytest.raises(ValueError):
        StatusResult("SKIPPED", [], {})
    result = StatusResult(
        "FAILED",
        [ResourceResult("s-1", "web", "FAILED", {"jobId": "drsjob-1"}, "boom")],
        {"v": 1},
    )
    assert json.loads(json.dumps(result.to_dict()))["resources"][0]["error"] == "boom"
    assert result.summary() == "FAILED: 1 failed; web: boom"


def test_resource_round_trip() -> None:
    resource = Resource(
        "s-1",
        "arn:aws:drs:us-east-2:1:source-server/s-1",
        "1",
        "us-east-2",
        "web",
        {"a": "b"},
        "drs:source-server",
    )
    assert Resource.from_dict(resource.to_dict()) == resource
    short = {"id": "s-1", "arn": "arn", "region": "us-east-2", "name": "web", "tags": {}}
    assert Resource.from_dict(short, account_id="1", type="drs:source-server").account_id == "1"


def test_registry() -> None:
    original = REGISTRY["drs"]
    assert isinstance(original, DrsModule)
    again = DrsModule()
    try:  # the same class registered again replaces the instance (e.g. other settings)
        assert register(again) is again
        assert REGISTRY["drs"] is again
    finally:
        REGISTRY["drs"] = original

    class Other(DrsModule):
        pass

    with pytest.raises(ValueError, match="already registered"):
        register(Other())


def test_parameters_are_validated_with_defaults() -> None:
    module = REGISTRY["drs"]
    params = module.validate_parameters({"maxServersPerJob": 10})
    assert params["maxServersPerJob"] == 10 and params["maxConcurrentJobs"] == 20
    with pytest.raises(InputError) as caught:
        module.validate_parameters(
            {"maxServersPerJob": 500, "recoverySnapshot": "yesterday", "launchSettings": {"x": 1}},
            "$.waves[0].technologies[0].parameters",
        )
    message = str(caught.value)
    assert "$.waves[0].technologies[0].parameters.maxServersPerJob" in message
    assert ".recoverySnapshot" in message and ".launchSettings" in message
    module.validate_parameters({"recoverySnapshot": "2024-05-01T12:00:00Z"})


def test_errors_are_classified() -> None:
    def error(code: str, status: int = 400) -> ClientError:
        return ClientError(
            {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
        )

    assert classify(error("ThrottlingException", 429)) == "retryable"
    assert classify(error("InternalServerException", 500)) == "retryable"
    assert classify(error("AccessDeniedException", 403)) == "access-denied"
    assert classify(error("ConflictException", 409)) == "conflict"
    assert classify(error("ResourceNotFoundException", 404)) == "not-found"
    assert classify(error("ServiceQuotaExceededException", 402)) == "quota"
    assert classify(error("ValidationException")) == "validation"
