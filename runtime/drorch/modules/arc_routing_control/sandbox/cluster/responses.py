"""Wire layer of the fake ARC data plane (JSON, ``ToggleCustomerAPI``): a cluster endpoint."""

from __future__ import annotations

import re
from typing import Any

from moto.core.responses import ActionResult, BaseResponse, EmptyResult

from drorch.modules.arc_routing_control.sandbox.models import LOCK, ArcBackend, backend

_HOST = re.compile(r"^(?P<id>[a-z0-9]+)\.route53-recovery-cluster\.(?P<region>[a-z0-9-]+)\.")


class ClusterResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name="route53-recovery-cluster")
        self.automated_parameter_parsing = True

    @property
    def backend(self) -> ArcBackend:
        return backend(self.current_account)

    def call_action(self) -> Any:
        # only a cluster's own endpoints get here (see the extension's before-send hook)
        match = _HOST.match(self.parsed_url.netloc)
        self.endpoint_id = match.group("id") if match else ""
        return super().call_action()

    def _p(self, name: str, default: Any = None) -> Any:
        value = self.params.get(name)
        return default if value is None else value

    def get_routing_control_state(self) -> ActionResult:
        control = self.backend.served(self.endpoint_id, self._p("RoutingControlArn"))
        return ActionResult(
            {
                "RoutingControlArn": control.arn,
                "RoutingControlState": control.state,
                "RoutingControlName": control.name,
            }
        )

    def update_routing_control_state(self) -> EmptyResult:
        entries = [(self._p("RoutingControlArn"), self._p("RoutingControlState"))]
        self.backend.update_states(self.endpoint_id, entries, self._p("SafetyRulesToOverride", []))
        return EmptyResult()

    def update_routing_control_states(self) -> EmptyResult:
        entries = [
            (e["RoutingControlArn"], e["RoutingControlState"])
            for e in self._p("UpdateRoutingControlStateEntries", [])
        ]
        self.backend.update_states(self.endpoint_id, entries, self._p("SafetyRulesToOverride", []))
        return EmptyResult()

    def list_routing_controls(self) -> ActionResult:
        backend = self.backend
        with LOCK:
            controls = [
                {
                    "ControlPanelArn": c.panel_arn,
                    "ControlPanelName": backend.panels[c.panel_arn].name,
                    "RoutingControlArn": c.arn,
                    "RoutingControlName": c.name,
                    "RoutingControlState": c.state,
                    "Owner": c.owner,
                }
                for c in backend.cluster_controls(self.endpoint_id, self._p("ControlPanelArn"))
            ]
        return ActionResult({"RoutingControls": controls})
