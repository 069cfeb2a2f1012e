"""Scenario files: the workload loaded into the sandbox.

A scenario names the hub, the staging accounts it uses (from ``accounts/``),
the DRS source servers replicating into them (listed one by one, or generated
in groups for large estates), the managed-service resources around them
(created in moto through boto3 by :mod:`drorch.sandbox.seeders`: also the SSM
documents, Lambda answers and alarms that wave actions and health checks use)
and what HTTP(S) endpoints answer (``httpEndpoints``).

Loading is all-or-nothing: the whole file is validated before the sandbox is
touched, and every error names the JSON path and what is wrong.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from drorch.accounts import StagingAccount
from drorch.errors import InputError
from drorch.sandbox.core import Hub, Sandbox
from drorch.sandbox.seeders import SeedContext, SeededResource, resource_schema, seed_resource

GiB = 1024**3

_SERVER_PROPERTIES = {
    "os": {"enum": ["LINUX", "WINDOWS"], "default": "LINUX"},
    "osName": {"type": "string"},
    "instanceType": {"type": "string", "pattern": "^[a-z0-9-]+\\.[a-z0-9]+$"},
    "cpus": {"type": "integer", "minimum": 1, "maximum": 448},
    "ramGiB": {"type": "number", "exclusiveMinimum": 0},
    "disks": {
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["device", "sizeGiB"],
            "properties": {
                "device": {"type": "string"},
                "sizeGiB": {"type": "integer", "minimum": 1},
            },
        },
    },
    "replicationState": {
        "enum": [
            "CONTINUOUS",
            "INITIAL_SYNC",
            "BACKLOG",
            "CREATING_SNAPSHOT",
            "STALLED",
            "PAUSED",
            "RESCAN",
            "STOPPED",
            "DISCONNECTED",
            "INITIATING",
        ]
    },
    "tags": {"type": "object", "additionalProperties": {"type": "string"}},
}

_ACCOUNT_REF = {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"}

SCENARIO_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://drorch.dev/schemas/sandbox-scenario.schema.json",
    "title": "drorch sandbox scenario",
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
        "description": {"type": "string"},
        "hub": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "accountId": {"type": "string", "pattern": "^[0-9]{12}$"},
                "region": {"type": "string"},
            },
        },
        "accounts": {"type": "array", "items": _ACCOUNT_REF, "uniqueItems": True},
        "sourceServers": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["account", "hostname", "ip"],
                "properties": {
                    "account": _ACCOUNT_REF,
                    "hostname": {"type": "string", "minLength": 1, "maxLength": 255},
                    "fqdn": {"type": "string"},
                    "ip": {"type": "string", "format": "ipv4"},
                    **_SERVER_PROPERTIES,
                },
            },
        },
        "serverGroups": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["account", "count", "hostname", "ipRange"],
                "properties": {
                    "account": _ACCOUNT_REF,
                    "count": {"type": "integer", "minimum": 1, "maximum": 3000},
                    "hostname": {
                        "type": "string",
                        "description": "Python format string; {n} is the 1-based index",
                    },
                    "ipRange": {"type": "string", "pattern": "^[0-9.]+/[0-9]{1,2}$"},
                    "rotate": {
                        "type": "object",
                        "description": "tag values assigned round-robin across the group",
                        "additionalProperties": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "string"},
                        },
                    },
                    **_SERVER_PROPERTIES,
                },
            },
        },
        "resources": {"type": "array", "items": {"type": "object"}},
        "httpEndpoints": {
            "type": "array",
            "description": "what HTTP(S) URLs answer while the sandbox runs (health checks); "
            "any other host is unreachable",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["url"],
                "properties": {
                    "url": {"type": "string", "pattern": "^https?://[^/?#\\s]+"},
                    "status": {"type": "integer", "minimum": 100, "maximum": 599, "default": 200},
                    "body": {
                        "type": ["string", "object", "array"],
                        "description": "text, or JSON (sent as application/json)",
                    },
                    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                    "failFirst": {
                        "type": "integer",
                        "minimum": 0,
                        "default": 0,
                        "description": "the first N requests fail (with failStatus)",
                    },
                    "failStatus": {
                        "type": ["integer", "null"],
                        "minimum": 100,
                        "maximum": 599,
                        "default": 503,
                        "description": "how the first failFirst requests fail; null: the "
                        "connection is refused",
                    },
                    "latencySeconds": {
                        "type": "number",
                        "minimum": 0,
                        "description": "simulated seconds before it answers",
                    },
                },
            },
        },
    },
}


@dataclass(frozen=True)
class ServerSpec:
    account: str
    hostname: str
    ip: str
    os: str = "LINUX"
    os_name: str = ""
    fqdn: str | None = None
    instance_type: str = "m5.large"
    cpus: int = 2
    ram_gib: float = 8
    disks: tuple[tuple[str, int], ...] = (("/dev/sda1", 50),)
    replication_state: str = "CONTINUOUS"
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Scenario:
    name: str
    description: str
    hub: Hub
    account_names: list[str] | None
    servers: list[ServerSpec]
    resources: list[dict[str, Any]]
    source: str
    http_endpoints: list[dict[str, Any]] = field(default_factory=list)

    def select_accounts(self, available: list[StagingAccount]) -> list[StagingAccount]:
        by_name = {a.name: a for a in available}
        if self.account_names is None:
            return list(available)
        missing = [n for n in self.account_names if n not in by_name]
        if missing:
            raise InputError(
                f"{self.source}: $.accounts names {', '.join(missing)} but accounts/ has only "
                f"{', '.join(sorted(by_name)) or 'none'}",
                hint="add accounts/<name>.yaml or fix the scenario's account names",
            )
        return [by_name[n] for n in self.account_names]


@dataclass
class SeedReport:
    accounts: list[StagingAccount]
    servers: dict[str, list[str]] = field(default_factory=dict)  # account id -> source server ids
    resources: list[SeededResource] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)  # declared HTTP(S) URLs

    @property
    def server_count(self) -> int:
        return sum(len(ids) for ids in self.servers.values())


def _path(error: jsonschema.ValidationError, prefix: str = "$") -> str:
    path = prefix
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _server_fields(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "os": item.get("os", "LINUX"),
        "os_name": item.get("osName", ""),
        "instance_type": item.get("instanceType", "m5.large"),
        "cpus": item.get("cpus", 2),
        "ram_gib": item.get("ramGiB", 8),
        "disks": tuple((d["device"], d["sizeGiB"]) for d in item.get("disks", []))
        or (("/dev/sda1", 50),),
        "replication_state": item.get("replicationState", "CONTINUOUS"),
    }


def _expand_group(group: dict[str, Any], where: str, source: str) -> Iterator[ServerSpec]:
    network = ipaddress.ip_network(group["ipRange"], strict=False)
    hosts = network.hosts()
    for _ in range(9):  # keep .1-.9 for gateways and appliances, as real subnets do
        next(hosts, None)
    for n in range(1, group["count"] + 1):
        ip = next(hosts, None)
        if ip is None:
            raise InputError(
                f"{source}: {where}.ipRange {group['ipRange']} has too few addresses for "
                f"count {group['count']}"
            )
        try:
            hostname = group["hostname"].format(n=n)
        except (KeyError, IndexError, ValueError) as exc:
            raise InputError(
                f"{source}: {where}.hostname {group['hostname']!r} is not a valid pattern "
                f"(use {{n}} or {{n:04d}} for the index): {exc}"
            ) from exc
        tags = dict(group.get("tags", {}))
        for key, values in group.get("rotate", {}).items():
            tags[key] = values[(n - 1) % len(values)]
        yield ServerSpec(
            account=group["account"],
            hostname=hostname,
            ip=str(ip),
            tags=tags,
            **_server_fields(group),
        )


def parse_scenario(data: Any, source: str) -> Scenario:
    validator = jsonschema.Draft202012Validator(
        SCENARIO_SCHEMA, format_checker=jsonschema.FormatChecker()
    )
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        raise InputError(f"{source}: " + "; ".join(f"{_path(e)}: {e.message}" for e in errors))
    resource_validator = jsonschema.Draft202012Validator(
        resource_schema(), format_checker=jsonschema.FormatChecker()
    )
    for index, item in enumerate(data.get("resources", [])):
        found = sorted(resource_validator.iter_errors(item), key=lambda e: list(e.absolute_path))
        if found:
            where = f"$.resources[{index}]"
            raise InputError(
                f"{source}: " + "; ".join(f"{_path(e, where)}: {e.message}" for e in found)
            )

    servers = [
        ServerSpec(
            account=item["account"],
            hostname=item["hostname"],
            ip=item["ip"],
            fqdn=item.get("fqdn"),
            tags=dict(item.get("tags", {})),
            **_server_fields(item),
        )
        for item in data.get("sourceServers", [])
    ]
    for index, group in enumerate(data.get("serverGroups", [])):
        servers.extend(_expand_group(group, f"$.serverGroups[{index}]", source))
    seen: dict[tuple[str, str], int] = {}
    for index, server in enumerate(servers):
        key = (server.account, server.hostname.lower())
        if key in seen:
            raise InputError(
                f"{source}: hostname {server.hostname!r} appears twice in account {server.account}"
            )
        seen[key] = index
    from drorch.modules.http_check.sandbox import normal_url

    urls: set[str] = set()
    for index, endpoint in enumerate(data.get("httpEndpoints", [])):
        url = normal_url(endpoint["url"])
        if url in urls:
            raise InputError(f"{source}: $.httpEndpoints[{index}].url {url} is declared twice")
        urls.add(url)
    hub = data.get("hub", {})
    return Scenario(
        name=data["name"],
        description=data.get("description", ""),
        hub=Hub(
            account_id=hub.get("accountId", Hub().account_id),
            region=hub.get("region", Hub().region),
        ),
        account_names=data.get("accounts"),
        servers=servers,
        resources=list(data.get("resources", [])),
        source=source,
        http_endpoints=list(data.get("httpEndpoints", [])),
    )


def builtin_scenarios() -> dict[str, Path]:
    folder = resources.files("drorch.sandbox").joinpath("scenarios")
    return {
        Path(str(entry)).stem: Path(str(entry))
        for entry in folder.iterdir()
        if str(entry).endswith(".yaml")
    }


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A scenario by built-in name (``three-tier``) or by file path."""
    path = Path(name_or_path)
    if not path.exists():
        builtin = builtin_scenarios()
        if str(name_or_path) not in builtin:
            raise InputError(
                f"scenario {str(name_or_path)!r} not found",
                hint=f"use a file path or one of: {', '.join(sorted(builtin))}",
            )
        path = builtin[str(name_or_path)]
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {exc}") from exc
    return parse_scenario(data, str(path))


