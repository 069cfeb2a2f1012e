"""The hub and staging accounts deployed into the sandbox, and the sandbox set to run them.

After :func:`deploy_program` the sandbox runs the hub's functions in-process
(:mod:`drorch.sandbox.lambda_runtime`) as the hub's orchestrator role, with the
functions' environment, and knows its staging accounts (for
:meth:`Sandbox.execution_session`). :func:`deploy_hub` is what commands and
tests call: the program for these accounts, and what it deployed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drorch import names
from drorch.engine import clock as engine_clock
from drorch.sandbox.core import ProvisionedAccount, Sandbox
from drorch.sandbox.pulumi_deploy.base import SandboxDeployError, asset_root
from drorch.sandbox.pulumi_deploy.mocks import SandboxMocks
from drorch.sandbox.pulumi_deploy.program import program_config, run_program

LAMBDA_TASK_ROOT = "/var/task/"
# the sandbox's Lambda runtime: no X-Ray daemon, no EMF metrics on stdout
SANDBOX_FUNCTION_SETTINGS = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


@dataclass
class HubDeployment:
    """What the program deployed in the hub: the names and ARNs the engine and tests use."""

    account_id: str
    region: str
    manifest_bucket: str
    artifacts_bucket: str
    topic_arn: str
    event_bus_arn: str
    functions: dict[str, str] = field(default_factory=dict)  # key -> ARN
    state_machines: dict[str, str] = field(default_factory=dict)  # key -> ARN
    environment: dict[str, str] = field(default_factory=dict)


def deploy_hub(sandbox: Sandbox, accounts: list, *, log_level: str = "WARNING") -> HubDeployment:
    """Staging accounts and hub from ``stacks.program.build`` (the program ``pulumi up`` runs)."""
    exports = deploy_program(sandbox, program_config(sandbox, accounts), log_level=log_level)
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


def deploy_program(
    sandbox: Sandbox,
    config: Any,
    *,
    build: Callable[[Any], dict[str, Any]] | None = None,
    allow_unsupported: bool = False,
    log_level: str = "WARNING",
) -> dict[str, Any]:
    """Deploy hub and staging accounts with the real program; returns its exports.

    ``config`` is a ``stacks.config.DeploymentConfig``. Afterwards the sandbox
    runs the hub's functions in-process as the hub's orchestrator role, with the
    functions' environment, and its staging accounts are registered (for
    :meth:`Sandbox.execution_session`).
    """
    mocks, exports = run_program(sandbox, config, build=build)
    if mocks.unsupported and not allow_unsupported:
        listed = ", ".join(f"{typ} ({name})" for typ, name in mocks.unsupported)
        raise SandboxDeployError(
            f"the sandbox cannot create these resource types: {listed}",
            hint="add a creator to drorch.sandbox.pulumi_deploy (one module per group of services)",
        )
    for account in config.accounts:
        staged = exports.get("stagingAccounts", {}).get(account.name, {})
        provisioned = sandbox.accounts.setdefault(account.account_id, ProvisionedAccount(account))
        provisioned.view_arn = staged.get("viewArn", "")
        provisioned.index_arns = dict(staged.get("indexes") or {})
        _describe_network(sandbox, provisioned)
    environment = _function_environment(mocks, log_level)
    activate(sandbox, environment)
    exports["sandbox"] = {
        "created": len(mocks.created),
        "unsupported": [f"{typ} ({name})" for typ, name in mocks.unsupported],
        "environment": environment,
        "messages": list(mocks.messages),
    }
    return exports


def _describe_network(sandbox: Sandbox, provisioned: Any) -> None:
    """Fill in the staging network the program created (the scenario seeders use it)."""
    account = provisioned.account
    if not account.vpc_cidr:
        return
    ec2 = sandbox.admin_session(account.account_id, account.recovery_region).client("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": [account.vpc_cidr]}])["Vpcs"]
    if not vpcs:
        return
    provisioned.vpc_id = vpcs[0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [provisioned.vpc_id]}])[
        "Subnets"
    ]
    by_cidr = {s["CidrBlock"]: s["SubnetId"] for s in subnets}
    provisioned.recovery_subnet_ids = []
    for subnet in account.subnets:
        subnet_id = by_cidr.get(subnet.cidr)
        if not subnet_id:
            continue
        if subnet.purpose == "staging":
            provisioned.staging_subnet_id = provisioned.staging_subnet_id or subnet_id
        else:
            provisioned.recovery_subnet_ids.append(subnet_id)
    groups = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [provisioned.vpc_id]},
            {"Name": "group-name", "Values": [f"{names.PREFIX}-drs-replication"]},
        ]
    )["SecurityGroups"]
    if groups:
        provisioned.security_group_id = groups[0]["GroupId"]


def _function_environment(mocks: SandboxMocks, log_level: str) -> dict[str, str]:
    """The functions' environment, with ``/var/task/...`` mapped to where the asset came from."""
    merged: dict[str, str] = {}
    for inputs in mocks.functions.values():
        variables = (inputs.get("environment") or {}).get("variables") or {}
        for key, value in variables.items():
            value = str(value)
            if value.startswith(LAMBDA_TASK_ROOT):
                local = asset_root(inputs.get("code"), value[len(LAMBDA_TASK_ROOT) :])
                if local is None:
                    raise SandboxDeployError(
                        f"{key}={value} names a folder that is not in the function's code asset"
                    )
                value = local
            merged[key] = value
    return merged | SANDBOX_FUNCTION_SETTINGS | {"POWERTOOLS_LOG_LEVEL": log_level}


def activate(sandbox: Sandbox, environment: dict[str, str]) -> None:
    """Run the hub's functions in-process as its orchestrator role, with their environment."""
    orchestrator = sandbox.orchestrator_session(sandbox.hub.region)
    sandbox.state.lambda_runtime.session = orchestrator
    sandbox.state.service_access_key = orchestrator.get_credentials().access_key
    sandbox.set_environment(environment)
    engine_clock.use(sandbox.clock.now)
    sandbox.on_stop(lambda: engine_clock.use(None))
