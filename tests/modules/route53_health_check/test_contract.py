"""The route53-health-check check against the sandbox's Route 53 (moto reports every
checker healthy, so only the healthy outcome can be exercised here)."""

from __future__ import annotations

import uuid

from tests.modules.contract import Case, ModuleContract, Phase, Run, Staging


def health_check(world: Staging) -> None:
    world.admin("route53").create_health_check(
        CallerReference=str(uuid.uuid4()),
        HealthCheckConfig={
            "Type": "HTTPS",
            "FullyQualifiedDomainName": "claims.acme.example",
            "ResourcePath": "/health",
        },
    )


def check_id(world: Staging) -> dict:
    [check] = world.admin("route53").list_health_checks()["HealthChecks"]
    return {"healthCheckId": check["Id"]}


def healthy(world: Staging, run: Run) -> None:
    [result] = run.phases[-1].final.resources
    assert result.detail["healthy"] == result.detail["checkers"] >= 1


class TestRoute53HealthCheckContract(ModuleContract):
    module = "route53-health-check"
    cases = (
        Case(
            "healthy",
            (Phase("ACTIVATE", check_id),),
            seed=health_check,
            selector={"ids": ["claims-dns"]},
            check=healthy,
        ),
        Case(
            "healthy-in-a-drill",
            (Phase("ACTIVATE", check_id),),
            drill=True,
            seed=health_check,
            selector={"ids": ["claims-dns"]},
        ),
    )
