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


def test_put_events_sends_ten_a_call_and_resends_what_was_refused_for_a_passing_reason():
    """23 changes: 3 calls of at most 10; in the second, EventBridge throttles one entry and
    refuses another outright: the throttled one is sent again (alone), the other recorded."""
    import boto3
    from botocore.stub import Stubber

    events = boto3.client("events", region_name="us-east-2")
    publisher = ev.Publisher(events, sns=None, bus="drorch-bus", topic_arn=None)
    details = [{"executionId": "x", "resourceId": f"s-{i}"} for i in range(23)]
    entries = [
        {
            "Source": names.EVENT_SOURCE,
            "DetailType": ev.RESOURCE_STATUS,
            "Detail": json.dumps(d),
            "EventBusName": "drorch-bus",
        }
        for d in details
    ]

    def answer(codes: list[str | None]) -> dict:
        return {
            "FailedEntryCount": sum(1 for c in codes if c),
            "Entries": [
                {"ErrorCode": c, "ErrorMessage": f"{c} (simulated)"} if c else {"EventId": "e"}
                for c in codes
            ],
        }

    second = [None] * 10
    second[3], second[7] = "ThrottlingException", "MalformedDetail"
    with Stubber(events) as stub:
        stub.add_response("put_events", answer([None] * 10), {"Entries": entries[:10]})
        stub.add_response("put_events", answer(second), {"Entries": entries[10:20]})
        stub.add_response("put_events", answer([None]), {"Entries": [entries[13]]})
        stub.add_response("put_events", answer([None] * 3), {"Entries": entries[20:]})
        assert publisher.publish_many(ev.RESOURCE_STATUS, details) == 22
        stub.assert_no_pending_responses()
    assert len(publisher.failures) == 1
    assert "refused 1 event(s): MalformedDetail" in publisher.failures[0]


def test_an_entry_throttled_every_time_is_given_up_after_three_tries():
    import boto3
    from botocore.stub import Stubber

    events = boto3.client("events", region_name="us-east-2")
    publisher = ev.Publisher(events, sns=None, bus="drorch-bus", topic_arn=None)
    throttled = {
        "FailedEntryCount": 1,
        "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}],
    }
    with Stubber(events) as stub:
        for _ in range(ev.PUT_EVENTS_ATTEMPTS):
            stub.add_response("put_events", throttled)
        assert publisher.publish_many(ev.RESOURCE_STATUS, [{"executionId": "x"}]) == 0
        stub.assert_no_pending_responses()
    assert publisher.failures == [
        "events:PutEvents on drorch-bus: RuntimeError: EventBridge refused 1 event(s): "
        "ThrottlingException: slow down"
    ]
