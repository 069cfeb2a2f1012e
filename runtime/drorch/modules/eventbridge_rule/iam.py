"""What the eventbridge-rule module may call in a staging account.

Reads of rules, their targets and tags in the account's regions (the recovery Region,
and the source Region where the failed rules are disabled: the staging stack passes
both). A drill writes only drill-only rules (``drorch-drill-*``); a failover, failback
or cleanup enables and disables the account's rules.
"""

from __future__ import annotations

from collections.abc import Sequence

from drorch.modules.base import ModuleIam, arns, in_regions, statement

DRILL_PREFIX = "drorch-drill-"


def statements(account_id: str, regions: Sequence[str]) -> ModuleIam:
    rules = arns("events", account_id, regions, "rule/*")
    drill_rules = arns(
        "events", account_id, regions, f"rule/{DRILL_PREFIX}*", f"rule/*/{DRILL_PREFIX}*"
    )
    return ModuleIam(
        read=[
            statement(
                "EventBridgeRuleRead",
                ["events:DescribeRule", "events:ListTargetsByRule", "events:ListTagsForResource"],
                rules,
            ),
            statement(
                "EventBridgeRuleList",
                ["events:ListRules", "events:ListEventBuses"],
                "*",
                condition=in_regions(regions),
            ),
        ],
        drill_safe=[
            statement(
                "EventBridgeRuleDrillRules",
                ["events:EnableRule", "events:DisableRule"],
                drill_rules,
            ),
        ],
        write=[
            statement("EventBridgeRuleSwitch", ["events:EnableRule", "events:DisableRule"], rules),
        ],
    )
