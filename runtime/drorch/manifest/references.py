"""Parameter values that point elsewhere: ``resolve:ssm:<name>`` and ``resolve:cfn-export:<name>``.

A manifest keeps them as strings (so one manifest serves every account and
stays free of secrets); the engine resolves them at run time with
:func:`resolve_parameters`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from drorch.errors import InputError

PREFIX = "resolve:"
SSM = "ssm"
CFN_EXPORT = "cfn-export"
KINDS = (SSM, CFN_EXPORT)
# SSM parameter names (optionally ":<version>" or ":<label>"); export names have no spaces.
_NAME = {
    SSM: re.compile(r"^[A-Za-z0-9_./-]+(:[A-Za-z0-9_.-]+)?$"),
    CFN_EXPORT: re.compile(r"^\S+$"),
}
_SSM_BATCH = 10  # GetParameters takes at most 10 names


def parse_reference(value: Any) -> tuple[str, str] | None:
    """``(kind, name)`` for a well-formed reference, else None."""
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return None
    kind, _, name = value[len(PREFIX) :].partition(":")
    if kind in KINDS and _NAME[kind].match(name):
        return kind, name
    return None


def is_reference(value: Any) -> bool:
    return parse_reference(value) is not None


def reference_problem(value: Any) -> str | None:
    """What is wrong with a string that looks like a reference (None if fine or not one)."""
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return None
    if parse_reference(value) is not None:
        return None
    kind, sep, name = value[len(PREFIX) :].partition(":")
    if kind not in KINDS or not sep:
        return (
            f"{value!r} is not a reference drorch knows; "
            "write resolve:ssm:<parameter name> or resolve:cfn-export:<export name>"
        )
    if not name:
        return f"{value!r} names nothing; write resolve:{kind}:<name>"
    return f"{value!r}: {name!r} is not a valid {'SSM parameter' if kind == SSM else 'export'} name"


def walk(value: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    """Every leaf of a JSON value with its JSON path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, _child(path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")
    else:
        yield path, value


def _child(path: str, key: Any) -> str:
    key = str(key)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{path}.{key}"
    return f"{path}[{key!r}]"


def resolve_parameters(
    params: dict[str, Any], ssm_client: Any, cloudformation_client: Any = None
) -> dict[str, Any]:
    """A copy of ``params`` with every reference replaced by its value.

    SSM parameters are read with decryption (a ``StringList`` becomes a list);
    exports come from ``cloudformation.list_exports`` in the client's region.
    Every missing value is reported at once in one InputError.
    """
    refs = {value for _, value in walk(params) if is_reference(value)}
    where: dict[str, list[str]] = {}
    for path, value in walk(params):
        if is_reference(value):
            where.setdefault(value, []).append(path.replace("$", "parameters", 1))

    def at(reference: str) -> str:
        return f" (at {', '.join(where.get(reference, []))})" if where.get(reference) else ""

    ssm_names = sorted({name for kind, name in map(parse_reference, refs) if kind == SSM})
    export_names = {name for kind, name in map(parse_reference, refs) if kind == CFN_EXPORT}
    values: dict[str, Any] = {}
    missing: list[str] = []

    for start in range(0, len(ssm_names), _SSM_BATCH):
        batch = ssm_names[start : start + _SSM_BATCH]
        response = ssm_client.get_parameters(Names=batch, WithDecryption=True)
        found = {}
        for parameter in response.get("Parameters", []):
            value = parameter["Value"]
            if parameter.get("Type") == "StringList":
                value = value.split(",")
            found[parameter["Name"]] = value
            # a "name:version" selector comes back under the plain name
            if "Selector" in parameter:
                found[parameter["Name"] + parameter["Selector"]] = value
        for name in batch:
            plain = name.split(":", 1)[0]
            if name in found or plain in found:
                values[f"{PREFIX}{SSM}:{name}"] = found.get(name, found.get(plain))
            else:
                missing.append(
                    f"resolve:ssm:{name}: no such SSM parameter {plain!r} "
                    f"(ssm:GetParameters){at(f'{PREFIX}{SSM}:{name}')}"
                )

    if export_names:
        if cloudformation_client is None:
            raise InputError(
                "parameters reference CloudFormation exports but no CloudFormation client was given"
            )
        exports: dict[str, str] = {}
        for page in cloudformation_client.get_paginator("list_exports").paginate():
            for export in page.get("Exports", []):
                exports[export["Name"]] = export["Value"]
        for name in sorted(export_names):
            if name in exports:
                values[f"{PREFIX}{CFN_EXPORT}:{name}"] = exports[name]
            else:
                missing.append(
                    f"resolve:cfn-export:{name}: no such CloudFormation export "
                    f"(cloudformation:ListExports){at(f'{PREFIX}{CFN_EXPORT}:{name}')}"
                )

    if missing:
        raise InputError(
            "cannot resolve parameter references: " + "; ".join(missing),
            hint="create the SSM parameters / stack exports, or fix the names in the manifest",
        )
    return _replace(params, values)


def _replace(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {key: _replace(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace(item, values) for item in value]
    if isinstance(value, str) and value in values:
        return values[value]
    return value
