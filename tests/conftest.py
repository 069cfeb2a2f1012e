"""Shared fixtures: a running sandbox per test, strict about wire fidelity."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drorch.accounts import load_accounts
from drorch.sandbox import Sandbox

# a developer's own `drorch sandbox up` endpoint never receives the tests' commands (the
# endpoint tests turn this off for themselves)
os.environ["DRORCH_SANDBOX_ENDPOINT"] = "off"

REPO = Path(__file__).resolve().parents[1]
ACCOUNTS_DIR = REPO / "accounts"


@pytest.fixture
def sandbox():
    """A fresh sandbox (hub only, manual clock, strict fidelity)."""
    with Sandbox(strict=True) as running:
        yield running
        assert running.state.fidelity.violations == []


@pytest.fixture
def staging_accounts():
    return {account.name: account for account in load_accounts(ACCOUNTS_DIR)}
