"""The program: one hub and one staging stack per account, from a :class:`DeploymentConfig`.

``__main__.py`` reads the stack configuration and calls :func:`build`; tests and the
sandbox deployer call :func:`build` under their own Pulumi mocks. Importing this
module declares nothing.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from stacks.config import DeploymentConfig
from stacks.hub import HubConfig, HubStack, ScheduledDrill, ScheduledReadiness
from stacks.staging import StagingAccountStack, StagingConfig


def hub_account_id(config: DeploymentConfig, provider: aws.Provider) -> str:
    if config.hub_account_id:
        return config.hub_account_id
    identity = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=provider))
    return identity.account_id


def build(config: DeploymentConfig) -> dict[str, Any]:
    """Declare every resource; returns the stack outputs (also exported by ``__main__``)."""
    hub_provider = aws.Provider("hub", region=config.hub_region)
    account_id = hub_account_id(config, hub_provider)
    if config.layer_dir is None:
        pulumi.log.warn(
            "no Lambda dependencies layer: the functions need boto3, aws-lambda-powertools, "
            "jsonschema and PyYAML; run `make lambda-layer` before `pulumi up`"
        )
    hub = HubStack(
        "hub",
        HubConfig(
            environment=config.environment,
            region=config.hub_region,
            account_id=account_id,
            staging_accounts=config.accounts,
            scheduled_drills=tuple(
                ScheduledDrill(d.application, d.schedule, d.operation)
                for d in config.scheduled_drills
            ),
            scheduled_readiness=tuple(
                ScheduledReadiness(r.schedule, r.application, r.operation)
                for r in config.scheduled_readiness
            ),
            alarm_emails=config.alarm_emails,
            orchestrator_role_arn=config.orchestrator_role_arn,
            log_retention_days=config.log_retention_days,
            layer_dir=config.layer_dir,
        ),
        opts=pulumi.ResourceOptions(providers={"aws": hub_provider}),
    )
    staging = {}
    for account in config.accounts:
        staging[account.name] = StagingAccountStack(
            account.name,
            StagingConfig.from_account(
                account,
                hub_account_id=account_id,
                hub_region=config.hub_region,
                environment=config.environment,
                organization_id=config.organization_id,
            ),
            hub_principals=hub.staging_principals,
            opts=pulumi.ResourceOptions(depends_on=[hub.event_bus]),
        )
    return {
        "environment": config.environment,
        "hubRegion": config.hub_region,
        "hubAccountId": account_id,
        "hub": hub.outputs,
        "stagingAccounts": {
            name: {
                "accountId": stack.config.account.account_id,
                "recoveryRegion": stack.config.account.recovery_region,
                **stack.outputs,
            }
            for name, stack in staging.items()
        },
        "_hub": hub,
        "_staging": staging,
    }


def export(outputs: dict[str, Any]) -> None:
    for key, value in outputs.items():
        if not key.startswith("_"):
            pulumi.export(key, value)
