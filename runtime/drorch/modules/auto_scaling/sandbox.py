"""EC2 Auto Scaling in the sandbox: instances launch over simulated time.

moto 5.2 puts a new instance of a group ``InService`` the moment the group's desired
capacity grows, and records no scaling activities. This extension, for the launches
that ``UpdateAutoScalingGroup`` and ``SetDesiredCapacity`` cause, answers with moto's
own wire shapes (checked against the botocore model by the interceptor):

* a new instance is ``Pending`` for :attr:`AsgTimings.launch_seconds`, then
  ``InService`` (``Healthy``); its scaling activity (``Launching a new EC2 instance:
  i-...``) is ``InProgress``, then ``Successful``;
* ``sandbox.faults.fail_asg_launches(group, reason=..., times=...)``: a launch attempt
  fails — no instance, a ``Failed`` activity whose ``StatusMessage`` is ``reason`` — and
  the group tries again every :attr:`AsgTimings.retry_seconds` while it is short;
* ``DescribeScalingActivities`` answers the group's activities, newest first.

Groups created by ``CreateAutoScalingGroup`` (the seeders) are in service at once: a
scenario describes a steady state. Not simulated: lifecycle hooks, warm pools, ELB health
checks, instance refresh, the time terminations take (moto terminates at once).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from moto.core.responses import ActionResult

from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox


@dataclass
class AsgTimings:
    """How long Auto Scaling work takes, in simulated seconds."""

    launch_seconds: float = 120.0  # Pending -> InService (boot and EC2 health check)
    retry_seconds: float = 60.0  # a group short of instances tries to launch again


TIMINGS = AsgTimings()


@dataclass
class Activity:
    id: str
    group: str
    arn: str
    description: str
    cause: str
    start: datetime
    end: datetime
    failed: str | None = None  # the StatusMessage of a failed launch

    def shape(self, now: datetime) -> dict[str, Any]:
        done = now >= self.end
        body: dict[str, Any] = {
            "ActivityId": self.id,
            "AutoScalingGroupName": self.group,
            "AutoScalingGroupARN": self.arn,
            "Description": self.description,
            "Cause": self.cause,
            "StartTime": self.start,
            "StatusCode": "Failed" if self.failed else ("Successful" if done else "InProgress"),
            "Progress": 100 if done else 50,
            "Details": "{}",
        }
        if done:
            body["EndTime"] = self.end
        if self.failed:
            body["StatusMessage"] = self.failed
        return body


@dataclass
class GroupState:
    activities: list[Activity] = field(default_factory=list)
    retry_at: datetime | None = None


_LOCK = threading.RLock()
_GROUPS: dict[tuple[str, str, str], GroupState] = {}  # (account, region, group)
_READY: dict[str, datetime] = {}  # instance id -> InService from
_ATTEMPT: dict[str, Any] = {}  # the launch being simulated: {"at": datetime, "cause": str}
_ORIGINAL: dict[str, Callable[..., Any]] = {}


def _now() -> datetime:
    return STATE.clock.now()


def _state(group: Any) -> GroupState:
    key = (group.account_id, group.region, group.name)
    return _GROUPS.setdefault(key, GroupState())


def _activity_id(group: Any, at: datetime, n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{group.arn}#{at.isoformat()}#{n}"))


def replace_instances(self: Any, count_needed: int, propagated_tags: dict[str, str]) -> None:
    """moto's launch of ``count_needed`` instances, simulated when a resize asked for it."""
    attempt = _ATTEMPT.get("at")
    if attempt is None:  # CreateAutoScalingGroup and moto's own paths: in service at once
        _ORIGINAL["replace"](self, count_needed, propagated_tags)
        return
    state = _state(self)
    cause = _ATTEMPT.get("cause", "")
    fault = STATE.faults.compute_fault_for("asg-launch", self.account_id, self.region, (self.name,))
    if fault is not None:
        n = len(state.activities)
        state.activities.append(
            Activity(
                _activity_id(self, attempt, n),
                self.name,
                self.arn,
                f"Launching a new EC2 instance.  Status Reason: {fault.reason}",
                cause,
                attempt,
                attempt,
                failed=fault.reason,
            )
        )
        state.retry_at = attempt + timedelta(seconds=TIMINGS.retry_seconds)
        return
    known = {s.instance.id for s in self.instance_states}
    _ORIGINAL["replace"](self, count_needed, propagated_tags)
    ready = attempt + timedelta(seconds=TIMINGS.launch_seconds)
    for instance_state in self.instance_states:
        if instance_state.instance.id in known:
            continue
        instance_state.lifecycle_state = "Pending"
        _READY[instance_state.instance.id] = ready
        n = len(state.activities)
        state.activities.append(
            Activity(
                _activity_id(self, attempt, n),
                self.name,
                self.arn,
                f"Launching a new EC2 instance: {instance_state.instance.id}",
                cause,
                attempt,
                ready,
            )
        )
    state.retry_at = None


