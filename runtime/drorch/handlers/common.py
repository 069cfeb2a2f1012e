"""What every handler shares: Powertools Logger, Tracer and Metrics (namespace ``drorch``)."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from drorch.engine.runtime import Engine

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "drorch")

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="drorch", service=SERVICE)

__all__ = ["SERVICE", "Engine", "MetricUnit", "engine", "logger", "metrics", "tracer"]


@tracer.capture_method
def engine() -> Engine:
    """The engine's stores and clients for this invocation (clients are cached per identity)."""
    return Engine.from_env()


def count(name: str, value: float = 1, unit: str = MetricUnit.Count) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)
