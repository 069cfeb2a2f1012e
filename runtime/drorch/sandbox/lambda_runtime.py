"""Lambda in the sandbox: a function the sandbox deployed runs in this process.

A ``lambda:Invoke`` of such a function runs its Python handler here (no
container), with the hub orchestrator role's credentials, and answers with the
Lambda wire format (``X-Amz-Function-Error`` and ``errorType`` on failure, so
Step Functions' Retry/Catch match on the exception's class name as in AWS).

The handler gets its function's credentials through boto3's default session,
which the sandbox makes thread-aware: a handler running on an interpreter
thread sees the orchestrator role while the rest of the process keeps the
operator's. Product code only ever calls the public ``boto3.DEFAULT_SESSION`` /
``boto3.client``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import boto3
from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse

from drorch.sandbox import activity

_in_flight = 0  # invocations whose handler has not returned yet
_in_flight_lock = threading.Lock()
_last_change = 0.0  # monotonic time an invocation last started or returned


def in_flight() -> int:
    """How many in-process invocations are running now (in any sandbox of the process)."""
    return _in_flight


def last_change() -> float:
    """When (``time.monotonic()``) an in-process invocation last started or returned."""
    return _last_change


def _count(change: int) -> None:
    global _in_flight, _last_change
    with _in_flight_lock:
        _in_flight += change
        _last_change = time.monotonic()


@dataclass
class LambdaRuntime:
    """The functions the sandbox runs in-process, and the identity they run as."""

    handlers: dict[str, str] = field(default_factory=dict)  # function ARN -> "module:function"
    session: boto3.Session | None = None  # the orchestrator role in the hub
    invocations: dict[str, int] = field(default_factory=dict)  # function name -> count
    # function name -> the most CPU one invocation used (its thread's, with the sandbox's
    # answers to its AWS calls, which run on that thread): what grows toward a timeout
    longest_cpu: dict[str, float] = field(default_factory=dict)


class ThreadLocalDefaultSession:
    """Stands in for ``boto3.DEFAULT_SESSION`` so that a Lambda handler running on an
    interpreter thread gets its function's credentials while the rest of the
    process keeps the operator's."""

    def __init__(self, fallback: boto3.Session) -> None:
        self._fallback = fallback
        self._local = threading.local()

    def use(self, session: boto3.Session | None) -> None:
        self._local.session = session

    def __getattr__(self, name: str) -> Any:
        session = getattr(self._local, "session", None) or self._fallback
        return getattr(session, name)


class _Context:
    """The Lambda context object a handler receives."""

    def __init__(self, function_arn: str, timeout_seconds: int = 900) -> None:
        self.invoked_function_arn = function_arn
        self.function_name = function_arn.split(":")[-1]
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.aws_request_id
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _resolve(path: str) -> Any:
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def invoke_in_process(runtime: LambdaRuntime, request: Any) -> AWSResponse | None:
    """Answer a lambda:Invoke for a sandbox-deployed function, or None to let moto answer."""
    path = request.url.split("/functions/", 1)[-1].split("/invocations", 1)[0]
    target = unquote(path)
    arn = next(
        (a for a in runtime.handlers if target in (a, a.split(":")[-1])),
        None,
    )
    if arn is None:
        return None
    body = request.body or b"{}"
    event = json.loads(body.decode() if isinstance(body, bytes) else body)
    handler = _resolve(runtime.handlers[arn])
    name = arn.split(":")[-1]
    runtime.invocations[name] = runtime.invocations.get(name, 0) + 1
    default = boto3.DEFAULT_SESSION
    headers = {"X-Amz-Executed-Version": "$LATEST", "Content-Type": "application/json"}
    if isinstance(default, ThreadLocalDefaultSession):
        default.use(runtime.session)
    _count(+1)
    cpu = time.thread_time()
    try:
        result = handler(event, _Context(arn))
        payload = json.dumps(result).encode()
    except Exception as exc:  # noqa: BLE001 - reported the way Lambda reports it
        headers["X-Amz-Function-Error"] = "Unhandled"
        payload = json.dumps(
            {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "stackTrace": traceback.format_tb(exc.__traceback__)[-5:],
            }
        ).encode()
    finally:
        if isinstance(default, ThreadLocalDefaultSession):
            default.use(None)
        used = time.thread_time() - cpu
        runtime.longest_cpu[name] = max(runtime.longest_cpu.get(name, 0.0), used)
        _drop_unpublished_metrics()
        _count(-1)
        activity.notify()
    return AWSResponse(request.url, 200, headers, MockRawResponse(payload))


def _drop_unpublished_metrics() -> None:
    """With ``POWERTOOLS_METRICS_DISABLED`` (the sandbox's setting) Powertools never clears
    its metric set, which is shared by the whole process: it grows with every invocation
    and is printed to stdout, whatever the setting, once a metric has 100 values. In
    Lambda each invocation's metrics are flushed (and cleared) at its end; here they are
    dropped."""
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() not in ("true", "1"):
        return
    metrics = sys.modules.get("aws_lambda_powertools.metrics")
    if metrics is not None:
        metrics.Metrics().clear_metrics()


def use_thread_local_default_session() -> None:
    """Make boto3's default session thread-aware (see :class:`ThreadLocalDefaultSession`)."""
    current = boto3.DEFAULT_SESSION
    if current is None:
        boto3.setup_default_session()
        current = boto3.DEFAULT_SESSION
    if not isinstance(current, ThreadLocalDefaultSession):
        boto3.DEFAULT_SESSION = ThreadLocalDefaultSession(current)  # type: ignore[assignment]
