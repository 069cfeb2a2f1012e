"""Server-side validation of a request against the DRS model.

botocore validates little on the client (required members, types, minimum
lengths); the service itself enforces enums, patterns, maximum lengths and
ranges. :func:`validate_request` does the same and answers the way DRS does: one
``ValidationException`` (reason ``fieldValidationFailed``) listing every field
that failed, by its path in the request.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from botocore.model import Shape

from drorch.sandbox.drs.exceptions import ValidationException


@cache
def _pattern(expression: str) -> re.Pattern[str]:
    return re.compile(expression)


def _check(shape: Shape, value: Any, path: str, problems: list[tuple[str, str]]) -> None:
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                _check(member, value[name], f"{path}.{name}" if path else name, problems)
    elif kind == "list":
        if not isinstance(value, list):
            return
        if "max" in meta and len(value) > meta["max"]:
            problems.append((path, f"must have at most {meta['max']} items, got {len(value)}"))
        if "min" in meta and len(value) < meta["min"]:
            problems.append((path, f"must have at least {meta['min']} items, got {len(value)}"))
        for index, item in enumerate(value):
            _check(shape.member, item, f"{path}[{index}]", problems)
    elif kind == "map":
        if not isinstance(value, dict):
            return
        if "max" in meta and len(value) > meta["max"]:
            problems.append((path, f"must have at most {meta['max']} entries"))
        for key, item in value.items():
            _check(shape.key, key, f"{path}.<key {key!r}>", problems)
            _check(shape.value, item, f"{path}.{key}", problems)
    elif kind == "string":
        if not isinstance(value, str):
            return
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            problems.append((path, f"{value!r} is not one of {', '.join(enum)}"))
            return
        if "min" in meta and len(value) < meta["min"]:
            problems.append((path, f"must be at least {meta['min']} characters long"))
        if "max" in meta and len(value) > meta["max"]:
            problems.append((path, f"must be at most {meta['max']} characters long"))
        if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(value):
            problems.append((path, f"{value!r} does not match the pattern {meta['pattern']}"))
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return
        if "min" in meta and value < meta["min"]:
            problems.append((path, f"must be >= {meta['min']}, got {value}"))
        if "max" in meta and value > meta["max"]:
            problems.append((path, f"must be <= {meta['max']}, got {value}"))


def problems_in(shape: Shape | None, params: dict[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if shape is not None:
        _check(shape, params, "", problems)
    return problems


def missing_required(shape: Shape | None, params: dict[str, Any]) -> list[tuple[str, str]]:
    """The top-level required members a request leaves out (botocore checks them on the
    client; a client with ``parameter_validation=False`` or the AWS CLI's raw JSON may not)."""
    if shape is None:
        return []
    return [
        (name, "Member must not be null")
        for name in getattr(shape, "required_members", [])
        if params.get(name) is None
    ]


def validate_request(shape: Shape | None, params: dict[str, Any]) -> None:
    """Raise one ValidationException naming every invalid field of ``params``."""
    problems = missing_required(shape, params) + problems_in(shape, params)
    if problems:
        summary = "; ".join(f"{name}: {text}" for name, text in problems)
        raise ValidationException(
            f"Invalid request: {summary}", reason="fieldValidationFailed", fields=problems
        )


def field_error(field: str, message: str) -> ValidationException:
    """A ValidationException about one field (for rules the model cannot express)."""
    return ValidationException(
        f"{field}: {message}", reason="fieldValidationFailed", fields=[(field, message)]
    )
