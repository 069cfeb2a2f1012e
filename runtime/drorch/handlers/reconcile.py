"""``drorch-reconcile``: the master machine ended (EventBridge "Step Functions Execution
Status Change"); make the history and the lock agree (see drorch.engine.reconcile)."""

from __future__ import annotations

from typing import Any

from drorch.engine import reconcile
from drorch.handlers.common import count, engine, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    detail = event.get("detail") or {}
    execution_id = detail.get("name") or ""
    logger.append_keys(executionId=execution_id)
    hub = engine()
    repair = reconcile.reconcile_execution(
        hub.history,
        hub.lock,
        execution_id,
        detail.get("status") or "",
        error=detail.get("error") or "",
        cause=detail.get("cause") or "",
        publisher=hub.publisher,
    )
    if repair.actions:
        logger.warning("reconciled", extra={"actions": repair.actions})
        count("ExecutionsReconciled")
    return repair.to_dict()
