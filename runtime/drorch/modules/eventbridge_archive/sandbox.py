"""EventBridge replays in the sandbox: moto 5.2 has archives and replays, but a replay is
COMPLETED before ``StartReplay`` answers.

This extension keeps moto's archives and replays and gives a replay a duration on the
sandbox clock (real wire shapes, checked against the botocore model by the interceptor):

* ``StartReplay`` answers ``STARTING``; ``DescribeReplay`` (and ``ListReplays``) show
  ``STARTING`` for :attr:`ReplayTimings.starting_seconds`, then ``RUNNING`` until
  :attr:`ReplayTimings.replay_seconds` have passed, then ``COMPLETED`` with
  ``ReplayEndTime`` and ``EventLastReplayedTime`` — or ``FAILED`` with a ``StateReason``
  under ``sandbox.faults.fail_replay(archive, reason=...)``. ``CancelReplay`` still
  cancels (``CANCELLED``), as moto does.

Not simulated: moto delivers the archived events when the replay starts, to every rule of
the bus, whatever ``EventStartTime``/``EventEndTime`` and ``Destination.FilterArns`` say;
the states above are what a module sees.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox


@dataclass
class ReplayTimings:
    """How long a replay takes, in simulated seconds."""

    starting_seconds: float = 15.0
    replay_seconds: float = 240.0


TIMINGS = ReplayTimings()


@dataclass
class Progress:
    started: datetime
    running_at: datetime
    done_at: datetime
    failure: str | None = None


_LOCK = threading.RLock()
_PROGRESS: dict[tuple[str, str, str], Progress] = {}  # account, region, replay name
_ORIGINAL: dict[str, Callable[..., Any]] = {}


def _now() -> datetime:
    return STATE.clock.now()


def _state(replay: Any) -> tuple[str, Progress | None]:
    with _LOCK:
        progress = _PROGRESS.get((replay.account_id, replay.region, replay.name))
    moto_state = replay.state.value
    if progress is None or moto_state in ("CANCELLED", "CANCELLING"):
        return moto_state, progress
    now = _now()
    if now < progress.running_at:
        return "STARTING", progress
    if now < progress.done_at:
        return "RUNNING", progress
    return ("FAILED" if progress.failure else "COMPLETED"), progress


def describe_short(self: Any) -> dict[str, Any]:
    body = _ORIGINAL["describe_short"](self)
    state, progress = _state(self)
    body["State"] = state
    if progress is not None:
        body["ReplayStartTime"] = progress.started.timestamp()
        if state in ("COMPLETED", "FAILED"):
            body["ReplayEndTime"] = progress.done_at.timestamp()
        else:
            body.pop("ReplayEndTime", None)
        if state == "FAILED":
            body["StateReason"] = progress.failure
    if body.get("ReplayEndTime") is None:
        body.pop("ReplayEndTime", None)
    return body


def describe(self: Any) -> dict[str, Any]:
    body = _ORIGINAL["describe"](self)
    body.update(describe_short(self))
    if body["State"] == "COMPLETED":
        body["EventLastReplayedTime"] = body["EventEndTime"]
    return body


def start_replay(self: Any, name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    answer = _ORIGINAL["start_replay"](self, name, *args, **kwargs)
    replay = self.replays[name]
    archive = replay.source_arn.split("/")[-1]
    now = _now()
    running = now + timedelta(seconds=TIMINGS.starting_seconds)
    failure = STATE.faults.replay_failure_for(self.account_id, self.region_name, archive)
    with _LOCK:
        _PROGRESS[(self.account_id, self.region_name, name)] = Progress(
            now, running, running + timedelta(seconds=TIMINGS.replay_seconds), failure
        )
    return {**answer, "ReplayStartTime": now.timestamp(), "State": "STARTING"}


def install() -> None:
    from moto.events.models import EventsBackend, Replay

    _ORIGINAL["describe_short"] = Replay.describe_short
    _ORIGINAL["describe"] = Replay.describe
    _ORIGINAL["start_replay"] = EventsBackend.start_replay
    Replay.describe_short = describe_short  # type: ignore[method-assign]
    Replay.describe = describe  # type: ignore[method-assign]
    EventsBackend.start_replay = start_replay  # type: ignore[method-assign]


def _clear() -> None:
    with _LOCK:
        _PROGRESS.clear()


def start(sandbox: Sandbox) -> Callable[[], None]:
    _clear()
    return _clear


EXTENSION = SandboxExtension(
    install=install,
    operations={"events": ("StartReplay", "DescribeReplay", "ListReplays")},
    start=start,
)
