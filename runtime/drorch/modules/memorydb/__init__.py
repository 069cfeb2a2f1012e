"""The memorydb module: MemoryDB clusters, restored or Multi-Region (see ``adapter``)."""

from drorch.modules.memorydb.adapter import DISRUPTIVE_CALLS, RESOURCE_TYPE, MemoryDbModule

MODULE = MemoryDbModule()

__all__ = ["DISRUPTIVE_CALLS", "MODULE", "RESOURCE_TYPE", "MemoryDbModule"]
