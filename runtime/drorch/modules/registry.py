"""The one list of modules: a module is added with one line here.

Each entry is a module type and the package under ``drorch.modules`` whose ``MODULE``
is the module instance. Everything else — the Pulumi stacks (IAM), `accounts verify`
(probes), `manifest convert` (aliases), validation (parameter schemas), planning, the
CLI's `modules list/show` and the sandbox (extensions) — reads :data:`REGISTRY`. A
package is imported the first time its module is asked for by name
(``REGISTRY["drs"]``), so a Lambda handler loads only the modules it uses; iterating
the registry imports them all.
"""

from __future__ import annotations

from collections.abc import Mapping

from drorch.modules.base import REGISTRY, Module

# module type -> its package (whose ``MODULE`` is the module); imported on first use
MODULES: dict[str, str] = {
    "drs": "drorch.modules.drs",
    "ssm-automation": "drorch.modules.ssm_automation",
    "ssm-command": "drorch.modules.ssm_command",
    "lambda-invoke": "drorch.modules.lambda_invoke",
    "wait": "drorch.modules.wait",
    "approval": "drorch.modules.approval",
    "http-check": "drorch.modules.http_check",
    "route53-health-check": "drorch.modules.route53_health_check",
    "arc-routing-control": "drorch.modules.arc_routing_control",
    "route53-record": "drorch.modules.route53_record",
    "cloudwatch-alarm": "drorch.modules.cloudwatch_alarm",
    "aurora-global": "drorch.modules.aurora_global",
    "rds-instance": "drorch.modules.rds_instance",
    "elasticache-global": "drorch.modules.elasticache_global",
    "dynamodb-global": "drorch.modules.dynamodb_global",
    "efs-replication": "drorch.modules.efs_replication",
    "fsx": "drorch.modules.fsx_restore",
    "memorydb": "drorch.modules.memorydb",
    "sqlserver-ag": "drorch.modules.sqlserver_ag",
    "ecs-service": "drorch.modules.ecs_service",
    "auto-scaling": "drorch.modules.auto_scaling",
    "ec2-instance": "drorch.modules.ec2_instance",
    "opensearch-domain": "drorch.modules.opensearch_domain",
    "eks-nodegroup": "drorch.modules.eks_nodegroup",
    "eventbridge-rule": "drorch.modules.eventbridge_rule",
    "lambda-function": "drorch.modules.lambda_function",
    "eventbridge-archive": "drorch.modules.eventbridge_archive",
}
PACKAGES: tuple[str, ...] = tuple(MODULES.values())


def declare() -> None:
    """Declare every built-in module in :data:`REGISTRY` (imports none of them)."""
    for name, package in MODULES.items():
        if REGISTRY.loaded(name) is None:
            REGISTRY.declare(name, package)


def load() -> Mapping[str, Module]:
    """Import and register every module package (idempotent)."""
    declare()
    REGISTRY.load_all()
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
