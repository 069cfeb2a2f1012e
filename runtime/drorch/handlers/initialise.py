"""``drorch-initialise``: load and validate the manifest, record the execution, take the lock."""

from __future__ import annotations

from typing import Any

from drorch.engine import steps
from drorch.handlers.common import count, engine, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(executionId=event.get("executionId"))
    result = steps.initialise(engine(), event)
    metrics.add_metadata(key="operation", value=result["operation"])
    count("ExecutionsStarted")
    return result
