"""No operation of drorch's fakes reaches a client as a Python exception.

AWS documents what an endpoint answers for an operation it does not know: the
"Common Errors" of every API reference (e.g. *AWS Elastic Disaster Recovery API
Reference — Common Errors*, https://docs.aws.amazon.com/drs/latest/APIReference/CommonErrors.html)
list ``UnknownOperationException``/``InvalidAction``. The sandbox answers every
operation of the DRS and Resource Explorer models either with the service's own
behaviour or with such an error, naming the operation the sandbox lacks.
"""

from __future__ import annotations

import re

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from drorch.sandbox.fidelity import COMMON_ERRORS
from tests.sandbox.conftest import REGION

UNSUPPORTED = {"UnknownOperationException"}
COMMON = set(COMMON_ERRORS)
# What the sandbox still leaves out, each answered as an unknown operation naming it.
STILL_UNSUPPORTED: dict[str, list[str]] = {
    "drs": [],
    "resource-explorer-2": [],
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize("service", ["drs", "resource-explorer-2"])
def test_every_operation_of_the_model_answers_like_aws(env, service):
    """Each operation, called with an empty request, answers an AWS error or a result."""
    client = env.sandbox.admin_session(env.account, REGION).client(
        service, config=Config(parameter_validation=False, retries={"max_attempts": 1})
    )
    if service == "drs":
        client.initialize_service()
    model = client.meta.service_model
    unsupported = []
    for operation in model.operation_names:
        shape = model.operation_model(operation).input_shape
        params = {}  # only what the URL needs: the service must answer the rest
        for name, member in shape.members.items() if shape else []:
            location = member.serialization.get("location")
            if location == "uri":
                params[name] = f"arn:aws:{service}:{REGION}:{env.account}:none/none"
            elif location == "querystring" and name in shape.required_members:
                params[name] = ["none"] if member.type_name == "list" else "none"
        try:
            getattr(client, _snake(operation))(**params)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            declared = {s.name for s in model.operation_model(operation).error_shapes}
            assert code in declared | COMMON, f"{operation}: {code}"
            if code in UNSUPPORTED:
                assert operation in error.response["Error"]["Message"]
                unsupported.append(operation)
    assert env.sandbox.state.fidelity.violations == []  # no fake raised a Python exception
    assert sorted(unsupported) == sorted(STILL_UNSUPPORTED[service])


def test_a_fake_that_raises_answers_internal_failure_and_records_it(env, monkeypatch):
    """AWS's common InternalFailure (HTTP 500, "The request processing has failed because
    of an unknown error") is what a client sees when the service itself fails: a bug in a
    fake reaches the client that way, never as a Python exception, and the strict
    sandbox records it as a fidelity violation."""
    from drorch.sandbox.drs import responses

    def broken(self):
        raise RuntimeError("boom")

    monkeypatch.setattr(responses.DrsResponse, "describe_jobs", broken)
    client = env.sandbox.admin_session(env.account, REGION).client(
        "drs", config=Config(retries={"mode": "standard", "total_max_attempts": 1})
    )
    with pytest.raises(ClientError) as caught:
        client.describe_jobs()
    assert caught.value.response["Error"]["Code"] == "InternalFailure"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "drs:DescribeJobs" in caught.value.response["Error"]["Message"]
    violations = env.sandbox.state.fidelity.violations
    assert violations == ["drs:DescribeJobs: the fake raised RuntimeError: boom"]
    violations.clear()  # seen: the fixture checks that nothing else went wrong
