"""Step Functions in the sandbox.

The state machines run on moto's ASL interpreter (``execute_state_machine``).
These things make that interpreter behave as AWS does for drorch's definitions,
and this module supplies them:

* **in-process Lambda** (:mod:`drorch.sandbox.lambda_runtime`): a
  ``lambda:Invoke`` of a function the sandbox deployed runs its Python handler
  in this process;
* **the service's identity**: moto's interpreter signs its own calls with the
  access key ``ak``, which moto maps to its default account; the interceptor
  re-signs them as the orchestrator role in the hub account;
* **simulated time per execution** (:mod:`drorch.sandbox.timeline`): with a manual
  sandbox clock, a Wait state (and the executor's ``WaitForEvent``, whose timeout is
  its fallback poll) ends when the simulated clock reaches its end on the
  execution's own timeline, and the clock moves there when the sandbox is quiet;
  parallel executions each wait their own interval, polling loops cost
  milliseconds and measured durations are simulated ones;
* **waiting without sleeping**: an execution that ends wakes the callers of
  :func:`drorch.sandbox.activity.wait_for`;
* **StopExecution** ends an execution that waits for a task token at once, as in
  AWS (moto leaves it RUNNING until the token's timeout);
* **what AWS refuses** and moto accepts (:func:`install_fidelity`): definitions
  are validated at CreateStateMachine/UpdateStateMachine
  (:mod:`drorch.sandbox.asl_validation`), execution names are checked and an
  unnamed execution gets a UUID, a Retry's interval passes on the simulated clock,
  a Choice rule on a missing path fails the
  execution with ``States.Runtime``, a ``TimeoutSecondsPath`` or
  ``HeartbeatSecondsPath`` that is not a positive integer fails it too, and an
  execution's output is always JSON (a string output is quoted, a null one is
  ``null``);
* **three moto gaps** (moto 5.2): the interpreter's optimised integrations pass
  ASL's PascalCase parameters straight to boto3 and expect PascalCase answers
  (translated here both ways); and a state machine with a running execution
  cannot be deep-copied when a second execution starts (fixed by not copying
  the executions list).
"""

from __future__ import annotations

import copy
import json
import logging
import sys
import threading
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from drorch.engine.asl import EVENT_WAIT_STATE
from drorch.sandbox import activity, lambda_runtime, timeline
from drorch.sandbox.lambda_runtime import (  # re-exported: the interceptor and core use them
    LambdaRuntime,
    invoke_in_process,
    use_thread_local_default_session,
)
from drorch.sandbox.state import STATE

_installed = False
_lock = threading.Lock()
SERVICE_ACCESS_KEY = "ak"  # what moto's interpreter signs with

__all__ = [
    "SERVICE_ACCESS_KEY",
    "LambdaRuntime",
    "SimulatedTimeEvent",
    "install",
    "stop_executions",
    "invoke_in_process",
    "use_thread_local_default_session",
    "wait_on_simulated_clock",
]


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


def stop_executions(session: Any, state_machine_arns: Iterable[str], timeout: float = 30.0) -> None:
    """Stop every running execution of these state machines and wait until none runs
    and no in-process Lambda invocation is still returning.

    A failed or cancelled parent leaves its ``.sync`` children running (in AWS too);
    whoever ends a sandbox run stops them, so that no interpreter thread goes on
    calling the hub's functions once the sandbox (and the functions' environment) is
    gone.
    """
    sfn = session.client("stepfunctions")
    arns = list(state_machine_arns)

    def running() -> list[str]:
        return [
            execution["executionArn"]
            for arn in arns
            for page in sfn.get_paginator("list_executions").paginate(
                stateMachineArn=arn, statusFilter="RUNNING"
            )
            for execution in page["executions"]
        ]

    for arn in running():
        sfn.stop_execution(executionArn=arn, cause="the sandbox run ended")
    activity.wait_for(lambda: not running() and lambda_runtime.in_flight() == 0, timeout)


REAL_PAUSE_SECONDS = 0.01


