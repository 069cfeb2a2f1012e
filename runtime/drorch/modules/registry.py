"""The one list of modules: a module is added with one line here.

Each entry is a package under ``drorch.modules`` whose ``MODULE`` is the module
instance. Everything else — the Pulumi stacks (IAM), `accounts verify` (probes),
`manifest convert` (aliases), validation (parameter schemas), planning, the CLI's
`modules list/show` and the sandbox (extensions) — reads :data:`REGISTRY`.
"""

from __future__ import annotations

import importlib

from drorch.modules.base import REGISTRY, Module, register

PACKAGES: tuple[str, ...] = (
    "drorch.modules.drs",
    "drorch.modules.ssm_automation",
    "drorch.modules.ssm_command",
    "drorch.modules.lambda_invoke",
    "drorch.modules.wait",
    "drorch.modules.approval",
    "drorch.modules.http_check",
    "drorch.modules.route53_health_check",
    "drorch.modules.arc_routing_control",
    "drorch.modules.route53_record",
    "drorch.modules.cloudwatch_alarm",
    "drorch.modules.aurora_global",
    "drorch.modules.rds_instance",
    "drorch.modules.elasticache_global",
    "drorch.modules.dynamodb_global",
    "drorch.modules.efs_replication",
    "drorch.modules.fsx_restore",
    "drorch.modules.memorydb",
    "drorch.modules.sqlserver_ag",
    "drorch.modules.ecs_service",
    "drorch.modules.auto_scaling",
    "drorch.modules.ec2_instance",
    "drorch.modules.opensearch_domain",
    "drorch.modules.eks_nodegroup",
    "drorch.modules.eventbridge_rule",
    "drorch.modules.lambda_function",
    "drorch.modules.eventbridge_archive",
)


def load() -> dict[str, Module]:
    """Import and register every module package (idempotent)."""
    for package in PACKAGES:
        register(importlib.import_module(package).MODULE)
    return REGISTRY


def by_alias(name: str) -> Module | None:
    """A module by its name or one of its layers-format aliases (case-sensitive first,
    then case-insensitive)."""
    if name in REGISTRY:
        return REGISTRY[name]
    for candidates in (
        lambda m: name in m.aliases,
        lambda m: name.lower() in {a.lower() for a in (m.type, *m.aliases)},
    ):
        for module in REGISTRY.values():
            if candidates(module):
                return module
    return None
