"""Simulated time per execution (drorch.sandbox.timeline) and the executor's event wait
(drorch.sandbox.stepfunctions.wait_for_event_token), without a hub."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from drorch.sandbox import timeline
from drorch.sandbox.clock import SimClock
from drorch.sandbox.stepfunctions import wait_for_event_token, wait_on_simulated_clock


class Endpoint:
    """What moto's callback endpoint offers the event wait: an event and the outcome."""

    def __init__(self) -> None:
        self._notify_event = threading.Event()
        self.outcome = None

    def answer(self, outcome: str) -> None:
        self.outcome = outcome
        self._notify_event.set()

    def get_outcome(self):
        return self.outcome


@pytest.fixture(autouse=True)
def fresh_timeline():
    timeline.reset()
    yield
    timeline.reset()


def test_lost_events_end_the_wait_at_its_timeout():
    clock = SimClock()
    start = clock.now()
    timeline.started("exec-1", start)
    assert wait_for_event_token(clock, 300, Endpoint(), "exec-1") is None
    assert clock.now() - start == timedelta(seconds=300)


def test_an_event_due_before_the_timeout_ends_the_wait_at_its_moment():
    clock = SimClock()
    start = clock.now()
    due = start + timedelta(seconds=42)
    endpoint = Endpoint()

    def catch_up() -> None:  # what DRS does when the clock reaches its launch's end
        if clock.now() >= due and endpoint.outcome is None:
            endpoint.answer("woken")

    timeline.add_source(lambda: due if endpoint.outcome is None else None, catch_up)
    timeline.started("exec-1", start)
    assert wait_for_event_token(clock, 300, endpoint, "exec-1") == "woken"
    assert clock.now() - start == timedelta(seconds=42)


def test_with_a_scaled_clock_the_fakes_catch_up_while_the_wait_runs():
    clock = SimClock(speed=2000)  # 300 simulated seconds: 0.15 real seconds
    due = clock.now() + timedelta(seconds=60)
    endpoint = Endpoint()
    timeline.add_source(
        lambda: due,
        lambda: endpoint.answer("woken") if clock.now() >= due and not endpoint.outcome else None,
    )
    assert wait_for_event_token(clock, 300, endpoint, None) == "woken"
    assert clock.now() < due + timedelta(seconds=300)


def test_parallel_executions_each_wait_on_their_own_timeline():
    """Three executions wait 30 s five times each, in parallel: 150 s pass, not 450 s, and
    each execution's waits end 30 s apart."""
    clock = SimClock()
    start = clock.now()
    ended: dict[str, list] = {}

    def execution(name: str) -> None:
        for _ in range(5):
            wait_on_simulated_clock(clock, 30, threading.Event(), name)
            ended.setdefault(name, []).append(clock.now())

    names = ["a", "b", "c"]
    for name in names:
        timeline.started(name, start)
    threads = [threading.Thread(target=execution, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert clock.now() - start == timedelta(seconds=150)
    for name in names:
        assert [(t - start).total_seconds() for t in ended[name]] == [30, 60, 90, 120, 150]
