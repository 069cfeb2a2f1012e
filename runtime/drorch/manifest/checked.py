"""A manifest version that validation has passed already, built without re-checking it.

``initialise`` validates the execution's manifest version (:func:`load_manifest`) and
records its reference; the later engine steps read that same version and only build
the model, so their Lambda handlers load neither jsonschema nor, for a JSON manifest,
PyYAML.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from drorch.manifest.build import build
from drorch.manifest.model import Manifest


def build_checked(text: str | bytes, modules: Mapping[str, Any] | None = None) -> Manifest:
    """The model of a manifest text that :func:`load_manifest` accepted (YAML or JSON)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig")
    try:
        document = json.loads(text)
    except ValueError:  # YAML, a superset of JSON
        import yaml

        document = yaml.safe_load(text)
    return build(document, modules)
