"""Technology modules (adapters) and their registry.

``from drorch.modules import REGISTRY`` gives every registered module by its
manifest ``technologies[].type``.
"""

from drorch.modules.base import (
    REGISTRY,
    AccessDenied,
    AccountContext,
    Discovered,
    DrillSafetyError,
    Exclusion,
    Module,
    ModuleError,
    Resource,
    ResourceResult,
    StatusResult,
    aggregate_status,
    register,
)
from drorch.modules.drs import DrsModule

register(DrsModule())

__all__ = [
    "REGISTRY",
    "AccessDenied",
    "AccountContext",
    "Discovered",
    "DrillSafetyError",
    "DrsModule",
    "Exclusion",
    "Module",
    "ModuleError",
    "Resource",
    "ResourceResult",
    "StatusResult",
    "aggregate_status",
    "register",
]
