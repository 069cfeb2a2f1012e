"""Simulated time for the sandbox.

Every fake that has a notion of duration (a DRS job that takes minutes to launch
servers, a slow job injected by a test) reads the time from a :class:`SimClock`
instead of the wall clock. The clock runs in one of two modes:

* **manual** (``speed=0``, the default for tests): time only moves when
  :meth:`SimClock.advance` is called, so tests never sleep and are deterministic;
* **scaled** (``speed>0``, used by ``drorch demo``): simulated time flows
  ``speed`` times faster than real time, so a ten-minute DRS launch takes a few
  seconds on a laptop.

Explicit :meth:`advance` calls work in both modes.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

DEFAULT_EPOCH = datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)


class SimClock:
    def __init__(self, start: datetime | None = None, speed: float = 0.0) -> None:
        if speed < 0:
            raise ValueError(f"clock speed must be >= 0, got {speed}")
        self._start = start or datetime.now(UTC).replace(microsecond=0)
        if self._start.tzinfo is None:
            raise ValueError("clock start must be timezone-aware")
        self._speed = speed
        self._offset = 0.0  # seconds added by advance()
        self._real_anchor = time.monotonic()
        self._lock = threading.Lock()

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, speed: float) -> None:
        """Change the speed, keeping the current simulated time continuous."""
        if speed < 0:
            raise ValueError(f"clock speed must be >= 0, got {speed}")
        with self._lock:
            self._offset = self._elapsed_locked()
            self._real_anchor = time.monotonic()
            self._speed = speed

    def _elapsed_locked(self) -> float:
        return self._offset + (time.monotonic() - self._real_anchor) * self._speed

    def elapsed(self) -> float:
        """Simulated seconds since the clock started."""
        with self._lock:
            return self._elapsed_locked()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.elapsed())

    def advance_to(self, moment: datetime) -> datetime:
        """Move forward to ``moment`` unless time is already past it (never backwards)."""
        with self._lock:
            behind = (
                moment - (self._start + timedelta(seconds=self._elapsed_locked()))
            ).total_seconds()
            if behind > 0:
                self._offset += behind
        return self.now()

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the simulated clock cannot go backwards")
        with self._lock:
            self._offset += seconds
        return self.now()
