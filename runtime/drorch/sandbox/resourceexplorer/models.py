from __future__ import annotations

from moto.core.base_backend import BackendDict, BaseBackend


class ResourceExplorerBackend(BaseBackend):
    pass


resourceexplorer_backends = BackendDict(ResourceExplorerBackend, "resource-explorer-2")
