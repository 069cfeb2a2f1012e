"""``drorch-finalise``: report to S3, SUCCEEDED (or CANCELLED), metrics, notification, unlock."""

from __future__ import annotations

from typing import Any

from drorch.engine import steps
from drorch.handlers.common import MetricUnit, count, engine, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(executionId=event.get("executionId"))
    result = steps.finalise(engine(), event)
    count(f"Executions{result['status'].title()}")
    if result["durationSeconds"] is not None:
        count("ExecutionDuration", result["durationSeconds"], MetricUnit.Seconds)
    count("ResourcesSucceeded", result["resources"]["succeeded"])
    count("ResourcesFailed", result["resources"]["failed"])
    count("WavesFailed", result["wavesFailed"])
    return result
