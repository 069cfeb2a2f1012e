"""SSM Automation in the sandbox: moto 5.2 stores Automation documents but cannot run them.

This extension adds to moto's own SSM service (JSON 1.1, real wire shapes, checked
against the botocore model by the interceptor):

* ``StartAutomationExecution``: the document must exist in the account and region
  with DocumentType ``Automation`` (else ``AutomationDefinitionNotFoundException``;
  an unknown version gives ``AutomationDefinitionVersionNotFoundException``);
  ``Parameters`` are checked against the document's declared parameters as SSM does
  (unknown names, missing required values, types, ``allowedValues``,
  ``allowedPattern``, item counts) and defaults are filled in; a ``ClientToken``
  seen before returns the same execution, or ``IdempotentParameterMismatch`` if the
  request differs;
* ``GetAutomationExecution``, ``DescribeAutomationExecutions`` (filters,
  pagination), ``DescribeAutomationStepExecutions``, ``StopAutomationExecution``.

An execution runs on the sandbox's simulated clock: ``Pending`` for
:attr:`AutomationTimings.pending_seconds`, then its steps one after the other
(``aws:sleep`` for its ``Duration``, every other step for
:attr:`AutomationTimings.step_seconds`, or what a scenario declared for the
document), then ``Success``. Steps appear in ``StepExecutions`` once started,
with their ``{{ parameter }}`` references resolved in ``Inputs``. A step's
declared outputs echo its input of the same name (or the ``InputPayload`` key of
an ``aws:executeScript``), unless the scenario gave a value; the document's
``outputs`` are gathered from them.

Faults (``sandbox.faults``): ``fail_automation(document, step=..., reason=...)``
fails that step (default: the last) and the execution (``Failed``,
``FailureMessage``); ``slow_automation(factor, document=...)`` stretches the steps,
and a step that then outlasts its ``timeoutSeconds`` ends ``TimedOut``.

Not simulated: rate control (``Targets``/``TargetMaps``/``TargetLocations`` are
refused), branching (``aws:branch``/``nextStep``/``isEnd``: steps run in order),
``onFailure: Continue``, approvals (``aws:approve`` passes) and what steps really do
(an ``aws:executeAwsApi`` step of a document a scenario declared calls nothing; in
any other document it calls its API when the execution starts, as the document's
``assumeRole``, and its outputs come from the answer: :mod:`drorch.sandbox.triggers`).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult

from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox

TERMINAL = frozenset({"Success", "Failed", "TimedOut", "Cancelled"})
MAX_RESULTS = 50


@dataclass
class AutomationTimings:
    """How long Automation takes, in simulated seconds."""

    pending_seconds: float = 2.0  # Pending -> InProgress
    step_seconds: float = 60.0  # every step except aws:sleep (which takes its Duration)


TIMINGS = AutomationTimings()


@dataclass
class DocumentHints:
    """What a scenario declared about a document's simulation."""

    step_seconds: float | None = None
    outputs: dict[str, list[str]] = field(default_factory=dict)  # "step.Name" -> values


_HINTS: dict[tuple[str, str, str], DocumentHints] = {}
_HINTS_LOCK = threading.Lock()


def declare_document(
    account_id: str,
    region: str,
    name: str,
    *,
    step_seconds: float | None = None,
    outputs: Mapping[str, Any] | None = None,
) -> None:
    """Tell the simulation how long ``name``'s steps take and what its step outputs are
    (``{"step.Output": value or [values]}``), for the running sandbox."""
    hints = DocumentHints(
        step_seconds=step_seconds,
        outputs={k: _as_values(v) for k, v in (outputs or {}).items()},
    )
    with _HINTS_LOCK:
        _HINTS[(account_id, region, name)] = hints


def _hints(account_id: str, region: str, name: str) -> DocumentHints:
    with _HINTS_LOCK:
        return _HINTS.get((account_id, region, name)) or DocumentHints()


# --- errors (JSON 1.1 error shapes of the SSM model) -----------------------------------
class AutomationDefinitionNotFoundException(ServiceException):
    code = "AutomationDefinitionNotFoundException"


class AutomationDefinitionVersionNotFoundException(ServiceException):
    code = "AutomationDefinitionVersionNotFoundException"


