"""A subscriber of the hub's event bus in the sandbox: an SQS queue behind a rule, as an
operator's own rule would be."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from drorch import names


@contextmanager
def bus_inbox(
    session: Any, name: str, pattern: Mapping[str, Any]
) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """A queue ``name`` that receives the events of the hub's bus matching ``pattern``;
    yields ``drain()``: every event received so far, in order."""
    sqs, events = session.client("sqs"), session.client("events")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name=name, EventBusName=names.EVENT_BUS, EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule=name, EventBusName=names.EVENT_BUS, Targets=[{"Id": "q", "Arn": queue_arn}]
    )
    received: list[dict[str, Any]] = []

    def drain() -> list[dict[str, Any]]:
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            received.extend(json.loads(m["Body"]) for m in batch)
            for m in batch:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return received

    try:
        yield drain
    finally:
        events.remove_targets(Rule=name, EventBusName=names.EVENT_BUS, Ids=["q"])
        events.delete_rule(Name=name, EventBusName=names.EVENT_BUS)
        sqs.delete_queue(QueueUrl=url)
