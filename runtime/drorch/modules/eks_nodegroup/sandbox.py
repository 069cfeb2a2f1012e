"""EKS managed node groups in the sandbox: moto 5.2 applies ``UpdateNodegroupConfig`` at
once, answers it ``Successful`` with moto's own parameter names, has no ``DescribeUpdate``
or ``ListUpdates``, and creates no Auto Scaling group for a node group.

This extension adds to moto's own EKS service (REST-JSON, real wire shapes, checked against
the botocore model by the interceptor):

* ``UpdateNodegroupConfig`` with ``scalingConfig``: refused with
  ``ResourceInUseException`` unless the node group is ``ACTIVE``, with
  ``InvalidParameterException`` unless ``minSize <= desiredSize <= maxSize`` and
  ``maxSize >= 1``; the same ``clientRequestToken`` for the same node group answers the
  same update again (as EKS does). The new scaling configuration shows at once; the node
  group is ``UPDATING`` and the update ``InProgress`` (``params`` ``MinSize``,
  ``MaxSize``, ``DesiredSize``) for :attr:`NodegroupTimings.update_seconds`, then the
  update is ``Successful``, the node group ``ACTIVE``, and its Auto Scaling group(s) take
  the new min, max and desired capacity. Instances the group launches then are ``Pending``
  for :attr:`NodegroupTimings.node_seconds` before they are ``InService``.
* ``DescribeUpdate`` and ``ListUpdates`` (of a node group's updates).

The Auto Scaling group of a node group is the one named in its ``resources`` (the
scenario seeder ``eks-cluster`` creates it, with a launch template, as EKS would).

Fault (``sandbox.faults``): ``fail_nodegroup_update(nodegroup, ...)`` makes the next update
end ``Failed`` with the error given (default ``NodeCreationFailure``): the node group is
``ACTIVE`` again with its previous scaling configuration, and its Auto Scaling group is not
touched. Throttling and access denied are the generic wire faults.
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
class NodegroupTimings:
    """How long node group work takes, in simulated seconds."""

    update_seconds: float = 90.0  # UpdateNodegroupConfig until Successful
    node_seconds: float = 150.0  # a new node from launch to InService


TIMINGS = NodegroupTimings()
SCALING_KEYS = ("minSize", "maxSize", "desiredSize")
PARAM_TYPES = {"minSize": "MinSize", "maxSize": "MaxSize", "desiredSize": "DesiredSize"}


@dataclass
class NodegroupUpdate:
    id: str
    account_id: str
    region: str
    cluster: str
    nodegroup: str
    previous: dict[str, int]
    target: dict[str, int]
    created: datetime
    ready: datetime
    status: str = "InProgress"
    errors: list[dict[str, Any]] = field(default_factory=list)
    failure: tuple[str, str] | None = None  # (errorCode, errorMessage) when it must fail

    def to_wire(self) -> dict[str, Any]:
        params = [
            {"type": PARAM_TYPES[key], "value": str(self.target[key])}
            for key in ("minSize", "maxSize", "desiredSize")
            if self.target.get(key) != self.previous.get(key)
        ]
        return {
            "id": self.id,
            "status": self.status,
            "type": "ConfigUpdate",
            "params": params,
            "createdAt": self.created,
            "errors": list(self.errors),
        }


_LOCK = threading.RLock()
_UPDATES: dict[tuple[str, str, str], NodegroupUpdate] = {}  # (account, region, id)
_TOKENS: dict[tuple[str, str, str, str, str], str] = {}  # (acct, region, cluster, ng, token)
# (account, region, instance) -> (when it is InService, its Auto Scaling instance state)
_BOOTING: dict[tuple[str, str, str], tuple[datetime, Any]] = {}


def _now() -> datetime:
    return STATE.clock.now()


def _backend(account_id: str, region: str) -> Any:
    from moto.eks.models import eks_backends

    return eks_backends[account_id][region]


def _error(kind: str, message: str, cluster: str, nodegroup: str | None = None) -> Exception:
    from moto.eks import exceptions

    fields = {"clusterName": cluster, "nodegroupName": nodegroup, "message": message}
    return getattr(exceptions, kind)(**{k: v for k, v in fields.items() if v is not None})


def _nodegroup(account_id: str, region: str, cluster: str, name: str) -> Any:
    return _backend(account_id, region).describe_nodegroup(
        cluster_name=cluster, nodegroup_name=name
    )


# --- the clock ------------------------------------------------------------------------------
def settle() -> None:
    """Apply what is due by now: finished updates, booted nodes."""
    now = _now()
    with _LOCK:
        for update in list(_UPDATES.values()):
            if update.status == "InProgress" and now >= update.ready:
                _finish(update)
        for key, (ready, state) in list(_BOOTING.items()):
            if now >= ready:
                state.lifecycle_state = "InService"
                del _BOOTING[key]


def _finish(update: NodegroupUpdate) -> None:
    try:
        nodegroup = _nodegroup(update.account_id, update.region, update.cluster, update.nodegroup)
    except Exception:  # noqa: BLE001 - the node group was deleted meanwhile
        update.status = "Cancelled"
        return
    nodegroup.status = "ACTIVE"
    if update.failure is not None:
        code, message = update.failure
        update.status = "Failed"
        update.errors = [
            {
                "errorCode": code,
                "errorMessage": message,
                "resourceIds": [g["name"] for g in nodegroup.resources["autoScalingGroups"]],
            }
        ]
        nodegroup.scaling_config = dict(update.previous)
        return
    update.status = "Successful"
    _resize(update.account_id, update.region, nodegroup)


def _resize(account_id: str, region: str, nodegroup: Any) -> None:
    """The node group's Auto Scaling group(s) take its scaling configuration."""
    from moto.autoscaling.models import autoscaling_backends

    backend = autoscaling_backends[account_id][region]
    config = nodegroup.scaling_config
    for item in nodegroup.resources["autoScalingGroups"]:
        group = backend.autoscaling_groups.get(item["name"])
        if group is None:
            continue
        booting = [s for s in group.instance_states if _booting(account_id, region, s)]
        for state in booting:  # moto counts InService instances only when it resizes
            state.lifecycle_state = "InService"
        before = {s.instance.id for s in group.instance_states}
        group.min_size = config["minSize"]
        group.max_size = config["maxSize"]
        group.set_desired_capacity(config["desiredSize"])
        ready = _now() + timedelta(seconds=TIMINGS.node_seconds)
        for state in group.instance_states:
            key = (account_id, region, state.instance.id)
            if state.instance.id not in before:
                _BOOTING[key] = (ready, state)
            if key in _BOOTING:
                state.lifecycle_state = "Pending"


