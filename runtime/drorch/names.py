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

# --- the hub's engine (docs/engine-design.md) ---------------------------------
HISTORY_TABLE = f"{PREFIX}-history"
LOCK_TABLE = f"{PREFIX}-locks"
IDEMPOTENCY_TABLE = f"{PREFIX}-idempotency"
FUNCTIONS = {
    "initialise": f"{PREFIX}-initialise",
    "discover": f"{PREFIX}-discover",
    "plan": f"{PREFIX}-plan",
    "gate": f"{PREFIX}-gate",
    "checkpoint": f"{PREFIX}-checkpoint",
    "module_start": f"{PREFIX}-module-start",
    "module_status": f"{PREFIX}-module-status",
    "finalise": f"{PREFIX}-finalise",
    "fail": f"{PREFIX}-fail",
}
STATE_MACHINES = {
    "master": f"{PREFIX}-master",
    "lifecycle": f"{PREFIX}-lifecycle",
    "executor": f"{PREFIX}-executor",
}
EVENT_BUS = f"{PREFIX}-events"
EVENT_SOURCE = PREFIX
NOTIFICATION_TOPIC = f"{PREFIX}-notifications"


def function_arn(account_id: str, region: str, key: str, partition: str = "aws") -> str:
    return f"arn:{partition}:lambda:{region}:{account_id}:function:{FUNCTIONS[key]}"


def state_machine_arn(account_id: str, region: str, key: str, partition: str = "aws") -> str:
    return f"arn:{partition}:states:{region}:{account_id}:stateMachine:{STATE_MACHINES[key]}"
