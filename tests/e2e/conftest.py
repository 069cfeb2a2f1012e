"""End-to-end fixtures: the hub deployed into the sandbox, the real state machines."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from drorch.cli.sandbox_run import sandbox_hub
from tests.conftest import ACCOUNTS_DIR, REPO

EXAMPLE = REPO / "manifests" / "examples" / "three-tier-claims.yaml"


def manifest_text(**changes: Any) -> str:
    """The three-tier example manifest with top-level keys replaced."""
    document = yaml.safe_load(EXAMPLE.read_text())
    document.update(changes)
    return yaml.safe_dump(document, sort_keys=False)


@pytest.fixture
def hub():
    with sandbox_hub("three-tier", ACCOUNTS_DIR, strict=True) as running:
        running.client.upload_manifest(EXAMPLE)
        yield running
        assert running.sandbox.state.fidelity.violations == []


def wait_until(predicate, timeout: float = 60.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached in time")


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


__all__ = ["EXAMPLE", "Path", "drs_jobs", "follow_in_background", "manifest_text", "wait_until"]
