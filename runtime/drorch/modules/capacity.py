"""The capacity-before record shared by the capacity modules (ECS services, Auto Scaling
groups, EC2 instances, EKS node groups, OpenSearch domains).

A module that changes capacity records the value before its change, so that CLEANUP
can put it back: on the resource as the tags ``drorch:capacity-before`` (the value)
and ``drorch:capacity-execution`` (the execution that wrote it) where the service has
tags, and always in the result's ``detail.before``, which the history keeps and a
later run reads back from :attr:`AccountContext.recorded`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from drorch.modules.base import AccountContext

MARK_BEFORE = "drorch:capacity-before"
MARK_BY = "drorch:capacity-execution"


def tag_map(
    tags: Iterable[Mapping[str, Any]] | None, key: str = "Key", value: str = "Value"
) -> dict[str, str]:
    """An AWS tag list (``[{"Key": ..., "Value": ...}]``, or ``key``/``value``) as a dict."""
    return {t[key]: t.get(value, "") for t in tags or []}


def marks(tags: Mapping[str, str]) -> dict[str, str]:
    """The capacity-before tags among ``tags``."""
    return {k: v for k, v in tags.items() if k in (MARK_BEFORE, MARK_BY)}


def note_marker(item: dict[str, Any], found: Mapping[str, str]) -> None:
    """Keep in ``item`` which execution tagged the value before (when one did)."""
    if found.get(MARK_BY):
        item["recordedBy"] = found[MARK_BY]


def execution_mark(ctx: AccountContext) -> str:
    """The ``drorch:capacity-execution`` value: the execution that recorded the value."""
    return (ctx.execution_id or "unknown")[:256]


def recorded_before(ctx: AccountContext, rid: str) -> Any:
    """What the earlier run recorded as the value before its change (None: nothing)."""
    return (ctx.recorded.get(rid) or {}).get("before")


def restoring_from(ctx: AccountContext, item: dict[str, Any]) -> None:
    """Mark ``item`` as put back to the earlier run's record (CLEANUP)."""
    item["restoring"] = True
    if ctx.recorded_from:
        item["recordedBy"] = ctx.recorded_from


def finish(item: Mapping[str, Any], result: dict[str, Any], restored: Any) -> dict[str, Any]:
    """A settled resource's result: ``restored`` in CLEANUP, else ``before`` (the item's),
    and who recorded it."""
    if item.get("restoring"):
        result["restored"] = restored
    else:
        result["before"] = item["before"]
    if item.get("recordedBy"):
        result["recordedBy"] = item["recordedBy"]
    return result


def carry_before(item: Mapping[str, Any], detail: dict[str, Any]) -> dict[str, Any]:
    """A still-running result's detail keeps the value before the change (not in CLEANUP)."""
    if "before" in item and "before" not in detail and not item.get("restoring"):
        detail["before"] = item["before"]
    return detail


def carry(item: Mapping[str, Any], detail: dict[str, Any], *keys: str) -> dict[str, Any]:
    """``detail`` with the item's ``keys`` it does not already have."""
    for key in keys:
        if key in item and key not in detail:
            detail[key] = item[key]
    return detail
