"""Import a "layers" document as a drorch manifest.

The layers format (DR Orchestration Artifacts, seed 004 §3.1; seed 000's Enhanced
DRS; the public DR Orchestrator Framework) is a list of layers run one after the
other, each a list of resources run in parallel::

    [{"layer": 1, "resources": [{"action": "AuroraMySQL", "resourceName": "...",
                                 "AccountId": "111111111111", "parameters": {...}}]}]

Accepted as written:

* a list of layers (seed 004 §3.1);
* one layer object ``{"layer": 1, "resources": [...]}`` (seed 000's examples);
* a ``StatePayload`` mapping: ``{"StatePayload": [layers]}`` (the DR Orchestrator
  Framework's input, whose resources name their module in ``resourceType``),
  ``{"StatePayload": <layer>}``, or ``{"StatePayload": <resource>}`` — one resource
  as its module receives it (seed 000), which names no action: give ``action``;
* ``{"layers": [...]}`` and ``{"manifest": {"layers": [...]}}``.

Only ``parameters`` is required of a resource. Its ``action`` (or ``resourceType``)
is the name or an alias of a registered module (:mod:`drorch.modules.registry`),
and the module maps the parameters (``Module.from_layer``): to a technology entry
in its layer's wave (``layer-<n>``) or to waves of its own, which run after the
previous layer. Nothing here knows a module. What every resource shares is done
here: ``resourceName`` names the group, ``AccountId`` becomes ``selector.accounts``,
framework references are rewritten (``!Import x`` and ``{"Fn::ImportValue": x}``
→ ``resolve:cfn-export:x``, ``{{resolve:ssm:x}}`` → ``resolve:ssm:x``), parameters
the module's schema refuses are dropped, and a group that the module selects by
neither tags nor ids selects ``dr:wave=<layer>`` and ``Application`` (noted).

``Conversion.unmapped`` names everything not carried over by its JSON path in the
input; ``Conversion.notes`` is what to check by hand. The result always passes
``manifest validate``; input that cannot be converted raises :class:`ManifestError`
naming its paths, and nothing is written.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from drorch.manifest import references
from drorch.manifest.build import group_id
from drorch.manifest.problems import ManifestError, Problem, json_path, schema_problems, suggest
from drorch.manifest.validate import problems_in
from drorch.names import TAG_WAVE

# Names the layers format gives its modules (seed 004 §3.1, seed 000, the DR
# Orchestrator Framework's resourceType). A name no registered module claims yet is
# "not yet" rather than unknown.
LAYERS_FORMAT_ACTIONS: tuple[str, ...] = (
    *("DRS", "AuroraMySQL", "EcsService", "R53Record", "EventBridge", "LambdaFunction"),
    *("AutoScaling", "ElastiCache", "MemoryDB", "OpenSearchService", "SQLServer", "EC2"),
    *("EventArchive", "enhanced_drs", "EnhancedDRS", "drs_recovery"),
    *("PlannedFailoverAurora", "UnPlannedFailoverAurora", "PromoteRDSReadReplica"),
    *("FailoverElastiCacheCluster", "CreateRDSReadReplica", "CreateAuroraSecondaryDBCluster"),
)

RESOURCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["parameters"],
    "properties": {
        "action": {"type": "string", "minLength": 1},
        "resourceType": {"type": "string", "minLength": 1},
        "resourceName": {"type": "string", "minLength": 1},
        "AccountId": {"type": "string", "pattern": "^[0-9]{12}$"},
        "parameters": {"type": ["object", "array"]},
    },
    # a mapping, but a list of records for seed 004's R53Record (its module maps them)
    "if": {"not": {"required": ["action"], "properties": {"action": {"const": "R53Record"}}}},
    "then": {"properties": {"parameters": {"type": "object"}}},
}
LAYER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["layer", "resources"],
    "properties": {
        "layer": {"type": "integer", "minimum": 1},
        "resources": {"type": "array", "minItems": 1, "items": RESOURCE_SCHEMA},
    },
}
LAYERS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "array",
    "minItems": 1,
    "items": LAYER_SCHEMA,
}

_SSM_DYNAMIC = re.compile(r"^\{\{resolve:ssm(?:-secure)?:([^}:]+)(?::[^}]*)?\}\}$")
_IMPORT = re.compile(r"^!Import\s+(\S+)$")
_WAVE_NAME = re.compile(r"[^A-Za-z0-9 _.-]+")
_WAVE_KEYS = ("description", "pauseBeforeWave", "pauseAfterWave")


@dataclass
class Conversion:
    manifest: dict[str, Any]  # a drorch manifest document (ready for YAML/JSON)
    notes: list[str] = field(default_factory=list)  # what to review by hand
    unmapped: list[str] = field(default_factory=list)  # "<input path>: not mapped (<why>)"


@dataclass
class _Resource:
    data: dict[str, Any]
    path: str
    layer: int
    action: str | None = None
    key: str = "action"  # where the action was read

    @property
    def label(self) -> str:
        name = self.data.get("resourceName")
        return f"{self.path} ({name!r})" if name else self.path


def _modules() -> tuple[Mapping[str, Any], Any]:
    from drorch.modules import REGISTRY, by_alias

    return REGISTRY, by_alias


# --- the shapes -----------------------------------------------------------------------------


def _locate(data: Any, root: str = "$") -> tuple[str, Any, str]:
    """``(kind, value, path)``: kind is ``layers``, ``layer``, ``resource`` or ``unknown``."""
    if isinstance(data, list):
        return "layers", data, root
    if isinstance(data, dict):
        if "StatePayload" in data:
            return _locate(data["StatePayload"], f"{root}.StatePayload")
        if isinstance(data.get("manifest"), dict):
            return _locate(data["manifest"], f"{root}.manifest")
        if "layers" in data:
            return "layers", data["layers"], f"{root}.layers"
        if "resources" in data or "layer" in data:
            return "layer", data, root
        if {"parameters", "action", "resourceType"} & set(data):
            return "resource", data, root
    return "unknown", data, root


def _read(
    data: Any, action: str | None, unmapped: list[str]
) -> tuple[list[_Resource], list[Problem]]:
    """The resources in layer order, or the problems with the document's shape."""
    kind, value, root = _locate(data)
    if kind == "unknown":
        return [], [
            Problem(
                root,
                "not a layers document: expected a list of layers, one layer "
                '{"layer", "resources"} or a StatePayload mapping',
            )
        ]
    schema = {"layers": LAYERS_SCHEMA, "layer": LAYER_SCHEMA, "resource": RESOURCE_SCHEMA}[kind]
    problems = schema_problems(value, schema, root)
    if problems:
        return [], problems
    if kind == "resource":
        layers = [(1, root, [(value, root)])]
    else:
        listed = value if kind == "layers" else [value]
        layers = []
        first: dict[int, str] = {}
        for index, layer in enumerate(listed):
            path = f"{root}[{index}]" if kind == "layers" else root
            number = layer["layer"]
            if number in first:
                problems.append(
                    Problem(
                        f"{path}.layer",
                        f"layer {number} is also {first[number]}; merge them or renumber one",
                    )
                )
            first.setdefault(number, path)
            for key in layer:
                if key not in ("layer", "resources"):
                    unmapped.append(f"{json_path([key], path)}: not mapped (not a layer field)")
            resources = [(r, f"{path}.resources[{i}]") for i, r in enumerate(layer["resources"])]
            layers.append((number, path, resources))
        layers.sort(key=lambda item: item[0])
    found = []
    for number, _, resources in layers:
        for resource, path in resources:
            item = _Resource(resource, path, number)
            for key in ("action", "resourceType"):
                if key in resource:
                    item.action, item.key = resource[key], key
                    break
            else:
                item.action = action
            for key in resource:
                if key not in RESOURCE_SCHEMA["properties"]:
                    unmapped.append(
                        f"{json_path([key], path)}: not mapped (not a field of a layers resource)"
                    )
            found.append(item)
    return found, problems


