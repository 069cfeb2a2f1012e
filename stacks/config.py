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
_ACCOUNT = re.compile(r"^\d{12}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
_ORGANIZATION = re.compile(r"^o-[a-z0-9]{10,32}$")
_APPLICATION = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
OPERATIONS = ("drill", "failover", "failback", "cleanup")
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827)
DEFAULT_LAYER_DIR = "build/lambda-layer"


@dataclass(frozen=True)
class Drill:
    """A scheduled execution: ``drorch:scheduledDrills[]``."""

    application: str
    schedule: str
    operation: str = "drill"


@dataclass(frozen=True)
class ReadinessCheck:
    """A scheduled readiness evaluation: ``drorch:scheduledReadiness[]`` (no application:
    every application with a manifest)."""

    schedule: str
    application: str | None = None
    operation: str = "failover"


@dataclass(frozen=True)
class DeploymentConfig:
    environment: str
    hub_region: str
    accounts: tuple[StagingAccount, ...]
    hub_account_id: str | None = None  # None: the deploying credentials' account
    scheduled_drills: tuple[Drill, ...] = ()
    alarm_emails: tuple[str, ...] = ()
    orchestrator_role_arn: str | None = None
    organization_id: str | None = None
    scheduled_readiness: tuple[ReadinessCheck, ...] = ()
    log_retention_days: int = 90
    layer_dir: Path | None = None


def _drills(raw: Any) -> tuple[Drill, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError(
            "drorch:scheduledDrills must be a list of {application, schedule, operation}"
        )
    drills = []
    for index, item in enumerate(raw):
        where = f"drorch:scheduledDrills[{index}]"
        if not isinstance(item, Mapping):
            raise InputError(f"{where} must be an object with application and schedule")
        application, schedule = item.get("application"), item.get("schedule")
        operation = item.get("operation", "drill")
        if not isinstance(application, str) or not _APPLICATION.match(application):
            raise InputError(f"{where}.application {application!r} is not an application name")
        if not isinstance(schedule, str) or not schedule.startswith(("cron(", "rate(")):
            raise InputError(
                f"{where}.schedule {schedule!r} must be an EventBridge cron(...) or rate(...)"
            )
        if operation not in OPERATIONS:
            raise InputError(
                f"{where}.operation {operation!r} must be one of {', '.join(OPERATIONS)}"
            )
        drills.append(Drill(application, schedule, operation))
    return tuple(drills)


def _readiness(raw: Any) -> tuple[ReadinessCheck, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InputError(
            "drorch:scheduledReadiness must be a list of {schedule, application, operation}"
        )
    checks = []
    for index, item in enumerate(raw):
        where = f"drorch:scheduledReadiness[{index}]"
        if not isinstance(item, Mapping):
            raise InputError(f"{where} must be an object with a schedule")
        application, schedule = item.get("application"), item.get("schedule")
        operation = item.get("operation", "failover")
        if application is not None and (
            not isinstance(application, str) or not _APPLICATION.match(application)
        ):
            raise InputError(f"{where}.application {application!r} is not an application name")
        if not isinstance(schedule, str) or not schedule.startswith(("cron(", "rate(")):
            raise InputError(
                f"{where}.schedule {schedule!r} must be an EventBridge cron(...) or rate(...)"
            )
        if operation not in OPERATIONS:
            raise InputError(
                f"{where}.operation {operation!r} must be one of {', '.join(OPERATIONS)}"
            )
        checks.append(ReadinessCheck(schedule, application, operation))
    names = [c.application for c in checks]
    if len(set(names)) != len(names):
        raise InputError("drorch:scheduledReadiness names an application (or all) twice")
    return tuple(checks)


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

    hub_account_id = values.get("hubAccountId")
    if hub_account_id is not None and not _ACCOUNT.match(str(hub_account_id)):
        raise InputError(f"drorch:hubAccountId {hub_account_id!r} must be 12 digits")
    role = values.get("orchestratorRoleArn")
    if role is not None and not _ROLE_ARN.match(role):
        raise InputError(f"drorch:orchestratorRoleArn {role!r} is not an IAM role ARN")
    organization = values.get("organizationId")
    if organization is not None and not _ORGANIZATION.match(organization):
        raise InputError(
            f"drorch:organizationId {organization!r} is not an organisation id (o-...)"
        )
    emails = values.get("alarmEmails") or []
    if isinstance(emails, str):
        emails = [emails]
    bad = [e for e in emails if not _EMAIL.match(str(e))]
    if bad:
        raise InputError(f"drorch:alarmEmails: {', '.join(map(str, bad))} is not an email address")
    retention = int(values.get("logRetentionDays", 90))
    if retention not in LOG_RETENTION_DAYS:
        raise InputError(
            f"drorch:logRetentionDays {retention} is not a CloudWatch Logs retention; "
            f"use one of {', '.join(map(str, LOG_RETENTION_DAYS))}"
        )
    layer_value = values.get("lambdaLayerDir")
    layer_dir: Path | None
    if layer_value is None:  # the default: used when `make lambda-layer` has built it
        layer_dir = base_dir / DEFAULT_LAYER_DIR
        layer_dir = layer_dir if layer_dir.is_dir() else None
    elif layer_value == "":
        layer_dir = None
    else:
        layer_dir = base_dir / layer_value
        if not layer_dir.is_dir():
            raise InputError(
                f"drorch:lambdaLayerDir {layer_value!r}: folder not found; build it with "
                "`make lambda-layer`"
            )
    return DeploymentConfig(
        environment,
        hub_region,
        tuple(accounts),
        hub_account_id=str(hub_account_id) if hub_account_id is not None else None,
        scheduled_drills=_drills(values.get("scheduledDrills")),
        scheduled_readiness=_readiness(values.get("scheduledReadiness")),
        alarm_emails=tuple(str(e) for e in emails),
        orchestrator_role_arn=role,
        organization_id=organization,
        log_retention_days=retention,
        layer_dir=layer_dir,
    )
