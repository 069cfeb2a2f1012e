"""Fixtures: the three-tier scenario's DRS estate in a strict sandbox, and module helpers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from drorch.accounts import load_accounts
from drorch.modules import REGISTRY, AccountContext, StatusResult
from drorch.modules.drs import DrsModule
from drorch.sandbox import Sandbox
from drorch.sandbox.scenario import load_scenario, seed

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-2"
WEB, APP, DATA = "111111111111", "222222222222", "333333333333"
NAMES = {WEB: "staging-web", APP: "staging-app", DATA: "staging-data"}
LAUNCH_SECONDS = 30 + 60 + 240 + 120  # job start, snapshot, conversion, boot (DrsTimings)


@dataclass
class Estate:
    sandbox: Sandbox
    module: DrsModule

    def ctx(self, account_id: str, drill: bool = False) -> AccountContext:
        return AccountContext(
            session=self.sandbox.execution_session(account_id),
            account_id=account_id,
            region=REGION,
            account_name=NAMES.get(account_id, ""),
            drill=drill,
        )

    def drs(self, account_id: str, region: str = REGION) -> Any:
        return self.sandbox.admin_session(account_id, region).client("drs")

    def discover(self, account_id: str, **selector: Any) -> list[Any]:
        return self.module.discover(self.ctx(account_id), selector)

    def jobs(self, account_id: str) -> list[dict[str, Any]]:
        return self.drs(account_id).describe_jobs()["items"]

    def run(
        self,
        ctx: AccountContext,
        phase: str,
        state: dict[str, Any],
        step: float = 60,
        max_polls: int = 100,
        on_poll: Callable[[StatusResult], None] = lambda result: None,
    ) -> StatusResult:
        """The executor loop: advance the clock, poll status, until not RUNNING."""
        for _ in range(max_polls):
            self.sandbox.advance(step)
            result = self.module.status(ctx, phase, state)
            json.dumps(result.state)  # what the handler persists must be JSON
            on_poll(result)
            if result.status != "RUNNING":
                return result
            state = result.state
        raise AssertionError(f"{phase} still RUNNING after {max_polls} polls")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "accounts(*names): seed only these three-tier staging accounts (faster)"
    )


def _estate(accounts: tuple[str, ...] = (), **sandbox_args: Any) -> Iterator[Estate]:
    scenario = load_scenario("three-tier")
    scenario.resources = []  # managed services play no part in DRS; seeding them is slow
    if accounts:
        scenario.account_names = list(accounts)
        scenario.servers = [s for s in scenario.servers if s.account in accounts]
    with Sandbox(strict=True, **sandbox_args) as sandbox:
        seed(sandbox, scenario, load_accounts(REPO / "accounts"))
        yield Estate(sandbox, REGISTRY["drs"])
        assert sandbox.state.fidelity.violations == []


def _accounts(request: pytest.FixtureRequest) -> tuple[str, ...]:
    marker = request.node.get_closest_marker("accounts")
    return tuple(marker.args) if marker else ()


@pytest.fixture
def estate(request: pytest.FixtureRequest) -> Iterator[Estate]:
    yield from _estate(_accounts(request))


@pytest.fixture
def make_estate(request: pytest.FixtureRequest) -> Iterator[Callable[..., Estate]]:
    """An estate in a sandbox built with custom arguments (quotas, timings)."""
    made: list[Iterator[Estate]] = []

    def make(**sandbox_args: Any) -> Estate:
        generator = _estate(_accounts(request), **sandbox_args)
        made.append(generator)
        return next(generator)

    yield make
    for generator in made:
        next(generator, None)
