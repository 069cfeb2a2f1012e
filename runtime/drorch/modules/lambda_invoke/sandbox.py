"""Lambda functions of the staging accounts in the sandbox: moto 5.2 needs docker to run
a function, so ``Invoke`` of a custom function would fail.

A scenario (or a test, through :func:`declare_answer`) declares what a function of a
staging account answers: a JSON result, or an error (``errorMessage``/``errorType``).
The function itself is a real moto function (``CreateFunction``, ``GetFunction`` and
the rest work as usual); this extension answers its ``Invoke`` with Lambda's wire
shape: status 200, the result as the payload, and for an error the header
``X-Amz-Function-Error: Unhandled`` with ``{"errorMessage", "errorType",
"stackTrace"}``. ``InvocationType=Event`` answers 202 and ``DryRun`` 204, without a
payload. A function without a declared answer keeps moto's behaviour.

The hub's own functions never reach this: :mod:`drorch.sandbox.stepfunctions`
answers them in-process before moto is asked.

Faults (``sandbox.faults``): ``fail_function(name, message=..., error_type=...)``
makes invocations of a function (name or ARN, in any staging account unless scoped)
fail as an unhandled error.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox


@dataclass(frozen=True)
class Answer:
    """What a function answers: ``result`` (any JSON value), or an error."""

    result: Any = None
    error_message: str | None = None
    error_type: str = "Exception"

    def payload(self) -> tuple[bytes, bool]:
        """The response payload and whether it is a function error."""
        if self.error_message is not None:
            return _error(self.error_message, self.error_type), True
        return json.dumps(self.result).encode(), False


def _error(message: str, error_type: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type, "stackTrace": []}).encode()


_ANSWERS: dict[tuple[str, str, str], Answer] = {}  # (account, region, function name)
_LOCK = threading.Lock()
INVOCATIONS: list[dict[str, Any]] = []  # what was invoked, for tests: account, region, name, event


def declare_answer(
    account_id: str,
    region: str,
    function_name: str,
    *,
    result: Any = None,
    error_message: str | None = None,
    error_type: str = "Exception",
) -> Answer:
    """Declare what ``function_name`` in this account and region answers while the sandbox
    runs (a result, or an error when ``error_message`` is given)."""
    answer = Answer(result=result, error_message=error_message, error_type=error_type)
    with _LOCK:
        _ANSWERS[(account_id, region, function_name)] = answer
    return answer


def answer_for(account_id: str, region: str, function_name: str) -> Answer | None:
    with _LOCK:
        return _ANSWERS.get((account_id, region, function_name))


def _invoke(original: Callable[..., Any]) -> Callable[..., Any]:
    def invoke(
        self: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> Any:
        function = self.get_function(function_name, qualifier)  # ResourceNotFound as moto says
        answer = answer_for(self.account_id, self.region_name, function.function_name)
        if answer is None:
            return original(self, function_name, qualifier, body, headers, response_headers)
        try:
            event = json.loads(body) if body else {}
        except ValueError:
            event = body
        with _LOCK:
            INVOCATIONS.append(
                {
                    "account": self.account_id,
                    "region": self.region_name,
                    "function": function.function_name,
                    "event": event,
                }
            )
        fault = STATE.faults.function_failure_for(
            self.account_id, self.region_name, function.function_name, function.function_arn
        )
        if fault is not None:
            payload, failed = _error(fault.message, fault.error_type), True
        else:
            payload, failed = answer.payload()
        response_headers["X-Amz-Executed-Version"] = getattr(function, "version", "$LATEST")
        if failed:
            response_headers["X-Amz-Function-Error"] = "Unhandled"
        if headers.get("X-Amz-Invocation-Type") in ("Event", "DryRun"):
            response_headers.pop("X-Amz-Function-Error", None)
            return b""
        return payload

    invoke.__wrapped__ = original  # type: ignore[attr-defined]
    return invoke


def install() -> None:
    from moto.awslambda.models import LambdaBackend
    from moto.awslambda_simple.models import LambdaSimpleBackend

    for backend in (LambdaBackend, LambdaSimpleBackend):  # with docker, and without
        backend.invoke = _invoke(backend.__dict__["invoke"])  # type: ignore[method-assign]


def start(sandbox: Sandbox) -> Callable[[], None]:
    def clear() -> None:
        with _LOCK:
            _ANSWERS.clear()
            INVOCATIONS.clear()

    clear()
    return clear


EXTENSION = SandboxExtension(install=install, start=start)
