"""``drorch-gate`` (``.waitForTaskToken``): persist a gate's task token and ask a person."""

from __future__ import annotations

from typing import Any

from drorch.engine import steps
from drorch.handlers.common import count, engine, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(executionId=event.get("executionId"), gateKind=event.get("kind"))
    result = steps.gate(engine(), event)
    metrics.add_metadata(key="kind", value=str(event.get("kind")))
    count("GatesOpened")
    return result
