"""Load a manifest: parse, validate (schema + semantics), build the model.

Every problem is collected and reported at once, each as
``<json path>: <what is wrong and how to fix it>``, in one :class:`ManifestError`
(an :class:`~drorch.errors.InputError`). Nothing is built from a bad manifest.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from drorch.errors import InputError
from drorch.manifest import references
from drorch.manifest.build import (
    build,
    default_application,
    default_dependencies,
    default_step_name,
    group_id,
    step_parameters,
    step_type,
)
from drorch.manifest.build import integer as _integer
from drorch.manifest.dag import describe_cycle, find_cycles
from drorch.manifest.model import END_OF_RUN, OPTIONAL, Manifest
from drorch.manifest.problems import (
    ManifestError,
    Problem,
    error_problem,
    json_path,
    schema_problems,
    suggest,
)

__all__ = ["ManifestError", "Problem", "load_manifest", "load_manifest_file", "problems_in"]

SCHEMA_FILE = "manifest.schema.json"


@cache
def schema() -> dict[str, Any]:
    """The manifest JSON Schema (draft 2020-12)."""
    text = resources.files("drorch.manifest").joinpath(SCHEMA_FILE).read_text()
    return json.loads(text)


def default_modules() -> Mapping[str, Any]:
    """``drorch.modules.REGISTRY`` when the modules package is importable, else ``{}``."""
    try:
        from drorch.modules import REGISTRY
    except ImportError:
        return {}
    return REGISTRY


# --- parsing ---------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (PyYAML keeps the last)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                "a mapping key must be a plain value, not a list or mapping",
                key_node.start_mark,
            ) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {key!r} appears twice in one mapping (first on line "
                f"{seen[key].start_mark.line + 1}); keep one",
                key_node.start_mark,
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)


# safe-loading limits: a manifest is a few KB; these stop bombs, not real manifests
MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIASES = 200
MAX_EXPANDED_NODES = 100_000


def _check_shape(text: str, source: str) -> None:
    """Depth, aliases and expanded size, before anything is constructed (an alias bomb
    is small on disk and expands only when walked)."""
    depth = aliases = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else "?"
                raise ManifestError(
                    source, [Problem("$", f"nested deeper than {MAX_DEPTH} levels (line {line})")]
                )
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise ManifestError(
                    source,
                    [Problem("$", f"more than {MAX_ALIASES} YAML aliases (*name); write it out")],
                )
    if not aliases:
        return
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        if id(node) not in sizes:
            if isinstance(node, yaml.MappingNode):
                sizes[id(node)] = 1 + sum(size(k) + size(v) for k, v in node.value)
            elif isinstance(node, yaml.SequenceNode):
                sizes[id(node)] = 1 + sum(size(v) for v in node.value)
            else:
                sizes[id(node)] = 1
        return sizes[id(node)]

    for document in yaml.compose_all(text, Loader=yaml.SafeLoader):
        if document is not None and size(document) > MAX_EXPANDED_NODES:
            raise ManifestError(
                source,
                [Problem("$", f"its aliases expand to more than {MAX_EXPANDED_NODES} values")],
            )


def parse_text(text: str | bytes, source: str) -> Any:
    """YAML (a superset of JSON) to Python; a syntax error is an InputError with its line.

    Safe loading with limits: size, nesting depth and aliases (see the constants)."""
    if len(text) > MAX_BYTES:
        raise ManifestError(
            source, [Problem("$", f"larger than {MAX_BYTES // 1024} KiB; split the manifest")]
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ManifestError(
                source, [Problem("$", f"not UTF-8 text (byte {exc.start}); save it as UTF-8")]
            ) from exc
    try:
        _check_shape(text, source)
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError as exc:
        raise ManifestError(source, [Problem("$", "nested too deeply to read")]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManifestError(
            source, [Problem("$", f"not valid YAML/JSON{where}: {problem}")]
        ) from exc


@cache
def _manifest_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def manifest_schema_problems(document: Any) -> list[Problem]:
    return schema_problems(document, _manifest_validator())


# --- semantic checks -------------------------------------------------------


def _waves(document: Any) -> list[tuple[int, dict]]:
    waves = document.get("waves") if isinstance(document, dict) else None
    if not isinstance(waves, list):
        return []
    return [(i, w) for i, w in enumerate(waves) if isinstance(w, dict)]


def _dependency_graph(waves: list[tuple[int, dict]]) -> dict[str, list[str]]:
    previous = default_dependencies(waves)
    graph: dict[str, list[str]] = {}
    for index, wave in sorted(
        waves, key=lambda iw: (_integer(iw[1].get("waveNumber")) or 0, iw[0])
    ):
        name = wave.get("waveName")
        if not isinstance(name, str) or name in graph:
            continue
        deps = wave.get("dependsOn")
        if isinstance(deps, list):
            graph[name] = [d for d in deps if isinstance(d, str)]
        else:
            graph[name] = [previous[index]] if previous.get(index) else []
    return graph


def _check_waves(document: Any) -> list[Problem]:
    problems: list[Problem] = []
    waves = _waves(document)
    numbers: dict[int, int] = {}
    names: dict[str, int] = {}
    for index, wave in waves:
        number = _integer(wave.get("waveNumber"))
        if number is not None:
            if number in numbers:
                problems.append(
                    Problem(
                        f"$.waves[{index}].waveNumber",
                        f"{number} is already the number of $.waves[{numbers[number]}]; "
                        "give each wave its own number",
                    )
                )
            else:
                numbers[number] = index
        name = wave.get("waveName")
        if isinstance(name, str) and name.lower() == END_OF_RUN:
            problems.append(
                Problem(
                    f"$.waves[{index}].waveName",
                    f"{END_OF_RUN!r} is reserved for the end-of-run health checks; rename the wave",
                )
            )
        if isinstance(name, str):
            if name in names:
                problems.append(
                    Problem(
                        f"$.waves[{index}].waveName",
                        f"{name!r} is already the name of $.waves[{names[name]}]; "
                        "give each wave its own name",
                    )
                )
            else:
                names[name] = index

    for index, wave in waves:
        deps = wave.get("dependsOn")
        if not isinstance(deps, list):
            continue
        for position, dep in enumerate(deps):
            if not isinstance(dep, str):
                continue
            path = f"$.waves[{index}].dependsOn[{position}]"
            if dep == wave.get("waveName"):
                problems.append(Problem(path, "a wave cannot depend on itself; remove it"))
            elif dep not in names:
                problems.append(
                    Problem(
                        path,
                        f"no wave is named {dep!r}; {suggest(dep, names)}"
                        f"waves: {', '.join(names) or 'none'}",
                    )
                )

    graph = _dependency_graph(waves)
    for cycle in find_cycles(graph):
        if len(cycle) == 2:
            continue  # self-dependency, reported above
        problems.append(
            Problem(
                f"$.waves[{names[cycle[0]]}].dependsOn",
                f"{describe_cycle(cycle)}; remove one of these dependencies",
            )
        )
    return problems


def _check_groups(document: Any, modules: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    ids: dict[str, str] = {}
    for index, wave in _waves(document):
        technologies = wave.get("technologies")
        if not isinstance(technologies, list):
            continue
        wave_name = wave.get("waveName") if isinstance(wave.get("waveName"), str) else None
        local: dict[str, int] = {}
        routes = _category_routes(technologies, modules)
        for position, tech in enumerate(technologies):
            if not isinstance(tech, dict):
                continue
            path = f"$.waves[{index}].technologies[{position}]"
            kind = tech.get("type")
            name = tech.get("name", f"{kind}-{position}")
            if isinstance(name, str) and isinstance(kind, str):
                if name in local:
                    problems.append(
                        Problem(
                            f"{path}.name",
                            f"{name!r} is already the name of technologies[{local[name]}] "
                            "in this wave; give each group its own name",
                        )
                    )
                else:
                    local[name] = position
                    if wave_name is not None:
                        gid = group_id(wave_name, name)
                        if gid in ids and ids[gid] != path:
                            problems.append(
                                Problem(
                                    f"{path}.name",
                                    f"the group id {gid!r} is also the id of {ids[gid]}; "
                                    "rename the group or the wave",
                                )
                            )
                        ids.setdefault(gid, path)

            problems += _impact_problems(tech, path)
            selector = tech.get("selector")
            if isinstance(selector, dict) and not selector.get("tags") and not selector.get("ids"):
                problems.append(
                    Problem(
                        f"{path}.selector",
                        "selects by neither tags nor ids; add tags (e.g. dr:wave) or ids",
                    )
                )

            params = tech.get("parameters", {})
            if isinstance(params, dict):
                problems += _reference_problems(params, f"{path}.parameters")
            if routes[position] is not None:  # a TRS category: routed by dr:recovery-strategy
                problems += _category_problems(kind, routes[position], params, path)
                continue
            if modules and isinstance(kind, str):
                module = modules.get(kind)
                if module is None:
                    problems.append(
                        Problem(
                            f"{path}.type",
                            f"{kind!r} is not a registered module; {suggest(kind, modules)}"
                            f"registered modules: {', '.join(sorted(modules))}",
                        )
                    )
                elif isinstance(params, dict):
                    problems += _parameter_problems(module, params, f"{path}.parameters")

        for key, role in (
            ("preWaveActions", "pre"),
            ("postWaveActions", "post"),
            ("healthChecks", "check"),
        ):
            problems += _check_steps(wave.get(key), f"$.waves[{index}].{key}", role, modules)
    top = document.get("healthChecks") if isinstance(document, dict) else None
    if isinstance(top, dict):
        problems += _check_steps(top.get("endpoints"), "$.healthChecks.endpoints", "check", modules)
    else:
        problems += _check_steps(top, "$.healthChecks", "check", modules)
    return problems


def _category_routes(technologies: list, modules: Mapping[str, Any]) -> list[list[str] | None]:
    """Per technology: the modules a TRS category type routes to, None for a module."""
    types = [t.get("type") if isinstance(t, dict) else None for t in technologies]
    if not modules:
        return [None] * len(types)
    from drorch.modules.routing import wave_routes

    return wave_routes(types, modules)


def _category_problems(kind: str, members: list[str], params: Any, path: str) -> list[Problem]:
    if not members:
        return [
            Problem(
                f"{path}.type",
                f"{kind!r} hands each resource to the module its dr:recovery-strategy tag "
                "names, and no module is left to hand them to (the wave names each one "
                "itself, or none declares strategies); remove it",
            )
        ]
    if params:
        return [
            Problem(
                f"{path}.parameters",
                f"{kind!r} hands resources to several modules ({', '.join(members)}); give "
                "parameters to a group of one module (type: <module>) instead",
            )
        ]
    return []


STEP_KINDS = {"pre": ("step", "check"), "post": ("step", "check"), "check": ("check", "step")}


def _check_steps(entries: Any, root: str, role: str, modules: Mapping[str, Any]) -> list[Problem]:
    """Wave actions or health checks: a step/check module each, its parameters valid, names
    unique."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for position, raw in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(raw, dict):
            continue
        path = f"{root}[{position}]"
        kind = step_type(raw, modules)
        if not isinstance(kind, str) or not kind:
            continue  # the schema names it
        name = raw.get("name") or default_step_name(raw, kind, position)
        if isinstance(name, str):
            if name in seen:
                problems.append(
                    Problem(
                        f"{path}.name",
                        f"{name!r} is already the name of [{seen[name]}]; give each its own name",
                    )
                )
            seen.setdefault(name, position)
        params = step_parameters(raw)
        problems += _impact_problems(raw, path)
        problems += _reference_problems(params, path)
        if not modules:
            continue
        module = modules.get(kind)
        if module is None:
            steps = sorted(
                n for n, m in modules.items() if getattr(m, "kind", "resource") != "resource"
            )
            problems.append(
                Problem(
                    f"{path}.type",
                    f"{kind!r} is not a registered step or check module; "
                    f"{suggest(kind, modules)}use one of {', '.join(steps)}",
                )
            )
            continue
        if getattr(module, "kind", "step") not in STEP_KINDS[role]:
            problems.append(
                Problem(
                    f"{path}.type",
                    f"{kind!r} recovers resources: put it in the wave's technologies; "
                    "actions and health checks take step and check modules",
                )
            )
            continue
        problems += _parameter_problems(module, params, path)
    return problems