def _booting(account_id: str, region: str, state: Any) -> bool:
    return (account_id, region, state.instance.id) in _BOOTING


# --- the wire: methods put on moto's EKS and Auto Scaling responses --------------------------
_ORIGINAL: dict[str, Callable[..., Any]] = {}


def update_nodegroup_config(self: Any) -> Any:
    scaling = self._get_param("scalingConfig")
    if not scaling:
        return _ORIGINAL["update_nodegroup_config"](self)
    account_id, region = self.current_account, self.region
    cluster, name = self._get_param("name"), self._get_param("nodegroupName")
    token = self._get_param("clientRequestToken")
    with _LOCK:
        settle()
        nodegroup = _nodegroup(account_id, region, cluster, name)
        if token and (account_id, region, cluster, name, token) in _TOKENS:
            known = _UPDATES[
                (account_id, region, _TOKENS[(account_id, region, cluster, name, token)])
            ]
            return ActionResult({"update": known.to_wire()})
        if nodegroup.status != "ACTIVE":
            raise _error(
                "ResourceInUseException",
                f"Nodegroup {name} is currently in {nodegroup.status} state and cannot be updated",
                cluster,
                name,
            )
        previous = {k: int(nodegroup.scaling_config[k]) for k in SCALING_KEYS}
        target = {**previous, **{k: int(v) for k, v in scaling.items() if k in SCALING_KEYS}}
        if not target["minSize"] <= target["desiredSize"] <= target["maxSize"]:
            raise _error(
                "InvalidParameterException",
                "Minimum capacity "
                f"{target['minSize']} can't be greater than desired size {target['desiredSize']}"
                if target["minSize"] > target["desiredSize"]
                else f"Desired capacity {target['desiredSize']} can't be greater than max size "
                f"{target['maxSize']}",
                cluster,
                name,
            )
        if target["maxSize"] < 1:
            raise _error("InvalidParameterException", "Max size must be at least 1", cluster, name)
        now = _now()
        failure = STATE.faults.capacity_fault_for("eks-update", account_id, region, name)
        update = NodegroupUpdate(
            id=str(uuid.uuid4()),
            account_id=account_id,
            region=region,
            cluster=cluster,
            nodegroup=name,
            previous=previous,
            target=target,
            created=now,
            ready=now + timedelta(seconds=TIMINGS.update_seconds),
            failure=(failure.error_code, failure.reason) if failure is not None else None,
        )
        _UPDATES[(account_id, region, update.id)] = update
        if token:
            _TOKENS[(account_id, region, cluster, name, token)] = update.id
        nodegroup.scaling_config = dict(target)  # a copy: moto shares its default dict
        nodegroup.status = "UPDATING"
        return ActionResult({"update": update.to_wire()})