class SimulatedTimeEvent(threading.Event):
    """A ``threading.Event`` whose ``wait(timeout)`` counts the timeout in simulated
    time when the sandbox clock is manual: a state's ``TimeoutSeconds`` (an
    approval gate that nobody answers) expires when the clock passes it. It does not
    move the clock (a person's gate waits until a test answers it or moves time);
    the executor's ``WaitForEvent`` does (:func:`wait_for_event_token`)."""

    def wait(self, timeout: float | None = None) -> bool:
        clock = STATE.clock
        if timeout is None or clock.speed > 0:
            return super().wait(timeout)
        deadline = clock.now() + timedelta(seconds=timeout)
        while not super().wait(REAL_PAUSE_SECONDS * 2):
            if clock.now() >= deadline:
                return self.is_set()
        return True


def wait_on_simulated_clock(
    clock: Any, seconds: float, interrupt: threading.Event, execution: str | None = None
) -> None:
    """A Wait state when the sandbox's clock is manual: it ends when simulated time
    reaches ``seconds`` after the execution's previous wait ended (its own timeline),
    and the clock moves there once the sandbox is quiet — so parallel executions each
    poll at their own interval, a 30-second polling loop costs milliseconds, DRS work
    progresses, and measured durations are what AWS would show."""
    deadline = timeline.deadline_after(execution, clock, seconds)
    if timeline.wait_until(clock, deadline, interrupt, execution):
        timeline.ended(execution, deadline)


def wait_for_event_token(
    clock: Any, seconds: float, endpoint: Any, execution: str | None
) -> Any | None:
    """The executor's ``WaitForEvent`` (task token, ``TimeoutSeconds`` as its fallback
    poll): it waits on the execution's own timeline like a Wait state (with a scaled
    clock: from now, while the fakes catch up and send their events), and ends when
    the token is answered or the timeout is reached (None)."""
    if clock.speed > 0:
        deadline = clock.now() + timedelta(seconds=seconds)
    else:
        deadline = timeline.deadline_after(execution, clock, seconds)
    timeline.wait_until(clock, deadline, endpoint._notify_event, execution)
    outcome = endpoint.get_outcome()
    timeline.ended(execution, deadline if outcome is None else min(deadline, clock.now()))
    return outcome


SYNC_RECHECK_SECONDS = 0.5


