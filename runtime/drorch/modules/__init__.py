"""Technology modules (adapters) and their registry.

``from drorch.modules import REGISTRY`` gives every registered module by its
manifest ``technologies[].type``; :mod:`drorch.modules.registry` is the one list.
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
from drorch.modules.registry import by_alias, load

load()

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
    "load",
    "register",
]
