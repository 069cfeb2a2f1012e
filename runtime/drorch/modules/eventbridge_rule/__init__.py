"""The eventbridge-rule module: EventBridge rules (see ``adapter``)."""

from drorch.modules.eventbridge_rule.adapter import (
    DISRUPTIVE_CALLS,
    RESOURCE_TYPE,
    EventBridgeRuleModule,
)

MODULE = EventBridgeRuleModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "RESOURCE_TYPE", "EventBridgeRuleModule"]
