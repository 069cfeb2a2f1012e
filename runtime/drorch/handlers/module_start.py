"""``drorch-module-start``: start a module group's phase in one staging account.

Idempotent twice over: Powertools idempotency (DynamoDB ``drorch-idempotency``)
keyed on executionId + groupId + accountId + phase + attempt (an operator's ``drorch
retry`` is a new attempt) returns the first answer to a retried invocation, and the module gets an idempotency key it tags its jobs
with (a DRS job), so even a start whose record was lost never launches twice.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from drorch.engine import aws, executor
from drorch.handlers.common import count, engine, logger, metrics, tracer

IDEMPOTENCY_KEY = "[executionId, groupId, accountId, phase, attempt]"


def _idempotent_start(context: Any, table_name: str) -> Any:
    config = IdempotencyConfig(
        event_key_jmespath=IDEMPOTENCY_KEY,
        raise_on_no_idempotency_key=True,
        expires_after_seconds=7 * 24 * 3600,  # as long as an execution can wait on its gates
    )
    config.register_lambda_context(context)
    store = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=aws.client("dynamodb"))

    @idempotent_function(data_keyword_argument="request", persistence_store=store, config=config)
    def start(request: dict[str, Any]) -> dict[str, Any]:
        return executor.module_start(engine(), request)

    return start


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = {k: event[k] for k in ("executionId", "groupId", "accountId", "phase")}
    logger.append_keys(**request)
    # the executor's poll interval, and (after an approval step's gate) the decision
    request.update({k: event[k] for k in ("pollSeconds",) if k in event})
    # after a failed step's retry (failurePolicy ask): which attempt this start is
    request["attempt"] = executor.attempt_of(event)
    if request["attempt"] > 1:
        request["failureDecision"] = event["failureDecision"]
    table = aws.resolve_config().idempotency_table
    result = _idempotent_start(context, table)(request=request)
    count("ModuleStarts")
    count("ResourcesStarted", result["counts"]["total"])
    return result
