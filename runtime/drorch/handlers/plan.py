"""``drorch-plan``: phases x wave levels x module groups x accounts, to S3; keys returned."""

from __future__ import annotations

from typing import Any

from drorch.engine import steps
from drorch.handlers.common import count, engine, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(executionId=event.get("executionId"))
    result = steps.plan(engine(), event)
    count(
        "PlannedGroupRuns",
        sum(len(level["groups"]) for phase in result["phases"] for level in phase["levels"]),
    )
    return result
