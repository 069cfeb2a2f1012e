"""``drorch-fail``: every failure path ends here: record why, notify, release the lock."""

from __future__ import annotations

from typing import Any

from drorch.engine import steps
from drorch.handlers.common import count, engine, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(executionId=event.get("executionId"))
    result = steps.fail(engine(), event)
    logger.info("execution ended", extra={k: result[k] for k in ("status", "error", "cause")})
    count(f"Executions{result['status'].title()}")
    return result
