"""Wire layer of the fake ARC control plane (REST-JSON): parse (botocore model), call, shape."""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult, BaseResponse

from drorch.modules.arc_routing_control.sandbox.models import LOCK, ArcBackend, backend


class ControlConfigResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name="route53-recovery-control-config")
        self.automated_parameter_parsing = True

    @property
    def backend(self) -> ArcBackend:
        return backend(self.current_account)

    def _p(self, name: str, default: Any = None) -> Any:
        value = self.params.get(name)
        return default if value is None else value

    # --- clusters ---------------------------------------------------------------------------
    def create_cluster(self) -> ActionResult:
        cluster = self.backend.create_cluster(
            self._p("ClusterName"), self._p("Tags"), self._p("NetworkType")
        )
        return ActionResult({"Cluster": cluster.describe()})

    def describe_cluster(self) -> ActionResult:
        return ActionResult({"Cluster": self.backend.cluster(self._p("ClusterArn")).describe()})

    def list_clusters(self) -> ActionResult:
        with LOCK:
            clusters = [c.describe() for c in self.backend.clusters.values()]
        return ActionResult({"Clusters": clusters})

    # --- control panels -------------------------------------------------------------------------
    def create_control_panel(self) -> ActionResult:
        backend = self.backend
        panel = backend.create_control_panel(
            self._p("ClusterArn"), self._p("ControlPanelName"), self._p("Tags")
        )
        return ActionResult({"ControlPanel": backend.describe_panel(panel)})

    def describe_control_panel(self) -> ActionResult:
        backend = self.backend
        panel = backend.panel(self._p("ControlPanelArn"))
        return ActionResult({"ControlPanel": backend.describe_panel(panel)})

    def list_control_panels(self) -> ActionResult:
        backend, cluster = self.backend, self._p("ClusterArn")
        with LOCK:
            if cluster is not None:
                backend.cluster(cluster)
            panels = [
                backend.describe_panel(p)
                for p in backend.panels.values()
                if cluster is None or p.cluster_arn == cluster
            ]
        return ActionResult({"ControlPanels": panels})

    # --- routing controls -------------------------------------------------------------------------
    def create_routing_control(self) -> ActionResult:
        control = self.backend.create_routing_control(
            self._p("ClusterArn"), self._p("ControlPanelArn"), self._p("RoutingControlName")
        )
        return ActionResult({"RoutingControl": control.describe()})

    def describe_routing_control(self) -> ActionResult:
        control = self.backend.control(self._p("RoutingControlArn"))
        return ActionResult({"RoutingControl": control.describe()})

    def list_routing_controls(self) -> ActionResult:
        backend, panel = self.backend, self._p("ControlPanelArn")
        with LOCK:
            backend.panel(panel)
            controls = [c.describe() for c in backend.controls.values() if c.panel_arn == panel]
        return ActionResult({"RoutingControls": controls})

    # --- safety rules and tags ------------------------------------------------------------------
    def create_safety_rule(self) -> ActionResult:
        kind, body = (
            ("ASSERTION", self._p("AssertionRule"))
            if self._p("AssertionRule") is not None
            else ("GATING", self._p("GatingRule"))
        )
        rule = self.backend.create_safety_rule(kind, dict(body or {}), self._p("Tags"))
        key = "AssertionRule" if kind == "ASSERTION" else "GatingRule"
        return ActionResult({key: rule.describe()})

    def list_safety_rules(self) -> ActionResult:
        backend, panel = self.backend, self._p("ControlPanelArn")
        with LOCK:
            backend.panel(panel)
            rules = [
                {r.kind: r.describe()}
                for r in backend.rules.values()
                if r.body["ControlPanelArn"] == panel
            ]
        return ActionResult({"SafetyRules": rules})

    def list_tags_for_resource(self) -> ActionResult:
        return ActionResult({"Tags": self.backend.tags_of(self._p("ResourceArn"))})
