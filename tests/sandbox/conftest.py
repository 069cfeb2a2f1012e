"""Fixtures for the fakes' own tests: one strict sandbox per module, an account per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from drorch.sandbox import Sandbox
from drorch.sandbox.drs.models import drs_backends

REGION = "us-east-2"
_ACCOUNTS = itertools.count(100000000001)


class Env:
    """One fresh account in the module's sandbox, with its DRS client in REGION."""

    def __init__(self, sandbox: Sandbox, account: str) -> None:
        self.sandbox = sandbox
        self.account = account
        self.drs = self.client()

    def client(self, region: str = REGION) -> Any:
        return self.sandbox.admin_session(self.account, region).client("drs")

    def backend(self, region: str = REGION) -> Any:
        return drs_backends[self.account][region]

    def seed(self, hostname: str = "web-1", region: str = REGION, **kwargs: Any) -> Any:
        """A source server, as installing the replication agent would create it."""
        kwargs.setdefault("ip", "172.31.0.50")
        return self.backend(region).add_source_server(hostname=hostname, **kwargs)

    def ec2(self) -> Any:
        return self.sandbox.admin_session(self.account, REGION).client("ec2")


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[Sandbox]:
    # One sandbox per module (starting one costs most of a second); every test
    # gets an account of its own, so tests cannot see each other's state.
    with Sandbox(strict=True) as sandbox:  # strict: every fake response is model-checked
        yield sandbox


@pytest.fixture
def env(shared_sandbox: Sandbox) -> Iterator[Env]:
    shared_sandbox.faults.clear()
    shared_sandbox.state.fidelity.violations.clear()
    yield Env(shared_sandbox, str(next(_ACCOUNTS)))
    shared_sandbox.faults.clear()
    assert shared_sandbox.state.fidelity.violations == []
