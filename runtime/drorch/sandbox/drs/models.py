"""DRS state (prototype: to be completed)."""

from __future__ import annotations

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import ServiceException


class UninitializedAccountException(ServiceException):
    code = "UninitializedAccountException"
    message = "Account not initialized for the Elastic Disaster Recovery service"


class DrsBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.initialized = False
        self.source_servers: dict[str, dict] = {}

    def initialize_service(self) -> None:
        self.initialized = True

    def describe_source_servers(self) -> list[dict]:
        if not self.initialized:
            raise UninitializedAccountException()
        return list(self.source_servers.values())


drs_backends = BackendDict(DrsBackend, "drs")
