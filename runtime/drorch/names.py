"""The one source of truth for the names of drorch's deployed resources.

The Pulumi stacks create resources with these names, the Lambda handlers find
them by these names, and the sandbox creates its simulated copies with them.
"""

from __future__ import annotations

PREFIX = "drorch"

# IAM roles
ORCHESTRATOR_ROLE = f"{PREFIX}-orchestrator"  # hub: assumed by the Lambdas and state machines
EXECUTION_ROLE = f"{PREFIX}-execution"  # staging: assumed by the hub with an ExternalId
OPERATOR_USER = f"{PREFIX}-operator"  # sandbox only: the human at the CLI

# Resource Explorer
RESOURCE_EXPLORER_VIEW = f"{PREFIX}-discovery"

# DRS / tags
DRS_TEMPLATE_TAG = "drorch:managed"

# Tag taxonomy (SPEC §3, TRS appendix T)
TAG_ENABLED = "dr:enabled"
TAG_WAVE = "dr:wave"
TAG_PRIORITY = "dr:priority"
TAG_STRATEGY = "dr:recovery-strategy"
TAG_RTO = "dr:rto-target"
TAG_RPO = "dr:rpo-target"
TAG_CUSTOMER = "Customer"
TAG_ENVIRONMENT = "Environment"


def role_arn(account_id: str, role_name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def manifest_bucket(account_id: str, region: str) -> str:
    return f"{PREFIX}-manifests-{account_id}-{region}"


def artifacts_bucket(account_id: str, region: str) -> str:
    return f"{PREFIX}-artifacts-{account_id}-{region}"