class _SyncPause:
    """Stands in for ``time`` in moto's callback module: its sleep between two checks on a
    child execution lasts until the sandbox changes (see install)."""

    def sleep(self, seconds: float) -> None:
        activity.pause(SYNC_RECHECK_SECONDS)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def _execution_of(env: Any) -> str | None:
    try:
        return str(env.states.context_object.context_object_data["Execution"]["Id"])
    except (AttributeError, KeyError, TypeError):
        return None


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

        # an execution that ends wakes whoever waits on the sandbox (activity.wait_for)
        from moto.stepfunctions.parser.backend.execution import (
            BaseExecutionWorkerCommunication,
        )

        reflect = BaseExecutionWorkerCommunication.terminated

        def terminated(self: Any) -> None:
            try:
                reflect(self)
            finally:
                execution = getattr(getattr(self, "execution", None), "exec_arn", None)
                if execution:
                    timeline.forget(str(execution))
                activity.notify()

        BaseExecutionWorkerCommunication.terminated = terminated

        # StopExecution ends an execution at once in AWS, even one waiting for a task
        # token; moto only marks it stopped, and a state waiting for a token (a gate)
        # would keep it RUNNING until the token's timeout. Wake those waits.
        from moto.stepfunctions.parser.backend.execution import Execution as ParserExecution

        stop = ParserExecution.stop

        def stop_and_interrupt(self: Any, *args: Any, **kwargs: Any) -> None:
            stop(self, *args, **kwargs)
            worker = self.exec_worker
            pool = getattr(getattr(worker, "env", None), "callback_pool_manager", None)
            for endpoint in list(getattr(pool, "_pool", {}).values()):
                endpoint.interrupt_all()

        ParserExecution.stop = stop_and_interrupt

        # How often the interpreter checks on a child execution (.sync): moto sleeps 0.5 s
        # between DescribeExecution calls (a polling detail, not AWS behaviour: every
        # nesting level then costs half a second). Here the check runs again when
        # something in the sandbox changes (a Lambda invocation, an execution's end;
        # activity.notify), and at least every SYNC_RECHECK_SECONDS: no missed end, and
        # no stream of calls while nothing happens.
        import moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback as callback

        callback.time = _SyncPause()  # type: ignore[attr-defined]

        # Wait states on the simulated clock (see wait_on_simulated_clock)
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
            WaitFunction,
        )

        real_wait = WaitFunction._wait_interval

        def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
            if STATE.clock.speed > 0 or wait_seconds <= 0:
                return real_wait(self, env, wait_seconds)
            wait_on_simulated_clock(
                STATE.clock, wait_seconds, env.program_state_event, _execution_of(env)
            )

        WaitFunction._wait_interval = wait_interval

        # which state a timeout is evaluated for (SimulatedTimeEvent reads it); an
        # execution that waited on a person or a child resumes at the clock's time
        from moto.stepfunctions.parser.asl.component.state.exec.execute_state import (
            ExecutionState,
        )

        evaluate_with_timeout = ExecutionState._evaluate_with_timeout

        def evaluate_with_timeout_on_timeline(self: Any, env: Any) -> None:
            execution = _execution_of(env)
            condition = getattr(getattr(self, "resource", None), "condition", None)
            if condition is None or self.name == EVENT_WAIT_STATE:
                return evaluate_with_timeout(self, env)
            try:  # a person's task token or a child execution: parked until it answers
                with timeline.parked(execution):
                    return evaluate_with_timeout(self, env)
            finally:
                timeline.ended(execution, None)

        ExecutionState._evaluate_with_timeout = evaluate_with_timeout_on_timeline

        # the executor's WaitForEvent: the token's wait on the execution's timeline
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
            StateTaskServiceCallback,
        )
        from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackOutcomeTimedOut

        eval_wait_for_task_token = StateTaskServiceCallback._eval_wait_for_task_token

        def eval_wait_for_event_token(
            self: Any,
            env: Any,
            timeout_seconds: int,
            callback_endpoint: Any,
            heartbeat_endpoint: Any,
        ) -> Any:
            if self.name != EVENT_WAIT_STATE or heartbeat_endpoint is not None:
                return eval_wait_for_task_token(
                    self, env, timeout_seconds, callback_endpoint, heartbeat_endpoint
                )
            outcome = wait_for_event_token(
                STATE.clock, timeout_seconds, callback_endpoint, _execution_of(env)
            )
            if outcome is None:
                return CallbackOutcomeTimedOut(callback_id=callback_endpoint.callback_id)
            return outcome

        StateTaskServiceCallback._eval_wait_for_task_token = eval_wait_for_event_token

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

        install_fidelity()

        # moto logs every failed state (a rejected gate, a failed wave: normal outcomes
        # in DR) at ERROR with the whole parsed program; drorch records them itself.
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        _installed = True


# --- what AWS refuses and moto accepts -------------------------------------------------
# StartExecution: "A name must not contain: white space, brackets < > { } [ ], wildcard
# characters ? *, special characters " # % \\ ^ | ~ ` $ & , ; : /, control characters
# (U+0000-001F, U+007F-009F)" and is 1-80 characters long
# (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html).
NAME_FORBIDDEN = set(' <>{}[]?*"#%\\^|~`$&,;:/')


def execution_name_problem(name: str) -> str | None:
    """Why Step Functions refuses ``name`` for an execution (None when it accepts it)."""
    for char in name:
        code = ord(char)
        if char in NAME_FORBIDDEN or char.isspace() or code <= 0x1F or 0x7F <= code <= 0x9F:
            return f"the character {char!r} is not allowed in a name"
    return None


def _runtime_failure(env: Any, cause: str) -> Exception:
    """A ``States.Runtime`` failure of the execution (what AWS raises for a bad path)."""
    from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    runtime = StatesErrorNameType.StatesRuntime
    return FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=runtime),
            event_type=HistoryEventType.ExecutionFailed,
            event_details=EventDetails(
                executionFailedEventDetails=ExecutionFailedEventDetails(
                    error=runtime.to_name(), cause=cause
                )
            ),
        )
    )


