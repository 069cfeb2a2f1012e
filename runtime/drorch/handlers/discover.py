"""``drorch-discover``: every module group's resources in every staging account, to S3."""

from __future__ import annotations

from typing import Any

from drorch.engine import steps
from drorch.handlers.common import count, engine, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(executionId=event.get("executionId"))
    result = steps.discover(engine(), event)
    count("ResourcesDiscovered", result["discovered"])
    count("ResourcesExcluded", result["excluded"])
    if result["excluded"]:
        logger.info("resources excluded by their tags or state", extra=result)
    return result
