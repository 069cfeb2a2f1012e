"""State changes reach EventBridge (source drorch) and people (SNS, with commands to run)."""

from __future__ import annotations

import json

import pytest

from drorch import names
from drorch.engine import events as ev
from tests.engine.test_handlers import invoke

REF = {"bucket": "b", "key": "k", "versionId": "v1"}


@pytest.fixture
def inboxes(hub):
    """An SQS queue on the topic and one behind a rule on the bus (what subscribers would see)."""
    sqs, sns, events = hub.client("sqs"), hub.client("sns"), hub.client("events")
    people = sqs.create_queue(QueueName="people")["QueueUrl"]
    machines = sqs.create_queue(QueueName="machines")["QueueUrl"]

    def arn(url):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return attributes["Attributes"]["QueueArn"]

    subscription = sns.subscribe(
        TopicArn=hub.topic_arn,
        Protocol="sqs",
        Endpoint=arn(people),
        Attributes={"RawMessageDelivery": "false"},
    )["SubscriptionArn"]
    events.put_rule(
        Name="all-drorch",
        EventBusName=names.EVENT_BUS,
        EventPattern=json.dumps({"source": ["drorch"]}),
    )
    events.put_targets(
        Rule="all-drorch", EventBusName=names.EVENT_BUS, Targets=[{"Id": "q", "Arn": arn(machines)}]
    )

    def drain(url):
        messages = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            messages += [json.loads(m["Body"]) for m in batch]
            for m in batch:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return messages

    yield lambda: drain(people), lambda: drain(machines)
    sns.unsubscribe(SubscriptionArn=subscription)
    events.remove_targets(Rule="all-drorch", EventBusName=names.EVENT_BUS, Ids=["q"])
    events.delete_rule(Name="all-drorch", EventBusName=names.EVENT_BUS)
    sqs.delete_queue(QueueUrl=people)
    sqs.delete_queue(QueueUrl=machines)


def test_an_approval_request_carries_the_commands_that_answer_it(
    engine, hub, inboxes, execution_id
):
    people, machines = inboxes
    engine.history.create_execution(
        execution_id, application="claims", operation="drill", requested_by="alice", manifest=REF
    )
    invoke(
        "gate",
        {
            "executionId": execution_id,
            "kind": "wave",
            "phase": "ACTIVATE",
            "level": 1,
            "position": "before",
            "token": "t",
        },
    )

    (note,) = people()
    assert note["Subject"] == "[drorch] claims - wave gate needed before ACTIVATE"
    assert f"drorch approve {execution_id} --gate 1" in note["Message"]
    assert f"drorch reject {execution_id} --gate 1 --comment '<why>'" in note["Message"]
    (event,) = machines()
    assert (event["source"], event["detail-type"]) == ("drorch", ev.APPROVAL_REQUESTED)
    assert event["detail"]["gate"] == 1 and event["detail"]["executionId"] == execution_id


def test_resource_changes_go_to_the_bus_in_batches_without_notifying(engine, inboxes):
    people, machines = inboxes
    details = [
        {"executionId": "x", "resourceId": f"s-{i}", "status": "SUCCEEDED"} for i in range(23)
    ]
    assert engine.publisher.publish_many(ev.RESOURCE_STATUS, details) == 23
    assert sorted(e["detail"]["resourceId"] for e in machines()) == sorted(
        d["resourceId"] for d in details
    )
    assert people() == []


def test_a_failed_drill_tells_people_to_clean_up():
    text = ev.message(
        ev.EXECUTION_STATUS,
        {
            "executionId": "e1",
            "application": "claims",
            "operation": "drill",
            "status": "FAILED",
            "error": "WaveFailed",
            "cause": "db",
        },
    )
    assert "error: WaveFailed" in text
    assert "start a 'cleanup' operation for claims" in text
    assert ev.subject(
        ev.EXECUTION_STATUS, {"application": "claims", "operation": "drill", "status": "FAILED"}
    ) == ("[drorch] claims - drill FAILED")