def _impact_problems(raw: Mapping[str, Any], path: str) -> list[Problem]:
    """An optional member never fails its wave, nor stops the run to ask: a failurePolicy
    of fail or ask beside ``impact: optional`` contradicts it."""
    policy = raw.get("failurePolicy")
    if raw.get("impact") == OPTIONAL and policy in ("fail", "ask"):
        return [
            Problem(
                f"{path}.failurePolicy",
                f"{policy!r} contradicts impact: optional (an optional member's failure is "
                "a warning only); remove failurePolicy, or make the member critical",
            )
        ]
    return []


def _reference_problems(params: dict, root: str) -> list[Problem]:
    problems = []
    for path, value in references.walk(params, root):
        problem = references.reference_problem(value)
        if problem:
            problems.append(Problem(path, problem))
    return problems


def _parameter_problems(module: Any, params: dict, root: str) -> list[Problem]:
    """Module parameters against the module's schema; a reference passes for any value."""
    parameters_schema = getattr(module, "parameters_schema", None) or {}
    validator = jsonschema.Draft202012Validator(parameters_schema)
    problems = []
    for error in validator.iter_errors(params):
        if references.is_reference(error.instance):
            continue  # resolved at run time, checked then
        problems.append(error_problem(error, params, root))
    return problems


def _check_top(document: Any) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(document, dict):
        return problems
    customer, environment = document.get("customer"), document.get("environment")
    if (
        "application" not in document
        and isinstance(customer, str)
        and isinstance(environment, str)
        and not default_application(customer, environment)
    ):
        problems.append(
            Problem(
                "$.application",
                "cannot be derived from customer and environment; set application",
            )
        )
    approval = document.get("approvalWorkflow")
    if isinstance(approval, dict):
        if (
            isinstance(approval.get("required"), bool)
            and isinstance(approval.get("enabled"), bool)
            and approval["required"] != approval["enabled"]
        ):
            problems.append(
                Problem(
                    "$.approvalWorkflow.enabled",
                    "contradicts approvalWorkflow.required; keep only one of the two",
                )
            )
        if "timeout" in approval and "timeoutMinutes" in approval:
            problems.append(
                Problem(
                    "$.approvalWorkflow.timeout",
                    "given together with timeoutMinutes; keep only timeoutMinutes",
                )
            )
    return problems


