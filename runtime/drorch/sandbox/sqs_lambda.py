"""Lambda's SQS poller in the sandbox: batches, on simulated time.

moto invokes a queue's mapped function as each message arrives, one message at a time,
through its own Lambda (which cannot run the sandbox's in-process handlers). AWS
Lambda polls the queue instead: it gathers messages for up to the mapping's
``MaximumBatchingWindowInSeconds`` (or until ``BatchSize`` are there) and invokes the
function synchronously with the batch; a batch that succeeds is deleted, one that fails
becomes visible again when its visibility timeout ends, and the queue's redrive policy
moves a message received too often to its dead-letter queue. :func:`install` does the
same here:

* a message sent to a queue with an enabled mapping is kept by moto as usual, and the
  queue is due for a poll at *now + the batching window* (simulated time);
* the poll is a due moment of the sandbox's timeline (:func:`next_due`), so the clock
  stops there, and :func:`deliver_due` hands the batches to the EventBridge delivery
  thread (:func:`drorch.sandbox.eventbridge.later`; time does not move meanwhile): each
  batch goes to the function through the Lambda API (``Invoke``, ``RequestResponse``),
  as the event Lambda builds (``Records`` with ``eventSource: aws:sqs``);
* a function error, or ``batchItemFailures`` where the mapping reports them, leaves
  those messages on the queue, and the queue is polled again after its visibility
  timeout. (One difference: moto counts visibility in real time, so a failed message
  is made visible at once and the next poll takes it; a new message arriving sooner
  brings that poll forward, where Lambda would still see the failed one hidden.)
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from typing import Any

from drorch.sandbox import eventbridge

_lock = threading.Lock()
_installed = False
_clock: Any = None
_due: dict[tuple[str, str, str], datetime] = {}  # (account, region, queue name) -> next poll
invocations: list[tuple[str, int]] = []  # (function ARN, messages) of each batch delivered


def install(clock: Any) -> None:
    """Route moto's queue-to-function deliveries through this poller (the clock is the
    sandbox's)."""
    global _installed, _clock
    from moto.sqs.models import Queue

    with _lock:
        _clock = clock
        _due.clear()
        invocations.clear()
        if _installed:
            return
        add = Queue.add_message

        def add_message(self: Any, message: Any) -> None:
            with _lock:  # moto invokes the mappings it finds: it finds none
                mappings = self.lambda_event_source_mappings
                self.lambda_event_source_mappings = {}
                try:
                    add(self, message)
                finally:
                    self.lambda_event_source_mappings = mappings
                if any(m.enabled for m in mappings.values()):
                    _poll_later(self, mappings)

        Queue.add_message = add_message  # type: ignore[method-assign]
        _installed = True


def _window(mappings: dict[str, Any]) -> float:
    windows = [m.max_batch_window or 0 for m in mappings.values() if m.enabled]
    return float(min(windows)) if windows else 0.0


def _poll_later(queue: Any, mappings: dict[str, Any], seconds: float | None = None) -> None:
    """(under _lock) The queue is due for a poll after ``seconds`` (its batching window)."""
    wait = _window(mappings) if seconds is None else seconds
    key = (queue.account_id, queue.region, queue.name)
    due = _clock.now() + timedelta(seconds=wait)
    if key not in _due or due < _due[key]:
        _due[key] = due


def next_due() -> datetime | None:
    with _lock:
        return min(_due.values()) if _due else None


def deliver_due() -> None:
    """Poll the queues that are due (the timeline calls this after the clock moves)."""
    with _lock:
        now = _clock.now() if _clock is not None else None
        due = [key for key, moment in _due.items() if now is not None and moment <= now]
        for key in due:
            del _due[key]
    for account, region, name in due:
        eventbridge.later(
            f"sqs:{account}:{region}:{name} -> Lambda",
            lambda a=account, r=region, n=name: _poll(a, r, n),
        )


def _poll(account: str, region: str, name: str) -> None:
    from moto.sqs import sqs_backends

    backend = sqs_backends[account][region]
    queue = backend.queues.get(name)
    if queue is None:
        return
    for mapping in list(queue.lambda_event_source_mappings.values()):
        if mapping.enabled:
            _drain(backend, queue, mapping)


def _drain(backend: Any, queue: Any, mapping: Any) -> None:
    """Batches to the function until the queue has no visible message."""
    while True:
        messages = backend.receive_message(
            queue.name, int(mapping.batch_size or 10), 0, int(queue.visibility_timeout)
        )
        if not messages:
            return
        failed = _invoke(queue, mapping, messages)
        for message in messages:
            if message.id not in failed:
                backend.delete_message(queue.name, message.receipt_handle)
        if failed:  # visible again after the visibility timeout (simulated)
            for message in messages:
                if message.id in failed:
                    backend.change_message_visibility(queue.name, message.receipt_handle, 0)
            with _lock:
                _poll_later(
                    queue, queue.lambda_event_source_mappings, float(queue.visibility_timeout)
                )
            return


def _invoke(queue: Any, mapping: Any, messages: list[Any]) -> set[str]:
    """The batch to the function; the ids of the messages that failed."""
    event = {"Records": [_record(queue, message) for message in messages]}
    arn = mapping.function_arn
    answer = eventbridge.lambda_client(queue.account_id, arn.split(":")[3]).invoke(
        FunctionName=arn, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
    )
    payload = answer["Payload"].read() or b"null"
    invocations.append((arn, len(messages)))
    if answer.get("FunctionError"):
        eventbridge.failures.append(f"{queue.queue_arn} -> {arn}: {payload[:500]!r}")
        return {message.id for message in messages}
    if "ReportBatchItemFailures" in (mapping.function_response_types or []):
        result = json.loads(payload)
        if isinstance(result, dict):
            return {
                str(entry.get("itemIdentifier"))
                for entry in result.get("batchItemFailures") or []
                if isinstance(entry, dict)
            }
    return set()


def _record(queue: Any, message: Any) -> dict[str, Any]:
    """One message as Lambda's SQS event carries it."""
    return {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": {
            "ApproximateReceiveCount": str(message.approximate_receive_count),
            "SentTimestamp": str(message.sent_timestamp),
            "SenderId": str(getattr(message, "sender_id", "")),
            "ApproximateFirstReceiveTimestamp": str(
                message.approximate_first_receive_timestamp or message.sent_timestamp
            ),
        },
        "messageAttributes": {},
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.queue_arn,
        "awsRegion": queue.region,
    }
