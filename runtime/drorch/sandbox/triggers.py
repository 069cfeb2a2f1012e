"""The hub's triggers, rehearsed: scheduled EventBridge rules and ``aws:executeAwsApi``.

moto stores EventBridge rules with a ``ScheduleExpression`` but never fires them,
and the sandbox's SSM Automation (the ``ssm-automation`` module's extension) plans
an execution's steps on the simulated clock without calling anything. drorch's
hub is started by both in AWS (the scheduled-drill rules and the
``drorch-start-execution`` Automation document, ``stacks/hub.py``), so the sandbox
runs them:

* :func:`execute_aws_api` is what an ``aws:executeAwsApi`` step does: it calls
  ``Service``/``Api`` with the step's other inputs as the API's parameters, as the
  document's ``assumeRole`` (or the account's administrator when it has none),
  and returns the step's ``outputs`` picked from the answer by their ``Selector``
  (``$.executionArn``). A refused call fails the step with the service's error.
* :class:`Scheduler` fires every ENABLED rule with a ``rate(...)`` or ``cron(...)``
  schedule, in every account and region, when the sandbox's simulated clock
  passes its next time, and delivers the scheduled event to the rule's targets
  (``Input``, ``InputPath`` and ``InputTransformer`` applied as EventBridge does).
  A Step Functions target is started as the target's ``RoleArn``; a Lambda
  target is invoked (asynchronously) as the role too. A rate rule's first time is
  one period after the scheduler first saw it; a cron rule fires at each minute
  its fields match (UTC). The scheduler runs in a thread; :meth:`Scheduler.fire_due`
  does one pass (tests with a manual clock call it after ``sandbox.advance``).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from drorch.sandbox import botocore_models

MANAGEMENT_KEY = "AKIASANDBOXTRIGGERS0"  # any key: moto maps unknown keys to its default account


# --- sessions ------------------------------------------------------------------------------
def _assume(role_arn: str, region: str, session_name: str) -> Any:
    """A boto3 session of ``role_arn`` (moto's STS issues it; the in-process sandbox
    answers every call made with it)."""
    import boto3

    base = boto3.Session(
        botocore_session=botocore_models.new_session(),
        aws_access_key_id=MANAGEMENT_KEY,
        aws_secret_access_key="sandbox",
        region_name=region,
    )
    credentials = base.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)[
        "Credentials"
    ]
    return boto3.Session(
        botocore_session=botocore_models.new_session(),
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


# --- aws:executeAwsApi -----------------------------------------------------------------------
@dataclass
class ApiCall:
    """What an ``aws:executeAwsApi`` step did: its outputs, or why it failed."""

    outputs: dict[str, list[str]] = field(default_factory=dict)
    failure: str | None = None
    response: dict[str, Any] = field(default_factory=dict)


def select(document: Any, selector: str) -> Any:
    """A JSONPath ``Selector`` of the forms SSM documents use: ``$.a.b``, ``$.a[0].b``."""
    if not selector.startswith("$"):
        raise ValueError(f"selector {selector!r} must start with $")
    value = document
    for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", selector[1:]):
        if name:
            value = value.get(name) if isinstance(value, Mapping) else None
        else:
            position = int(index)
            value = value[position] if isinstance(value, list) and position < len(value) else None
        if value is None:
            return None
    return value


def _as_values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [v if isinstance(v, str) else json.dumps(v, default=str) for v in value]
    if isinstance(value, datetime):
        return [value.isoformat()]
    if isinstance(value, dict):
        return [json.dumps(value, default=str)]
    if isinstance(value, bool):
        return [str(value).lower()]
    return [str(value)]


def execute_aws_api(
    account_id: str,
    region: str,
    assume_role: str | None,
    step: str,
    inputs: Mapping[str, Any],
    outputs: Any,
) -> ApiCall:
    """Call the step's API (``inputs``: ``Service``, ``Api`` and the API's parameters)."""
    from botocore import xform_name
    from botocore.exceptions import ClientError, ParamValidationError

    service = str(inputs.get("Service", ""))
    api = str(inputs.get("Api", ""))
    parameters = {k: v for k, v in inputs.items() if k not in ("Service", "Api")}
    role = assume_role or f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole"
    try:
        client = _assume(role, region, "Automation").client(service)
        method = getattr(client, xform_name(api), None)
        if method is None:
            return ApiCall(failure=f"{service} has no API {api}")
        response = method(**parameters)
    except ClientError as error:
        problem = error.response.get("Error", {})
        return ApiCall(
            failure=f"An error occurred ({problem.get('Code')}) when calling the {api} "
            f"operation: {problem.get('Message')}"
        )
    except (ParamValidationError, ValueError, TypeError) as error:
        return ApiCall(failure=f"{service}.{api}: {error}")
    response = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    found: dict[str, list[str]] = {}
    for output in outputs or []:
        if not isinstance(output, Mapping) or "Name" not in output:
            continue
        found[f"{step}.{output['Name']}"] = _as_values(
            select(response, str(output.get("Selector", "$")))
        )
    return ApiCall(outputs=found, response=response)


# --- schedules -------------------------------------------------------------------------------
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}


def rate_seconds(expression: str) -> float | None:
    match = _RATE.match(expression.strip())
    if not match:
        return None
    return int(match.group(1)) * _UNITS[match.group(2).rstrip("s")]


def _field_matches(spec: str, value: int, names: Mapping[str, int] | None = None) -> bool:
    if spec in ("*", "?"):
        return True
    for part in spec.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            low, high = 0, 10_000
        elif "-" in part:
            low_text, high_text = part.split("-", 1)
            low, high = _number(low_text, names), _number(high_text, names)
        else:
            low = _number(part, names)
            high = low if step == 1 else 10_000
        if low <= value <= high and (value - low) % step == 0:
            return True
    return False


def _number(text: str, names: Mapping[str, int] | None) -> int:
    upper = text.strip().upper()
    if names and upper in names:
        return names[upper]
    return int(upper.rstrip("L#"))


def cron_matches(expression: str, moment: datetime) -> bool:
    """Whether ``cron(min hour day-of-month month day-of-week year)`` fires at ``moment``
    (UTC, minute precision; ``L``/``W``/``#`` are not simulated)."""
    inner = expression.strip()[len("cron(") : -1].split()
    if len(inner) != 6:
        raise ValueError(f"{expression!r} is not cron(minutes hours dom month dow year)")
    minutes, hours, dom, month, dow, year = inner
    weekday = moment.isoweekday() % 7 + 1  # EventBridge: 1 = SUN ... 7 = SAT
    return (
        _field_matches(minutes, moment.minute)
        and _field_matches(hours, moment.hour)
        and _field_matches(dom, moment.day)
        and _field_matches(month, moment.month, _MONTHS)
        and _field_matches(dow, weekday, _DAYS)
        and _field_matches(year, moment.year)
    )


MAX_CRON_MINUTES = 366 * 24 * 60  # a clock jump longer than a year fires a rule's last year


def due_times(
    expression: str, anchor: datetime, after: datetime, until: datetime
) -> list[datetime]:
    """The times in (after, until] a schedule fires (a rate schedule counts from ``anchor``)."""
    period = rate_seconds(expression)
    if period is not None:
        first = int((after - anchor).total_seconds() // period) + 1
        times = []
        n = max(first, 1)
        while anchor + timedelta(seconds=n * period) <= until:
            times.append(anchor + timedelta(seconds=n * period))
            n += 1
        return times
    if expression.strip().startswith("cron("):
        minute = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        minute = max(
            minute, until.replace(second=0, microsecond=0) - timedelta(minutes=MAX_CRON_MINUTES)
        )
        times = []
        while minute <= until:
            if cron_matches(expression, minute):
                times.append(minute)
            minute += timedelta(minutes=1)
        return times
    return []


def scheduled_event(rule: Any, moment: datetime) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule.account_id,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": rule.region_name,
        "resources": [rule.arn],
        "detail": {},
    }


def target_input(target: Mapping[str, Any], event: dict[str, Any]) -> str:
    """What EventBridge sends a target: ``Input``, ``InputPath`` or ``InputTransformer``."""
    if target.get("Input"):
        return str(target["Input"])
    if target.get("InputPath"):
        return json.dumps(select(event, str(target["InputPath"])))
    transformer = target.get("InputTransformer")
    if transformer:
        template = str(transformer.get("InputTemplate", ""))
        for name, path in (transformer.get("InputPathsMap") or {}).items():
            value = select(event, str(path))
            text = value if isinstance(value, str) else json.dumps(value)
            template = template.replace(f"<{name}>", text)
        return template.replace("<aws.events.event>", json.dumps(event))
    return json.dumps(event)


def deliver(rule: Any, target: Mapping[str, Any], event: dict[str, Any]) -> str | None:
    """Send the event to one target (Step Functions and Lambda); what was started."""
    arn = str(target.get("Arn", ""))
    payload = target_input(target, event)
    region = arn.split(":")[3] if arn.count(":") >= 5 else rule.region_name
    role = (
        target.get("RoleArn")
        or f"arn:aws:iam::{rule.account_id}:role/OrganizationAccountAccessRole"
    )
    session = _assume(str(role), region, "EventBridge")
    if ":states:" in arn:
        return session.client("stepfunctions").start_execution(stateMachineArn=arn, input=payload)[
            "executionArn"
        ]
    if ":lambda:" in arn:
        session.client("lambda").invoke(FunctionName=arn, InvocationType="Event", Payload=payload)
        return arn
    return None


@dataclass
class Fired:
    rule: str
    time: datetime
    started: list[str]


class Scheduler:
    """Fires scheduled EventBridge rules on the sandbox's simulated clock."""

    def __init__(self, clock: Any, interval: float = 0.05) -> None:
        self.clock = clock
        self.interval = interval
        self.fired: list[Fired] = []
        self.errors: list[str] = []
        self._anchors: dict[str, datetime] = {}  # rule ARN -> first seen
        self._checked: datetime | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _rules(self) -> list[Any]:
        from moto.events.models import events_backends

        found = []
        for regions in list(events_backends.values()):
            for backend in list(regions.values()):
                for bus in list(backend.event_buses.values()):
                    for rule in list(bus.rules.values()):
                        if rule.scheduled_expression and rule.state == "ENABLED":
                            found.append(rule)
        return found

    def fire_due(self) -> list[Fired]:
        """Fire every rule whose next time the clock has passed since the last pass."""
        with self._lock:
            now = self.clock.now()
            since = self._checked or now
            self._checked = now
            fired = []
            for rule in self._rules():
                anchor = self._anchors.setdefault(rule.arn, since)
                for moment in due_times(rule.scheduled_expression, anchor, since, now):
                    event = scheduled_event(rule, moment)
                    started = []
                    for target in list(rule.targets):
                        try:
                            result = deliver(rule, target, event)
                        except Exception as error:  # noqa: BLE001 - EventBridge retries, then drops
                            self.errors.append(f"{rule.name} -> {target.get('Arn')}: {error}")
                            continue
                        if result:
                            started.append(result)
                    fired.append(Fired(rule.name, moment, started))
            self.fired.extend(fired)
            return fired

    def checkpoint(self) -> dict[str, Any]:
        """Where the schedules stand (each rule's anchor, the last pass), for a saved state."""
        with self._lock:
            return {"anchors": dict(self._anchors), "checked": self._checked}

    def resume(self, saved: dict[str, Any]) -> None:
        """Go on from a :meth:`checkpoint`: no firing is repeated or skipped."""
        with self._lock:
            self._anchors.update(saved.get("anchors", {}))
            self._checked = saved.get("checked") or self._checked

    def start(self) -> Callable[[], None]:
        """Run :meth:`fire_due` in a thread; returns what stops it."""
        self.fire_due()  # anchors the rules that exist now

        def run() -> None:
            while not self._stop.wait(self.interval):
                self.fire_due()

        self._thread = threading.Thread(target=run, name="sandbox-scheduler", daemon=True)
        self._thread.start()
        return self.stop

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
