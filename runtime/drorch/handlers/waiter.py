"""``drorch-waiter``: event-driven completion (see :mod:`drorch.engine.waiters`).

Two callers: an executor's ``WaitForEvent`` state (``.waitForTaskToken``) registers its
task token and what it waits for; Lambda's poller of the completion queue delivers the
services' events (forwarded from the staging accounts to the hub bus, whose rule queues
them) in batches, whose results answer the waiting tokens. A batch whose recording fails
is retried whole (recording is idempotent: results are a set); after three receipts the
queue sets it aside in its dead-letter queue, and the executors' fallback polls carry on.
"""

from __future__ import annotations

from typing import Any

from drorch.engine.waiters import Waiters, queued_events, results_of
from drorch.handlers.common import count, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    waiters = Waiters.from_env()
    if "token" in event:  # from the executor: wait on these
        awaits = list(event.get("awaits") or [])
        answered = waiters.register(str(event["token"]), awaits)
        count("EventWaitsRegistered")
        if answered:
            count("EventWaitsAnsweredAtOnce")
        return {"registered": [a["key"] for a in awaits], "answered": answered}
    if "Records" in event:  # from the completion queue: a batch of forwarded events
        events, unreadable = queued_events(event)
        if unreadable:
            logger.warning("queued messages that are not events", extra={"ids": unreadable})
    else:  # an EventBridge event delivered to the function itself
        events = [event]
        logger.append_keys(detailType=event.get("detail-type"), eventId=event.get("id"))
    results = [result for one in events for result in results_of(one)]
    answered = waiters.record(results) if results else 0
    count("EventWaitsAnswered", answered)
    return {"events": len(events), "results": len(results), "answered": answered}
