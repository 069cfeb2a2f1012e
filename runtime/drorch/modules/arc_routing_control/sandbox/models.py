"""Route 53 ARC in the sandbox: clusters, control panels, routing controls, safety rules.

One :class:`ArcBackend` per account (moto's ``BackendDict``, kept under us-east-1: ARC's
resources have no Region, the control plane answers in us-west-2 and each cluster's data
plane in five Regions). Both services read the same backend: the control plane
(``route53-recovery-control-config``, REST-JSON) describes and lists, the data plane
(``route53-recovery-cluster``, JSON) reads and sets routing control states.

What ARC does and the fake keeps:

* a cluster has five endpoints, one per Region
  (``https://<id>.route53-recovery-cluster.<region>.amazonaws.com/v1``); an endpoint serves
  the routing controls of its own cluster only (another's: ``ResourceNotFoundException``);
* a new routing control is ``Off``;
* ``UpdateRoutingControlState(s)`` is refused (``ConflictException``) when the states after
  it break a deployed safety rule that is not in ``SafetyRulesToOverride``: an assertion
  rule's asserted controls must meet its rule (``ATLEAST`` n / ``AND`` / ``OR`` of On,
  ``Inverted`` negates), and a gating rule's target controls change only while its gating
  controls meet its rule; a batch is all or nothing;
* resources are ``DEPLOYED`` at once (AWS takes minutes; scenarios describe a steady state).

Fault: ``sandbox.faults.arc_endpoint_unreachable(region)`` makes that endpoint refuse
connections (botocore raises ``EndpointConnectionError``), as when its Region is impaired.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import ServiceException

CLUSTER_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1", "ap-southeast-2")
PARTITION = "aws"
LOCK = threading.RLock()


class _AboutResource(ServiceException):
    """The data plane's errors name the resource (``resourceId``, ``resourceType``)."""

    def __init__(self, message: str, resource_id: str = "", resource_type: str = "") -> None:
        super().__init__(message)
        self.resourceId = resource_id or "unknown"
        self.resourceType = resource_type or "RoutingControl"


class ResourceNotFoundException(_AboutResource):
    code = "ResourceNotFoundException"


class ConflictException(_AboutResource):
    code = "ConflictException"


class ValidationException(ServiceException):
    code = "ValidationException"


@dataclass
class Cluster:
    arn: str
    name: str
    owner: str
    endpoint_id: str  # the host label of its endpoints
    network_type: str = "IPV4"
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def endpoints(self) -> list[dict[str, str]]:
        return [
            {
                "Endpoint": f"https://{self.endpoint_id}.route53-recovery-cluster.{region}"
                ".amazonaws.com/v1",
                "Region": region,
            }
            for region in CLUSTER_REGIONS
        ]

    def describe(self) -> dict[str, Any]:
        return {
            "ClusterArn": self.arn,
            "ClusterEndpoints": self.endpoints,
            "Name": self.name,
            "Status": "DEPLOYED",
            "Owner": self.owner,
            "NetworkType": self.network_type,
        }


@dataclass
class ControlPanel:
    arn: str
    cluster_arn: str
    name: str
    owner: str
    default: bool = False
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class RoutingControl:
    arn: str
    panel_arn: str
    name: str
    owner: str
    state: str = "Off"

    def describe(self) -> dict[str, Any]:
        return {
            "ControlPanelArn": self.panel_arn,
            "Name": self.name,
            "RoutingControlArn": self.arn,
            "Status": "DEPLOYED",
            "Owner": self.owner,
        }


@dataclass
class SafetyRule:
    arn: str
    kind: str  # ASSERTION | GATING
    body: dict[str, Any]  # the rule as given (Name, ControlPanelArn, RuleConfig, ...)
    owner: str
    tags: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {**self.body, "SafetyRuleArn": self.arn, "Status": "DEPLOYED", "Owner": self.owner}

    def holds(self, controls: list[str], states: dict[str, str]) -> bool:
        config = self.body["RuleConfig"]
        on = sum(states.get(arn) == "On" for arn in controls)
        if config["Type"] == "AND":
            met = on == len(controls)
        elif config["Type"] == "OR":
            met = on >= 1
        else:
            met = on >= int(config["Threshold"])
        return met != bool(config["Inverted"])


class ArcBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.clusters: dict[str, Cluster] = {}
        self.panels: dict[str, ControlPanel] = {}
        self.controls: dict[str, RoutingControl] = {}
        self.rules: dict[str, SafetyRule] = {}

    def _arn(self, rest: str) -> str:
        return f"arn:{PARTITION}:route53-recovery-control::{self.account_id}:{rest}"

    # --- control plane ---------------------------------------------------------------------
    def create_cluster(
        self, name: str, tags: dict[str, str] | None, network: str | None
    ) -> Cluster:
        with LOCK:
            cluster = Cluster(
                self._arn(f"cluster/{uuid.uuid4()}"),
                name,
                self.account_id,
                secrets.token_hex(4),
                network or "IPV4",
                dict(tags or {}),
            )
            self.clusters[cluster.arn] = cluster
            return cluster

    def cluster(self, arn: str) -> Cluster:
        found = self.clusters.get(arn)
        if found is None:
            raise ResourceNotFoundException(f"Cluster {arn} does not exist.", arn, "Cluster")
        return found

    def create_control_panel(
        self, cluster_arn: str, name: str, tags: dict[str, str] | None
    ) -> ControlPanel:
        with LOCK:
            self.cluster(cluster_arn)
            panel = ControlPanel(
                self._arn(f"controlpanel/{secrets.token_hex(16)}"),
                cluster_arn,
                name,
                self.account_id,
                tags=dict(tags or {}),
            )
            self.panels[panel.arn] = panel
            return panel

    def panel(self, arn: str) -> ControlPanel:
        found = self.panels.get(arn)
        if found is None:
            raise ResourceNotFoundException(
                f"Control panel {arn} does not exist.", arn, "ControlPanel"
            )
        return found

    def describe_panel(self, panel: ControlPanel) -> dict[str, Any]:
        return {
            "ClusterArn": panel.cluster_arn,
            "ControlPanelArn": panel.arn,
            "DefaultControlPanel": panel.default,
            "Name": panel.name,
            "RoutingControlCount": sum(c.panel_arn == panel.arn for c in self.controls.values()),
            "Status": "DEPLOYED",
            "Owner": panel.owner,
        }

    def create_routing_control(
        self, cluster_arn: str, panel_arn: str | None, name: str
    ) -> RoutingControl:
        with LOCK:
            self.cluster(cluster_arn)
            if panel_arn is None:
                default = [
                    p for p in self.panels.values() if p.cluster_arn == cluster_arn and p.default
                ]
                if not default:
                    panel = self.create_control_panel(cluster_arn, "DefaultControlPanel", None)
                    panel.default = True
                    default = [panel]
                panel_arn = default[0].arn
            panel = self.panel(panel_arn)
            if panel.cluster_arn != cluster_arn:
                raise ValidationException(f"Control panel {panel_arn} is not in {cluster_arn}.")
            if any(c.panel_arn == panel_arn and c.name == name for c in self.controls.values()):
                raise ConflictException(
                    f"Routing control {name} already exists in {panel_arn}.", name
                )
            control = RoutingControl(
                f"{panel_arn}/routingcontrol/{secrets.token_hex(8)}",
                panel_arn,
                name,
                self.account_id,
            )
            self.controls[control.arn] = control
            return control

    def control(self, arn: str) -> RoutingControl:
        found = self.controls.get(arn)
        if found is None:
            raise ResourceNotFoundException(f"Routing control {arn} does not exist.", arn)
        return found

    def create_safety_rule(
        self, kind: str, body: dict[str, Any], tags: dict[str, str] | None
    ) -> SafetyRule:
        with LOCK:
            panel = self.panel(body["ControlPanelArn"])
            named = (
                body["AssertedControls"]
                if kind == "ASSERTION"
                else [
                    *body["GatingControls"],
                    *body["TargetControls"],
                ]
            )
            for arn in named:
                if self.control(arn).panel_arn != panel.arn:
                    raise ValidationException(f"Routing control {arn} is not in {panel.arn}.")
            rule = SafetyRule(
                f"{panel.arn}/safetyrule/{secrets.token_hex(8)}",
                kind,
                dict(body),
                self.account_id,
                dict(tags or {}),
            )
            self.rules[rule.arn] = rule
            return rule

    def tags_of(self, arn: str) -> dict[str, str]:
        for kind in (self.clusters, self.panels, self.rules):
            if arn in kind:
                return dict(kind[arn].tags)
        raise ResourceNotFoundException(f"Resource {arn} does not exist.", arn, "Resource")

    # --- data plane ------------------------------------------------------------------------
    def cluster_of_endpoint(self, endpoint_id: str) -> Cluster:
        for cluster in self.clusters.values():
            if cluster.endpoint_id == endpoint_id:
                return cluster
        raise ResourceNotFoundException(
            "No cluster answers at this endpoint.", endpoint_id, "Cluster"
        )

    def served(self, endpoint_id: str, arn: str) -> RoutingControl:
        """A routing control of the cluster the endpoint belongs to."""
        cluster = self.cluster_of_endpoint(endpoint_id)
        control = self.controls.get(arn)
        if control is None or self.panels[control.panel_arn].cluster_arn != cluster.arn:
            raise ResourceNotFoundException(
                f"Routing control {arn} does not exist in this cluster."
            )
        return control

    def update_states(
        self, endpoint_id: str, entries: list[tuple[str, str]], overrides: list[str]
    ) -> None:
        """Set the states of a batch at once, or refuse it all (a broken safety rule)."""
        with LOCK:
            controls = [self.served(endpoint_id, arn) for arn, _ in entries]
            before = {arn: c.state for arn, c in self.controls.items()}
            after = {
                **before,
                **{c.arn: state for c, (_, state) in zip(controls, entries, strict=True)},
            }
            changed = {arn for arn in after if after[arn] != before[arn]}
            for rule in self.rules.values():
                if rule.arn in overrides:
                    continue
                body = rule.body
                if rule.kind == "ASSERTION":
                    asserted = body["AssertedControls"]
                    if changed & set(asserted) and not rule.holds(asserted, after):
                        raise ConflictException(
                            f"The update would break assertion rule {body['Name']} "
                            f"({rule.arn}): override it with SafetyRulesToOverride",
                            rule.arn,
                            "SafetyRule",
                        )
                elif changed & set(body["TargetControls"]) and not rule.holds(
                    body["GatingControls"], before
                ):
                    raise ConflictException(
                        f"Gating rule {body['Name']} ({rule.arn}) does not allow its target "
                        "controls to change: its gating controls are not set to allow it",
                        rule.arn,
                        "SafetyRule",
                    )
            for control, (_, state) in zip(controls, entries, strict=True):
                control.state = state

    def cluster_controls(self, endpoint_id: str, panel_arn: str | None) -> list[RoutingControl]:
        cluster = self.cluster_of_endpoint(endpoint_id)
        if panel_arn is not None and self.panel(panel_arn).cluster_arn != cluster.arn:
            raise ResourceNotFoundException(
                f"Control panel {panel_arn} is not in this cluster.", panel_arn, "ControlPanel"
            )
        return [
            c
            for c in sorted(self.controls.values(), key=lambda c: (c.panel_arn, c.name))
            if self.panels[c.panel_arn].cluster_arn == cluster.arn
            and (panel_arn is None or c.panel_arn == panel_arn)
        ]


# one backend per account: ARC's resources have no Region ("us-east-1" for moto's router)
arc_backends = BackendDict(
    ArcBackend,
    "route53-recovery-control-config",
    use_boto3_regions=False,
    additional_regions=["us-east-1"],
)


def backend(account_id: str) -> ArcBackend:
    return arc_backends[account_id]["us-east-1"]
