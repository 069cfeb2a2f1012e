"""The ``route53-health-check`` check: a Route 53 health check reports healthy.

Each attempt reads ``GetHealthCheckStatus``: Route 53 considers an endpoint
healthy when more than 18 % of its checkers report it healthy, and so does this
check (a checker's ``StatusReport.Status`` starts with ``Success``). Calculated
and CloudWatch-alarm health checks report one observation. Read-only: runs in drills.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from drorch.modules.base import (
    BLOCKER,
    READY,
    AccountContext,
    Finding,
    ModuleIam,
    Probe,
    Resource,
    error_code,
    error_message,
    load_schema,
    raise_if_fatal,
    resource_finding,
    statement,
)
from drorch.modules.http_check.adapter import target_finding
from drorch.modules.steps import RETRY_PROPERTIES, CheckModule

HEALTHY_SHARE = 0.18  # Route 53: healthy when more than 18 % of checkers say so
NO_ENDPOINT = frozenset({"CALCULATED", "CLOUDWATCH_METRIC", "RECOVERY_CONTROL"})

_schema = load_schema(Path(__file__).with_name("parameters.json"))
_schema["properties"].update(RETRY_PROPERTIES)


class Route53HealthCheck(CheckModule):
    type = "route53-health-check"
    parameters_schema = _schema
    summary = "A Route 53 health check reports healthy (more than 18 % of checkers)"
    drill = "Reads the health check's status only; runs in drills."
    aliases = ("R53HealthCheck", "route53_health_check")
    resource_types = ("route53:healthcheck",)
    sandbox_extension = "drorch.modules.route53_health_check.sandbox"
    probes = (
        Probe("route53:ListHealthChecks", "route53", "list_health_checks", {"MaxItems": "1"}),
    )

    def iam(self, account_id: str, regions: Sequence[str]) -> ModuleIam:
        return ModuleIam(
            read=[
                statement(
                    "Route53HealthCheckStatus",
                    ["route53:GetHealthCheckStatus", "route53:GetHealthCheck"],
                    ["arn:aws:route53:::healthcheck/*"],
                ),
                statement("Route53ListHealthChecks", ["route53:ListHealthChecks"], "*"),
            ]
        )

    def resource_readiness(
        self, ctx: AccountContext, resources: Sequence[Resource], params: Mapping[str, Any]
    ) -> list[Finding]:
        """The health check exists, and its target resolves (an IP address or a calculated /
        alarm health check needs no lookup)."""
        check_id = params["healthCheckId"]
        call = f"route53:GetHealthCheck {check_id} in {ctx.account_id}"
        try:
            config = ctx.client("route53").get_health_check(HealthCheckId=check_id)["HealthCheck"][
                "HealthCheckConfig"
            ]
        except ClientError as exc:
            raise_if_fatal(exc, ctx, "reading a health check for readiness")
            detail = f"{error_code(exc)}: {error_message(exc)}"
            return [
                resource_finding(r, "health check", BLOCKER, detail, call, "fix healthCheckId")
                for r in resources
            ]
        host = config.get("FullyQualifiedDomainName") or ""
        if config.get("IPAddress") or config.get("Type") in NO_ENDPOINT:
            target = config.get("IPAddress") or config.get("Type")
            return [
                resource_finding(r, "target resolvable", READY, f"{target}: no lookup", call)
                for r in resources
            ]
        return [target_finding(r, host, f"health check {check_id}") for r in resources]

    def attempt(
        self, ctx: AccountContext, params: Mapping[str, Any]
    ) -> tuple[bool, dict[str, Any], str | None]:
        check_id = params["healthCheckId"]
        detail: dict[str, Any] = {"healthCheckId": check_id}
        try:
            observations = ctx.client("route53").get_health_check_status(HealthCheckId=check_id)[
                "HealthCheckObservations"
            ]
        except ClientError as exc:
            return False, detail, f"health check {check_id}: {self.fail_on(exc, ctx, 'reading it')}"
        healthy = sum(
            1
            for o in observations
            if str((o.get("StatusReport") or {}).get("Status", "")).startswith("Success")
        )
        detail.update(checkers=len(observations), healthy=healthy)
        if observations and healthy / len(observations) > HEALTHY_SHARE:
            return True, detail, None
        return (
            False,
            detail,
            f"health check {check_id}: {healthy} of {len(observations)} checkers healthy",
        )
