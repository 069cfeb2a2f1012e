"""The manifest: how one application recovers (SPEC §4, docs/engine-design.md).

``load_manifest`` parses YAML/JSON, validates it against ``manifest.schema.json``
and the semantic rules (unique waves, a dependency DAG, registered modules and
their parameters) and returns the immutable :class:`Manifest`.
"""

from typing import Any

from drorch.manifest.dag import wave_levels
from drorch.manifest.model import (
    DEFAULT_PHASES,
    OPERATIONS,
    PHASES,
    Approval,
    Manifest,
    ModuleGroup,
    Notifications,
    Selector,
    Wave,
)
from drorch.manifest.references import is_reference, resolve_parameters

# Validation (jsonschema, PyYAML) is imported on first use: the engine's Lambda handlers
# build manifests that initialise validated already (drorch.manifest.checked).
_VALIDATE = ("ManifestError", "Problem", "load_manifest", "load_manifest_file", "problems_in")


def __getattr__(name: str) -> Any:
    if name in _VALIDATE or name == "schema":
        from drorch.manifest import validate

        return getattr(validate, name)
    raise AttributeError(f"module 'drorch.manifest' has no attribute {name!r}")


__all__ = [
    "DEFAULT_PHASES",
    "OPERATIONS",
    "PHASES",
    "Approval",
    "Manifest",
    "ManifestError",
    "ModuleGroup",
    "Notifications",
    "Problem",
    "Selector",
    "Wave",
    "is_reference",
    "load_manifest",
    "load_manifest_file",
    "problems_in",
    "resolve_parameters",
    "schema",
    "wave_levels",
]
