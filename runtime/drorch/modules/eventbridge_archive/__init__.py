"""The eventbridge-archive module: replays from EventBridge archives (see ``adapter``)."""

from drorch.modules.eventbridge_archive.adapter import (
    DISRUPTIVE_CALLS,
    RESOURCE_TYPE,
    EventBridgeArchiveModule,
)

MODULE = EventBridgeArchiveModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "RESOURCE_TYPE", "EventBridgeArchiveModule"]
