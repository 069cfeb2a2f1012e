"""Simulated time per execution: each execution waits as long as it would on AWS.

With a manual clock (``speed=0``) nothing moves time but waits. A naive Wait state
moves the shared clock to *now + seconds*; with two executors waiting in parallel
the clock then moves twice, and each polls half as often as on AWS. Here instead:

* each execution keeps its own timeline: a wait starts where the execution's
  previous wait ended (its Lambda calls take no simulated time), so its deadline is
  ``resume + seconds`` however far other executions have moved the clock;
* waiting threads register their deadlines; when the sandbox is quiet (every running
  execution is parked — in a wait, or in a state that waits on something outside it:
  a child execution, a task token —, no Lambda invocation in flight, no event being
  delivered, nothing changed for :data:`SETTLE_SECONDS` of real time) the clock
  moves to the earliest of the deadlines and of the fakes' next due moments (a DRS
  job step), never further. After :data:`STALL_SECONDS` of calm an execution that
  looks busy is taken to be parked too (a safety net: time never stops for good);
* after each move the fakes catch up (DRS steps due by then are applied, and their
  events are sent), so an event that ends a wait arrives at its simulated moment.

With a scaled clock (``speed>0``) time flows by itself; waits only make the fakes
catch up every :data:`SCALED_PUMP_SECONDS`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from drorch.sandbox import lambda_runtime

SETTLE_SECONDS = 0.01  # real seconds of calm before the clock moves
STALL_SECONDS = 2.0  # real seconds of calm after which busy-looking executions are ignored
PAUSE_SECONDS = 0.005  # how often a waiting thread looks again (real)
SCALED_PUMP_SECONDS = 0.05

_lock = threading.RLock()
_deadlines: dict[int, datetime] = {}  # wait id -> deadline (waits that let time pass)
_resume: dict[str, datetime] = {}  # execution -> where its last wait ended
_live: dict[str, int] = {}  # running execution -> how many of its threads are parked
_sources: list[Callable[[], datetime | None]] = []  # fakes' next due moments
_catch_up: list[Callable[[], None]] = []  # fakes applying what is due by now
_busy = 0
_changed_at = 0.0  # monotonic time of the last registration, release or busy change
_next_id = 0


def _touch() -> None:
    global _changed_at
    _changed_at = time.monotonic()


def add_source(next_due: Callable[[], datetime | None], catch_up: Callable[[], None]) -> None:
    """A fake whose work is due at moments of simulated time (``next_due``: the earliest,
    or None) and ``catch_up`` applies what is due by now (idempotent)."""
    with _lock:
        if next_due not in _sources:
            _sources.append(next_due)
        if catch_up not in _catch_up:
            _catch_up.append(catch_up)


@contextmanager
def busy() -> Iterator[None]:
    """Simulated work in progress outside a Lambda (an event on its way to its targets):
    time does not move meanwhile."""
    begin()
    try:
        yield
    finally:
        end()


def begin() -> None:
    global _busy
    with _lock:
        _busy += 1
        _touch()


def end() -> None:
    global _busy
    with _lock:
        _busy -= 1
        _touch()


def quiet() -> bool:
    """Nothing runs that could start a wait or change what is due."""
    with _lock:
        calm = time.monotonic() - max(_changed_at, lambda_runtime.last_change())
        if calm < SETTLE_SECONDS or _busy or lambda_runtime.in_flight():
            return False
        return calm >= STALL_SECONDS or all(parked > 0 for parked in _live.values())


def started(execution: str, now: datetime) -> None:
    """An execution starts now: it runs (not parked), and its timeline starts here."""
    with _lock:
        _live[execution] = 0
        _resume[execution] = now
        _touch()


@contextmanager
def parked(execution: str | None) -> Iterator[None]:
    """The execution waits on something outside it while in this block."""
    _park(execution, +1)
    try:
        yield
    finally:
        _park(execution, -1)


def _park(execution: str | None, change: int) -> None:
    with _lock:
        if execution in _live:
            _live[execution] = max(0, _live[execution] + change)
        _touch()


def catch_up() -> None:
    """Let every fake apply what is due by the clock's current time."""
    for callback in list(_catch_up):
        callback()


