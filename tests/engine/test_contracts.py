"""The payload contracts (drorch.engine.contracts) match what the state machines read."""

from __future__ import annotations

import re
from typing import Any, get_type_hints

from drorch import names
from drorch.engine import asl, contracts
from drorch.engine.plan import build_plan
from drorch.manifest import load_manifest_file
from tests.conftest import REPO

TARGETS = asl.Targets("999999999999", "us-east-2")
FUNCTION_KEYS = {
    targets_arn: key for key, targets_arn in ((k, TARGETS.function(k)) for k in names.FUNCTIONS)
}


def states(definition: dict[str, Any]):
    for name, state in definition["States"].items():
        yield name, state
        for nested in ("Iterator", "ItemProcessor"):
            if nested in state:
                yield from states(state[nested])


def fields(typed: type) -> set[str]:
    return set(get_type_hints(typed))


def test_every_answer_field_the_asl_reads_is_declared():
    checked = 0
    for key in asl.DEFINITIONS:
        for name, state in states(asl.DEFINITIONS[key](TARGETS)):
            parameters = state.get("Parameters") or {}
            function = FUNCTION_KEYS.get(parameters.get("FunctionName"))
            if function is None or "ResultSelector" not in state:
                continue
            if function == "checkpoint":
                answer = contracts.CHECKPOINT_ANSWERS[parameters["Payload"]["action"]]
            else:
                answer = contracts.ANSWERS[function]
            for path in state["ResultSelector"].values():
                match = re.fullmatch(r"\$\.Payload\.(\w+)", path)
                if match:
                    assert match.group(1) in fields(answer), (key, name, path, answer)
                    checked += 1
    assert checked >= 10


def test_the_plan_payload_has_the_declared_shape():
    manifest = load_manifest_file(REPO / "manifests" / "examples" / "three-tier-claims.yaml")
    counts = {g.id: {"222222222222": 1} for g in manifest.groups}
    plan = build_plan(manifest, "drill", counts)
    for phase in plan["phases"]:
        assert set(phase) == fields(contracts.PlanPhase)
        for level in phase["levels"]:
            assert set(level) == fields(contracts.PlanLevel)
            for key in ("pre", "groups", "post", "checks"):
                for item in level[key]:
                    assert set(item) <= fields(contracts.PlanItem)
                    assert {"groupId", "accounts"} <= set(item)
