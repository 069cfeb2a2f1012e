"""SSM documents: the Automation runbooks and Run Command documents that wave actions run.

The document is created in moto's SSM through ``CreateDocument`` exactly as written
(``content`` is the document itself, as in the console's JSON/YAML editor). For an
Automation document the entry can also say how the sandbox simulates it: how long
each step takes (``stepSeconds``) and what its step outputs are (``outputs``); see
:mod:`drorch.modules.ssm_automation.sandbox`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from drorch.sandbox.seeders.base import (
    SeedContext,
    SeededResource,
    Seeder,
    Undo,
    exists,
    fail,
    identifier,
    tag_list,
)

_SCHEMA_VERSIONS = {"Automation": {"0.3"}, "Command": {"1.2", "2.2"}}
_STEP = {
    "type": "object",
    "required": ["name", "action"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-zA-Z0-9_]+$"},
        "action": {"type": "string", "pattern": "^aws:[a-zA-Z]{3,40}$"},
        "inputs": {"type": "object"},
        "outputs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["Name"],
                "properties": {"Name": {"type": "string"}, "Selector": {"type": "string"}},
            },
        },
        "timeoutSeconds": {"type": "integer", "minimum": 1},
    },
}
_PARAMETER = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {
            "type": "string",
            "description": "String, StringList, Integer, Boolean, MapList, StringMap or an "
            "AWS::... type",
        },
        "default": {},
        "allowedValues": {"type": "array"},
        "allowedPattern": {"type": "string"},
        "description": {"type": "string"},
    },
}


class SsmDocument(Seeder):
    type = "ssm-document"
    description = (
        "An SSM document (Automation runbook or Run Command document) created as written in "
        "content. For Automation, stepSeconds sets how long each step other than aws:sleep "
        "takes in the sandbox, and outputs the values of step outputs ('step.Name')."
    )
    name_schema = identifier(
        "an SSM document name: 3-128 letters, digits, _ - and ., not starting with AWS-, "
        "Amazon or amzn",
        r"^(?![Aa][Ww][Ss]-|[Aa]mazon|[Aa]mzn)[a-zA-Z0-9_\-.]{3,128}$",
        128,
        3,
    )
    properties = {
        "documentType": {"enum": ["Automation", "Command"], "default": "Automation"},
        "content": {
            "type": "object",
            "required": ["schemaVersion"],
            "properties": {
                "schemaVersion": {"type": "string"},
                "description": {"type": "string"},
                "assumeRole": {"type": "string"},
                "parameters": {"type": "object", "additionalProperties": _PARAMETER},
                "mainSteps": {"type": "array", "minItems": 1, "items": _STEP},
                "outputs": {"type": "array", "items": {"type": "string", "pattern": r"^\w+\.\w+$"}},
            },
            "description": "the document as SSM takes it (schemaVersion 0.3 for Automation, "
            "2.2 or 1.2 for Command)",
        },
        "stepSeconds": {"type": "number", "exclusiveMinimum": 0},
        "outputs": {
            "type": "object",
            "propertyNames": {"pattern": r"^\w+\.\w+$", "description": "step.OutputName"},
            "additionalProperties": {
                "oneOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                ]
            },
        },
    }
    required = ("content",)
    constraints = {
        "if": {"properties": {"documentType": {"const": "Command"}}, "required": ["documentType"]},
        "then": {
            "not": {"anyOf": [{"required": ["stepSeconds"]}, {"required": ["outputs"]}]},
            "description": "stepSeconds and outputs simulate Automation documents only",
        },
    }

    def check(self, ctx: SeedContext, spec: Mapping[str, Any], where: str) -> None:
        kind = spec.get("documentType", "Automation")
        content = spec["content"]
        if str(content["schemaVersion"]) not in _SCHEMA_VERSIONS[kind]:
            raise fail(
                f"{where}.content.schemaVersion",
                f"{content['schemaVersion']!r} is not a schema version of {kind} documents "
                f"({', '.join(sorted(_SCHEMA_VERSIONS[kind]))})",
            )
        if kind == "Automation" and "mainSteps" not in content:
            raise fail(f"{where}.content", "an Automation document needs mainSteps")
        steps = content.get("mainSteps") or []
        names = [s["name"] for s in steps]
        for index, name in enumerate(names):
            if names.index(name) != index:
                raise fail(f"{where}.content.mainSteps[{index}].name", f"step {name!r} repeats")
        declared = {f"{s['name']}.{o['Name']}" for s in steps for o in s.get("outputs", [])}
        for index, reference in enumerate(content.get("outputs", [])):
            step = reference.split(".")[0]
            if step not in names:
                raise fail(
                    f"{where}.content.outputs[{index}]",
                    f"{reference!r} names no step of the document ({', '.join(names)})",
                )
        for key in spec.get("outputs", {}):
            if key not in declared:
                raise fail(
                    f"{where}.outputs.{key}",
                    f"no step declares the output {key!r} "
                    f"(declared: {', '.join(sorted(declared)) or 'none'})",
                )
        if exists(ctx.client("ssm").describe_document, "InvalidDocument", Name=spec["name"]):
            raise fail(f"{where}.name", f"SSM document {spec['name']!r} already exists")

    def create(self, ctx: SeedContext, spec: Mapping[str, Any], undo: Undo) -> list[SeededResource]:
        from drorch.modules.ssm_automation.sandbox import declare_document

        ssm = ctx.client("ssm")
        name = spec["name"]
        kind = spec.get("documentType", "Automation")
        kwargs: dict[str, Any] = {
            "Name": name,
            "Content": json.dumps(spec["content"]),
            "DocumentType": kind,
            "DocumentFormat": "JSON",
        }
        if spec.get("tags"):
            kwargs["Tags"] = tag_list(spec["tags"])
        ssm.create_document(**kwargs)
        undo.push(f"SSM document {name}", lambda: ssm.delete_document(Name=name))
        if kind == "Automation":
            declare_document(
                ctx.account_id,
                ctx.region,
                name,
                step_seconds=spec.get("stepSeconds"),
                outputs=spec.get("outputs"),
            )
        arn = f"arn:aws:ssm:{ctx.region}:{ctx.account_id}:document/{name}"
        return [self.resource(ctx, name, arn)]
