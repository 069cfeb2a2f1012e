from __future__ import annotations

from moto.core.responses import ActionResult, BaseResponse, EmptyResult


class DrsResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name="drs")
        self.automated_parameter_parsing = True

    @property
    def backend(self):
        from drorch.sandbox.drs.models import drs_backends

        return drs_backends[self.current_account][self.region]

    def initialize_service(self) -> ActionResult:
        self.backend.initialize_service()
        return EmptyResult()

    def describe_source_servers(self) -> ActionResult:
        return ActionResult({"items": self.backend.describe_source_servers()})
