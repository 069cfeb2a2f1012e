"""Shared fixtures: a running sandbox per test, strict about wire fidelity."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from drorch.accounts import load_accounts
from drorch.sandbox import Sandbox

# a developer's own `drorch sandbox up` endpoint never receives the tests' commands (the
# endpoint tests turn this off for themselves)
os.environ["DRORCH_SANDBOX_ENDPOINT"] = "off"

# the suite runs on 2 shared cores (CI, xdist): an example's time says nothing about the
# property, so no per-example deadline and no too-slow health check (`--hypothesis-profile`
# still picks another, e.g. fuzz)
settings.register_profile("drorch", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("drorch")

REPO = Path(__file__).resolve().parents[1]
ACCOUNTS_DIR = REPO / "accounts"


def pytest_configure(config: pytest.Config) -> None:
    """One deployment of each scenario per test run: the first ``sandbox_hub`` deploys and
    seeds it and stores it in a cache folder this run's processes share (the xdist workers
    inherit it), the others restore it in a fraction of a second
    (``DRORCH_SANDBOX_CACHE``, :mod:`drorch.sandbox.persistence`)."""
    if hasattr(config, "workerinput") or os.environ.get("DRORCH_SANDBOX_CACHE"):
        return
    cache = tempfile.mkdtemp(prefix="drorch-test-sandboxes-")
    os.environ["DRORCH_SANDBOX_CACHE"] = cache
    config.add_cleanup(lambda: shutil.rmtree(cache, ignore_errors=True))


@pytest.fixture
def sandbox():
    """A fresh sandbox (hub only, manual clock, strict fidelity)."""
    with Sandbox(strict=True) as running:
        yield running
        assert running.state.fidelity.violations == []


@pytest.fixture
def staging_accounts():
    return {account.name: account for account in load_accounts(ACCOUNTS_DIR)}
