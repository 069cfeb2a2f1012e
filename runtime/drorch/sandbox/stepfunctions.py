"""Step Functions and Lambda in the sandbox.

The state machines run on moto's ASL interpreter (``execute_state_machine``).
Three things make that interpreter behave as AWS does for drorch's definitions,
and this module supplies them:

* **in-process Lambda**: a ``lambda:Invoke`` of a function the sandbox deployed
  runs the function's Python handler in this process (no container), with the
  hub orchestrator role's credentials, and answers with the Lambda wire format
  (``X-Amz-Function-Error`` and ``errorType`` on failure, so Retry/Catch match
  on the exception's class name as in AWS);
* **the service's identity**: moto's interpreter signs its own calls with the
  access key ``ak``, which moto maps to its default account; the interceptor
  re-signs them as the orchestrator role in the hub account;
* **simulated time**: with a manual sandbox clock, a Wait state moves the
  simulated clock to its end instead of sleeping, so polling loops cost
  milliseconds and measured durations are simulated ones;
* **three moto gaps** (moto 5.2): the interpreter's optimised integrations pass
  ASL's PascalCase parameters straight to boto3 and expect PascalCase answers
  (translated here both ways); and a state machine with a running execution
  cannot be deep-copied when a second execution starts (fixed by not copying
  the executions list).
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

import boto3
from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse

_installed = False
_lock = threading.Lock()
SERVICE_ACCESS_KEY = "ak"  # what moto's interpreter signs with


@dataclass
class LambdaRuntime:
    """The functions the sandbox runs in-process, and the identity they run as."""

    handlers: dict[str, str] = field(default_factory=dict)  # function ARN -> "module:function"
    session: boto3.Session | None = None  # the orchestrator role in the hub
    invocations: dict[str, int] = field(default_factory=dict)  # function name -> count


class _ThreadLocalDefaultSession:
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
    if isinstance(default, _ThreadLocalDefaultSession):
        default.use(runtime.session)
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
        if isinstance(default, _ThreadLocalDefaultSession):
            default.use(None)
    return AWSResponse(request.url, 200, headers, MockRawResponse(payload))


def use_thread_local_default_session() -> None:
    """Make boto3's default session thread-aware (see :class:`_ThreadLocalDefaultSession`)."""
    current = boto3.DEFAULT_SESSION
    if current is None:
        boto3.setup_default_session()
        current = boto3.DEFAULT_SESSION
    if not isinstance(current, _ThreadLocalDefaultSession):
        boto3.DEFAULT_SESSION = _ThreadLocalDefaultSession(current)  # type: ignore[assignment]


# --- moto interpreter gaps -----------------------------------------------------------
def _parameters_to_model_names(params: dict[str, Any], model: Any, **_: Any) -> None:
    shape = model.input_shape
    if shape is None:
        return
    by_lower = {member.lower(): member for member in shape.members}
    for key in list(params):
        if key not in shape.members and key.lower() in by_lower:
            params[by_lower[key.lower()]] = params.pop(key)


def _answer_in_pascal_case(parsed: Any, **_: Any) -> None:
    if isinstance(parsed, dict):
        for key in list(parsed):
            if key and key[0].islower():
                parsed.setdefault(key[0].upper() + key[1:], parsed[key])


REAL_PAUSE_SECONDS = 0.01


class SimulatedTimeEvent(threading.Event):
    """A ``threading.Event`` whose ``wait(timeout)`` counts the timeout in simulated
    time when the sandbox clock is manual: a state's ``TimeoutSeconds`` (an
    approval gate that nobody answers) expires when the clock passes it."""

    def wait(self, timeout: float | None = None) -> bool:
        from drorch.sandbox.state import STATE

        clock = STATE.clock
        if timeout is None or clock.speed > 0:
            return super().wait(timeout)
        deadline = clock.now() + timedelta(seconds=timeout)
        while not super().wait(REAL_PAUSE_SECONDS * 2):
            if clock.now() >= deadline:
                return self.is_set()
        return True


