"""The one source of truth for the names of drorch's deployed resources.

The Pulumi stacks create resources with these names, the Lambda handlers find
them by these names, and the sandbox creates its simulated copies with them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

PREFIX = "drorch"

# Step Functions execution names: at most 80 characters of [A-Za-z0-9_-]. A child's name
# is its execution id and an MD5 of what makes it unique (32 hex characters), so the id
# may have at most 80 - 1 - 32 characters.
EXECUTION_NAME_MAX = 80
EXECUTION_NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
EXECUTION_ID_MAX = EXECUTION_NAME_MAX - 1 - 32


def child_execution_name(execution_id: str, *parts: str) -> str:
    """What the master and the lifecycle name a child execution (the ASL computes the same
    with ``States.Hash``): stable for a retried start, within the limits whatever the parts."""
    digest = hashlib.md5("-".join((execution_id, *parts)).encode()).hexdigest()  # noqa: S324
    return f"{execution_id}-{digest}"


def execution_id_problem(execution_id: str) -> str | None:
    """Why ``execution_id`` cannot name executions (None when it can)."""
    if not execution_id or len(execution_id) > EXECUTION_ID_MAX:
        return f"must have 1 to {EXECUTION_ID_MAX} characters (has {len(execution_id)})"
    bad = sorted(set(execution_id) - set(EXECUTION_NAME_CHARS))
    if bad:
        return f"has characters Step Functions does not allow in names: {''.join(bad)!r}"
    return None


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
TAG_IMPACT = "dr:impact"  # critical (default) | optional: its failure does not fail its wave
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
    "readiness": f"{PREFIX}-readiness",  # the first check of an execution; also scheduled
    "gate": f"{PREFIX}-gate",
    "checkpoint": f"{PREFIX}-checkpoint",
    "module_start": f"{PREFIX}-module-start",
    "module_status": f"{PREFIX}-module-status",
    "finalise": f"{PREFIX}-finalise",
    "fail": f"{PREFIX}-fail",
    "reconcile": f"{PREFIX}-reconcile",  # on the master's status changes (EventBridge)
    "waiter": f"{PREFIX}-waiter",  # event-driven completion (executor tokens, DRS events)
}
STATE_MACHINES = {
    "master": f"{PREFIX}-master",
    "lifecycle": f"{PREFIX}-lifecycle",
    "executor": f"{PREFIX}-executor",
}
# scheduled readiness: Blockers and Warnings per application (dimension Application)
READINESS_NAMESPACE = f"{PREFIX}/Readiness"
READINESS_ALL = "ALL"  # the Application dimension of the sum over every application
EVENT_BUS = f"{PREFIX}-events"
# the forwarded service events that end executors' waits, queued for drorch-waiter in batches
COMPLETION_QUEUE = f"{PREFIX}-completion-events"
COMPLETION_DEAD_LETTERS = f"{PREFIX}-completion-events-dead-letters"
EVENT_SOURCE = PREFIX
NOTIFICATION_TOPIC = f"{PREFIX}-notifications"


def function_arn(account_id: str, region: str, key: str, partition: str = "aws") -> str:
    return f"arn:{partition}:lambda:{region}:{account_id}:function:{FUNCTIONS[key]}"


def state_machine_arn(account_id: str, region: str, key: str, partition: str = "aws") -> str:
    return f"arn:{partition}:states:{region}:{account_id}:stateMachine:{STATE_MACHINES[key]}"


# --- what a deployed handler is told through its environment ------------------
@dataclass(frozen=True)
class EnvConfig:
    """The names a Lambda handler works with (``DRORCH_*`` variables, names above as defaults).

    The buckets and the topic ARN contain the hub's account id and region; they
    are ``None`` when the variable is unset, and the engine fills them in from
    the caller's identity (``drorch.engine.aws.resolve_config``).
    """

    history_table: str = HISTORY_TABLE
    lock_table: str = LOCK_TABLE
    idempotency_table: str = IDEMPOTENCY_TABLE
    event_bus: str = EVENT_BUS
    artifacts_bucket: str | None = None
    manifest_bucket: str | None = None
    topic_arn: str | None = None
    # staging accounts: {accountId, recoveryRegion, sourceRegion, executionRoleArn, externalId, name}
    accounts: tuple[dict[str, str], ...] = ()


def env_config(environ: Mapping[str, str] | None = None) -> EnvConfig:
    """Read the ``DRORCH_*`` environment variables (``os.environ`` by default)."""
    env = os.environ if environ is None else environ
    raw_accounts = env.get("DRORCH_ACCOUNTS") or "[]"
    try:
        accounts = json.loads(raw_accounts)
    except json.JSONDecodeError as exc:
        raise ValueError(f"DRORCH_ACCOUNTS is not valid JSON: {exc}") from exc
    if not isinstance(accounts, list) or not all(isinstance(a, dict) for a in accounts):
        raise ValueError("DRORCH_ACCOUNTS must be a JSON list of objects")
    return EnvConfig(
        history_table=env.get("DRORCH_HISTORY_TABLE") or HISTORY_TABLE,
        lock_table=env.get("DRORCH_LOCK_TABLE") or LOCK_TABLE,
        idempotency_table=env.get("DRORCH_IDEMPOTENCY_TABLE") or IDEMPOTENCY_TABLE,
        event_bus=env.get("DRORCH_EVENT_BUS") or EVENT_BUS,
        artifacts_bucket=env.get("DRORCH_ARTIFACTS_BUCKET") or None,
        manifest_bucket=env.get("DRORCH_MANIFEST_BUCKET") or None,
        topic_arn=env.get("DRORCH_TOPIC_ARN") or None,
        accounts=tuple(accounts),
    )


def topic_arn(account_id: str, region: str, partition: str = "aws") -> str:
    return f"arn:{partition}:sns:{region}:{account_id}:{NOTIFICATION_TOPIC}"


# Where a step that runs from the hub itself (an HTTP health check) is planned, in place
# of a staging account id.
HUB_TARGET = "hub"


# --- the S3 layout: manifests in the manifest bucket, everything an execution writes in
# the artifacts bucket under its own prefix (only keys travel between the states) ---------
MANIFEST_PREFIX = "manifests/"
ARTIFACTS_PREFIX = "executions/"


def manifest_key(application: str) -> str:
    """The manifest of an application (versioned: an execution pins the version it ran)."""
    return f"{MANIFEST_PREFIX}{application}.json"


def plan_key(execution_id: str, revision: int | None = None) -> str:
    """The execution's plan; with a revision, the plan as a plan edit left it (the engine
    reads the revision its history names; ``plan.json`` is a copy of the newest)."""
    if revision:
        return f"{ARTIFACTS_PREFIX}{execution_id}/plan.r{int(revision)}.json"
    return f"{ARTIFACTS_PREFIX}{execution_id}/plan.json"


def edited_manifest_key(execution_id: str, revision: int) -> str:
    """The manifest as a plan edit of a running execution left it."""
    return f"{ARTIFACTS_PREFIX}{execution_id}/manifest.r{int(revision)}.json"


def group_key(execution_id: str, group_id: str) -> str:
    """One module group's discovered resources."""
    return f"{ARTIFACTS_PREFIX}{execution_id}/groups/{group_id}.json"


def group_head_key(execution_id: str, group_id: str) -> str:
    """A module group's file without its resources (their counts per account instead)."""
    return f"{ARTIFACTS_PREFIX}{execution_id}/groups/{group_id}.head.json"


def group_part_key(execution_id: str, group_id: str, account_id: str) -> str:
    """What one account's discovery found for one module group (merged by the plan step)."""
    return f"{ARTIFACTS_PREFIX}{execution_id}/groups/{group_id}/{account_id}.json"


def state_key(execution_id: str, group_id: str, account_id: str, phase: str) -> str:
    """A module's state between its start and its status calls, in one account and phase."""
    return f"{ARTIFACTS_PREFIX}{execution_id}/state/{group_id}/{account_id}/{phase}.json"


def report_key(execution_id: str, extension: str) -> str:
    return f"{ARTIFACTS_PREFIX}{execution_id}/report.{extension}"
