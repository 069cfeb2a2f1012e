"""Check a fake's raw HTTP response against the real service model.

botocore's parser is lenient: it drops members it does not know and accepts a
string where a number belongs. The sandbox promises more — every response of
its own fakes must be exactly what the real service could send — so the
interceptor runs :func:`check_response` on the raw status, headers and body of
every DRS and Resource Explorer response (and, when asked, of every moto
service) and records or raises each violation.

Supported protocols: ``rest-json`` and ``json`` (what drorch's fakes speak).
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from botocore.model import OperationModel, Shape, StructureShape

# Errors any operation of any service may answer, whatever its model declares: the
# "Common Errors" of every AWS API reference (e.g.
# https://docs.aws.amazon.com/drs/latest/APIReference/CommonErrors.html), with their
# HTTP status, plus UnknownOperationException, what a JSON endpoint answers for an
# operation it does not know.
COMMON_ERRORS = {
    "AccessDeniedException": 400,
    "IncompleteSignature": 400,
    "InternalFailure": 500,
    "InvalidAction": 400,
    "InvalidClientTokenId": 403,
    "NotAuthorized": 400,
    "OptInRequired": 403,
    "RequestExpired": 400,
    "ServiceUnavailable": 503,
    "ThrottlingException": 400,
    "ValidationError": 400,
    "UnknownOperationException": 404,
}


class FidelityError(AssertionError):
    """A fake answered something the real service could not have sent."""


@cache
def _pattern(expression: str | None) -> re.Pattern[str] | None:
    if not expression:
        return None
    try:
        return re.compile(expression)
    except re.error:  # a Java-only construct: skip rather than guess
        return None


def _kind(value: Any) -> str:
    return type(value).__name__


def check_value(
    shape: Shape, value: Any, path: str, problems: list[str], timestamp_default: str
) -> None:
    type_name = shape.type_name
    if getattr(shape, "is_document_type", False):
        return  # a document member holds any JSON value
    if type_name == "structure":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object for {shape.name}, got {_kind(value)}")
            return
        members = shape.members
        wire_names = {
            (member.serialization.get("name") or name): (name, member)
            for name, member in members.items()
            if member.serialization.get("location") in (None, "")
        }
        for key, item in value.items():
            if key not in wire_names:
                problems.append(f"{path}.{key}: not a member of {shape.name}")
                continue
            name, member = wire_names[key]
            if item is None:
                problems.append(f"{path}.{key}: null is never sent by AWS; omit the member")
                continue
            check_value(member, item, f"{path}.{key}", problems, timestamp_default)
        for required in getattr(shape, "required_members", []):
            member = members[required]
            if member.serialization.get("location") not in (None, ""):
                continue
            wire = member.serialization.get("name") or required
            if wire not in value:
                problems.append(f"{path}.{wire}: required member of {shape.name} is missing")
    elif type_name == "list":
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {_kind(value)}")
            return
        for index, item in enumerate(value):
            check_value(shape.member, item, f"{path}[{index}]", problems, timestamp_default)
    elif type_name == "map":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a map, got {_kind(value)}")
            return
        for key, item in value.items():
            check_value(shape.key, key, f"{path}<key>", problems, timestamp_default)
            check_value(shape.value, item, f"{path}.{key}", problems, timestamp_default)
    elif type_name == "string":
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string, got {_kind(value)}")
            return
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not one of {shape.name}'s values {shape.enum}")
        metadata = shape.metadata
        if "min" in metadata and len(value) < metadata["min"]:
            problems.append(f"{path}: {value!r} is shorter than {metadata['min']}")
        if "max" in metadata and len(value) > metadata["max"]:
            problems.append(f"{path}: {value!r} is longer than {metadata['max']}")
        pattern = _pattern(metadata.get("pattern"))
        if pattern is not None and not pattern.search(value):
            problems.append(f"{path}: {value!r} does not match {metadata['pattern']}")
    elif type_name in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: expected an integer, got {_kind(value)}")
            return
        metadata = shape.metadata
        if "min" in metadata and value < metadata["min"]:
            problems.append(f"{path}: {value} is below the minimum {metadata['min']}")
        if "max" in metadata and value > metadata["max"]:
            problems.append(f"{path}: {value} is above the maximum {metadata['max']}")
    elif type_name in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: expected a number, got {_kind(value)}")
    elif type_name == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: expected a boolean, got {_kind(value)}")
    elif type_name == "timestamp":
        fmt = shape.serialization.get("timestampFormat") or timestamp_default
        if fmt == "unixTimestamp":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(f"{path}: expected epoch seconds, got {_kind(value)}")
        elif not isinstance(value, str):
            problems.append(f"{path}: expected a {fmt} timestamp string, got {_kind(value)}")
    elif type_name == "blob":
        if not isinstance(value, str):
            problems.append(f"{path}: expected base64 text, got {_kind(value)}")


def check_response(
    operation: OperationModel, status: int, headers: dict[str, str], body: bytes
) -> list[str]:
    """Every way this raw response differs from what the model allows (empty = faithful)."""
    protocol = operation.service_model.protocol
    if protocol not in ("rest-json", "json"):
        return []
    problems: list[str] = []
    text = body.decode() if isinstance(body, bytes) else (body or "")
    try:
        payload = json.loads(text) if text.strip() else {}
    except ValueError:
        return [f"{operation.name}: body is not JSON: {text[:80]!r}"]
    if status >= 300:
        lowered = {k.lower(): v for k, v in headers.items()}
        code = (
            lowered.get("x-amzn-errortype", "")
            or payload.get("__type", "")
            or payload.get("code", "")
        )
        code = code.split(":")[0].split("#")[-1]
        known = {shape.name: shape for shape in operation.error_shapes}
        if code not in known and code in COMMON_ERRORS:
            return problems
        if code not in known:
            problems.append(
                f"{operation.name}: error {code or '(none)'} is not one this operation declares "
                f"({sorted(known)})"
            )
            return problems
        error_shape: StructureShape = known[code]
        model_status = error_shape.metadata.get("error", {}).get("httpStatusCode")
        if model_status and model_status != status:
            problems.append(
                f"{operation.name}: {code} has HTTP {status}, the model says {model_status}"
            )
        members = {k: v for k, v in payload.items() if k not in ("__type", "code")}
        # The JSON error body carries "message" even where the model spells it "Message".
        lower_names = {n.lower(): n for n in error_shape.members}
        fixed = {lower_names.get(k.lower(), k): v for k, v in members.items()}
        check_value(error_shape, fixed, f"{operation.name}:{code}", problems, "unixTimestamp")
        return problems
    output = operation.output_shape
    if output is None:
        if payload:
            problems.append(f"{operation.name}: has no output but the body is {text[:80]!r}")
        return problems
    payload_member = output.serialization.get("payload")
    if payload_member:
        check_value(
            output.members[payload_member], payload, operation.name, problems, "unixTimestamp"
        )
    else:
        check_value(output, payload, operation.name, problems, "unixTimestamp")
    return problems
