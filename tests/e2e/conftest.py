"""End-to-end fixtures: the hub deployed into the sandbox, the real state machines.

Deploying costs seconds, so consecutive tests that use ``hub`` share one
deployment (one per xdist worker, as long as its tests run one after the
other), and every test gets it restored to how it was after the deployment
(:class:`drorch.sandbox.checkpoint.Checkpoint`): empty tables and buckets, the
DRS fakes as seeded, no faults, with the example manifest uploaded. Another
test that starts a sandbox of its own (the CLI's) runs after the shared one
has stopped. Waits follow the engine (:func:`drorch.sandbox.activity.wait_for`),
never a timer.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml

from drorch.cli.sandbox_run import SandboxHub, sandbox_hub
from drorch.sandbox import activity
from drorch.sandbox.checkpoint import Checkpoint
from tests.conftest import ACCOUNTS_DIR, REPO

EXAMPLE = REPO / "manifests" / "examples" / "three-tier-claims.yaml"
HERE = Path(__file__).resolve().parent


def manifest_text(**changes: Any) -> str:
    """The three-tier example manifest with top-level keys replaced."""
    document = yaml.safe_load(EXAMPLE.read_text())
    document.update(changes)
    return yaml.safe_dump(document, sort_keys=False)


class _Shared:
    """The deployment the ``hub`` tests of this process share, while they run in a row."""

    def __init__(self) -> None:
        self.stack: ExitStack | None = None
        self.hub: SandboxHub | None = None
        self.checkpoint: Checkpoint | None = None

    def get(self) -> tuple[SandboxHub, Checkpoint]:
        if self.hub is None or self.checkpoint is None:
            with ExitStack() as stack:
                hub = stack.enter_context(sandbox_hub("three-tier", ACCOUNTS_DIR, strict=True))
                self.checkpoint = Checkpoint.take(hub.sandbox, hub.deployment)
                self.hub, self.stack = hub, stack.pop_all()
        return self.hub, self.checkpoint

    def close(self) -> None:
        stack, self.stack, self.hub, self.checkpoint = self.stack, None, None, None
        if stack is not None:
            stack.close()


_SHARED = _Shared()


@pytest.fixture
def hub() -> Any:
    running = restore_hub()
    running.client.upload_manifest(EXAMPLE)
    yield running
    assert running.sandbox.state.fidelity.violations == []


def restore_hub() -> SandboxHub:
    """The shared hub, put back as deployed (what ``hub`` does before each test)."""
    running, checkpoint = _SHARED.get()
    checkpoint.restore()
    return running


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


def pytest_sessionfinish(session: pytest.Session) -> None:
    _SHARED.close()


def wait_until(predicate, timeout: float = 60.0, interval: float | None = None):
    """The first truthy value of ``predicate()``, re-checked whenever the engine did
    something (``interval`` is accepted for older callers and ignored)."""
    try:
        return activity.wait_for(predicate, timeout)
    except TimeoutError:
        raise AssertionError("condition not reached in time") from None


def drs_jobs(hub, account_id: str) -> list[dict[str, Any]]:
    drs = hub.sandbox.execution_session(account_id).client("drs")
    return [j for page in drs.get_paginator("describe_jobs").paginate() for j in page["items"]]


def follow_in_background(client, execution_id: str, on_gate) -> dict[str, Any]:
    """client.wait on a thread; returns a dict filled with the final description."""
    result: dict[str, Any] = {}

    def run() -> None:
        result["final"] = client.wait(execution_id, on_gate=on_gate, interval=0.2)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    result["thread"] = thread
    return result


__all__ = [
    "EXAMPLE",
    "Path",
    "drs_jobs",
    "follow_in_background",
    "manifest_text",
    "restore_hub",
    "wait_until",
]
