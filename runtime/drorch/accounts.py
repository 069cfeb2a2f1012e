"""Staging accounts: ``accounts/<name>.yaml`` loaded, validated and typed.

Used by the Pulumi program (one staging stack per account), by the CLI
(``accounts list|verify``) and by the sandbox (which simulates them).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from drorch import names
from drorch.errors import InputError


@dataclass(frozen=True)
class Subnet:
    cidr: str
    availability_zone: str | None = None
    purpose: str = "recovery"


DEFAULT_MODULES: tuple[str, ...] = ("drs",)


@dataclass(frozen=True)
class StagingAccount:
    name: str
    account_id: str
    recovery_region: str
    external_id: str
    source_region: str = "us-east-1"
    environment: str = "production"
    description: str = ""
    execution_role_name: str = names.EXECUTION_ROLE
    bootstrap_role_arn: str | None = None
    organization_id: str | None = None
    modules: tuple[str, ...] = DEFAULT_MODULES
    capacity: int | None = None
    vpc_cidr: str | None = None
    subnets: tuple[Subnet, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def execution_role_arn(self) -> str:
        return names.role_arn(self.account_id, self.execution_role_name)


def _schema() -> dict[str, Any]:
    text = resources.files("drorch.schemas").joinpath("account.schema.json").read_text()
    return json.loads(text)


def _json_path(error: jsonschema.ValidationError) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def parse_account(data: Any, source: str) -> StagingAccount:
    """Validate one account document; ``source`` names it in error messages."""
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        details = "; ".join(f"{_json_path(e)}: {e.message}" for e in errors)
        raise InputError(f"{source}: invalid account description: {details}")
    network = data.get("network") or {}
    subnets = tuple(
        Subnet(s["cidr"], s.get("availabilityZone"), s.get("purpose", "recovery"))
        for s in network.get("subnets", [])
    )
    vpc_cidr = network.get("vpcCidr")
    if vpc_cidr:
        try:
            vpc = ipaddress.ip_network(vpc_cidr)
            for index, subnet in enumerate(subnets):
                if not ipaddress.ip_network(subnet.cidr).subnet_of(vpc):
                    raise InputError(
                        f"{source}: $.network.subnets[{index}].cidr {subnet.cidr} "
                        f"is not inside the VPC {vpc_cidr}"
                    )
        except ValueError as exc:
            raise InputError(f"{source}: $.network: {exc}") from exc
    return StagingAccount(
        name=data["name"],
        account_id=data["accountId"],
        recovery_region=data["recoveryRegion"],
        external_id=data["externalId"],
        source_region=data.get("sourceRegion", "us-east-1"),
        environment=data.get("environment", "production"),
        description=data.get("description", ""),
        execution_role_name=data.get("executionRoleName", names.EXECUTION_ROLE),
        bootstrap_role_arn=data.get("bootstrapRoleArn"),
        organization_id=data.get("organizationId"),
        modules=tuple(data.get("modules", DEFAULT_MODULES)),
        capacity=data.get("capacity"),
        vpc_cidr=vpc_cidr,
        subnets=subnets,
        tags=dict(data.get("tags", {})),
    )


def load_account(path: Path) -> StagingAccount:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {exc}") from exc
    account = parse_account(data, str(path))
    if account.name != path.stem:
        raise InputError(
            f"{path}: $.name is {account.name!r} but the file is named {path.name}; "
            f"rename one so they match"
        )
    return account


def load_accounts(directory: Path) -> list[StagingAccount]:
    """Every ``*.yaml`` directly in ``directory`` (layered DRS config lives in subfolders)."""
    if not directory.is_dir():
        raise InputError(f"{directory}: accounts directory not found")
    accounts = [load_account(p) for p in sorted(directory.glob("*.yaml"))]
    seen: dict[str, str] = {}
    for account in accounts:
        if account.account_id in seen:
            raise InputError(
                f"{directory}: account {account.account_id} is described twice "
                f"({seen[account.account_id]} and {account.name})"
            )
        seen[account.account_id] = account.name
    return accounts
