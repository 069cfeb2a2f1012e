"""EventBridge delivery in the sandbox: what moto's rules do not deliver, delivered.

moto sends a matched event to a few target types only (logs, SQS, another bus) and
raises for a Lambda target; and when it forwards an event to a bus in another
account it rewrites the event as if that account had sent it. drorch relies on both
(the staging accounts forward DRS events to the hub's bus, whose rule invokes
``drorch-waiter``), so :func:`install` makes moto's rules behave as EventBridge does:

* a service's event (:func:`put_service_event`: what DRS sends itself, with
  ``source: aws.drs``) goes to the ENABLED pattern rules of the account's default bus;
* a rule forwarding to a bus (cross-account, with its role) passes the event on
  unchanged — its ``account``, ``region``, ``time`` and ``resources`` are the
  original's, as in AWS;
* a Lambda target is invoked asynchronously (in order, on a delivery thread), as the
  function's resource policy allows EventBridge to; a failed delivery is recorded in
  :data:`failures` (EventBridge retries, then drops);
* an SQS queue gets the event (or the target's input) as the message body, its ``time``
  in ISO 8601 (moto keeps epoch seconds for the events it takes in, and its own delivery
  fails on a service event's ISO time);
* other targets are left to moto.

While an event is on its way, simulated time does not move (:func:`drorch.sandbox.timeline.busy`).
"""

from __future__ import annotations

import copy
import json
import queue
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from drorch.sandbox import activity, timeline

ISO = "%Y-%m-%dT%H:%M:%SZ"
_installed = False
_install_lock = threading.Lock()
_queue: queue.Queue[tuple[str, Callable[[], None]]] = queue.Queue()
_worker: threading.Thread | None = None
delivered: list[tuple[str, str]] = []  # (rule ARN, target ARN) of each Lambda delivery
failures: list[str] = []


def service_event(
    *,
    source: str,
    detail_type: str,
    detail: Mapping[str, Any],
    account: str,
    region: str,
    time: str,
    resources: list[str],
) -> dict[str, Any]:
    """An event as an AWS service sends it to EventBridge (the shape rules and targets see)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": time,
        "region": region,
        "resources": list(resources),
        "detail": dict(detail),
    }


def _bus(account: str, region: str, name: str) -> Any | None:
    from moto.events.models import events_backends

    return events_backends[account][region].event_buses.get(name)


def put_service_event(event: dict[str, Any]) -> int:
    """Send a service's ``event`` to the rules of its account's default bus (in its
    region); how many rules matched."""
    return put_on_bus(event["account"], event["region"], "default", event)


def put_on_bus(account: str, region: str, bus: str, event: dict[str, Any]) -> int:
    """Send ``event`` (unchanged) to the rules of a bus; how many matched."""
    found = _bus(account, region, bus)
    if found is None:
        return 0
    matched = 0
    for rule in list(found.rules.values()):
        if _listens(rule) and rule.event_pattern.matches_event(event):
            matched += 1
            dispatch(rule, event)
    return matched


def _listens(rule: Any) -> bool:
    return rule.state == "ENABLED" and not rule.scheduled_expression and rule.event_pattern._pattern


def dispatch(rule: Any, event: dict[str, Any]) -> None:
    """Deliver a matched event to each of the rule's targets."""
    others = []
    for target in list(rule.targets):
        arn = str(target.get("Arn", ""))
        parts = arn.split(":")
        service, resource = (parts[2], parts[5]) if len(parts) >= 6 else ("", "")
        if service == "lambda":
            later(f"{rule.arn} -> {arn}", lambda t=target: _invoke(rule, t, event))
        elif service == "events" and resource.startswith("event-bus/"):
            # the receiving bus's rules see the event as sent (its account, region, time)
            put_on_bus(parts[4], parts[3], resource.split("/", 1)[1], copy.deepcopy(event))
        elif service == "sqs":
            _send_to_queue(parts[4], parts[3], resource, target, event)
        else:
            others.append(target)
    if others:
        original = copy.copy(rule)
        original.targets = others
        _moto_send(original, event)


def _send_to_queue(
    account: str, region: str, queue: str, target: Mapping[str, Any], event: dict[str, Any]
) -> None:
    from moto.sqs import sqs_backends

    from drorch.sandbox.triggers import target_input

    group = (target.get("SqsParameters") or {}).get("MessageGroupId")
    body = dict(event)
    try:
        body["time"] = datetime.fromtimestamp(float(body["time"]), UTC).strftime(ISO)
    except (KeyError, TypeError, ValueError):
        pass  # a service event's time: ISO already
    try:
        sqs_backends[account][region].send_message(
            queue_name=queue, message_body=target_input(target, body), group_id=group
        )
    except Exception as error:  # noqa: BLE001 - EventBridge retries, then drops
        failures.append(f"{target.get('Arn')}: {type(error).__name__}: {error}")


def later(what: str, work: Callable[[], None]) -> None:
    """Run ``work`` on the delivery thread, in order; simulated time does not move until it
    has run. A failure is recorded in :data:`failures` as ``what: error``."""
    timeline.begin()  # until the work has run
    _queue.put((what, work))
    _ensure_worker()


def _ensure_worker() -> None:
    global _worker
    with _install_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_deliver_forever, name="sandbox-events", daemon=True)
            _worker.start()


def _deliver_forever() -> None:
    while True:
        what, work = _queue.get()
        try:
            work()
        except Exception as error:  # noqa: BLE001 - EventBridge retries, then drops
            failures.append(f"{what}: {type(error).__name__}: {error}")
        finally:
            timeline.end()
            _queue.task_done()
            activity.notify()


def delivered_all() -> bool:
    """Nothing is waiting for, or being handled by, the delivery thread."""
    return _queue.unfinished_tasks == 0


@lru_cache(maxsize=64)
def lambda_client(account: str, region: str) -> Any:
    """A Lambda client of the account's own (how a service invokes a function there)."""
    from drorch.sandbox.triggers import _assume

    role = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    return _assume(role, region, "EventBridge").client("lambda")


def _invoke(rule: Any, target: Mapping[str, Any], event: dict[str, Any]) -> None:
    from drorch.sandbox.triggers import target_input

    arn = str(target["Arn"])
    region = arn.split(":")[3]
    answer = lambda_client(rule.account_id, region).invoke(
        FunctionName=arn, InvocationType="Event", Payload=target_input(target, event).encode()
    )
    if answer.get("FunctionError"):
        raise RuntimeError(json.loads(answer["Payload"].read() or b"{}").get("errorMessage"))
    delivered.append((rule.arn, arn))


_moto_send: Any = None


def install() -> None:
    """Make moto's rules deliver to Lambda and forward between buses as EventBridge does."""
    global _installed, _moto_send
    with _install_lock:
        if _installed:
            return
        from moto.events.models import Rule

        _moto_send = Rule.send_to_targets

        def send_to_targets(self: Any, event: dict[str, Any], transform_input: bool = True) -> None:
            if _listens(self) and self.event_pattern.matches_event(event):
                dispatch(self, event)

        Rule.send_to_targets = send_to_targets
        _installed = True


def reset() -> None:
    """Forget what a previous sandbox delivered (its sessions too)."""
    delivered.clear()
    failures.clear()
    lambda_client.cache_clear()
