"""The engine's notion of "now".

Timings in the history (when a wave started, when a resource launched) come
from here. In AWS it is the wall clock; the sandbox points it at its simulated
clock (:func:`use`) so measured durations follow simulated time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def use(source: Callable[[], datetime] | None) -> None:
    """Read time from ``source`` (a timezone-aware ``now``); ``None`` restores the wall clock."""
    global _source
    _source = source or (lambda: datetime.now(UTC))


def now() -> datetime:
    return _source().astimezone(UTC)


def iso(moment: datetime | None = None) -> str:
    """ISO 8601 in UTC with a ``Z``, to the second: how the history stores times."""
    moment = (moment or now()).astimezone(UTC).replace(microsecond=0)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(moment: datetime | None = None) -> int:
    return int((moment or now()).timestamp())


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def seconds_between(start: str | None, end: str | None) -> int | None:
    if not start or not end:
        return None
    return int((parse(end) - parse(start)).total_seconds())