def _find_update(self: Any) -> NodegroupUpdate:
    account_id, region = self.current_account, self.region
    cluster = self._get_param("name")
    update_id = self.uri_match.get("updateId") or self._get_param("updateId")
    nodegroup = self._get_param("nodegroupName")
    _backend(account_id, region).describe_cluster(name=cluster)  # ResourceNotFound if none
    found = _UPDATES.get((account_id, region, update_id))
    if found is None or found.cluster != cluster or (nodegroup and found.nodegroup != nodegroup):
        raise _error(
            "ResourceNotFoundException", f"No update found for ID: {update_id}", cluster, nodegroup
        )
    return found


def describe_update(self: Any) -> Any:
    with _LOCK:
        settle()
        return ActionResult({"update": _find_update(self).to_wire()})


def list_updates(self: Any) -> Any:
    account_id, region = self.current_account, self.region
    cluster = self._get_param("name")
    nodegroup = self._get_param("nodegroupName")
    with _LOCK:
        settle()
        backend = _backend(account_id, region)
        if nodegroup:
            _nodegroup(account_id, region, cluster, nodegroup)
        else:
            backend.describe_cluster(name=cluster)
        ids = [
            u.id
            for u in sorted(_UPDATES.values(), key=lambda u: u.created)
            if (u.account_id, u.region, u.cluster) == (account_id, region, cluster)
            and (not nodegroup or u.nodegroup == nodegroup)
        ]
        return ActionResult({"updateIds": ids})


def describe_auto_scaling_groups(self: Any) -> Any:
    """moto's answer once the nodes due by now are InService."""
    settle()
    return _ORIGINAL["describe_auto_scaling_groups"](self)


# --- node group tags (moto tags clusters only) ---------------------------------------------
def _tagged_nodegroup(backend: Any, arn: str) -> Any:
    for cluster in backend.clusters.values():
        for nodegroup in cluster.nodegroups.values():
            if nodegroup.arn == arn:
                return nodegroup
    return None


def _tags_method(name: str) -> Callable[..., Any]:
    def method(self: Any, resource_arn: str, *args: Any) -> Any:
        nodegroup = _tagged_nodegroup(self, resource_arn) if ":nodegroup/" in resource_arn else None
        if nodegroup is None:
            return _ORIGINAL[f"backend.{name}"](self, resource_arn, *args)
        if name == "tag_resource":
            nodegroup.tags.update(args[0])
        elif name == "untag_resource":
            keys = args[0] if isinstance(args[0], list) else [args[0]]
            for key in keys:
                nodegroup.tags.pop(key, None)
        else:
            return dict(nodegroup.tags)
        return None

    return method


OPERATIONS = {
    "UpdateNodegroupConfig": update_nodegroup_config,
    "DescribeUpdate": describe_update,
    "ListUpdates": list_updates,
}
URL_PATHS = (
    "{0}/clusters/(?P<name>[^/]+)/updates$",
    "{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$",
)


def install() -> None:
    from moto.autoscaling.responses import AutoScalingResponse
    from moto.core.responses import BaseResponse
    from moto.core.utils import camelcase_to_underscores
    from moto.eks import urls
    from moto.eks.responses import EKSResponse

    for path in URL_PATHS:
        urls.url_paths.setdefault(path, urls.response.dispatch)
    for operation, method in OPERATIONS.items():
        name = camelcase_to_underscores(operation)
        if hasattr(EKSResponse, name):
            _ORIGINAL.setdefault(name, getattr(EKSResponse, name))
        setattr(EKSResponse, name, method)
    from moto.eks.models import EKSBackend

    for name in ("tag_resource", "untag_resource", "list_tags_for_resource"):
        _ORIGINAL.setdefault(f"backend.{name}", getattr(EKSBackend, name))
        setattr(EKSBackend, name, _tags_method(name))
    original = EKSResponse.__dict__.get("call_action", BaseResponse.call_action)

    def call_action(self: Any) -> Any:
        settle()
        return original(self)

    EKSResponse.call_action = call_action  # type: ignore[method-assign]
    _ORIGINAL.setdefault(
        "describe_auto_scaling_groups", AutoScalingResponse.describe_auto_scaling_groups
    )
    AutoScalingResponse.describe_auto_scaling_groups = describe_auto_scaling_groups  # type: ignore[method-assign]


def _clear() -> None:
    with _LOCK:
        _UPDATES.clear()
        _TOKENS.clear()
        _BOOTING.clear()


def start(sandbox: Sandbox) -> Callable[[], None]:
    _clear()
    return _clear


EXTENSION = SandboxExtension(
    install=install,
    operations={"eks": tuple(OPERATIONS)},
    start=start,
)
