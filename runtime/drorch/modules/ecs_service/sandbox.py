"""ECS services in the sandbox: tasks start over simulated time.

moto 5.2 sets ``runningCount`` to the new desired count the moment ``UpdateService``
answers. This extension puts the tasks on the sandbox's simulated clock and answers
with moto's own wire shapes (checked against the botocore model by the interceptor):

* ``UpdateService`` with a new ``desiredCount``: the extra tasks are ``pendingCount``
  for :attr:`EcsTimings.task_start_seconds`, then running; fewer tasks stop after
  :attr:`EcsTimings.task_stop_seconds`. The PRIMARY deployment's counts follow, and the
  service posts ``(service <name>) has reached a steady state.`` when they match.
* ``sandbox.faults.fail_ecs_tasks(service, reason=...)``: the tasks that UpdateService
  asks for never start; every :attr:`EcsTimings.task_start_seconds` the attempt fails,
  ``failedTasks`` of the PRIMARY deployment grows by the tasks missing and a service
  event says ``(service <name>) was unable to start <n> task(s): <reason>``.

``CreateService`` is answered by moto: a new service is steady at once (scenario seeds
describe a steady state). Not simulated: task ARNs (``ListTasks``), placement,
load-balancer health checks, deployments of a new task definition, the circuit breaker.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox


@dataclass
class EcsTimings:
    """How long ECS work takes, in simulated seconds."""

    task_start_seconds: float = 90.0  # PROVISIONING -> PENDING -> RUNNING (Fargate)
    task_stop_seconds: float = 30.0  # draining and stopping


TIMINGS = EcsTimings()


@dataclass
class Scaling:
    """One desired-count change of a service."""

    at: datetime
    running: int  # tasks running when it was asked for
    desired: int
    failure: str | None = None
    earlier_events: list[dict[str, Any]] = field(default_factory=list)


_SCALINGS: dict[tuple[str, str, str, str], Scaling] = {}  # (account, region, cluster, service)
_ORIGINAL: dict[str, Callable[..., Any]] = {}


def _now() -> datetime:
    return STATE.clock.now()


def _key(service: Any) -> tuple[str, str, str, str]:
    return (service._account_id, service.region_name, service.cluster_name, service.name)


def _event(service: Any, index: int, at: datetime, message: str) -> dict[str, Any]:
    name = f"{'/'.join(_key(service))}#{index}#{at.isoformat()}"
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, name)), "createdAt": at, "message": message}


def settle(service: Any) -> None:
    """Bring a service's counts, deployment and events to the simulated now."""
    scaling = _SCALINGS.get(_key(service))
    if scaling is None:
        return
    now = _now()
    elapsed = (now - scaling.at).total_seconds()
    desired, start = scaling.desired, TIMINGS.task_start_seconds
    events: list[dict[str, Any]] = []
    failed = 0
    if desired > scaling.running and scaling.failure:
        running, pending = scaling.running, desired - scaling.running
        attempts = int(elapsed // start)
        failed = pending * attempts
        for n in range(1, attempts + 1):
            events.append(
                _event(
                    service,
                    n,
                    scaling.at + timedelta(seconds=n * start),
                    f"(service {service.name}) was unable to start {pending} task(s): "
                    f"{scaling.failure}",
                )
            )
    elif desired >= scaling.running:
        done = elapsed >= start
        running = desired if done else scaling.running
        pending = 0 if done else desired - scaling.running
        if done:
            steady_at = scaling.at + timedelta(seconds=start if desired > scaling.running else 0)
            events.append(
                _event(
                    service, 0, steady_at, f"(service {service.name}) has reached a steady state."
                )
            )
    else:
        done = elapsed >= TIMINGS.task_stop_seconds
        running, pending = (desired if done else scaling.running), 0
        if done:
            steady_at = scaling.at + timedelta(seconds=TIMINGS.task_stop_seconds)
            events.append(
                _event(
                    service, 0, steady_at, f"(service {service.name}) has reached a steady state."
                )
            )
    service.running_count, service.pending_count = running, pending
    for deployment in service.deployments:
        if deployment.get("status") == "PRIMARY":
            deployment.update(
                desiredCount=desired,
                runningCount=running,
                pendingCount=pending,
                failedTasks=failed,
                updatedAt=scaling.at,
            )
    events.sort(key=lambda e: e["createdAt"], reverse=True)
    service.events = events + scaling.earlier_events


def update_service(self: Any, service_properties: dict[str, Any]) -> Any:
    cluster = service_properties.get("cluster", "default")
    name = str(service_properties.get("service", "")).split("/")[-1]
    desired = service_properties.get("desired_count")
    service = self._get_service(cluster, name)
    settle(service)
    running, events = service.running_count, list(service.events)
    updated = _ORIGINAL["update_service"](self, service_properties)
    if desired is not None:
        failure = STATE.faults.compute_fault_for(
            "ecs-tasks", updated._account_id, updated.region_name, (updated.name, updated.arn)
        )
        _SCALINGS[_key(updated)] = Scaling(
            at=_now(),
            running=running,
            desired=int(desired),
            failure=failure.reason if failure is not None else None,
            earlier_events=events,
        )
    settle(updated)
    return updated


def describe_services(self: Any, cluster_str: str, service_names_or_arns: list[str]) -> Any:
    services, failures = _ORIGINAL["describe_services"](self, cluster_str, service_names_or_arns)
    for service in services:
        settle(service)
    return services, failures


def create_service(self: Any, *args: Any, **kwargs: Any) -> Any:
    """moto's CreateService, with the service steady at once (its tasks running)."""
    service = _ORIGINAL["create_service"](self, *args, **kwargs)
    service.running_count, service.pending_count = service.desired_count, 0
    for deployment in service.deployments:
        deployment.update(
            runningCount=service.desired_count,
            pendingCount=0,
            rolloutState="COMPLETED",
            rolloutStateReason=f"ECS deployment {deployment['id']} completed.",
        )
    return service


def install() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend

    for name, method in (
        ("create_service", create_service),
        ("update_service", update_service),
        ("describe_services", describe_services),
    ):
        _ORIGINAL[name] = getattr(EC2ContainerServiceBackend, name)
        setattr(EC2ContainerServiceBackend, name, method)


def _clear() -> None:
    _SCALINGS.clear()


def start(sandbox: Sandbox) -> Callable[[], None]:
    _clear()
    return _clear


EXTENSION = SandboxExtension(
    install=install,
    operations={"ecs": ("CreateService", "UpdateService", "DescribeServices")},
    start=start,
)
