"""The typed configuration of one drorch deployment (one Pulumi stack).

Read from the stack's Pulumi config plus ``accounts/``; validated before any
resource is declared so that a bad value stops ``pulumi up`` with a clear error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drorch.accounts import StagingAccount, load_accounts
from drorch.errors import InputError

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_ENVIRONMENT = re.compile(r"^[a-z][a-z0-9-]{0,15}$")


@dataclass(frozen=True)
class DeploymentConfig:
    environment: str
    hub_region: str
    accounts: tuple[StagingAccount, ...]


def build_config(values: Mapping[str, Any], base_dir: Path) -> DeploymentConfig:
    """``values`` are the stack's ``drorch:*`` settings (without the namespace)."""
    environment = values.get("environment", "prod")
    if not _ENVIRONMENT.match(environment):
        raise InputError(
            f"drorch:environment {environment!r} must be lowercase letters, digits and '-', "
            "at most 16 characters"
        )
    hub_region = values.get("hubRegion", "us-east-2")
    if not _REGION.match(hub_region):
        raise InputError(f"drorch:hubRegion {hub_region!r} is not an AWS region name")
    accounts = load_accounts(base_dir / values.get("accountsDir", "accounts"))
    wanted = values.get("accounts")
    if wanted is not None:
        by_name = {a.name: a for a in accounts}
        missing = [n for n in wanted if n not in by_name]
        if missing:
            raise InputError(
                f"drorch:accounts names {', '.join(missing)}, which have no file in accounts/"
            )
        accounts = [by_name[n] for n in wanted]
    return DeploymentConfig(environment, hub_region, tuple(accounts))
