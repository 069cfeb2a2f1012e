"""Point-in-time recovery snapshots, derived from the simulated clock.

DRS keeps snapshots of a replicating server according to the point-in-time
policy of its replication configuration: one every ``interval`` units, kept for
``retentionDuration`` units, per enabled rule. The fake does not store them: the
snapshots that exist at a moment are the aligned instants of every enabled rule
inside its retention window, during which the server was replicating, plus the
on-demand snapshots taken by launches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from drorch.sandbox.drs.util import iso, stable_id

UNIT_SECONDS = {"MINUTE": 60, "HOUR": 3600, "DAY": 86400}

# What DRS configures when no replication configuration template says otherwise.
DEFAULT_PIT_POLICY: list[dict[str, Any]] = [
    {"ruleID": 1, "units": "MINUTE", "interval": 10, "retentionDuration": 60, "enabled": True},
    {"ruleID": 2, "units": "HOUR", "interval": 1, "retentionDuration": 24, "enabled": True},
    {"ruleID": 3, "units": "DAY", "interval": 1, "retentionDuration": 7, "enabled": True},
]

# Taking a snapshot takes a moment: "timestamp" trails "expectedTimestamp".
CAPTURE_DELAY = timedelta(seconds=2)


@dataclass
class ReplicationWindow:
    """A stretch of time during which a source server was replicating."""

    start: datetime
    end: datetime | None = None  # None: still replicating

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment and (self.end is None or moment <= self.end)


def pit_instants(
    policy: list[dict[str, Any]],
    windows: list[ReplicationWindow],
    on_demand: list[datetime],
    now: datetime,
) -> list[datetime]:
    """Every snapshot instant that exists at ``now``, oldest first."""
    instants: set[datetime] = set()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for rule in policy:
        if not rule.get("enabled", True):
            continue
        unit = UNIT_SECONDS[rule["units"]]
        step = rule["interval"] * unit
        horizon = now - timedelta(seconds=rule["retentionDuration"] * unit)
        first = math.ceil((horizon - epoch).total_seconds() / step)
        last = math.floor((now - epoch).total_seconds() / step)
        for index in range(first, last + 1):
            moment = epoch + timedelta(seconds=index * step)
            if any(window.covers(moment) for window in windows):
                instants.add(moment)
    instants.update(moment for moment in on_demand if moment <= now)
    return sorted(instants)


def snapshot_id(source_server_id: str, instant: datetime) -> str:
    return stable_id("pit-", source_server_id, iso(instant))


def describe(source_server_id: str, instant: datetime, device_names: list[str]) -> dict[str, Any]:
    pit = snapshot_id(source_server_id, instant)
    return {
        "snapshotID": pit,
        "sourceServerID": source_server_id,
        "expectedTimestamp": iso(instant),
        "timestamp": iso(instant + CAPTURE_DELAY),
        "ebsSnapshots": [stable_id("snap-", pit, device) for device in device_names],
    }