def _module_for(item: _Resource, registry: Mapping[str, Any], by_alias: Any) -> Any:
    """The module of a resource, or a Problem naming the layer and the action."""
    known = sorted({name for m in registry.values() for name in (m.type, *m.aliases)})
    if item.action is None:
        return Problem(
            f"{item.path}.action",
            f"layer {item.layer}: the resource names no module; add action (or resourceType), "
            f"or give a default action (--action); known: {', '.join(known)}",
        )
    module = by_alias(item.action)
    if module is not None:
        return module
    path = f"{item.path}.{item.key}" if item.key in item.data else item.path
    pending = {name.lower() for name in LAYERS_FORMAT_ACTIONS}
    if item.action.lower() in pending:
        return Problem(
            path,
            f"layer {item.layer}: no drorch module for {item.action} yet "
            f"(modules: {', '.join(sorted(registry))})",
        )
    return Problem(
        path,
        f"layer {item.layer}: {item.action!r} is not the name or alias of a drorch module; "
        f"{suggest(item.action, known)}known: {', '.join(known)}",
    )


# --- parameters -----------------------------------------------------------------------------


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


def _checked_parameters(
    module: Any, params: dict[str, Any], where: str, unmapped: list[str]
) -> tuple[dict[str, Any], list[Problem]]:
    """The parameters the module's schema accepts; the others are named as unmapped."""
    validator = jsonschema.Draft202012Validator(module.parameters_schema)
    kept = dict(params)
    for _ in range(len(params) + 1):
        errors = [e for e in validator.iter_errors(kept) if not references.is_reference(e.instance)]
        drop: dict[str, str] = {}
        problems = []
        for error in errors:
            parts = list(error.absolute_path)
            if parts:
                drop.setdefault(str(parts[0]), error.message)
            elif error.validator == "additionalProperties":
                known = module.parameters_schema.get("properties", {})
                for key in kept:
                    if key not in known:
                        drop.setdefault(key, f"module {module.type} declares no such parameter")
            else:
                problems.append(Problem(f"{where}.parameters", f"{module.type}: {error.message}"))
        if not drop:
            return kept, problems
        for key, why in drop.items():
            kept.pop(key, None)
            unmapped.append(
                f"{json_path([key], f'{where}.parameters')}: not mapped "
                f"({module.type} parameter {key!r}: {why})"
            )
    return kept, []


