"""The arc-routing-control module: Route 53 ARC routing controls (see ``adapter``)."""

from drorch.modules.arc_routing_control.adapter import (
    DISRUPTIVE_CALLS,
    RESOURCE_TYPE,
    ArcRoutingControlModule,
)

MODULE = ArcRoutingControlModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "RESOURCE_TYPE", "ArcRoutingControlModule"]
