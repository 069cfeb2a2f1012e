"""``drorch-waiter``: event-driven completion (see :mod:`drorch.engine.waiters`).

Two callers: an executor's ``WaitForEvent`` state (``.waitForTaskToken``) registers its
task token and what it waits for; the hub bus's rule delivers the services' events
(forwarded from the staging accounts), whose results answer the waiting tokens.
"""

from __future__ import annotations

from typing import Any

from drorch.engine.waiters import Waiters, results_of
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
    results = results_of(event)  # from EventBridge: a service's event
    logger.append_keys(detailType=event.get("detail-type"), eventId=event.get("id"))
    answered = waiters.record(results) if results else 0
    count("EventWaitsAnswered", answered)
    return {"results": len(results), "answered": answered}