def _plain(value: Any, parts: list[Any], problems: list[Problem]) -> Any:
    """A copy with JSON's shapes: text keys (YAML allows others) and lists for tuples."""
    if isinstance(value, dict):
        copy_ = {}
        for key, item in value.items():
            if not isinstance(key, str):
                problems.append(
                    Problem(
                        json_path([*parts, str(key)]),
                        f'the key {key!r} must be text; quote it: "{key}"',
                    )
                )
            copy_[str(key)] = _plain(item, [*parts, str(key)], problems)
        return copy_
    if isinstance(value, (list, tuple)):
        return [_plain(item, [*parts, index], problems) for index, item in enumerate(value)]
    return value


def problems_in(document: Any, modules: Mapping[str, Any] | None = None) -> list[Problem]:
    """Every problem of a parsed manifest, schema first then semantics, in path order."""
    modules = default_modules() if modules is None else modules
    found: list[Problem] = []
    document = _plain(document, [], found)
    found += manifest_schema_problems(document)
    found += _check_top(document)
    found += _check_waves(document)
    found += _check_groups(document, modules)
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda p: _path_key(p.path))


def _path_key(path: str) -> list[tuple[int, Any]]:
    key: list[tuple[int, Any]] = []
    for token in re.findall(r"\[(\d+)\]|\[('[^']*')\]|\.([^.\[]+)", path):
        index, quoted, name = token
        key.append((0, int(index)) if index else (1, quoted or name))
    return key


