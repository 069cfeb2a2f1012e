"""What the eventbridge-archive module may call in a staging account.

Reads of archives, replays and the tags of event buses in the account's regions. A
failover starts replays of any archive to its bus (``StartReplay`` is authorised on the
archive, the bus and the replay); a drill starts them too, but the drill client lets
only replays limited to drill-only rules (``drorch-drill-*``) through: IAM cannot express
that limit (the rules a replay reaches are not an IAM resource).
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, arns, in_regions, statement

REPLAY_PREFIX = "drorch-"


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    archives = arns("events", account_id, regions, "archive/*")
    buses = arns("events", account_id, regions, "event-bus/*")
    replays = arns("events", account_id, regions, f"replay/{REPLAY_PREFIX}*")
    return ModuleIam(
        read=[
            statement("EventBridgeArchiveRead", ["events:DescribeArchive"], archives),
            statement("EventBridgeArchiveReadReplays", ["events:DescribeReplay"], replays),
            statement("EventBridgeArchiveReadBuses", ["events:ListTagsForResource"], buses),
            statement(
                "EventBridgeArchiveList",
                ["events:ListArchives", "events:ListReplays"],
                "*",
                condition=in_regions(regions),
            ),
        ],
        drill_safe=[
            # drill replays reach drorch-drill-* rules only (the drill client's check)
            statement(
                "EventBridgeArchiveReplay", ["events:StartReplay"], [*archives, *buses, *replays]
            ),
        ],
    )
