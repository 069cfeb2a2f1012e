"""Lambda's SQS poller in the sandbox: batches after the batching window (simulated), the
batch deleted when the function succeeds, redelivered after the visibility timeout when
it fails, set aside in the dead-letter queue after maxReceiveCount receipts."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import timedelta

import pytest

from drorch.sandbox import activity, eventbridge, timeline
from drorch.sandbox.pulumi_deploy.base import zip_files

CALLS: list[dict] = []
_QUEUES = itertools.count()
FAIL = {"on": False}


def handler(event, context):
    CALLS.append(event)
    if FAIL["on"]:
        raise RuntimeError("the function failed")
    return {"ok": True}


@pytest.fixture
def world(shared_sandbox):
    sandbox = shared_sandbox
    CALLS.clear()
    FAIL["on"] = False
    session = sandbox.admin_session(sandbox.hub.account_id, "us-east-2")
    sqs, lam = session.client("sqs"), session.client("lambda")
    iam = session.client("iam")
    name = f"batches-{next(_QUEUES)}"
    role = iam.create_role(
        RoleName=f"{name}-poller",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    dead = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "60",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": 2}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    function = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="tests.sandbox.test_sqs_lambda.handler",
        Code={"ZipFile": zip_files({"SANDBOX.txt": "in-process"})},
    )["FunctionArn"]
    sandbox.state.lambda_runtime.handlers[function] = "tests.sandbox.test_sqs_lambda:handler"
    lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=function, BatchSize=100, MaximumBatchingWindowInSeconds=1
    )
    yield sandbox, sqs, url, dead


def _run_until(sandbox, seconds):
    """Let simulated time pass (a wait of ``seconds``) and the deliveries finish."""
    clock = sandbox.clock
    timeline.wait_until(clock, clock.now() + timedelta(seconds=seconds), threading.Event())
    activity.wait_for(eventbridge.delivered_all, timeout=20)


def test_messages_sent_together_arrive_in_batches_after_the_window(world):
    sandbox, sqs, url, _dead = world
    for start in range(0, 250, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(n), "MessageBody": json.dumps({"n": n})}
                for n in range(start, start + 10)
            ],
        )
    assert CALLS == []  # nothing before the window ends
    _run_until(sandbox, 2)
    assert [len(call["Records"]) for call in CALLS] == [100, 100, 50]
    record = CALLS[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"].endswith(
        ":" + url.rsplit("/", 1)[1]
    )
    assert sorted(json.loads(r["body"])["n"] for c in CALLS for r in c["Records"]) == list(
        range(250)
    )
    visible = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert visible["Attributes"]["ApproximateNumberOfMessages"] == "0"  # deleted


def test_a_failed_batch_comes_back_then_goes_to_the_dead_letters(world):
    sandbox, sqs, url, dead = world
    FAIL["on"] = True
    sqs.send_message(QueueUrl=url, MessageBody="one")
    _run_until(sandbox, 2)
    assert len(CALLS) == 1
    _run_until(sandbox, 30)  # still hidden: the visibility timeout is 60 s
    assert len(CALLS) == 1
    _run_until(sandbox, 40)
    assert len(CALLS) == 2  # the second receipt
    _run_until(sandbox, 70)
    assert len(CALLS) == 2  # a third receipt would pass maxReceiveCount: set aside instead
    moved = sqs.receive_message(QueueUrl=dead, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in moved] == ["one"]
    assert any("the function failed" in f for f in eventbridge.failures)
    eventbridge.failures.clear()