def start_of_wait(execution: str | None, now: datetime) -> datetime:
    """Where an execution's next wait starts on its own timeline."""
    with _lock:
        resumed = _resume.get(execution) if execution else None
    return resumed if resumed is not None and resumed <= now else now


def ended(execution: str | None, moment: datetime | None) -> None:
    """The execution's wait ended at ``moment`` on its timeline (None: it waited on
    something else, a person or a child execution, so it resumes at the clock's time)."""
    if not execution:
        return
    with _lock:
        if moment is None:
            _resume.pop(execution, None)
        else:
            _resume[execution] = moment


def forget(execution: str) -> None:
    """The execution ended."""
    with _lock:
        _resume.pop(execution, None)
        _live.pop(execution, None)
        _touch()


def _register(deadline: datetime) -> int:
    global _next_id
    with _lock:
        _next_id += 1
        _deadlines[_next_id] = deadline
        _touch()
        return _next_id


def _release(wait_id: int) -> None:
    with _lock:
        _deadlines.pop(wait_id, None)
        _touch()


def next_moment(now: datetime) -> datetime | None:
    """The earliest registered deadline or due moment after ``now``."""
    with _lock:
        moments = [d for d in _deadlines.values() if d > now]
        sources = list(_sources)
    for source in sources:
        due = source()
        if due is not None and due > now:
            moments.append(due)
    return min(moments) if moments else None


def _step(clock: Any) -> None:
    """When quiet, move the clock to the next moment anyone waits for, and catch up."""
    with _lock:
        if not quiet():
            return
        now, seen = clock.now(), (_changed_at, lambda_runtime.last_change())
    # the sources take their own locks (DRS's), which a fake holds while it sends an event
    # that takes ours: asked under ours, the two threads would wait on each other forever
    target = next_moment(now)
    if target is None:
        return
    with _lock:
        if (_changed_at, lambda_runtime.last_change()) != seen or clock.now() != now:
            return  # something ran meanwhile: the next step looks again
        clock.advance_to(target)
        _touch()
    catch_up()


def _pause(interrupt: threading.Event, seconds: float) -> bool:
    """Real-time wait on the event itself (a subclass may count its timeout otherwise)."""
    return threading.Event.wait(interrupt, seconds)


def wait_until(
    clock: Any, deadline: datetime, interrupt: threading.Event, execution: str | None = None
) -> bool:
    """Block until the clock reaches ``deadline`` (True) or ``interrupt`` is set (False),
    letting simulated time pass as described above."""
    with parked(execution):
        return _wait_until(clock, deadline, interrupt)


def _wait_until(clock: Any, deadline: datetime, interrupt: threading.Event) -> bool:
    if clock.speed > 0:
        while not interrupt.is_set():
            if clock.now() >= deadline:
                return True
            catch_up()
            remaining = (deadline - clock.now()).total_seconds() / clock.speed
            _pause(interrupt, max(0.0, min(SCALED_PUMP_SECONDS, remaining)))
        return False
    wait_id = _register(deadline)
    try:
        while True:
            if clock.now() >= deadline:
                return True
            if _pause(interrupt, PAUSE_SECONDS):
                return False
            _step(clock)
    finally:
        _release(wait_id)


def deadline_after(execution: str | None, clock: Any, seconds: float) -> datetime:
    """The end of a wait of ``seconds`` that starts on the execution's own timeline."""
    return start_of_wait(execution, clock.now()) + timedelta(seconds=seconds)


def reset() -> None:
    """Forget the waits and sources of a previous sandbox."""
    global _busy
    with _lock:
        _deadlines.clear()
        _resume.clear()
        _live.clear()
        _sources.clear()
        _catch_up.clear()
        _busy = 0
        _touch()
