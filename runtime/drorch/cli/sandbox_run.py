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
from typing import Literal

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


Deploy = Literal["pulumi", "boto3"]
# How the sandbox's infrastructure is created: by the real Pulumi program
# (drorch.sandbox.pulumi_deploy) or by the boto3 bootstrap (Sandbox.provision_account
# + drorch.sandbox.hub.deploy_hub).
DEFAULT_DEPLOY: Deploy = "pulumi"


def deploy_with_pulumi(sandbox: Sandbox, accounts: list) -> HubDeployment:
    """Staging accounts and hub from ``stacks.program.build`` (the program ``pulumi up`` runs)."""
    from drorch.sandbox.pulumi_deploy import deploy_program, program_config

    exports = deploy_program(sandbox, program_config(sandbox, accounts))
    hub = exports["hub"]
    return HubDeployment(
        account_id=sandbox.hub.account_id,
        region=sandbox.hub.region,
        manifest_bucket=hub["manifestBucket"],
        artifacts_bucket=hub["artifactsBucket"],
        topic_arn=hub["topicArn"],
        event_bus_arn=hub["eventBusArn"],
        functions=dict(hub["functions"]),
        state_machines=dict(hub["stateMachines"]),
        environment=dict(exports["sandbox"]["environment"]),
    )


@contextmanager
def sandbox_hub(
    scenario: str,
    accounts_dir: Path,
    *,
    speed: float = DEFAULT_SPEED,
    strict: bool = False,
    deploy: Deploy = DEFAULT_DEPLOY,
) -> Iterator[SandboxHub]:
    """A running sandbox with the scenario loaded and the hub deployed.

    ``deploy="pulumi"`` creates the staging accounts and the hub with the Pulumi
    program; ``"boto3"`` with the sandbox's own bootstrap.
    """
    if deploy not in ("pulumi", "boto3"):
        raise ValueError(f"deploy must be 'pulumi' or 'boto3', not {deploy!r}")
    loaded = load_scenario(scenario)
    accounts = load_accounts(accounts_dir)
    with Sandbox(hub=loaded.hub, clock=SimClock(speed=speed), strict=strict) as sandbox:
        if deploy == "pulumi":
            deployment = deploy_with_pulumi(sandbox, loaded.select_accounts(accounts))
            seeded = seed(sandbox, loaded, accounts)
        else:
            seeded = seed(sandbox, loaded, accounts)
            deployment = deploy_hub(sandbox)
        operator = f"arn:aws:iam::{sandbox.hub.account_id}:user/{names.OPERATOR_USER}"
        client = Client(sandbox.operator_session(), operator=operator)
        yield SandboxHub(sandbox, client, deployment, seeded)
