"""The ``route53-health-check`` check (see ``adapter``)."""

from drorch.modules.route53_health_check.adapter import Route53HealthCheck

MODULE = Route53HealthCheck()

__all__ = ["MODULE", "Route53HealthCheck"]
