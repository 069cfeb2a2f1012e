"""What the two RDS modules share (rds-instance and aurora-global import it).

* the drill copy's name and tags: a drill restores a copy named ``drorch-drill-...`` and
  tags it ``drorch:drill-copy-of=<source>``; CLEANUP deletes only clusters and instances
  with both, and the drill guard refuses deleting (or adding to) anything else;
* RDS errors by kind (not found, throttling, access denied);
* the replication lag RDS publishes to CloudWatch, read just before a role change;
* what a running role change waits for on EventBridge (:func:`event_awaits`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from drorch.engine.waiters import rds_key
from drorch.modules.base import (
    AccountContext,
    ResourceResult,
    StatusResult,
    aggregate_status,
    error_code,
    error_message,
    raise_if_fatal,
)
from drorch.modules.resource import fail as fail

COPY_PREFIX = "drorch-drill-"
TAG_MANAGED = "drorch:managed-by"
TAG_COPY_OF = "drorch:drill-copy-of"
TAG_EXECUTION = "drorch:execution"
TAG_KEY = "drorch:idempotency-key"
MANAGED = "drorch"

NOT_FOUND = frozenset(
    {
        "DBClusterNotFoundFault",
        "DBInstanceNotFound",
        "DBInstanceNotFoundFault",
        "GlobalClusterNotFoundFault",
        "DBClusterSnapshotNotFoundFault",
        "DBSnapshotNotFound",
    }
)
# DB instance and cluster statuses from which RDS does not come back by itself
BROKEN = frozenset(
    {
        "failed",
        "inaccessible-encryption-credentials",
        "incompatible-network",
        "incompatible-option-group",
        "incompatible-parameters",
        "incompatible-restore",
        "restore-error",
        "storage-full",
        "cloning-failed",
        "migration-failed",
    }
)
LAG_WINDOW_SECONDS = 600


def is_not_found(error: ClientError) -> bool:
    return error_code(error) in NOT_FOUND


def problem(error: ClientError, ctx: AccountContext, doing: str) -> str:
    """What a failed call says, for a FAILED resource (throttling and access denied are
    re-raised instead)."""
    raise_if_fatal(error, ctx, doing)
    return f"{doing}: {error_code(error)}: {error_message(error)}"


def tags_of(tag_list: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tag_list or []}


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def region_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if arn.startswith("arn:") and len(parts) > 5 and parts[3] else None


def name_of(arn_or_name: str) -> str:
    return arn_or_name.rsplit(":", 1)[-1] if arn_or_name.startswith("arn:") else arn_or_name


_INVALID = re.compile(r"[^a-z0-9-]+")


def rds_name(*parts: str, limit: int = 63) -> str:
    """An RDS identifier from parts: letters, digits, single hyphens, a letter first."""
    text = _INVALID.sub("-", "-".join(parts).lower())
    text = re.sub(r"-{2,}", "-", text).strip("-")
    if not text or not text[0].isalpha():
        text = f"d-{text}"
    return text[:limit].rstrip("-")


def copy_identifier(source: str, key: str) -> str:
    """The drill copy of ``source`` for one execution: stable across retries."""
    digest = hashlib.sha256(f"{key}|{source}".encode()).hexdigest()[:8]
    stem = rds_name(name_of(source), limit=63 - len(COPY_PREFIX) - 9)
    return f"{COPY_PREFIX}{stem}-{digest}"


def is_copy_name(name: Any) -> bool:
    return isinstance(name, str) and name_of(name).lower().startswith(COPY_PREFIX)


def copy_tags(source: str, ctx: AccountContext, key: str) -> list[dict[str, str]]:
    return tag_list(
        {
            TAG_MANAGED: MANAGED,
            TAG_COPY_OF: source,
            TAG_EXECUTION: ctx.execution_id or "unknown",
            TAG_KEY: key[:256],
        }
    )


def is_drill_copy(identifier: str, tags: Mapping[str, str], source: str | None = None) -> bool:
    """Whether drorch made this cluster or instance as a drill copy (of ``source``)."""
    return (
        is_copy_name(identifier)
        and tags.get(TAG_MANAGED) == MANAGED
        and TAG_COPY_OF in tags
        and (source is None or tags[TAG_COPY_OF] == source)
    )


def not_a_copy(field: str) -> Any:
    """A disruptive-call predicate: the call is disruptive unless ``field`` names a drill
    copy (``drorch-drill-...``)."""

    def disruptive(params: Mapping[str, Any]) -> bool:
        return not is_copy_name(params.get(field))

    return disruptive


def moment(ctx: AccountContext) -> datetime | None:
    return datetime.fromtimestamp(ctx.now, UTC) if ctx.now is not None else None


def latest_metric(
    ctx: AccountContext,
    cloudwatch: Any,
    metric: str,
    dimension_sets: Sequence[Sequence[Mapping[str, str]]],
) -> tuple[float, str] | None:
    """The latest one-minute Maximum of an AWS/RDS metric over the last minutes (value, ISO
    time), from the first of ``dimension_sets`` CloudWatch has datapoints for; None when it
    has none (or the engine gave no clock). ``GetMetricStatistics``: IAM authorises it on
    ``*`` only, so the read needs no resource grant."""
    end = moment(ctx)
    if end is None:
        return None
    for dimensions in dimension_sets:
        try:
            answer = cloudwatch.get_metric_statistics(
                Namespace="AWS/RDS",
                MetricName=metric,
                Dimensions=[dict(d) for d in dimensions],
                StartTime=end - timedelta(seconds=LAG_WINDOW_SECONDS),
                EndTime=end,
                Period=60,
                Statistics=["Maximum"],
            )
        except ClientError as error:
            raise_if_fatal(error, ctx, f"reading {metric} from CloudWatch")
            return None
        points = [p for p in answer.get("Datapoints", []) if "Maximum" in p]
        if points:
            latest = max(points, key=lambda p: p["Timestamp"])
            when = latest["Timestamp"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return float(latest["Maximum"]), when
    return None


def elapsed(started: float | None, ctx: AccountContext) -> float | None:
    if started is None or ctx.now is None:
        return None
    return round(ctx.now - started, 1)


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_awaits(arns: Iterable[str], checked_at: float | None) -> list[dict[str, Any]]:
    """The waits on the RDS events that end the work under way on ``arns`` (see
    :data:`drorch.engine.waiters.RDS_ENDINGS`): one event each, after the status check
    at ``checked_at`` (epoch seconds; None: unknown, so the executor polls, since an
    earlier operation's event must not end this wait)."""
    if checked_at is None:
        return []
    moment = datetime.fromtimestamp(checked_at, UTC)
    after = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return [{"key": rds_key(arn), "expect": 1, "after": after} for arn in sorted(set(arns))]


def rds_result(state: dict[str, Any]) -> StatusResult:
    """The items of an RDS module's state (each carries its own status) as a result."""
    resources = []
    for resource_id, item in sorted(state["items"].items()):
        detail = {
            k: v
            for k, v in item.items()
            if k not in ("status", "error", "quiet", "seen") and v is not None
        }
        for key in ("startedAt", "finishedAt"):
            if key in detail:
                detail[key] = iso(detail[key])
        resources.append(
            ResourceResult(
                resource_id,
                state["names"].get(resource_id, resource_id),
                item["status"],
                detail,
                item.get("error"),
            )
        )
    return StatusResult(aggregate_status(r.status for r in resources), resources, state)
