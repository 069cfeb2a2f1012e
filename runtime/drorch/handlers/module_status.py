"""``drorch-module-status``: where a started phase is (RUNNING, SUCCEEDED, FAILED / timeout)."""

from __future__ import annotations

from typing import Any

from drorch.engine import executor
from drorch.handlers.common import count, engine, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = {k: event[k] for k in ("executionId", "groupId", "accountId", "phase")}
    logger.append_keys(**request)
    # the executor's poll interval, after an approval step's gate the decision, and after a
    # failed step's wait (failurePolicy ask) the operator's skip or the wait's end
    request.update(
        {k: event[k] for k in ("pollSeconds", "decision", "failureDecision") if k in event}
    )
    result = executor.module_status(engine(), request)
    count("ModuleStatusChecks")
    if result["status"] == "FAILED":
        logger.info("module phase failed", extra={"summary": result.get("summary")})
        count("ModuleFailures")
    return result
