"""The chaos suite's fixtures: the e2e suite's shared hub (deployed once by the Pulumi program
under mocks, restored before each test), an inbox behind the event bus, the CLI bound to
the hub, and :func:`end_state` that every scenario asserts on."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from drorch.cli import engine_cmd
from drorch.cli.main import main
from drorch.engine import events as ev
from tests.e2e.conftest import _SHARED, EXAMPLE, drs_jobs, manifest_text, restore_hub, wait_until
from tests.e2e.inbox import bus_inbox

HERE = Path(__file__).resolve().parent
APP = "claims"
DATA, APP_ACCOUNT, WEB = "333333333333", "222222222222", "111111111111"

__all__ = ["APP", "DATA", "EXAMPLE", "drs_jobs", "manifest_text", "wait_until"]


@pytest.fixture
def hub() -> Any:
    running = restore_hub()
    running.client.upload_manifest(EXAMPLE)
    yield running
    running.sandbox.faults.clear()
    assert running.sandbox.state.fidelity.violations == []


def _uses_shared_hub(item: pytest.Item | None) -> bool:
    return (
        item is not None
        and "hub" in getattr(item, "fixturenames", ())
        and Path(item.path).resolve().is_relative_to(HERE)
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    yield
    if not _uses_shared_hub(nextitem):
        _SHARED.close()  # the next test may start a sandbox of its own


@pytest.fixture
def inbox(hub) -> Any:
    """What a subscriber of the event bus receives: a queue behind a rule on ``source: drorch``."""
    with bus_inbox(hub.client.session, "chaos-inbox", {"source": ["drorch"]}) as drain:
        yield drain


@pytest.fixture
def cli(hub, monkeypatch, tmp_path):
    """``drorch <args>`` against the shared hub: returns (exit code, stdout, stderr)."""
    monkeypatch.setattr(engine_cmd, "aws_client", lambda profile, region: hub.client)

    def run(*args: str) -> int:
        return main([*args, "--region", "us-east-2"])

    return run


@dataclass
class EndState:
    """Where an execution ended, from every store that records it."""

    execution: dict[str, Any]
    machine: str
    lock: dict[str, Any] | None
    resources: list[dict[str, Any]]
    waves: list[dict[str, Any]]
    gates: list[dict[str, Any]]
    jobs: list[dict[str, Any]] = field(default_factory=list)
    instances: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.execution["status"]

    @property
    def cause(self) -> str:
        return str(self.execution.get("cause") or "")

    def assert_closed(self) -> None:
        """Nothing left open: a terminal history, no lock, no RUNNING wave, resource or gate."""
        assert self.status in ("SUCCEEDED", "FAILED", "CANCELLED"), self.execution
        assert self.lock is None or self.lock.get("executionId") != self.execution["executionId"]
        assert [w for w in self.waves if w.get("status") == "RUNNING"] == []
        assert [r for r in self.resources if r.get("status") == "RUNNING"] == []
        assert [g for g in self.gates if not g.get("decision")] == []


def end_state(hub, execution_id: str, accounts: tuple[str, ...] = (DATA,)) -> EndState:
    client = hub.client
    described = client.describe(execution_id, resources=True)
    jobs = [
        j
        for account in accounts
        for j in drs_jobs(hub, account)
        if j.get("tags", {}).get("drorch:idempotency-key", "").startswith(execution_id)
    ]
    instances = []
    for account in accounts:
        drs = hub.sandbox.execution_session(account).client("drs")
        instances += [
            i
            for page in drs.get_paginator("describe_recovery_instances").paginate()
            for i in page["items"]
            if i.get("jobID") in {j["jobID"] for j in jobs}
        ]
    return EndState(
        execution=described["execution"],
        machine=described["machineStatus"],
        lock=client.lock.holder(described["execution"].get("application") or APP),
        resources=described["resources"],
        waves=described["waves"],
        gates=described["gates"],
        jobs=jobs,
        instances=instances,
    )


def statuses(events: list[dict[str, Any]], execution_id: str) -> list[str]:
    """The execution's status events as the bus delivered them, in order."""
    return [
        e["detail"]["status"]
        for e in events
        if e.get("detail-type") == ev.EXECUTION_STATUS
        and e.get("detail", {}).get("executionId") == execution_id
    ]