def wait_on_simulated_clock(clock: Any, seconds: float, interrupt: threading.Event) -> None:
    """A Wait state when the sandbox's clock is manual: simulated time moves to the end
    of the wait (once, however many executions wait in parallel), and real time
    barely passes — so a 30-second polling loop costs milliseconds, DRS work
    progresses, and measured durations are what AWS would show."""
    clock.advance_to(clock.now() + timedelta(seconds=seconds))
    interrupt.wait(REAL_PAUSE_SECONDS)


def install() -> None:
    """Patch moto's Step Functions interpreter (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        import moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn as sfn_task
        import moto.stepfunctions.parser.asl.utils.boto_client as boto_client
        from moto.stepfunctions.models import StateMachine

        original = boto_client.boto_client_for
        clients: dict[str, Any] = {}

        def client_for(*args: Any, **kwargs: Any) -> Any:
            # one client per target (boto3 clients are thread-safe; creating one costs ms)
            key = repr((args, sorted(kwargs.items())))
            client = clients.get(key)
            if client is None:
                client = original(*args, **kwargs)
                client.meta.events.register(
                    "before-parameter-build.*.*", _parameters_to_model_names
                )
                client.meta.events.register("after-call.*.*", _answer_in_pascal_case)
                clients[key] = client
            return client

        for name, module in list(sys.modules.items()):
            if (
                name.startswith("moto.stepfunctions.parser")
                and getattr(module, "boto_client_for", None) is original
            ):
                module.boto_client_for = client_for
        boto_client.boto_client_for = client_for

        def normalise_response(self: Any, response: Any, *args: Any, **kwargs: Any) -> None:
            if isinstance(response, dict):
                for key in list(response):
                    if key and key[0].islower():
                        response[key[0].upper() + key[1:]] = response.pop(key)

        sfn_task.StateTaskServiceSfn._normalise_response = normalise_response

        def state_machine_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
            clone = StateMachine.__new__(StateMachine)
            memo[id(self)] = clone
            for key, value in self.__dict__.items():
                clone.__dict__[key] = [] if key == "executions" else copy.deepcopy(value, memo)
            return clone

        StateMachine.__deepcopy__ = state_machine_deepcopy  # type: ignore[attr-defined]

        # How often the interpreter checks on a child execution (.sync): a moto polling
        # detail, not AWS behaviour; 0.5 s per nesting level makes every wave slow.
        import moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback as callback

        callback._DELAY_SECONDS_SYNC_CONDITION_CHECK = 0.05

        # Wait states on the simulated clock (see wait_on_simulated_clock)
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
            WaitFunction,
        )

        real_wait = WaitFunction._wait_interval

        def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
            from drorch.sandbox.state import STATE

            if STATE.clock.speed > 0 or wait_seconds <= 0:
                return real_wait(self, env, wait_seconds)
            wait_on_simulated_clock(STATE.clock, wait_seconds, env.program_state_event)

        WaitFunction._wait_interval = wait_interval

        # State timeouts and task-token waits on the simulated clock too
        import types

        import moto.stepfunctions.parser.asl.component.state.exec.execute_state as execute_state
        import moto.stepfunctions.parser.asl.eval.callback.callback as callback_module

        execute_state.threading = types.SimpleNamespace(Event=SimulatedTimeEvent)
        callback_module.Event = SimulatedTimeEvent

        # moto builds a new JSONPath parser (LR tables and all) for every path it
        # evaluates; a parsed path is immutable, so parse each distinct one once.
        import functools

        import moto.stepfunctions.parser.asl.utils.json_path as json_path

        json_path.parse = functools.lru_cache(maxsize=4096)(json_path.parse)

        # moto logs every failed state (a rejected gate, a failed wave: normal outcomes
        # in DR) at ERROR with the whole parsed program; drorch records them itself.
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        _installed = True