def install_fidelity() -> None:
    """Patch moto's Step Functions so that it refuses and fails what AWS does."""
    import uuid

    from moto.core.exceptions import AWSError
    from moto.stepfunctions.exceptions import InvalidName, NameTooLongException
    from moto.stepfunctions.parser.api import InvalidDefinition as ParserInvalidDefinition

    class InvalidDefinition(AWSError):  # the parser's own class serializes without a code
        TYPE = "InvalidDefinition"

    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    from drorch.sandbox.asl_validation import definition_problems, invalid_definition_message

    # definitions: validated as AWS does before moto's parser sees them
    parse_definition = StepFunctionsParserBackend._validate_definition

    def validate_definition(definition: str) -> None:
        problems = definition_problems(definition)
        if problems:
            raise InvalidDefinition(invalid_definition_message(problems))
        try:
            parse_definition(definition=definition)
        except ParserInvalidDefinition as error:
            raise InvalidDefinition(str(error) or "Invalid State Machine Definition") from None

    StepFunctionsParserBackend._validate_definition = staticmethod(validate_definition)

    # a Retry's IntervalSeconds (with its BackoffRate) passes on the simulated clock, as a
    # Wait state does: moto's retrier sleeps in real time
    import moto.stepfunctions.parser.asl.component.common.retry.retrier_decl as retrier_decl

    from drorch.sandbox.interceptor import _SandboxTime

    retrier_decl.time = _SandboxTime()  # type: ignore[assignment]

    # execution names: validated; an unnamed execution gets a UUID (moto names it None)
    start_execution = StepFunctionsParserBackend.start_execution

    def start_named_execution(
        self: Any, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        if name is None:
            name = str(uuid.uuid4())
        elif len(name) > 80:
            raise NameTooLongException(name)
        elif (problem := execution_name_problem(name)) is not None:
            raise InvalidName(f"Invalid Name: '{name}' ({problem})")
        # the execution's timeline starts now: its first wait counts from here
        execution = state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
        timeline.started(execution, STATE.clock.now())
        return start_execution(self, state_machine_arn, name, *args, **kwargs)

    StepFunctionsParserBackend.start_execution = start_named_execution

    # output: always a JSON text ("abc" is '"abc"', None is 'null'); moto passes a
    # string output through unquoted and leaves a null one out
    describe_execution = StepFunctionResponse.describe_execution

    def describe_execution_json_output(self: Any) -> Any:
        result = describe_execution(self)
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        body = result.result
        interpreted = hasattr(execution, "exec_worker")
        if interpreted and isinstance(body, dict) and body.get("status") == "SUCCEEDED":
            body["output"] = json.dumps(execution.output, separators=(",", ":"))
        return result

    StepFunctionResponse.describe_execution = describe_execution_json_output

    # a Choice rule on a path that is not there fails with States.Runtime (IsPresent
    # excepted), where moto's comparison is false and the Default branch runs
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_operator_type import (
        ComparisonOperatorType,
    )
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_variable import (
        ComparisonVariable,
    )
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.variable import (
        NoSuchVariable,
    )

    def compare_present_variable(self: Any, env: Any) -> None:
        self.variable.eval(env)
        value = env.stack[-1]
        if (
            isinstance(value, NoSuchVariable)
            and self.comparison_function.operator_type != ComparisonOperatorType.IsPresent
        ):
            path = self.variable.string_sampler.literal_value
            raise _runtime_failure(
                env,
                f"Invalid path '{path}': The choice state's condition path references an "
                "invalid value.",
            )
        self.comparison_function.eval(env)

    ComparisonVariable._eval_body = compare_present_variable

    # TimeoutSecondsPath / HeartbeatSecondsPath: a positive integer, or States.Runtime
    from moto.stepfunctions.parser.asl.component.common.timeouts.heartbeat import (
        HeartbeatSecondsPath,
    )
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import (
        TimeoutSecondsPath,
    )

    for cls, field in (
        (TimeoutSecondsPath, "TimeoutSecondsPath"),
        (HeartbeatSecondsPath, "HeartbeatSecondsPath"),
    ):
        _check_seconds_path(cls, field)


def _check_seconds_path(cls: Any, field: str) -> None:
    from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError

    def eval_seconds(self: Any, env: Any) -> int:
        path = self.string_sampler.literal_value
        try:
            self.string_sampler.eval(env=env)
        except NoSuchJsonPathError as error:
            raise _runtime_failure(
                env,
                f"Invalid path '{error.json_path}' : No results for path: "
                f"$['{error.json_path[2:]}']",
            ) from None
        value = env.stack.pop()
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 99999999:
            raise _runtime_failure(
                env,
                f"The value for the field '{field}' must be a positive integer "
                f"(1-99999999), got {json.dumps(value)} at '{path}'",
            )
        return value

    cls._eval_seconds = eval_seconds
