"""Layered DRS launch settings (``accounts/drs/``, seed TRS App. N).

For one source server the layers are, in order (later wins):

1. ``defaults.yaml``
2. ``account-<accountId>.yaml`` or ``account-<name>.yaml`` (not both)
3. ``tag-<Key>-<Value>.yaml`` for each of the server's tags, in sorted key order,
   when the file exists (characters other than letters, digits, ``.``, ``_`` and
   ``-`` in a key or value are written ``_`` in the file name: ``dr:wave=1`` is
   ``tag-dr_wave-1.yaml``)
4. optionally the manifest's ``launchSettings`` module parameter

merged deeply (mappings merge key by key, lists and scalars replace). Every
layer holds fields of DRS ``UpdateLaunchConfiguration`` only; the schema is built
from the installed botocore model, so it is exactly what the API accepts. EC2
launch-template settings (instance type, subnets, security groups, ...) are out
of scope for these files. Errors name the file and the key.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session

from drorch.errors import InputError

SETTINGS_ENV = "DRORCH_DRS_SETTINGS_DIR"
DEFAULTS_FILE = "defaults.yaml"
# Fields of UpdateLaunchConfiguration that identify the server rather than configure it.
_PER_SERVER = ("sourceServerID", "name")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_FILE = re.compile(r"^(defaults|account-[A-Za-z0-9._-]+|tag-[A-Za-z0-9._-]+)\.yaml$")


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``: mappings merge recursively, anything else
    (lists included) replaces. Neither input is changed. Layering is associative
    for layers that agree on which keys hold mappings, which the schema ensures."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def merge_layers(layers: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for layer in layers:
        result = deep_merge(result, layer)
    return result


def _same(current: Any, wanted: Any) -> bool:
    if isinstance(wanted, Mapping):
        return isinstance(current, Mapping) and all(
            _same(current.get(k), v) for k, v in wanted.items()
        )
    return current == wanted


def settings_changes(
    current: Mapping[str, Any], wanted: Mapping[str, Any], exact: bool = False
) -> dict[str, Any]:
    """The ``wanted`` settings that differ from a server's ``current`` launch configuration
    (GetLaunchConfiguration): what UpdateLaunchConfiguration must write, nothing else. A
    mapping (``licensing``) is the same when every key it gives is; ``exact`` (restoring
    a recorded value): when it is equal."""
    same = (lambda a, b: a == b) if exact else _same
    return {k: copy.deepcopy(v) for k, v in wanted.items() if not same(current.get(k), v)}


# --- the schema, from the botocore model -------------------------------------------


def _shape_schema(shape: Any) -> dict[str, Any]:
    kind = shape.type_name
    if kind == "structure":
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {name: _shape_schema(member) for name, member in shape.members.items()},
        }
    if kind == "boolean":
        return {"type": "boolean"}
    if kind in ("integer", "long"):
        schema: dict[str, Any] = {"type": "integer"}
    elif kind == "string":
        schema = {"type": "string"}
        if shape.enum:
            schema["enum"] = list(shape.enum)
        if "pattern" in shape.metadata:
            schema["pattern"] = shape.metadata["pattern"]
        if "min" in shape.metadata:
            schema["minLength"] = shape.metadata["min"]
        if "max" in shape.metadata:
            schema["maxLength"] = shape.metadata["max"]
        return schema
    elif kind == "list":
        return {"type": "array", "items": _shape_schema(shape.member)}
    elif kind == "map":
        return {"type": "object", "additionalProperties": _shape_schema(shape.value)}
    else:
        return {}
    if "min" in shape.metadata:
        schema["minimum"] = shape.metadata["min"]
    if "max" in shape.metadata:
        schema["maximum"] = shape.metadata["max"]
    return schema


@cache
def launch_settings_schema() -> dict[str, Any]:
    """JSON Schema of one settings layer: the settable UpdateLaunchConfiguration fields."""
    model = botocore.session.get_session().get_service_model("drs")
    shape = model.operation_model("UpdateLaunchConfiguration").input_shape
    schema = _shape_schema(shape)
    for name in _PER_SERVER:
        schema["properties"].pop(name, None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "drorch DRS launch settings layer (UpdateLaunchConfiguration fields)"
    return schema


@cache
def settings_validator() -> Any:
    """The validator of :func:`launch_settings_schema`, built once (jsonschema is imported
    on first use, not with the DRS module)."""
    import jsonschema

    return jsonschema.Draft202012Validator(launch_settings_schema())


def settings_errors(data: Any, source: str) -> list[str]:
    """Every problem with one layer, as ``<source>: <json path>: <what is wrong>``."""
    if not isinstance(data, Mapping):
        return [f"{source}: $: must be a mapping of launch settings, not {type(data).__name__}"]
    validator = settings_validator()
    problems = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = "$"
        for part in error.absolute_path:
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
        if error.validator == "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            for key in extra:
                where = f"{path}.{key}"
                problems.append(
                    f"{source}: {where}: not a DRS launch configuration setting "
                    f"(allowed here: {', '.join(error.schema.get('properties', {}))}; "
                    "EC2 launch-template settings are out of scope)"
                )
            continue
        problems.append(f"{source}: {path}: {error.message}")
    return problems


def validate_settings(data: Any, source: str) -> dict[str, Any]:
    problems = settings_errors(data, source)
    if problems:
        raise InputError("; ".join(problems), hint="fix the launch settings named above")
    return dict(data)


# --- the layered files ----------------------------------------------------------------


def file_part(text: str) -> str:
    """How a tag key or value is written in a ``tag-<Key>-<Value>.yaml`` file name."""
    return _UNSAFE.sub("_", text)


def default_settings_dir() -> Path | None:
    """``$DRORCH_DRS_SETTINGS_DIR``, else ``accounts/drs`` under the working
    directory or the repository this package runs from."""
    configured = os.environ.get(SETTINGS_ENV)
    if configured:
        return Path(configured)
    candidates = [Path.cwd() / "accounts" / "drs"]
    candidates += [parent / "accounts" / "drs" for parent in Path(__file__).resolve().parents]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


@dataclass(frozen=True)
class LayeredSettings:
    settings: dict[str, Any]
    layers: tuple[str, ...]  # file names (and "manifest"), in the order applied


class LaunchSettingsStore:
    """The layer files of one directory, each read and validated once."""

    def __init__(self, directory: Path | str | None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self._cache: dict[str, dict[str, Any] | None] = {}

    def _layer(self, name: str) -> dict[str, Any] | None:
        if name in self._cache:
            return self._cache[name]
        path = self.directory / name if self.directory else None
        layer: dict[str, Any] | None = None
        if path is not None and path.is_file():
            import yaml

            try:
                data = yaml.safe_load(path.read_text())
            except yaml.YAMLError as exc:
                raise InputError(f"{path}: not valid YAML: {exc}") from exc
            layer = validate_settings({} if data is None else data, str(path))
        self._cache[name] = layer
        return layer

    def account_file(self, account_id: str, account_name: str = "") -> str | None:
        by_id = f"account-{account_id}.yaml"
        by_name = f"account-{file_part(account_name)}.yaml" if account_name else None
        found = [n for n in (by_id, by_name) if n and self._layer(n) is not None]
        if len(found) > 1:
            raise InputError(
                f"{self.directory}: both {found[0]} and {found[1]} exist for account "
                f"{account_id}; keep one"
            )
        return found[0] if found else None

    def resolve(
        self,
        account_id: str,
        account_name: str = "",
        tags: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> LayeredSettings:
        """The settings for one server, and the layers they came from."""
        names: list[str] = []
        if self._layer(DEFAULTS_FILE) is not None:
            names.append(DEFAULTS_FILE)
        account = self.account_file(account_id, account_name)
        if account:
            names.append(account)
        for key in sorted(tags or {}):
            name = f"tag-{file_part(key)}-{file_part(str((tags or {})[key]))}.yaml"
            if self._layer(name) is not None:
                names.append(name)
        layers = [self._layer(n) or {} for n in names]
        if extra:
            layers.append(validate_settings(extra, "manifest parameters.launchSettings"))
            names.append("manifest")
        merged = merge_layers(layers)
        return LayeredSettings(validate_settings(merged, "merged launch settings"), tuple(names))

    def check(self) -> list[str]:
        """Every problem in the directory (file names, YAML, schema), for ``accounts verify``."""
        if self.directory is None or not self.directory.is_dir():
            return [f"{self.directory}: DRS settings directory not found"]
        import yaml

        problems = []
        for path in sorted(self.directory.iterdir()):
            if path.is_dir() or path.name.startswith("."):
                continue
            if not _FILE.match(path.name):
                problems.append(
                    f"{path}: not a settings layer name (defaults.yaml, account-<id or name>.yaml, "
                    "tag-<Key>-<Value>.yaml)"
                )
                continue
            try:
                data = yaml.safe_load(path.read_text())
            except yaml.YAMLError as exc:
                problems.append(f"{path}: not valid YAML: {exc}")
                continue
            problems.extend(settings_errors({} if data is None else data, str(path)))
        return problems