class InvalidAutomationExecutionParametersException(ServiceException):
    code = "InvalidAutomationExecutionParametersException"


class IdempotentParameterMismatch(ServiceException):
    code = "IdempotentParameterMismatch"


class AutomationExecutionNotFoundException(ServiceException):
    code = "AutomationExecutionNotFoundException"


class InvalidAutomationStatusUpdateException(ServiceException):
    code = "InvalidAutomationStatusUpdateException"


class MessagelessError(ServiceException):
    """An error whose model shape has no members: SSM sends only its code."""

    def __init__(self, *_: Any) -> None:
        Exception.__init__(self, self.code)
        self.message = ""

    def __str__(self) -> str:
        return ""


class InvalidFilterKey(MessagelessError):
    code = "InvalidFilterKey"


class InvalidFilterValue(ServiceException):
    code = "InvalidFilterValue"


class InvalidNextToken(ServiceException):
    code = "InvalidNextToken"


# --- documents: parameters and references (shared with Run Command) ---------------------
def _as_values(value: Any) -> list[str]:
    """A parameter or output value as SSM carries it: a list of strings."""
    if isinstance(value, list):
        return [v if isinstance(v, str) else json.dumps(v) for v in value]
    if isinstance(value, bool):
        return [str(value).lower()]
    if isinstance(value, dict):
        return [json.dumps(value)]
    return [str(value)]


def resolve_parameters(
    declared: Mapping[str, Any] | None,
    given: Mapping[str, list[str]] | None,
    error: type[ServiceException],
) -> dict[str, list[str]]:
    """``given`` checked against a document's ``parameters`` and completed with the
    defaults, as SSM does before it runs a document; raises ``error`` naming the problem."""
    declared = dict(declared or {})
    given = dict(given or {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise error(f"Parameters {unknown} are not defined in the document.")
    resolved: dict[str, list[str]] = {}
    missing = []
    for name, spec in declared.items():
        spec = spec if isinstance(spec, Mapping) else {}
        if name in given:
            values = list(given[name])
        elif "default" in spec:
            values = _as_values(spec["default"])
            if spec.get("type") in ("StringList", "MapList") and values == []:
                resolved[name] = []
                continue
        else:
            missing.append(name)
            continue
        _check_parameter(name, spec, values, error)
        resolved[name] = values
    if missing:
        raise error(f"Parameters {missing} are required but were not provided.")
    return resolved


def _check_parameter(
    name: str, spec: Mapping[str, Any], values: list[str], error: type[ServiceException]
) -> None:
    kind = spec.get("type", "String")
    is_list = kind in ("StringList", "MapList") or kind.startswith("List<")
    if not is_list and len(values) != 1:
        raise error(f'Parameter "{name}" of type {kind} takes one value, got {len(values)}.')
    if kind == "Integer" and not re.fullmatch(r"-?[0-9]+", values[0]):
        raise error(f'Parameter "{name}" should be an Integer, got {values[0]!r}.')
    if kind == "Boolean" and values[0] not in ("true", "false"):
        raise error(f'Parameter "{name}" should be a Boolean (true or false).')
    if kind in ("StringMap", "MapList"):
        for value in values:
            try:
                json.loads(value)
            except ValueError:
                raise error(f'Parameter "{name}" should be JSON of type {kind}.') from None
    if is_list:
        if "minItems" in spec and len(values) < int(spec["minItems"]):
            raise error(f'Parameter "{name}" needs at least {spec["minItems"]} items.')
        if "maxItems" in spec and len(values) > int(spec["maxItems"]):
            raise error(f'Parameter "{name}" takes at most {spec["maxItems"]} items.')
    allowed = spec.get("allowedValues")
    pattern = spec.get("allowedPattern")
    for value in values:
        if allowed is not None and value not in [str(a) for a in allowed]:
            raise error(f'Parameter "{name}" value {value!r} is not one of {allowed}.')
        if pattern and value and not re.search(pattern, value):
            raise error(
                f'Parameter "{name}" value {value!r} does not match the allowed pattern {pattern}.'
            )
        if "maxChars" in spec and len(value) > int(spec["maxChars"]):
            raise error(f'Parameter "{name}" is longer than {spec["maxChars"]} characters.')


_REFERENCE = re.compile(r"\{\{\s*([A-Za-z0-9_:.\-]+)\s*\}\}")


def interpolate(value: Any, lookup: Callable[[str], list[str] | None]) -> Any:
    """``{{ Name }}`` references in a document's inputs replaced by their values (a string
    that is exactly one reference to a list becomes that list, as in SSM)."""
    if isinstance(value, dict):
        return {k: interpolate(v, lookup) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, lookup) for v in value]
    if not isinstance(value, str):
        return value
    whole = _REFERENCE.fullmatch(value.strip())
    if whole:
        found = lookup(whole.group(1))
        if found is not None:
            return found[0] if len(found) == 1 else list(found)
        return value

    def one(match: re.Match[str]) -> str:
        found = lookup(match.group(1))
        if found is None:
            return match.group(0)
        return found[0] if len(found) == 1 else json.dumps(found)

    return _REFERENCE.sub(one, value)


_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def iso_duration(text: Any) -> float | None:
    """Seconds in an ISO 8601 duration such as ``PT30S`` or ``PT1H30M`` (None if not one)."""
    match = _DURATION.match(str(text).strip()) if text else None
    if not match or not any(match.groupdict().values()):
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return (
        parts.get("d", 0) * 86400 + parts.get("h", 0) * 3600 + parts.get("m", 0) * 60
    ) + parts.get("s", 0)


def encode_token(index: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"i": index}).encode()).decode()


def decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        index = json.loads(base64.urlsafe_b64decode(token.encode()))["i"]
    except (ValueError, KeyError, TypeError):
        raise InvalidNextToken("The specified token isn't valid.") from None
    if not isinstance(index, int) or index < 0:
        raise InvalidNextToken("The specified token isn't valid.")
    return index


def page(items: list[Any], max_results: Any, token: str | None) -> tuple[list[Any], str | None]:
    start = decode_token(token)
    size = int(max_results or MAX_RESULTS)
    chunk = items[start : start + size]
    following = start + size
    return chunk, encode_token(following) if following < len(items) else None


def caller_arn(account_id: str, access_key: str, region: str) -> str | None:
    """The ARN of the principal that signed the request (moto's STS view of it)."""
    try:
        from moto.sts.models import sts_backends

        return sts_backends[account_id]["aws"].get_caller_identity(access_key, region)[1]
    except Exception:  # noqa: BLE001 - an unknown signer: leave the field out
        return None


# --- the model ----------------------------------------------------------------------------
@dataclass
class PlannedStep:
    name: str
    action: str
    start: float  # seconds after the execution left Pending
    duration: float  # how long it runs (until it ends, fails or times out)
    status: str  # what it ends as: Success | Failed | TimedOut
    inputs: dict[str, str]
    outputs: dict[str, list[str]]
    step_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    failure: str | None = None
    timeout: int | None = None
    on_failure: str = "Abort"
    max_attempts: int = 1

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass
class Execution:
    execution_id: str
    document_name: str
    document_version: str
    parameters: dict[str, list[str]]
    request: tuple[str, ...]  # what a ClientToken must match
    started: datetime
    pending: float
    steps: list[PlannedStep]
    document_outputs: list[str]
    executed_by: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    stopped: datetime | None = None

    # -- where it is at a moment --
    def _elapsed(self, now: datetime) -> float:
        return (now - self.started).total_seconds() - self.pending

    def _natural_end(self) -> tuple[float, str]:
        for step in self.steps:
            if step.status != "Success":
                return step.end, step.status
        return (self.steps[-1].end if self.steps else 0.0), "Success"

    def status(self, now: datetime) -> str:
        end, outcome = self._natural_end()
        if self.stopped is not None and now >= self.stopped and self._elapsed(self.stopped) < end:
            return "Cancelled"
        elapsed = self._elapsed(now)
        if elapsed < 0:
            return "Pending"
        return outcome if elapsed >= end else "InProgress"

    def end_time(self, now: datetime) -> datetime | None:
        status = self.status(now)
        if status not in TERMINAL:
            return None
        if status == "Cancelled":
            return self.stopped
        end, _ = self._natural_end()
        return self.started + timedelta(seconds=self.pending + end)

    def _moment(self, offset: float) -> datetime:
        return self.started + timedelta(seconds=self.pending + offset)

    def _horizon(self, now: datetime) -> float:
        """Elapsed running time that counts (a stop freezes it)."""
        elapsed = self._elapsed(now)
        if self.stopped is not None and now >= self.stopped:
            elapsed = min(elapsed, self._elapsed(self.stopped))
        return elapsed

    def step_views(self, now: datetime) -> list[dict[str, Any]]:
        horizon = self._horizon(now)
        cancelled = self.status(now) == "Cancelled"
        views = []
        for step in self.steps:
            if horizon < step.start or horizon < 0:
                break
            view: dict[str, Any] = {
                "StepName": step.name,
                "Action": step.action,
                "OnFailure": step.on_failure,
                "MaxAttempts": step.max_attempts,
                "ExecutionStartTime": self._moment(step.start),
                "Inputs": step.inputs,
                "StepExecutionId": step.step_id,
                "IsCritical": True,
                "IsEnd": step is self.steps[-1],
            }
            if step.timeout is not None:
                view["TimeoutSeconds"] = step.timeout
            if horizon < step.end:
                view["StepStatus"] = "Cancelled" if cancelled else "InProgress"
                if cancelled:
                    view["ExecutionEndTime"] = self.stopped
                views.append(view)
                break
            view["StepStatus"] = step.status
            view["ExecutionEndTime"] = self._moment(step.end)
            if step.status == "Success":
                if step.outputs:
                    view["Outputs"] = step.outputs
            else:
                view["FailureMessage"] = step.failure
                view["FailureDetails"] = {
                    "FailureStage": "Invocation",
                    "FailureType": "Timeout" if step.status == "TimedOut" else "Execution",
                    "Details": {"StepName": [step.name]},
                }
                views.append(view)
                break
            views.append(view)
        return views

    def outputs(self, now: datetime) -> dict[str, list[str]]:
        done = {
            v["StepName"]: v.get("Outputs", {})
            for v in self.step_views(now)
            if v["StepStatus"] == "Success"
        }
        found: dict[str, list[str]] = {}
        for reference in self.document_outputs:
            step, _, name = reference.partition(".")
            values = done.get(step, {}).get(reference) or done.get(step, {}).get(name)
            found[reference] = values or [
                "No output available yet because the step is not successfully executed"
            ]
        return found

    def failure_message(self, now: datetime) -> str | None:
        status = self.status(now)
        if status == "Cancelled":
            return "Execution is cancelled by user."
        if status in ("Failed", "TimedOut"):
            failed = next(s for s in self.steps if s.status != "Success")
            return failed.failure
        return None

    def current(self, now: datetime) -> PlannedStep | None:
        if self.status(now) != "InProgress":
            return None
        horizon = self._horizon(now)
        return next((s for s in self.steps if s.start <= horizon < s.end), None)

    def metadata(self, now: datetime) -> dict[str, Any]:
        status = self.status(now)
        item: dict[str, Any] = {
            "AutomationExecutionId": self.execution_id,
            "DocumentName": self.document_name,
            "DocumentVersion": self.document_version,
            "AutomationExecutionStatus": status,
            "ExecutionStartTime": self.started,
            "Mode": "Auto",
            "AutomationType": "Local",
            "LogFile": "",
        }
        self._common(item, now, status)
        return item

    def view(self, now: datetime) -> dict[str, Any]:
        status = self.status(now)
        item: dict[str, Any] = {
            "AutomationExecutionId": self.execution_id,
            "DocumentName": self.document_name,
            "DocumentVersion": self.document_version,
            "ExecutionStartTime": self.started,
            "AutomationExecutionStatus": status,
            "StepExecutions": self.step_views(now),
            "StepExecutionsTruncated": False,
            "Mode": "Auto",
        }
        # a parameter left at an empty default is not echoed (values are 1-512 characters)
        shown = {k: [v for v in values if v] for k, values in self.parameters.items()}
        shown = {k: values for k, values in shown.items() if values}
        if shown:
            item["Parameters"] = shown
        self._common(item, now, status)
        return item

    def _common(self, item: dict[str, Any], now: datetime, status: str) -> None:
        end = self.end_time(now)
        if end is not None:
            item["ExecutionEndTime"] = end
        outputs = self.outputs(now) if status in TERMINAL else {}
        if outputs:
            item["Outputs"] = outputs
        failure = self.failure_message(now)
        if failure:
            item["FailureMessage"] = failure
        current = self.current(now)
        if current is not None:
            item["CurrentStepName"] = current.name
            item["CurrentAction"] = current.action
        if self.executed_by:
            item["ExecutedBy"] = self.executed_by


