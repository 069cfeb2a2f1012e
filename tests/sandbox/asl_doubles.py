"""Test doubles for the engine's Lambda handlers: they let the state machines'
control flow be tested on moto's interpreter independently of the engine logic."""

from __future__ import annotations

from typing import Any

from drorch.engine import clock

CALLS: list[tuple[str, dict[str, Any]]] = []
AT: list[tuple[str, Any, Any]] = []
TOKENS: list[dict[str, Any]] = []
SCRIPT: dict[str, Any] = {}


class WaveFailed(Exception):
    pass


def _record(name: str, event: dict[str, Any]) -> None:
    CALLS.append((name, event))
    AT.append((name, event.get("accountId"), clock.now()))  # simulated time of the call


def _accounts() -> list[str]:
    """The staging accounts the scripted plan's groups run in (discovery's Map items)."""
    return sorted(
        {
            account
            for phase in SCRIPT.get("phases", [])
            for level in phase["levels"]
            for group in level["groups"]
            for account in group["accounts"]
        }
    )


def initialise(event, context):
    _record("initialise", event)
    return {**event, "startedAt": "now", "accounts": _accounts()}


def discover(event, context):
    _record("discover", event)
    return {"discovered": 3, "excluded": 0}


def plan(event, context):
    _record("plan", event)
    # one readiness shard per account (a page of its resources each)
    return {
        "phases": SCRIPT["phases"],
        "readiness": [{"accountId": account, "page": 0} for account in _accounts()],
    }


class ReadinessBlocked(Exception):
    pass


def readiness(event, context):
    """A shard (accountId, page) records its findings; the verdict decides."""
    _record("readiness", event)
    if event.get("action") != "verdict":
        return {"accountId": event["accountId"], "page": event["page"]}
    if SCRIPT.get("blocked"):
        raise ReadinessBlocked("readiness found 1 BLOCKER(s)")
    return {"verdict": "READY", "blockers": 0, "warnings": 0, "forced": False}


def gate(event, context):
    _record("gate", event)
    TOKENS.append(event)
    return {}


def checkpoint(event, context):
    if event["action"] == "current-level":  # the level's state back, as no edit changed it
        _record("current_level", event)
        return event["state"]
    _record("checkpoint", event)
    if event["action"] == "after-level" and event["level"]["level"] in SCRIPT.get(
        "fail_levels", ()
    ):
        raise WaveFailed(f"wave level {event['level']['level']} failed")
    flags = SCRIPT.get("flags", {})
    return {"paused": flags.pop("paused", False), "cancelled": flags.get("cancelled", False)}


def _answer(status: str) -> dict[str, Any]:
    """The executor's answer (see drorch.engine.executor): the scripted wait between polls
    (none by default), no gate, and what it waits on events for (nothing by default)."""
    awaits = SCRIPT.get("awaits", []) if status == "RUNNING" else []
    wait = SCRIPT.get("waitSeconds", 0)
    return {
        "status": status,
        "waitSeconds": wait,
        "gate": False,
        "gateTimeoutSeconds": 60,
        "ask": False,
        "attempt": 1,
        "awaits": awaits,
    }


def module_start(event, context):
    _record("module_start", event)
    return _answer("RUNNING")


def waiter(event, context):
    """drorch-waiter: records the registration; answers the token at once when scripted
    (the event arrived), else lets the state's timeout run out (the events were lost)."""
    _record("waiter", event)
    if SCRIPT.get("wake"):
        import boto3

        boto3.client("stepfunctions").send_task_success(
            taskToken=event["token"], output='{"woken": "test"}'
        )
    return {}


def module_status(event, context):
    _record("module_status", event)
    polls = sum(
        1
        for name, e in CALLS
        if name == "module_status"
        and e["groupId"] == event["groupId"]
        and e["accountId"] == event["accountId"]
    )
    if event["accountId"] in SCRIPT.get("fail_accounts", ()):
        return _answer("FAILED")
    return _answer("SUCCEEDED" if polls >= SCRIPT.get("polls", 2) else "RUNNING")


def finalise(event, context):
    _record("finalise", event)
    return {"status": "SUCCEEDED"}


def fail(event, context):
    _record("fail", event)
    return {"status": "FAILED"}
