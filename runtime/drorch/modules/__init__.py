"""Technology modules (adapters) and their registry.

``from drorch.modules import REGISTRY`` gives every registered module by its
manifest ``technologies[].type``; :mod:`drorch.modules.registry` is the one list.
Each module's package is imported the first time it is asked for by name.
"""

from drorch.modules.base import (
    REGISTRY,
    AccessDenied,
    AccountContext,
    Discovered,
    DrillSafetyError,
    Exclusion,
    Finding,
    LayerMapping,
    Module,
    ModuleError,
    ModuleIam,
    Probe,
    Resource,
    ResourceResult,
    StatusResult,
    aggregate_status,
    register,
)
from drorch.modules.registry import by_alias, declare, load

declare()

__all__ = [
    "REGISTRY",
    "AccessDenied",
    "AccountContext",
    "Discovered",
    "DrillSafetyError",
    "Exclusion",
    "Finding",
    "LayerMapping",
    "Module",
    "ModuleError",
    "ModuleIam",
    "Probe",
    "Resource",
    "ResourceResult",
    "StatusResult",
    "aggregate_status",
    "by_alias",
    "declare",
    "load",
    "register",
]