class AutomationBackend(BaseBackend):
    """Automation executions in one account and region (reset with moto's backends)."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.executions: dict[str, Execution] = {}
        self.tokens: dict[str, str] = {}  # ClientToken -> execution id

    def now(self) -> datetime:
        return STATE.clock.now()

    def _document(self, name: str, version: str | None) -> Any:
        from moto.ssm.models import ssm_backends

        documents = ssm_backends[self.account_id][self.region_name]._documents.get(name)
        label = version or "$DEFAULT"
        if documents is None:
            raise AutomationDefinitionNotFoundException(
                f"Automation definition {name}:{label} is not found."
            )
        document = documents.find(version, None, strict=False)
        if document is None:
            raise AutomationDefinitionVersionNotFoundException(
                f"Automation definition {name}:{label} version is not found."
            )
        if document.document_type != "Automation":
            raise AutomationDefinitionNotFoundException(
                f"Automation definition {name}:{label} is not found: the document type is "
                f"{document.document_type}, not Automation."
            )
        return document

    def start(
        self,
        name: str,
        version: str | None,
        given: dict[str, list[str]],
        client_token: str | None,
        tags: dict[str, str],
        executed_by: str | None,
        unsupported: list[str],
    ) -> str:
        request = (name, version or "", json.dumps(given, sort_keys=True))
        if client_token and client_token in self.tokens:
            known = self.executions[self.tokens[client_token]]
            if known.request != request:
                raise IdempotentParameterMismatch(
                    "The ClientToken was used before with different parameters."
                )
            return known.execution_id
        if unsupported:
            raise InvalidAutomationExecutionParametersException(
                f"The sandbox does not simulate rate-control executions ({', '.join(unsupported)})."
            )
        document = self._document(name, version)
        content = document.content_json or {}
        parameters = resolve_parameters(
            content.get("parameters"), given, InvalidAutomationExecutionParametersException
        )
        execution_id = str(uuid.uuid4())
        steps = self._plan(name, content, parameters, execution_id)
        execution = Execution(
            execution_id=execution_id,
            document_name=name,
            document_version=document.document_version,
            parameters=parameters,
            request=request,
            started=self.now(),
            pending=TIMINGS.pending_seconds,
            steps=steps,
            document_outputs=[str(o) for o in content.get("outputs") or []],
            executed_by=executed_by,
            tags=tags,
        )
        self.executions[execution_id] = execution
        if client_token:
            self.tokens[client_token] = execution_id
        return execution_id

    def _plan(
        self,
        name: str,
        content: Mapping[str, Any],
        parameters: dict[str, list[str]],
        execution_id: str,
    ) -> list[PlannedStep]:
        hints = _hints(self.account_id, self.region_name, name)
        with _HINTS_LOCK:
            declared = (self.account_id, self.region_name, name) in _HINTS
        slowdown = STATE.faults.automation_slowdown_for(self.account_id, self.region_name, name)
        fault = STATE.faults.automation_failure_for(self.account_id, self.region_name, name)
        raw_steps = [s for s in content.get("mainSteps") or [] if isinstance(s, Mapping)]
        names = [str(s.get("name", f"step{i + 1}")) for i, s in enumerate(raw_steps)]
        failing = None
        if fault is not None and names:
            failing = fault.step if fault.step in names else names[-1]
        produced: dict[str, list[str]] = {}
        builtins = {
            "automation:EXECUTION_ID": [execution_id],
            "global:ACCOUNT_ID": [self.account_id],
            "global:REGION": [self.region_name],
            "global:AWS_PARTITION": ["aws"],
            "global:DATE_TIME": [self.now().strftime("%Y-%m-%d_%H.%M.%S")],
        }

        def lookup(reference: str) -> list[str] | None:
            return parameters.get(reference) or produced.get(reference) or builtins.get(reference)

        planned: list[PlannedStep] = []
        offset = 0.0
        for raw, step_name in zip(raw_steps, names, strict=True):
            action = str(raw.get("action", "aws:executeScript"))
            inputs = interpolate(raw.get("inputs") or {}, lookup)
            base = iso_duration(inputs.get("Duration")) if action == "aws:sleep" else None
            if base is None:
                base = (
                    hints.step_seconds if hints.step_seconds is not None else TIMINGS.step_seconds
                )
            duration = base * slowdown
            timeout = raw.get("timeoutSeconds")
            status, failure = "Success", None
            if timeout is not None and duration > float(timeout):
                duration = float(timeout)
                status = "TimedOut"
                failure = f"Step timed out while step is verifying the {action} action."
            elif step_name == failing and fault is not None:
                status = "Failed"
                failure = (
                    f"Step fails when it is Execute/Cancelling action. {fault.reason}. Please "
                    "refer to Automation Service Troubleshooting Guide for more diagnosis details."
                )
            outputs = self._step_outputs(step_name, raw, inputs, hints)
            if action == "aws:executeAwsApi" and status == "Success" and not declared:
                # a document no scenario declared (the hub's own): the step calls its API
                from drorch.sandbox.triggers import execute_aws_api

                role = interpolate(content.get("assumeRole"), lookup) or None
                called = execute_aws_api(
                    self.account_id, self.region_name, role, step_name, inputs, raw.get("outputs")
                )
                outputs = called.outputs
                if called.failure:
                    status, failure = (
                        "Failed",
                        f"Step fails when it is Execute/Cancelling action. {called.failure}.",
                    )
            for key, values in outputs.items():
                produced[key] = values
            planned.append(
                PlannedStep(
                    name=step_name,
                    action=action,
                    start=offset,
                    duration=duration,
                    status=status,
                    inputs={k: json.dumps(v) for k, v in inputs.items()},
                    outputs=outputs,
                    failure=failure,
                    timeout=int(timeout) if timeout is not None else None,
                    on_failure=str(raw.get("onFailure", "Abort")),
                    max_attempts=int(raw.get("maxAttempts", 1)),
                )
            )
            offset += duration
            if status != "Success":
                break
        return planned

    @staticmethod
    def _step_outputs(
        step: str, raw: Mapping[str, Any], inputs: Mapping[str, Any], hints: DocumentHints
    ) -> dict[str, list[str]]:
        payload = inputs.get("InputPayload")
        payload = payload if isinstance(payload, Mapping) else {}
        found: dict[str, list[str]] = {}
        for output in raw.get("outputs") or []:
            if not isinstance(output, Mapping) or "Name" not in output:
                continue
            name = str(output["Name"])
            key = f"{step}.{name}"
            if key in hints.outputs:
                values = hints.outputs[key]
            elif name in inputs:
                values = _as_values(inputs[name])
            elif name in payload:
                values = _as_values(payload[name])
            else:
                values = [f"{key} (simulated)"]
            found[key] = [v for v in values if v] or [f"{key} (simulated)"]
        return found

    def get(self, execution_id: str) -> Execution:
        execution = self.executions.get(execution_id)
        if execution is None:
            raise AutomationExecutionNotFoundException(
                f"Automation execution {execution_id} is not found."
            )
        return execution

    def stop(self, execution_id: str) -> None:
        execution = self.get(execution_id)
        if execution.status(self.now()) in TERMINAL:
            raise InvalidAutomationStatusUpdateException(
                f"Automation execution {execution_id} has already ended."
            )
        execution.stopped = self.now()

    def describe(self, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        now = self.now()
        found = []
        for execution in sorted(self.executions.values(), key=lambda e: e.started, reverse=True):
            item = execution.metadata(now)
            if all(self._matches(execution, item, f) for f in filters):
                found.append(item)
        return found

    @staticmethod
    def _matches(execution: Execution, item: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
        key, values = spec.get("Key"), list(spec.get("Values") or [])
        if key == "DocumentNamePrefix":
            return any(execution.document_name.startswith(v) for v in values)
        if key == "ExecutionStatus":
            return item["AutomationExecutionStatus"] in values
        if key == "ExecutionId":
            return execution.execution_id in values
        if key == "CurrentAction":
            return item.get("CurrentAction") in values
        if key == "AutomationType":
            return "Local" in values
        if key == "TagKey":
            return any(v in execution.tags for v in values)
        if key in ("StartTimeBefore", "StartTimeAfter"):
            try:
                moment = datetime.fromisoformat(values[0].replace("Z", "+00:00"))
            except (IndexError, ValueError):
                raise InvalidFilterValue(
                    f"{key} takes a timestamp such as 2026-01-01T00:00:00Z"
                ) from None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=execution.started.tzinfo)
            before = execution.started < moment
            return before if key == "StartTimeBefore" else not before
        raise InvalidFilterKey()


automation_backends = BackendDict(AutomationBackend, "ssm")


# --- the wire: methods added to moto's SSM responses --------------------------------------
def _backend(response: Any) -> AutomationBackend:
    return automation_backends[response.current_account][response.region]


def start_automation_execution(self: Any) -> ActionResult:
    unsupported = [
        key for key in ("Targets", "TargetMaps", "TargetLocations") if self._get_param(key)
    ]
    tags = {t["Key"]: t["Value"] for t in self._get_param("Tags") or []}
    execution_id = _backend(self).start(
        name=self._get_param("DocumentName"),
        version=self._get_param("DocumentVersion"),
        given=self._get_param("Parameters") or {},
        client_token=self._get_param("ClientToken"),
        tags=tags,
        executed_by=caller_arn(self.current_account, self.access_key, self.region),
        unsupported=unsupported,
    )
    return ActionResult({"AutomationExecutionId": execution_id})


def get_automation_execution(self: Any) -> ActionResult:
    backend = _backend(self)
    execution = backend.get(self._get_param("AutomationExecutionId"))
    return ActionResult({"AutomationExecution": execution.view(backend.now())})


def describe_automation_executions(self: Any) -> ActionResult:
    items = _backend(self).describe(self._get_param("Filters") or [])
    chunk, token = page(items, self._get_param("MaxResults"), self._get_param("NextToken"))
    result: dict[str, Any] = {"AutomationExecutionMetadataList": chunk}
    if token:
        result["NextToken"] = token
    return ActionResult(result)


def describe_automation_step_executions(self: Any) -> ActionResult:
    backend = _backend(self)
    execution = backend.get(self._get_param("AutomationExecutionId"))
    steps = execution.step_views(backend.now())
    for spec in self._get_param("Filters") or []:
        key, values = spec.get("Key"), set(spec.get("Values") or [])
        field_name = {
            "StepName": "StepName",
            "Action": "Action",
            "StepExecutionStatus": "StepStatus",
            "StepExecutionId": "StepExecutionId",
        }.get(key)
        if field_name is None:
            raise InvalidFilterKey()
        steps = [s for s in steps if s.get(field_name) in values]
    if self._get_param("ReverseOrder"):
        steps.reverse()
    chunk, token = page(steps, self._get_param("MaxResults"), self._get_param("NextToken"))
    result: dict[str, Any] = {"StepExecutions": chunk}
    if token:
        result["NextToken"] = token
    return ActionResult(result)


def stop_automation_execution(self: Any) -> ActionResult:
    _backend(self).stop(self._get_param("AutomationExecutionId"))
    return ActionResult({})


OPERATIONS = {
    "StartAutomationExecution": start_automation_execution,
    "GetAutomationExecution": get_automation_execution,
    "DescribeAutomationExecutions": describe_automation_executions,
    "DescribeAutomationStepExecutions": describe_automation_step_executions,
    "StopAutomationExecution": stop_automation_execution,
}


def install() -> None:
    from moto.core.utils import camelcase_to_underscores
    from moto.ssm.responses import SimpleSystemManagerResponse

    for operation, method in OPERATIONS.items():
        setattr(SimpleSystemManagerResponse, camelcase_to_underscores(operation), method)


def start(sandbox: Sandbox) -> Callable[[], None]:
    with _HINTS_LOCK:
        _HINTS.clear()

    def stop() -> None:
        with _HINTS_LOCK:
            _HINTS.clear()

    return stop


EXTENSION = SandboxExtension(install=install, operations={"ssm": tuple(OPERATIONS)}, start=start)
