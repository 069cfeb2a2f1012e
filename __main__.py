"""The Pulumi program: one stack = one drorch deployment (hub + its staging accounts).

So far the program validates the stack configuration and the staging-account
descriptions and exports the deployment plan; the hub and staging components
are added in stacks/ as they are built.
"""

from pathlib import Path

import pulumi

from stacks.config import build_config

settings = pulumi.Config("drorch")
values = {
    key: value
    for key, value in {
        "environment": settings.get("environment"),
        "hubRegion": settings.get("hubRegion"),
        "accountsDir": settings.get("accountsDir"),
        "accounts": settings.get_object("accounts"),
    }.items()
    if value is not None
}
config = build_config(values, Path(__file__).resolve().parent)

pulumi.export("environment", config.environment)
pulumi.export("hubRegion", config.hub_region)
pulumi.export(
    "stagingAccounts",
    [
        {
            "name": a.name,
            "accountId": a.account_id,
            "recoveryRegion": a.recovery_region,
            "executionRoleArn": a.execution_role_arn,
        }
        for a in config.accounts
    ],
)
