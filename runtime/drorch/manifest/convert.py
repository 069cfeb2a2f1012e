"""Import the DR Orchestration Artifacts "layers" manifest (seed 004 §3.1).

That format is a list of layers run one after the other, each a list of
resources run in parallel::

    [{"layer": 1, "resources": [{"action": "AuroraMySQL", "resourceName": "...",
                                 "AccountId": "111111111111", "parameters": {...}}]}]

(the DR Orchestrator Framework's Step Functions read the same list as
``$.manifest.layers`` / ``StatePayload``, so ``{"layers": [...]}`` is accepted too).

A layer becomes a wave (``waveNumber`` = layer, so the default dependency on the
previous wave keeps the layers sequential); a resource becomes a module group
whose type comes from ``action`` and whose selector comes from its parameters
(``Tags`` → selector tags, identifier parameters → selector ids, ``AccountId`` →
selector accounts). ``!Import <export>`` / ``{"Fn::ImportValue": ...}`` become
``resolve:cfn-export:<export>`` and ``{{resolve:ssm:<name>}}`` becomes
``resolve:ssm:<name>``. What could not be carried over exactly is listed in
``Conversion.notes``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from drorch.manifest import references
from drorch.manifest.problems import ManifestError, Problem, schema_problems
from drorch.names import TAG_WAVE

# action -> drorch module type
ACTION_TYPES: dict[str, str] = {
    "DRS": "drs",
    "AuroraMySQL": "aurora-mysql",
    "EcsService": "ecs-service",
    "R53Record": "route53-record",
    "EventBridge": "eventbridge-rule",
    "LambdaFunction": "lambda-function",
    "AutoScaling": "autoscaling-group",
    "ElastiCache": "elasticache",
    "MemoryDB": "memorydb",
    "OpenSearchService": "opensearch",
    "SQLServer": "sql-server",
    "EC2": "ec2",
    "EventArchive": "eventbridge-archive",
}

LAYERS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["layer", "resources"],
        "properties": {
            "layer": {"type": "integer", "minimum": 1},
            "resources": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["action", "resourceName", "AccountId", "parameters"],
                    "properties": {
                        "action": {"type": "string", "enum": list(ACTION_TYPES)},
                        "resourceName": {"type": "string", "minLength": 1},
                        "AccountId": {"type": "string", "pattern": "^[0-9]{12}$"},
                        "parameters": {"type": "object"},
                    },
                },
            },
        },
    },
}

_ID_KEY = re.compile(r"(Arns?|Ids?|IDs?|Identifiers?|HostNames?)$")
_SSM_DYNAMIC = re.compile(r"^\{\{resolve:ssm(?:-secure)?:([^}:]+)(?::[^}]*)?\}\}$")
_IMPORT = re.compile(r"^!Import\s+(\S+)$")


@dataclass
class Conversion:
    manifest: dict[str, Any]  # a drorch manifest document (ready for YAML/JSON)
    notes: list[str] = field(default_factory=list)  # what to review by hand


def _layers(data: Any) -> tuple[Any, str]:
    """The list of layers and the JSON path it sits at."""
    if isinstance(data, dict) and isinstance(data.get("manifest"), dict):
        return _layers(data["manifest"])[0], "$.manifest.layers"
    if isinstance(data, dict) and "layers" in data:
        return data["layers"], "$.layers"
    return data, "$"


def _reference(value: Any) -> Any:
    """A framework-style reference rewritten as a drorch reference; other values as they are."""
    if isinstance(value, dict) and set(value) == {"Fn::ImportValue"}:
        return f"resolve:cfn-export:{value['Fn::ImportValue']}"
    if isinstance(value, dict):
        return {key: _reference(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_reference(item) for item in value]
    if isinstance(value, str):
        if match := _IMPORT.match(value.strip()):
            return f"resolve:cfn-export:{match.group(1)}"
        if match := _SSM_DYNAMIC.match(value.strip()):
            return f"resolve:ssm:{match.group(1)}"
    return value


def _group_name(resource_name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", resource_name).strip("-_").lower()[:28] or "resource"
    name, suffix = base, 2
    while name in taken:
        name, suffix = f"{base}-{suffix}", suffix + 1
    taken.add(name)
    return name


def _tags(raw: Any) -> dict[str, str] | None:
    if isinstance(raw, dict) and all(isinstance(v, str) for v in raw.values()):
        return {str(k): v for k, v in raw.items()}
    if isinstance(raw, list) and all(
        isinstance(t, dict) and {"Key", "Value"} <= set(t) for t in raw
    ):
        return {str(t["Key"]): str(t["Value"]) for t in raw}
    return None


def _ids(parameters: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    for key, value in parameters.items():
        if key == "AccountId" or not _ID_KEY.search(key):
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item and not references.is_reference(item):
                ids.append(item)
    return list(dict.fromkeys(ids))


def convert_layers(
    data: Any,
    *,
    application: str,
    customer: str,
    environment: str = "production",
    source: str = "layers manifest",
) -> Conversion:
    """A drorch manifest document from a layers manifest; ManifestError if the input is invalid."""
    layers, root = _layers(data)
    problems = schema_problems(layers, LAYERS_SCHEMA, root)
    if not problems:
        first: dict[int, int] = {}
        for index, layer in enumerate(layers):
            number = layer["layer"]
            if number in first:
                problems.append(
                    Problem(
                        f"{root}[{index}].layer",
                        f"layer {number} is also {root}[{first[number]}]; merge them or renumber one",
                    )
                )
            first.setdefault(number, index)
    if problems:
        raise ManifestError(source, problems)

    notes: list[str] = []
    waves = []
    for index, layer in sorted(enumerate(layers), key=lambda il: il[1]["layer"]):
        number = layer["layer"]
        taken: set[str] = set()
        technologies = []
        for position, resource in enumerate(layer["resources"]):
            where = f"{root}[{index}].resources[{position}] ({resource['resourceName']!r})"
            parameters = _reference(resource["parameters"])
            selector: dict[str, Any] = {"accounts": [resource["AccountId"]]}
            tags = _tags(parameters.pop("Tags", None))
            if tags:
                selector["tags"] = tags
            ids = _ids(parameters)
            if ids:
                selector["ids"] = ids
            if not tags and not ids:
                selector["tags"] = {TAG_WAVE: str(number), "Application": application}
                notes.append(
                    f"{where}: no Tags or identifier parameters to select by; selecting "
                    f"{TAG_WAVE}={number}, Application={application} in account "
                    f"{resource['AccountId']} - check the selector"
                )
            technology: dict[str, Any] = {
                "type": ACTION_TYPES[resource["action"]],
                "name": _group_name(resource["resourceName"], taken),
                "selector": selector,
            }
            if parameters:
                technology["parameters"] = parameters
            technologies.append(technology)
        waves.append(
            {"waveNumber": number, "waveName": f"layer-{number}", "technologies": technologies}
        )

    manifest = {
        "manifestVersion": "2.0",
        "application": application,
        "customer": customer,
        "environment": environment,
        "waves": waves,
    }
    return Conversion(manifest, notes)