def _resize(group: Any, at: datetime, cause: str) -> None:
    _ATTEMPT.update(at=at, cause=cause)
    try:
        group.set_desired_capacity(group.desired_capacity)
    finally:
        _ATTEMPT.clear()


def settle(backend: Any) -> None:
    """Bring the backend's groups to the simulated now: due launch retries made (each at
    the time it falls due), then due instances in service."""
    now = _now()
    with _LOCK:
        for group in list(backend.autoscaling_groups.values()):
            state = _GROUPS.get((group.account_id, group.region, group.name))
            while (
                state is not None
                and state.retry_at is not None
                and state.retry_at <= now
                and len(group.instance_states) < (group.desired_capacity or 0)
            ):
                at = state.retry_at
                state.retry_at = None
                _resize(
                    group,
                    at,
                    f"At {at:%Y-%m-%dT%H:%M:%SZ} an instance was started in response to a "
                    "difference between desired and actual capacity.",
                )
            for instance_state in group.instance_states:
                ready = _READY.get(instance_state.instance.id)
                if (
                    ready is not None
                    and instance_state.lifecycle_state == "Pending"
                    and now >= ready
                ):
                    instance_state.lifecycle_state = "InService"


def _resizing(name: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            settle(self)
            at = _now()
            _ATTEMPT.update(
                at=at,
                cause=f"At {at:%Y-%m-%dT%H:%M:%SZ} a user request changed the capacity of the "
                "group.",
            )
            try:
                return _ORIGINAL[name](self, *args, **kwargs)
            finally:
                _ATTEMPT.clear()

    return method


def _settling(name: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        settle(self)
        return _ORIGINAL[name](self, *args, **kwargs)

    return method


def describe_scaling_activities(self: Any) -> ActionResult:
    backend = self.autoscaling_backend
    settle(backend)
    name = self._get_param("AutoScalingGroupName")
    limit = int(self._get_param("MaxRecords") or 100)
    now = _now()
    with _LOCK:
        found = [
            activity
            for (account, region, group), state in _GROUPS.items()
            if account == self.current_account and region == self.region
            and name in (None, group)
            for activity in state.activities
        ]  # fmt: skip
    found.sort(key=lambda a: a.start, reverse=True)
    return ActionResult({"Activities": [a.shape(now) for a in found[:limit]]})


def install() -> None:
    from moto.autoscaling.models import AutoScalingBackend, FakeAutoScalingGroup
    from moto.autoscaling.responses import AutoScalingResponse

    _ORIGINAL["replace"] = FakeAutoScalingGroup.replace_autoscaling_group_instances
    FakeAutoScalingGroup.replace_autoscaling_group_instances = replace_instances  # type: ignore[method-assign]
    for name in ("update_auto_scaling_group", "set_desired_capacity"):
        _ORIGINAL[name] = getattr(AutoScalingBackend, name)
        setattr(AutoScalingBackend, name, _resizing(name))
    for name in ("describe_auto_scaling_groups", "describe_auto_scaling_instances"):
        _ORIGINAL[name] = getattr(AutoScalingBackend, name)
        setattr(AutoScalingBackend, name, _settling(name))
    AutoScalingResponse.describe_scaling_activities = describe_scaling_activities  # type: ignore[method-assign]


def _clear() -> None:
    with _LOCK:
        _GROUPS.clear()
        _READY.clear()
        _ATTEMPT.clear()


def start(sandbox: Sandbox) -> Callable[[], None]:
    _clear()
    return _clear


EXTENSION = SandboxExtension(
    install=install,
    operations={
        "autoscaling": (
            "DescribeAutoScalingGroups",
            "DescribeAutoScalingInstances",
            "DescribeScalingActivities",
        )
    },
    start=start,
)
