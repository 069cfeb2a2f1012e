"""``drorch-checkpoint``: before a wave level (pause/cancel flags; then the level as the plan
stands now, after any plan edit), after its module groups
(do the post-wave actions and checks run?) and after it (failure policy)."""

from __future__ import annotations

from typing import Any

from drorch.engine import steps
from drorch.handlers.common import count, engine, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(executionId=event.get("executionId"), action=event.get("action"))
    result = steps.checkpoint(engine(), event)
    if event.get("action") == "after-level":
        count("WavesFinished", len(result["waves"]))
        count("WavesFailed", len(result["failed"]))
    elif event.get("action") == "after-step":
        count("StepsFailed" if result["failed"] else "StepsSucceeded")
    elif event.get("action") == "after-groups":
        count("LevelsWithFailedGroups" if result["failed"] else "LevelsGroupsSucceeded")
    elif event.get("action") == "current-level":
        pass  # the level's state, as the plan stands now (no metric)
    else:
        count("LevelsPaused" if result["paused"] else "LevelsChecked")
    return result
