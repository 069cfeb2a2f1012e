"""The Pulumi program: one stack = one drorch deployment (hub + its staging accounts).

Reads the ``drorch:*`` stack settings and ``accounts/``, validates them, and builds
the hub and one staging stack per account (:func:`stacks.program.build`).
"""

from pathlib import Path

import pulumi

from stacks.config import build_config
from stacks.program import build, export

settings = pulumi.Config("drorch")
values = {
    key: value
    for key, value in {
        "environment": settings.get("environment"),
        "hubRegion": settings.get("hubRegion"),
        "hubAccountId": settings.get("hubAccountId"),
        "accountsDir": settings.get("accountsDir"),
        "accounts": settings.get_object("accounts"),
        "scheduledDrills": settings.get_object("scheduledDrills"),
        "scheduledReadiness": settings.get_object("scheduledReadiness"),
        "alarmEmails": settings.get_object("alarmEmails"),
        "orchestratorRoleArn": settings.get("orchestratorRoleArn"),
        "organizationId": settings.get("organizationId"),
        "logRetentionDays": settings.get_int("logRetentionDays"),
        "lambdaLayerDir": settings.get("lambdaLayerDir"),
    }.items()
    if value is not None
}
export(build(build_config(values, Path(__file__).resolve().parent)))
