"""The http-check health check against URLs whose answers the sandbox declares."""

from __future__ import annotations

from drorch.modules.http_check.sandbox import ENDPOINTS
from tests.modules.contract import Case, ModuleContract, Phase, Run, Staging

URL = "https://claims.acme.example/health"
CHECK = {"url": URL, "contains": "ok", "retries": 3, "intervalSeconds": 20}


def healthy(world: Staging) -> None:
    ENDPOINTS.declare(URL, status=200, body="status: ok")


def unavailable_once(world: Staging) -> None:
    ENDPOINTS.declare(URL, status=200, body="status: ok", fail_first=1, fail_status=503)


def always_unavailable(world: Staging) -> None:
    healthy(world)
    world.sandbox.faults.fail_url(URL, status=503)


def attempts(expected: int):
    def check(world: Staging, run: Run) -> None:
        [result] = run.phases[-1].final.resources
        assert result.detail["attempts"] == expected
        assert ENDPOINTS.count(URL) == expected
        if expected > 1:  # the executor waited the interval the check asked for
            assert run.phases[-1].started["waitSeconds"] == 20

    return check


class TestHttpCheckContract(ModuleContract):
    module = "http-check"
    cases = (
        Case("healthy", (Phase("ACTIVATE", CHECK),), seed=healthy, selector={"ids": ["claims"]}),
        Case(
            "healthy-in-a-drill",
            (Phase("ACTIVATE", CHECK),),
            drill=True,
            seed=healthy,
            selector={"ids": ["claims"]},
            check=attempts(1),
        ),
        Case(
            "503-then-200-passes-on-retry",
            (Phase("ACTIVATE", CHECK),),
            seed=unavailable_once,
            selector={"ids": ["claims"]},
            check=attempts(2),
            extra=True,
        ),
        Case(
            "503-every-time-fails",
            (
                Phase(
                    "ACTIVATE", CHECK, expect="FAILED", error=f"{URL} answered 503, expected [200]"
                ),
            ),
            seed=always_unavailable,
            selector={"ids": ["claims"]},
            check=attempts(3),
            extra=True,
        ),
    )
