"""``drorch-readiness``: the readiness evaluation.

In an execution (``executionId`` in the event): the master's ``Readiness`` Map runs one
shard per page of one account's resources (``accountId`` and ``page`` in the event), each
writing its findings to S3; then ``ReadinessVerdict`` (``action: verdict``) puts the
shards' worst findings and counts into the history, and a BLOCKER ends a failover,
failback or drill there, before any change, unless it was started with ``--force``
(without ``accountId`` or ``action``: all of it in one invocation). On a schedule (no ``executionId``; the
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
    if event.get("accountId"):
        shard = readiness.check_shard(engine(), event)
        logger.info("readiness shard", extra=shard)
        return shard
    if event.get("action") == "verdict":
        result = readiness.verdict(engine(), event)
    else:
        result = readiness.check_execution(engine(), event)
    count("ReadinessBlockers", result["blockers"])
    count("ReadinessWarnings", result["warnings"])
    if result["forced"]:
        logger.warning("readiness BLOCKERs overridden by --force", extra=result)
    return result
