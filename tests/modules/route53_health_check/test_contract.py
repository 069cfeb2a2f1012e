"""The route53-health-check check against the sandbox's Route 53.

Without its sandbox extension moto reports every checker healthy; with it, the status
follows what the checked endpoint answers in the sandbox (declared here), so a failing
endpoint fails the check."""

from __future__ import annotations

import uuid

import pytest

from drorch.modules import REGISTRY
from drorch.modules.http_check.sandbox import ENDPOINTS
from tests.modules.contract import Case, ModuleContract, Phase, Run, Staging, check_outcome, execute

URL = "https://claims.acme.example/health"


def health_check(world: Staging) -> None:
    ENDPOINTS.declare(URL, status=200, body="ok")
    world.admin("route53").create_health_check(
        CallerReference=str(uuid.uuid4()),
        HealthCheckConfig={
            "Type": "HTTPS",
            "FullyQualifiedDomainName": "claims.acme.example",
            "ResourcePath": "/health",
        },
    )


def failing_endpoint(world: Staging) -> None:
    health_check(world)
    world.sandbox.faults.fail_url(URL, status=503)


def check_id(world: Staging) -> dict:
    [check] = world.admin("route53").list_health_checks()["HealthChecks"]
    return {"healthCheckId": check["Id"], "retries": 2, "intervalSeconds": 30}


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


@pytest.mark.skipif(
    REGISTRY["route53-health-check"].sandbox_extension is None,
    reason="the module has not opted into drorch.modules.route53_health_check.sandbox yet: "
    "moto reports every health check healthy",
)
def test_a_failing_endpoint_fails_the_check() -> None:
    case = Case(
        "unhealthy",
        (Phase("ACTIVATE", check_id, expect="FAILED", error="0 of 8 checkers healthy"),),
        seed=failing_endpoint,
        selector={"ids": ["claims-dns"]},
    )
    check_outcome(execute(REGISTRY["route53-health-check"], case))