_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


def seed(sandbox: Sandbox, scenario: Scenario, accounts: list[StagingAccount]) -> SeedReport:
    """Provision the scenario's accounts and load its servers and resources."""
    from drorch.sandbox.drs.models import drs_backends

    chosen = scenario.select_accounts(accounts)
    by_name = {a.name: a for a in chosen}
    for server in scenario.servers:
        if server.account not in by_name:
            raise InputError(
                f"{scenario.source}: server {server.hostname} is in account {server.account!r}, "
                f"which the scenario does not use ({', '.join(by_name)})"
            )
        if not _HOSTNAME.match(server.hostname):
            raise InputError(f"{scenario.source}: {server.hostname!r} is not a valid hostname")
    for index, item in enumerate(scenario.resources):
        if item["account"] not in by_name:
            raise InputError(
                f"{scenario.source}: $.resources[{index}].account {item['account']!r} is not one of "
                f"the scenario's accounts ({', '.join(by_name)})"
            )

    report = SeedReport(accounts=chosen)
    provisioned = {a.name: sandbox.provision_account(a) for a in chosen}
    for server in scenario.servers:
        account = by_name[server.account]
        backend = drs_backends[account.account_id][account.recovery_region]
        created = backend.add_source_server(
            hostname=server.hostname,
            ip=server.ip,
            os_type=server.os,
            os_name=server.os_name,
            fqdn=server.fqdn,
            cpus=server.cpus,
            ram_bytes=int(server.ram_gib * GiB),
            disks=[{"deviceName": d, "bytes": size * GiB} for d, size in server.disks],
            recommended_instance_type=server.instance_type,
            replication_state=server.replication_state,
            source_region=account.source_region,
            tags=server.tags,
        )
        report.servers.setdefault(account.account_id, []).append(created.source_server_id)
    for index, item in enumerate(scenario.resources):
        account = by_name[item["account"]]
        region = item.get("region", account.recovery_region)
        target = provisioned[account.name]
        in_staging_vpc = region == account.recovery_region and target.vpc_id
        context = SeedContext(
            session=sandbox.admin_session(account.account_id, region),
            account_id=account.account_id,
            region=region,
            vpc_id=target.vpc_id if in_staging_vpc else None,
            subnet_ids=list(target.recovery_subnet_ids) if in_staging_vpc else [],
            security_group_id=target.security_group_id if in_staging_vpc else None,
        )
        report.resources.extend(seed_resource(context, item, where=f"$.resources[{index}]"))
    report.endpoints = declare_endpoints(scenario.http_endpoints)
    return report


def declare_endpoints(endpoints: list[dict[str, Any]]) -> list[str]:
    """Declare what the scenario's HTTP(S) URLs answer in the running sandbox."""
    from drorch.modules.http_check.sandbox import ENDPOINTS

    declared = []
    for item in endpoints:
        endpoint = ENDPOINTS.declare(
            item["url"],
            status=item.get("status", 200),
            body=item.get("body", ""),
            headers=item.get("headers"),
            fail_first=item.get("failFirst", 0),
            fail_status=item.get("failStatus", 503),
            latency=item.get("latencySeconds", 0.0),
        )
        declared.append(endpoint.url)
    return declared