def load_manifest(
    text_or_dict: str | bytes | Mapping[str, Any],
    source: str = "manifest",
    modules: Mapping[str, Any] | None = None,
) -> Manifest:
    """Parse (YAML or JSON text, or an already-parsed mapping), validate, build.

    ``modules`` maps a module type to an object with ``parameters_schema``; by
    default ``drorch.modules.REGISTRY``. An empty mapping skips the module checks.
    Raises :class:`ManifestError` listing every problem.
    """
    if isinstance(text_or_dict, (str, bytes)):
        document = parse_text(text_or_dict, source)
    else:
        document = copy.deepcopy(text_or_dict)  # never share the caller's objects
    modules = default_modules() if modules is None else modules
    problems = problems_in(document, modules)
    if problems:
        raise ManifestError(source, problems)
    manifest = build(_plain(document, [], []), modules)
    from drorch.engine.plan import plan_size_problem  # the engine's plan, built from the model

    too_large = plan_size_problem(manifest)
    if too_large:
        raise ManifestError(source, [Problem("$.waves", too_large)])
    return manifest


def load_manifest_file(path: str | Path, modules: Mapping[str, Any] | None = None) -> Manifest:
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the manifest: {exc.strerror or exc}") from exc
    return load_manifest(text, str(path), modules)
