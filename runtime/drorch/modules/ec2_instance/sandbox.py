"""EC2 status checks in the sandbox: they run after a start, over simulated time.

moto 5.2 answers ``DescribeInstanceStatus`` with both checks ``ok`` the moment an
instance runs. For instances started by ``StartInstances``, this extension answers with
moto's own wire shape (checked against the botocore model by the interceptor):

* the instance and system status checks are ``initializing`` (reachability
  ``initializing``) for :attr:`Ec2Timings.status_check_seconds` after the start, then
  ``ok`` (reachability ``passed``);
* ``sandbox.faults.impair_ec2_status(instance, check="instance"|"system")``: once the
  checks have run, that check is ``impaired`` (reachability ``failed``, with
  ``ImpairedSince``).

Instances launched by ``RunInstances`` (the seeders, DRS, Auto Scaling) keep moto's
answer: ok at once. Not simulated: the ``pending`` and ``stopping`` states (moto changes
the state at once), scheduled events, EBS status checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from drorch.sandbox.extensions import SandboxExtension
from drorch.sandbox.state import STATE

if TYPE_CHECKING:
    from drorch.sandbox.core import Sandbox


@dataclass
class Ec2Timings:
    """How long EC2 work takes, in simulated seconds."""

    status_check_seconds: float = 150.0  # both checks initializing after a start


TIMINGS = Ec2Timings()

_STARTED: dict[tuple[str, str, str], datetime] = {}  # (account, region, instance) -> started
_ORIGINAL: dict[str, Any] = {}


def _now() -> datetime:
    return STATE.clock.now()


def _key(instance: Any) -> tuple[str, str, str]:
    backend = instance.ec2_backend
    return (backend.account_id, backend.region_name, instance.id)


def _check(instance: Any, which: str) -> dict[str, Any]:
    answer = _ORIGINAL[which].fget(instance)
    started = _STARTED.get(_key(instance))
    if started is None or instance.state_code != 16:
        return answer
    ready = started + timedelta(seconds=TIMINGS.status_check_seconds)
    if _now() < ready:
        return {
            "Status": "initializing",
            "Details": [{"Name": "reachability", "Status": "initializing"}],
        }
    account, region, instance_id = _key(instance)
    fault = STATE.faults.compute_fault_for("ec2-status", account, region, (instance_id,), False)
    if fault is not None and fault.check == which.removesuffix("_status"):
        return {
            "Status": "impaired",
            "Details": [{"Name": "reachability", "Status": "failed", "ImpairedSince": ready}],
        }
    return answer


def instance_status(self: Any) -> dict[str, Any]:
    return _check(self, "instance_status")


def system_status(self: Any) -> dict[str, Any]:
    return _check(self, "system_status")


def start_instance(self: Any) -> Any:
    previous = _ORIGINAL["start"](self)
    if previous.name != "running":
        _STARTED[_key(self)] = _now()
    return previous


def stop_instance(self: Any) -> Any:
    _STARTED.pop(_key(self), None)
    return _ORIGINAL["stop"](self)


def install() -> None:
    from moto.ec2.models.instances import Instance

    _ORIGINAL["instance_status"] = Instance.instance_status
    _ORIGINAL["system_status"] = Instance.system_status
    _ORIGINAL["start"] = Instance.start
    _ORIGINAL["stop"] = Instance.stop
    Instance.instance_status = property(instance_status)  # type: ignore[method-assign,assignment]
    Instance.system_status = property(system_status)  # type: ignore[method-assign,assignment]
    Instance.start = start_instance  # type: ignore[method-assign]
    Instance.stop = stop_instance  # type: ignore[method-assign]


def _clear() -> None:
    _STARTED.clear()


def start(sandbox: Sandbox) -> Callable[[], None]:
    _clear()
    return _clear


EXTENSION = SandboxExtension(
    install=install,
    operations={"ec2": ("DescribeInstanceStatus",)},
    start=start,
)
