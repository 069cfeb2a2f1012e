"""``drorch-readiness``: the readiness evaluation.

In an execution (the master's ``Readiness`` state, ``executionId`` in the event): the plan's
findings into the history; a BLOCKER ends a failover, failback or drill here, before any
change, unless it was started with ``--force``. On a schedule (no ``executionId``; the
event may name an ``application``, else every one with a manifest): the findings to S3 and
the Blockers/Warnings metrics per application (namespace ``drorch/Readiness``).
"""

from __future__ import annotations

from typing import Any

from drorch.engine import readiness
from drorch.handlers.common import count, engine, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if not event.get("executionId"):
        result = readiness.scheduled(engine(), event)
        logger.info("scheduled readiness", extra=result)
        return result
    logger.append_keys(executionId=event["executionId"])
    result = readiness.check_execution(engine(), event)
    count("ReadinessBlockers", result["blockers"])
    count("ReadinessWarnings", result["warnings"])
    if result["forced"]:
        logger.warning("readiness BLOCKERs overridden by --force", extra=result)
    return result
