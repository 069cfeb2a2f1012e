"""Waiting for the engine in the sandbox without sleeping.

The state machines run on interpreter threads. Whatever they change — the
history, a gate's task token, an execution's end — is changed by an in-process
Lambda invocation or by an execution terminating, and both call :func:`notify`.
:func:`wait_for` re-checks its condition each time that happens, so a caller
(a test, a benchmark) waits exactly as long as the engine takes, without
polling on a timer. The timeout is a safety net in real seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_changed = threading.Condition()
_generation = 0
_paused = threading.local()  # the generation each thread's last pause ended at
# A change nobody announced (none is known) is still seen within this many real seconds.
RECHECK_SECONDS = 0.5


def notify() -> None:
    """Something changed: wake every waiter to re-check its condition."""
    global _generation
    with _changed:
        _generation += 1
        _changed.notify_all()


def wait_for(condition: Callable[[], T], timeout: float = 60.0) -> T:
    """The first truthy value of ``condition()``, re-checked after every change.

    Raises ``TimeoutError`` when ``timeout`` real seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while True:
        with _changed:
            seen = _generation
        value = condition()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"condition not reached within {timeout} s")
        with _changed:
            if _generation == seen:
                _changed.wait(min(remaining, RECHECK_SECONDS))


def pause(seconds: float) -> None:
    """Sleep up to ``seconds`` of real time, less when something changes meanwhile; not at
    all when something changed since this thread's last pause ended (the caller's check
    between two pauses may have missed it)."""
    with _changed:
        last = getattr(_paused, "generation", None)
        if last is None or last == _generation:
            _changed.wait(seconds)
        _paused.generation = _generation
