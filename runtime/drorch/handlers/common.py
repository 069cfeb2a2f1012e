"""What every handler shares: Powertools Logger, Tracer and Metrics (namespace ``drorch``).

Kept lean for cold starts: the engine is imported by each handler for what it uses, and
the Powertools Tracer (the X-Ray SDK) is created on the first traced call, and only when
tracing is on (in Lambda, unless ``POWERTOOLS_TRACE_DISABLED`` is true).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

    from drorch.engine.runtime import Engine

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "drorch")

F = TypeVar("F", bound=Callable[..., Any])


class LazyTracer:
    """The Powertools Tracer's decorators, the Tracer itself created on first use.

    Tracing is on in Lambda (``AWS_LAMBDA_FUNCTION_NAME`` set) unless
    ``POWERTOOLS_TRACE_DISABLED`` is true — Powertools' own rule; when it is off the
    decorated functions run as they are and the X-Ray SDK is never imported.
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self._tracer: Tracer | None = None

    @staticmethod
    def enabled() -> bool:
        disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower()
        return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) and disabled not in (
            "1",
            "true",
        )

    @property
    def tracer(self) -> Tracer:
        if self._tracer is None:
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer(service=self.service)
        return self._tracer

    def _lazily(self, fn: F, decorator: str) -> F:
        traced: list[Callable[..., Any]] = []

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            if not self.enabled():
                return fn(*args, **kwargs)
            if not traced:
                traced.append(getattr(self.tracer, decorator)(fn))
            return traced[0](*args, **kwargs)

        return call  # type: ignore[return-value]

    def capture_lambda_handler(self, fn: F) -> F:
        return self._lazily(fn, "capture_lambda_handler")

    def capture_method(self, fn: F) -> F:
        return self._lazily(fn, "capture_method")


logger = Logger(service=SERVICE)
tracer = LazyTracer(service=SERVICE)
metrics = Metrics(namespace="drorch", service=SERVICE)

__all__ = ["SERVICE", "MetricUnit", "count", "engine", "logger", "metrics", "tracer"]


@tracer.capture_method
def engine() -> Engine:
    """The engine's stores and clients for this invocation (clients are cached per identity)."""
    from drorch.engine.runtime import Engine

    return Engine.from_env()


def count(name: str, value: float = 1, unit: str = MetricUnit.Count) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)
