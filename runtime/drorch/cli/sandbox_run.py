"""Running the engine inside one ``drorch`` process against the sandbox.

The sandbox lives as long as the command: it provisions the scenario's staging
accounts, deploys the hub (tables, buckets, functions, state machines), uploads
the manifest and runs executions; the command can answer gates as they open.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from drorch import names
from drorch.accounts import load_accounts
from drorch.client import Client
from drorch.sandbox import Sandbox, SimClock
from drorch.sandbox.hub import HubDeployment, deploy_hub
from drorch.sandbox.scenario import SeedReport, load_scenario, seed

# Manual clock: simulated time moves when the state machines wait (a 30-second
# poll costs milliseconds), so measured durations are the simulated ones.
DEFAULT_SPEED = 0.0


@dataclass
class SandboxHub:
    sandbox: Sandbox
    client: Client
    deployment: HubDeployment
    seeded: SeedReport


@contextmanager
def sandbox_hub(
    scenario: str, accounts_dir: Path, *, speed: float = DEFAULT_SPEED, strict: bool = False
) -> Iterator[SandboxHub]:
    loaded = load_scenario(scenario)
    accounts = load_accounts(accounts_dir)
    with Sandbox(hub=loaded.hub, clock=SimClock(speed=speed), strict=strict) as sandbox:
        seeded = seed(sandbox, loaded, accounts)
        deployment = deploy_hub(sandbox)
        operator = f"arn:aws:iam::{sandbox.hub.account_id}:user/{names.OPERATOR_USER}"
        client = Client(sandbox.operator_session(), operator=operator)
        yield SandboxHub(sandbox, client, deployment, seeded)
