"""Problems in a document: ``<json path>: <what is wrong and how to fix it>``.

:func:`schema_problems` turns JSON Schema errors into such messages (the path of
the offending value, the allowed values, a "did you mean"); :class:`ManifestError`
carries every problem of a document at once.
"""

from __future__ import annotations

import datetime
import difflib
import json
import re
from typing import TYPE_CHECKING, Any, NamedTuple

from drorch.errors import InputError
from drorch.manifest.model import OPERATIONS

if TYPE_CHECKING:
    import jsonschema

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Problem(NamedTuple):
    path: str  # JSON path, "$" is the document
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ManifestError(InputError):
    """A manifest is invalid; ``problems`` lists every problem found."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            f"{source}: invalid manifest ({count}):\n{lines}",
            hint="fix every line above; `drorch manifest validate FILE` re-checks",
        )


def json_path(parts: Any, root: str = "$") -> str:
    path = root
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _IDENTIFIER.fullmatch(str(part)):
            path += f".{part}"
        else:
            path += f"[{str(part)!r}]"
    return path


_JSON_TYPES = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    list: "a list",
    dict: "a mapping",
    type(None): "null",
}
_SCHEMA_TYPES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true or false)",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}
# What a value with a pattern should look like, by the name of its field.
_FORMS = {
    "application": "letters, digits, '_', '.' or '-', starting with a letter or digit, up to 64 characters",
    "waveName": "letters, digits, spaces, '_', '.' or '-', starting with a letter or digit",
    "dependsOn": "a wave name",
    "name": "letters, digits, '_' or '-', starting with a letter or digit, up to 32 characters",
    "type": "lower-case letters, digits and '-', e.g. drs",
    "snsTopicArn": "an SNS topic ARN, arn:aws:sns:<region>:<account>:<topic>",
    "emails": "an e-mail address",
    "emailRecipients": "an e-mail address",
    "regions": "a region such as us-east-2",
    "resourceTypes": "a Resource Explorer type such as drs:source-server",
    "functionArn": "a Lambda function ARN or name",
}


def _type_name(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _field(parts: list[Any]) -> str:
    """The name of the field a path ends in (skipping list indexes)."""
    for part in reversed(parts):
        if not isinstance(part, int):
            return str(part)
    return ""


def suggest(word: Any, choices: Any) -> str:
    """ "did you mean 'x'? " for a near miss (case-insensitive), else ""."""
    by_lower = {str(c).lower(): str(c) for c in choices}
    close = difflib.get_close_matches(str(word).lower(), list(by_lower), n=1)
    return f"did you mean {by_lower[close[0]]!r}? " if close else ""


def _at(document: Any, parts: list[Any]) -> Any:
    for part in parts:
        try:
            document = document[part]
        except (KeyError, IndexError, TypeError):
            return None
    return document


def error_problem(error: jsonschema.ValidationError, document: Any, root: str) -> Problem:
    parts = list(error.absolute_path)
    validator = error.validator
    value = error.validator_value
    instance = error.instance

    if "propertyNames" in error.absolute_schema_path:
        # the error is about a key: point at the key itself
        path = json_path([*parts, instance], root)
        if _field(parts) == "phases":
            return Problem(
                path,
                f"{instance!r} is not an operation; {suggest(instance, OPERATIONS)}"
                f"use {', '.join(OPERATIONS)}",
            )
        return Problem(path, f"{instance!r} is not allowed as a key here: {error.message}")

    path = json_path(parts, root)
    if validator == "required":
        match = re.match(r"'(.+)' is a required property", error.message)
        name = match.group(1) if match else error.message
        about = (error.schema.get("properties", {}).get(name) or {}).get("description")
        return Problem(
            json_path([*parts, name], root),
            f"is required but missing; add it{f' ({about})' if about else ''}",
        )
    if (
        validator in ("oneOf", "anyOf")
        and isinstance(value, list)
        and all(set(v) == {"required"} for v in value)
    ):
        names = [n for v in value for n in v["required"]]
        present = [n for n in names if isinstance(instance, dict) and n in instance]
        if len(present) > 1 and validator == "oneOf":
            return Problem(path, f"give only one of {', '.join(present)}")
        return Problem(path, f"needs one of {' or '.join(names)}")
    if validator == "additionalProperties" and value is False:
        allowed = sorted(error.schema.get("properties", {}))
        patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
        extra = [
            key
            for key in instance
            if key not in allowed and not any(p.search(str(key)) for p in patterns)
        ]
        key = extra[0] if extra else "?"
        return Problem(
            json_path([*parts, key], root),
            f"unknown property; {suggest(key, allowed)}allowed here: {', '.join(allowed)}",
        )
    if validator in ("enum", "const"):
        choices = value if validator == "enum" else [value]
        return Problem(
            path,
            f"{instance!r} is not allowed; {suggest(instance, choices)}"
            f"use {' or '.join(', '.join(map(str, choices)).rsplit(', ', 1))}",
        )
    if validator == "type":
        wanted = value if isinstance(value, list) else [value]
        text = " or ".join(_SCHEMA_TYPES.get(t, t) for t in wanted)
        hint = ""
        if "string" in wanted and isinstance(instance, (int, float, bool)):
            hint = f'; quote it: "{json.dumps(instance)}"'
        elif "string" in wanted and isinstance(instance, datetime.date):
            hint = f'; YAML read a date: quote it: "{instance.isoformat()}"'
        return Problem(path, f"must be {text}, not {_type_name(instance)}{hint}")
    if validator == "pattern":
        form = _FORMS.get(_field(parts), f"text matching {value}")
        return Problem(path, f"{instance!r} is not valid; write {form}")
    if validator == "minItems":
        return Problem(path, "must not be empty" if value == 1 else f"needs at least {value} items")
    if validator == "uniqueItems":
        seen: list[Any] = []
        duplicates = []
        for item in instance:
            if item in seen and item not in duplicates:
                duplicates.append(item)
            seen.append(item)
        listed = ", ".join(json.dumps(d) for d in duplicates)
        return Problem(path, f"lists {listed} more than once; list each once")
    if validator == "minLength":
        return Problem(
            path, "must not be empty" if value == 1 else f"needs at least {value} characters"
        )
    if validator == "maxLength":
        return Problem(path, f"is longer than {value} characters; shorten it")
    if validator in ("minimum", "exclusiveMinimum"):
        return Problem(path, f"{instance!r} is too small; the minimum is {value}")
    if validator in ("maximum", "exclusiveMaximum"):
        return Problem(path, f"{instance!r} is too large; the maximum is {value}")
    if validator is None or error.schema is False:
        # a `false` schema: this property is not allowed in this context (jsonschema
        # reports it at the object holding the property: find the property by identity)
        holder = _at(document, parts)
        if isinstance(holder, dict) and holder is not instance:
            parts += [k for k, v in holder.items() if v is instance][:1]
            path = json_path(parts, root)
        parent = _at(document, parts[:-1])
        kind = parent.get("type") if isinstance(parent, dict) else None
        if kind:
            return Problem(path, f"is not used by an action of type {kind!r}; remove it")
        return Problem(path, "is not allowed here; remove it")
    if validator == "anyOf" and _field(parts) and "Actions" in json_path(parts, root):
        return Problem(path, "must be a string, number, boolean, or a list of them")
    return Problem(path, error.message)


def schema_problems(
    document: Any, validator: jsonschema.protocols.Validator | dict[str, Any], root: str = "$"
) -> list[Problem]:
    """Problems a JSON Schema (or a ready validator) finds in ``document``."""
    if isinstance(validator, dict):
        import jsonschema

        validator = jsonschema.Draft202012Validator(validator)
    return [error_problem(e, document, root) for e in validator.iter_errors(document)]
