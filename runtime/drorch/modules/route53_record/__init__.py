"""The route53-record module: Route 53 record sets of a hosted zone (see ``adapter``)."""

from drorch.modules.route53_record.adapter import (
    DISRUPTIVE_CALLS,
    RESOURCE_TYPE,
    Route53RecordModule,
)

MODULE = Route53RecordModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "RESOURCE_TYPE", "Route53RecordModule"]
