"""What Step Functions checks in a definition at CreateStateMachine and UpdateStateMachine.

moto parses a definition with its ASL grammar, which accepts much that AWS refuses.
AWS validates the definition first and answers ``InvalidDefinition`` with one line
per problem, each a code and the JSON pointer of the problem ("Invalid State
Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: Foo at
/States/Bar/Next'"). The checks here follow the Amazon States Language
specification (https://states-language.net/spec.html) and the Step Functions
developer guide ("States", "Choice workflow state", "Paths"):

* ``StartAt`` names a state of the same ``States`` (Parallel branches and Map
  processors are machines of their own);
* every state has a known ``Type``;
* every ``Next``, ``Default`` and ``Catch[].Next`` names a state of its scope, a
  Task/Pass/Wait/Parallel/Map state has exactly one of ``Next`` and ``End: true``,
  Succeed/Fail/Choice states have neither;
* every path field (``InputPath``, ``OutputPath``, ``ResultPath``, ``ItemsPath``,
  ``*SecondsPath``, ``TimestampPath``, a Choice rule's ``Variable`` and ``*Path``
  comparisons, a ``Parameters``/``ResultSelector`` key ending ``.$``) holds a
  JSONPath that starts with ``$`` and parses (``ResultPath`` may be null, an
  ``InputPath``/``OutputPath`` too).

Definitions that use JSONata (``QueryLanguage: JSONata``) skip the path checks.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

STATE_TYPES = {"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"}
TRANSITIONING = {"Task", "Pass", "Wait", "Parallel", "Map"}
TERMINAL = {"Succeed", "Fail"}
PATH_FIELDS = (
    "InputPath",
    "OutputPath",
    "ResultPath",
    "ItemsPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "SecondsPath",
    "TimestampPath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
)
NULLABLE_PATHS = {"InputPath", "OutputPath", "ResultPath"}
PAYLOAD_TEMPLATES = ("Parameters", "ResultSelector", "ItemSelector")


# A JSONPath as Step Functions reads it: $ (or $$, the context object) and then
# .name, ..name, .*, [index], [start:end], ['name'], [*], [?(filter)], [i,j].
_NAME = r"[^.\[\]'\"\s]+"
_BRACKET = (
    r"\[\s*(?:\*|-?\d+(?:\s*,\s*-?\d+)*|-?\d*:-?\d*(?::-?\d+)?"
    r"|'[^']*'|\"[^\"]*\"|\?\(.+?\))\s*\]"
)
_JSON_PATH = re.compile(rf"\$\$?(?:\.\.?(?:{_NAME}|\*)|{_BRACKET})*")


@cache
def json_path_problem(path: str) -> str | None:
    """Why ``path`` is not a JSONPath Step Functions accepts (None when it is)."""
    if not isinstance(path, str) or not path.startswith("$"):
        return "a path must start with '$'"
    if not _JSON_PATH.fullmatch(path):
        return "not a valid JSONPath"
    return None


def _is_intrinsic(value: str) -> bool:
    return value.startswith("States.")


class _Checker:
    def __init__(self, jsonata: bool) -> None:
        self.problems: list[str] = []
        self.jsonata = jsonata

    def add(self, code: str, text: str, pointer: str) -> None:
        self.problems.append(f"{code}: {text} at {pointer}")

    def path(self, value: Any, pointer: str, nullable: bool = False) -> None:
        if self.jsonata or (value is None and nullable):
            return
        problem = json_path_problem(value) if isinstance(value, str) else "not a string"
        if problem:
            self.add("INVALID_JSON_PATH", f"Invalid JSON path {value!r}: {problem}", pointer)

    def template(self, value: Any, pointer: str) -> None:
        if self.jsonata:
            return
        if isinstance(value, dict):
            for key, item in value.items():
                if key.endswith(".$") and isinstance(item, str):
                    if not (_is_intrinsic(item) or item.startswith("$")):
                        self.add(
                            "INVALID_JSON_PATH",
                            f"The value for the field '{key}' must be a valid JSONPath or a "
                            "valid intrinsic function call",
                            f"{pointer}/{key}",
                        )
                    elif not _is_intrinsic(item):
                        self.path(item, f"{pointer}/{key}")
                else:
                    self.template(item, f"{pointer}/{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.template(item, f"{pointer}/{index}")

    def machine(self, machine: Any, pointer: str) -> None:
        if not isinstance(machine, dict):
            self.add("SCHEMA_VALIDATION_FAILED", "Expected an object", pointer or "/")
            return
        states = machine.get("States")
        if not isinstance(states, dict) or not states:
            self.add("SCHEMA_VALIDATION_FAILED", "'States' must be a non-empty object", pointer)
            return
        start = machine.get("StartAt")
        if not isinstance(start, str):
            self.add("SCHEMA_VALIDATION_FAILED", "'StartAt' is required", pointer)
        elif start not in states:
            self.add(
                "MISSING_TRANSITION_TARGET",
                f"Missing 'Next' target: {start}",
                f"{pointer}/StartAt",
            )
        for name, state in states.items():
            self.state(name, state, states, f"{pointer}/States/{name}")

    def target(self, value: Any, states: dict[str, Any], pointer: str) -> None:
        if not isinstance(value, str) or value not in states:
            self.add("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {value}", pointer)

    def state(self, name: str, state: Any, states: dict[str, Any], pointer: str) -> None:
        if not isinstance(state, dict):
            self.add("SCHEMA_VALIDATION_FAILED", "A state must be an object", pointer)
            return
        kind = state.get("Type")
        if kind not in STATE_TYPES:
            self.add(
                "SCHEMA_VALIDATION_FAILED",
                f"Value is not a valid state type ({kind!r}; one of {', '.join(sorted(STATE_TYPES))})",
                f"{pointer}/Type",
            )
            return
        has_next, ends = "Next" in state, state.get("End") is True
        if kind in TRANSITIONING:
            if has_next == ends:
                self.add(
                    "SCHEMA_VALIDATION_FAILED",
                    "A state must have exactly one of 'Next' or 'End: true'",
                    pointer,
                )
        elif has_next or "End" in state:
            self.add(
                "SCHEMA_VALIDATION_FAILED",
                f"A {kind} state cannot have 'Next' or 'End'",
                pointer,
            )
        if has_next:
            self.target(state["Next"], states, f"{pointer}/Next")
        for index, catcher in enumerate(state.get("Catch") or []):
            if isinstance(catcher, dict):
                self.target(catcher.get("Next"), states, f"{pointer}/Catch[{index}]/Next")
                if "ResultPath" in catcher:
                    self.path(catcher["ResultPath"], f"{pointer}/Catch[{index}]/ResultPath", True)
        for field in PATH_FIELDS:
            if field in state:
                self.path(state[field], f"{pointer}/{field}", field in NULLABLE_PATHS)
        for field in PAYLOAD_TEMPLATES:
            if field in state:
                self.template(state[field], f"{pointer}/{field}")
        if kind == "Choice":
            choices = state.get("Choices")
            if not isinstance(choices, list) or not choices:
                self.add("SCHEMA_VALIDATION_FAILED", "'Choices' must be a non-empty list", pointer)
            else:
                for index, rule in enumerate(choices):
                    rule_pointer = f"{pointer}/Choices[{index}]"
                    if not isinstance(rule, dict) or "Next" not in rule:
                        self.add("SCHEMA_VALIDATION_FAILED", "A choice needs 'Next'", rule_pointer)
                        continue
                    self.target(rule["Next"], states, f"{rule_pointer}/Next")
                    self.rule(rule, rule_pointer)
            if "Default" in state:
                self.target(state["Default"], states, f"{pointer}/Default")
        elif kind == "Parallel":
            for index, branch in enumerate(state.get("Branches") or []):
                self.machine(branch, f"{pointer}/Branches[{index}]")
        elif kind == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if processor is not None:
                field = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
                self.machine(processor, f"{pointer}/{field}")

    def rule(self, rule: dict[str, Any], pointer: str) -> None:
        if "Variable" in rule:
            self.path(rule["Variable"], f"{pointer}/Variable")
        for key, value in rule.items():
            if key.endswith("Path") and isinstance(value, str):
                self.path(value, f"{pointer}/{key}")
            elif key in ("And", "Or") and isinstance(value, list):
                for index, nested in enumerate(value):
                    if isinstance(nested, dict):
                        self.rule(nested, f"{pointer}/{key}[{index}]")
            elif key == "Not" and isinstance(value, dict):
                self.rule(value, f"{pointer}/Not")


def definition_problems(definition: str) -> list[str]:
    """Every reason Step Functions would refuse ``definition`` (empty when it accepts it)."""
    try:
        machine = json.loads(definition)
    except ValueError as error:
        return [f"SCHEMA_VALIDATION_FAILED: the definition is not JSON ({error}) at /"]
    jsonata = isinstance(machine, dict) and machine.get("QueryLanguage") == "JSONata"
    checker = _Checker(jsonata)
    checker.machine(machine, "")
    return checker.problems


def invalid_definition_message(problems: list[str]) -> str:
    """The message of AWS's InvalidDefinition error for these problems."""
    return "Invalid State Machine Definition: '" + ", ".join(problems) + "'"
