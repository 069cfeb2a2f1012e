"""The manifest: how one application recovers (SPEC §4, docs/engine-design.md).

``load_manifest`` parses YAML/JSON, validates it against ``manifest.schema.json``
and the semantic rules (unique waves, a dependency DAG, registered modules and
their parameters) and returns the immutable :class:`Manifest`.
"""

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
from drorch.manifest.validate import (
    ManifestError,
    Problem,
    load_manifest,
    load_manifest_file,
    problems_in,
    schema,
)

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
