"""Failure policies in the manifest: the wave's (stop, fail, continue, ask, isolate), the
member's (fail, continue, ask) and impact: optional, with their defaults and errors."""

from __future__ import annotations

import pytest

from drorch.engine.plan import build_plan
from drorch.manifest import ManifestError, load_manifest
from tests.manifest.conftest import FAKE_MODULES

SMOKE = {"type": "lambda-invoke", "name": "smoke", "functionArn": "acme-smoke-test"}


def load(document):
    return load_manifest(document, "m.yaml", FAKE_MODULES)


def problems(document) -> list[tuple[str, str]]:
    with pytest.raises(ManifestError) as caught:
        load(document)
    return [(p.path, p.message) for p in caught.value.problems]


def test_fail_is_another_name_of_stop_and_waves_inherit_the_manifest_policy(minimal):
    minimal["failurePolicy"] = "fail"
    minimal["waves"][2]["failurePolicy"] = "isolate"
    manifest = load(minimal)
    assert [w.failure_policy for w in manifest.waves] == ["stop", "stop", "isolate"]
    assert manifest.failure_policy == "stop"


def test_members_of_an_ask_wave_ask_unless_they_say_otherwise(minimal):
    app = minimal["waves"][1]
    app["failurePolicy"] = "ask"
    app["technologies"].append(
        {"type": "drs", "name": "sftp", "selector": {"tags": {"x": "1"}}, "impact": "optional"}
    )
    app["postWaveActions"] = [SMOKE, {**SMOKE, "name": "report", "failurePolicy": "continue"}]
    manifest = load(minimal)
    wave = manifest.wave("app")
    policies = {g.name: (g.failure_policy, g.impact) for g in wave.all_groups}
    assert policies == {
        "drs-0": ("ask", "critical"),
        "sftp": ("continue", "optional"),  # an optional member only warns, never asks
        "smoke": ("ask", "critical"),
        "report": ("continue", "critical"),
    }
    # impact is not a module parameter of the action
    assert "impact" not in wave.groups[1].parameters
    assert [g.failure_policy for g in manifest.wave("data").groups] == ["fail"]


@pytest.mark.parametrize("policy", ["fail", "ask"])
def test_an_optional_member_that_fails_its_wave_is_a_contradiction(minimal, policy):
    minimal["waves"][0]["technologies"][0].update(impact="optional", failurePolicy=policy)
    minimal["waves"][1]["postWaveActions"] = [
        {**SMOKE, "impact": "optional", "failurePolicy": policy}
    ]
    found = problems(minimal)
    assert [path for path, _ in found] == [
        "$.waves[0].technologies[0].failurePolicy",
        "$.waves[1].postWaveActions[0].failurePolicy",
    ]
    assert all("contradicts impact: optional" in message for _, message in found)


@pytest.mark.parametrize(
    ("where", "value", "path"),
    [
        (("failurePolicy",), "retry", "$.failurePolicy"),
        (("waves", 1, "failurePolicy"), "skip", "$.waves[1].failurePolicy"),
        (
            ("waves", 0, "technologies", 0, "failurePolicy"),
            "isolate",
            "$.waves[0].technologies[0].failurePolicy",
        ),
        (("waves", 0, "technologies", 0, "impact"), "low", "$.waves[0].technologies[0].impact"),
    ],
)
def test_an_unknown_policy_or_impact_is_named_at_its_path(minimal, where, value, path):
    target = minimal
    for part in where[:-1]:
        target = target[part]
    target[where[-1]] = value
    assert [p for p, _ in problems(minimal)] == [path]


def test_the_plan_carries_each_member_policy_and_isolates_actions(minimal):
    minimal["failurePolicy"] = "isolate"
    minimal["waves"][1]["preWaveActions"] = [SMOKE, {**SMOKE, "name": "ok", "impact": "optional"}]
    manifest = load(minimal)
    counts = {g.id: {"111111111111": 1} for g in manifest.groups}
    plan = build_plan(manifest, "failover", counts, modules=FAKE_MODULES)
    assert plan["waves"]["app"]["failurePolicy"] == "isolate"
    assert plan["groups"]["app-pre-smoke"] | {"module": None} == {
        "role": "pre",
        "name": "smoke",
        "module": None,
        "wave": "app",
        "failurePolicy": "fail",
        "impact": "critical",
        "routedFrom": None,
    }
    pre = plan["phases"][1]["levels"][1]["pre"]
    # a failed action of an isolate wave fails its wave alone; an optional one only warns
    assert [(i["groupId"], i["failurePolicy"]) for i in pre] == [
        ("app-pre-smoke", "isolate"),
        ("app-pre-ok", "continue"),
    ]