def _group_name(resource_name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", resource_name).strip("-_").lower()[:28] or "resource"
    name, suffix = base, 2
    while name in taken:
        name, suffix = f"{base}-{suffix}", suffix + 1
    taken.add(name)
    return name


def _wave_name(text: str, taken: set[str]) -> str:
    """A valid wave name whose group-id form (lower case, ``-`` for the rest) is new."""
    base = _WAVE_NAME.sub("-", text).strip(" -_.")[:60] or "wave"
    name, suffix = base, 2
    while group_id(name, "") in taken:
        name, suffix = f"{base}-{suffix}", suffix + 1
    taken.add(group_id(name, ""))
    return name


# --- the conversion ----------------------------------------------------------------------------


class _Builder:
    def __init__(self, application: str) -> None:
        self.application = application
        self.waves: list[tuple[dict[str, Any], list[str]]] = []  # (wave, the waves it waits for)
        self.wave_names: set[str] = set()
        self.notes: list[str] = []
        self.unmapped: list[str] = []
        self.problems: list[Problem] = []
        self.layer_start = 0  # index in ``waves`` of the last layer's first wave
        self.group_ids: set[str] = set()

    def technology(
        self, tech: dict[str, Any], module: Any, item: _Resource, wave: str, taken: set[str]
    ) -> dict[str, Any]:
        """A module's technology entry with what every resource shares; ``taken``: the
        group names already in ``wave``."""
        given = copy.deepcopy(tech)
        base = given.pop("name", None) or item.data.get("resourceName") or module.type
        name = _group_name(base, taken)
        while group_id(wave, name) in self.group_ids:
            name = _group_name(base, taken)
        self.group_ids.add(group_id(wave, name))
        selector = dict(given.pop("selector", None) or {})
        account = item.data.get("AccountId")
        if account and "accounts" not in selector:
            selector["accounts"] = [account]
        elif not account:
            self.note(f"{item.label}: no AccountId; the group looks in every staging account")
        if not selector.get("tags") and not selector.get("ids"):
            selector["tags"] = {TAG_WAVE: str(item.layer), "Application": self.application}
            self.note(
                f"{item.label}: nothing to select by; the group selects {TAG_WAVE}={item.layer}, "
                f"Application={self.application} - check the selector"
            )
        params, problems = _checked_parameters(
            module, dict(given.pop("parameters", None) or {}), item.path, self.unmapped
        )
        self.problems += problems
        entry = {"type": given.pop("type", module.type), "name": name, **given}
        entry["selector"] = selector
        if params:
            entry["parameters"] = params
        return entry

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def layer(self, number: int, items: list[tuple[_Resource, Any, Any]]) -> None:
        """The waves of one layer: a shared ``layer-<n>`` wave and the resources' own."""
        after = self.sinks()
        start = len(self.waves)
        if any(mapping.technology is not None for _, _, mapping in items):
            name = _wave_name(f"layer-{number}", self.wave_names)
            taken: set[str] = set()  # group names in the shared wave
            shared = [
                self.technology(mapping.technology, module, item, name, taken)
                for item, module, mapping in items
                if mapping.technology is not None
            ]
            self.waves.append(({"waveName": name, "technologies": shared}, after))
        own = [(item, module, mapping.waves) for item, module, mapping in items if mapping.waves]
        for item, module, fragments in own:
            label = item.data.get("resourceName") or module.type
            names = [
                _wave_name(
                    fragment.get("waveName")
                    or f"layer-{number}-{label}{f'-{i + 1}' if len(fragments) > 1 else ''}",
                    self.wave_names,
                )
                for i, fragment in enumerate(fragments)
            ]
            for index, fragment in enumerate(fragments):
                deps = fragment.get("dependsOn")
                if deps is None:
                    waits = [names[index - 1]] if index else after
                elif all(isinstance(d, int) and 0 <= d < index for d in deps):
                    waits = [names[d] for d in dict.fromkeys(deps)] or after
                else:
                    self.problems.append(
                        Problem(item.path, f"{module.type}: a wave waits for a wave not before it")
                    )
                    continue
                wave = {"waveName": names[index]}
                wave.update({k: fragment[k] for k in _WAVE_KEYS if k in fragment})
                own_taken: set[str] = set()
                wave["technologies"] = [
                    self.technology(t, module, item, names[index], own_taken)
                    for t in fragment["technologies"]
                ]
                self.waves.append((wave, waits))
        if len(self.waves) > start:
            self.layer_start = start

    def sinks(self) -> list[str]:
        """The waves of the last layer that no other wave of it waits for."""
        layer = self.waves[self.layer_start :]
        waited = {name for _, waits in layer for name in waits}
        return [wave["waveName"] for wave, _ in layer if wave["waveName"] not in waited]

    def manifest_waves(self) -> list[dict[str, Any]]:
        """Numbered in order; ``dependsOn`` only where it is not the previous wave."""
        waves = []
        for index, (wave, waits) in enumerate(self.waves):
            default = [self.waves[index - 1][0]["waveName"]] if index else []
            numbered = {"waveNumber": index + 1, **wave}
            if waits != default:
                numbered["dependsOn"] = list(dict.fromkeys(waits))
            waves.append(numbered)
        return waves


def convert_layers(
    data: Any,
    *,
    application: str,
    customer: str,
    environment: str = "production",
    source: str = "layers manifest",
    action: str | None = None,
) -> Conversion:
    """A drorch manifest document from a layers document (see the module docstring).

    ``action`` is the module of resources that name none (a seed 000 ``StatePayload``).
    Raises :class:`ManifestError` if the input cannot be converted; the result always
    passes ``manifest validate``.
    """
    registry, by_alias = _modules()
    builder = _Builder(application)
    resources, problems = _read(data, action, builder.unmapped)
    mapped: dict[int, list[tuple[_Resource, Any, Any]]] = {}
    for item in resources:
        module = _module_for(item, registry, by_alias)
        if isinstance(module, Problem):
            problems.append(module)
            continue
        if isinstance(item.data["parameters"], list) and not getattr(
            module, "layer_parameters_list", False
        ):
            problems.append(Problem(f"{item.path}.parameters", "must be a mapping, not a list"))
            continue
        resource = {**item.data, "parameters": _reference(item.data["parameters"])}
        mapping = module.from_layer(resource, item.path)
        if mapping.technology is None and not mapping.waves:
            problems.append(Problem(item.path, f"module {module.type} mapped nothing of it"))
        for path in mapping.unmapped:
            why = mapping.reasons.get(path) or f"module {module.type} declares no such parameter"
            builder.unmapped.append(f"{path}: not mapped ({why})")
        for note in mapping.notes:
            builder.note(note)
        mapped.setdefault(item.layer, []).append((item, module, mapping))
    if problems:
        raise ManifestError(source, problems)

    for number, items in mapped.items():
        builder.layer(number, items)
    if builder.problems:
        raise ManifestError(source, builder.problems)
    manifest = {
        "manifestVersion": "2.0",
        "application": application,
        "customer": customer,
        "environment": environment,
        "waves": builder.manifest_waves(),
    }
    refused = problems_in(manifest, registry)
    if refused:  # a module mapped something the manifest cannot hold
        raise ManifestError(
            source,
            [Problem(p.path, f"(in the converted manifest) {p.message}") for p in refused],
        )
    return Conversion(manifest, builder.notes, builder.unmapped)
