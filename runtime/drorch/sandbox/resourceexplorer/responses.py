from __future__ import annotations

from moto.core.responses import BaseResponse


class ResourceExplorerResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name="resource-explorer-2")
        self.automated_parameter_parsing = True
