"""Running the engine inside one ``drorch`` process against the sandbox.

The sandbox lives as long as the command: the Pulumi program deploys the
scenario's staging accounts and the hub (tables, buckets, functions, state
machines) into it, the scenario is loaded, the command uploads the manifest and
runs executions, and can answer gates as they open.
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
from drorch.sandbox.pulumi_deploy import HubDeployment, deploy_hub
from drorch.sandbox.scenario import SeedReport, load_scenario, seed
from drorch.sandbox.stepfunctions import stop_executions

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
    scenario: str,
    accounts_dir: Path,
    *,
    speed: float = DEFAULT_SPEED,
    strict: bool = False,
) -> Iterator[SandboxHub]:
    """A running sandbox with the hub and the scenario's staging accounts deployed by the
    Pulumi program (:mod:`drorch.sandbox.pulumi_deploy`), and the scenario loaded."""
    loaded = load_scenario(scenario)
    accounts = load_accounts(accounts_dir)
    with Sandbox(hub=loaded.hub, clock=SimClock(speed=speed), strict=strict) as sandbox:
        deployment = deploy_hub(sandbox, loaded.select_accounts(accounts))
        seeded = seed(sandbox, loaded, accounts)
        operator = f"arn:aws:iam::{sandbox.hub.account_id}:user/{names.OPERATOR_USER}"
        client = Client(sandbox.operator_session(), operator=operator)
        try:
            yield SandboxHub(sandbox, client, deployment, seeded)
        finally:
            # a failed or cancelled execution can leave child executions running
            stop_executions(sandbox.operator_session(), deployment.state_machines.values())
